import { isMap, isScalar, type Document } from 'yaml';
import { checkExpression, contextReferences, type ContextReference } from '../expressions';
import type { Diagnostic } from '../diagnostics';
import type { Range } from '../source';
import { didYouMean } from '../suggest';
import { withArticle } from '../words';
import { findCycles, stepDependencies } from './graph';
import type { InputDefinition, InputType, Named, StepDefinition, ValueTemplate, WorkflowDefinition } from './model';
import type { ParsedWorkflow } from './parse';
import { expressionSites, rangeAtPath, type ExpressionSite } from './template-walk';
import { checkArguments, COMPUTED, type ToolInfo } from './tool-arguments';

/** What validation knows beyond the file itself. */
export interface ValidationContext {
  /** Server names that resolve outside the workflow file (the workspace's .vscode/mcp.json). */
  externalServers: Iterable<string>;
  /** The tools of a server, when known (listed earlier or just now); undefined leaves tools unchecked. */
  toolsOf?: (server: string) => readonly ToolInfo[] | undefined;
}

/** Contexts each place in a workflow may read. */
export const CONTEXTS = {
  server: ['inputs', 'env'],
  step: ['inputs', 'steps', 'env', 'run'],
  foreachStep: ['inputs', 'steps', 'env', 'run', 'item', 'index'],
  stepOutputs: ['inputs', 'steps', 'env', 'run', 'output'],
  /** A step's `compensate:`, which runs after the step completed and reads its result as `output`. */
  compensation: ['inputs', 'steps', 'env', 'run', 'output'],
  foreachCompensation: ['inputs', 'steps', 'env', 'run', 'item', 'index', 'output'],
  workflowOutputs: ['inputs', 'steps', 'env', 'run'],
} as const;

/** Properties of `steps.<id>`. */
export const STEP_PROPERTIES = ['output', 'outputs', 'status'];
/** Properties of `run`. */
export const RUN_PROPERTIES = ['id', 'workflow'];

/**
 * Checks what the schema cannot: step ids, dependencies and cycles, expression references, servers (of steps,
 * compensations and circuit breakers), tools and their arguments, literal wait times.
 */
export function validateWorkflow(parsed: ParsedWorkflow, context: ValidationContext): Diagnostic[] {
  const workflow = parsed.workflow;
  if (!workflow) return [];
  return new Validator(workflow, context, parsed.document).run();
}

/** The pattern of server names in the schema. */
const SERVER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** An ISO 8601 date-time, with an optional fraction and an optional offset (checked further by Date.parse). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

class Validator {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly steps = new Map<string, StepDefinition>();
  private readonly inputs: Map<string, InputDefinition>;
  private readonly externalServers: string[];

  constructor(
    private readonly workflow: WorkflowDefinition,
    private readonly context: ValidationContext,
    private readonly document: Document,
  ) {
    this.inputs = new Map(workflow.inputs.map((i) => [i.name, i]));
    this.externalServers = [...context.externalServers];
  }

  run(): Diagnostic[] {
    this.checkStepIds();
    this.checkInputs();
    this.checkServerDeclarations();
    this.checkDependencies();
    for (const server of this.workflow.servers) {
      this.checkExpressions(expressionSites(server.definition), CONTEXTS.server);
    }
    for (const step of this.workflow.steps) this.checkStep(step);
    this.checkExpressions(expressionSites(this.workflow.outputs), CONTEXTS.workflowOutputs);
    this.checkCircuitBreakers();
    return this.diagnostics;
  }

  private error(message: string, range: Range, code: string): void {
    this.diagnostics.push({ severity: 'error', message, range, code });
  }

  private warning(message: string, range: Range, code: string): void {
    this.diagnostics.push({ severity: 'warning', message, range, code });
  }

  private checkStepIds(): void {
    for (const step of this.workflow.steps) {
      if (step.id.startsWith('#')) continue;
      const first = this.steps.get(step.id);
      if (first) {
        this.error(`step id '${step.id}' is used twice; step ids must be unique.`, step.idRange, 'duplicate-step');
      } else {
        this.steps.set(step.id, step);
      }
    }
  }

  private checkInputs(): void {
    for (const input of this.workflow.inputs) {
      if (input.default === undefined) continue;
      const problem = inputValueProblem(input, input.default);
      if (problem) this.error(`the default of input '${input.name}' ${problem}.`, input.range, 'input-default');
    }
  }

  private checkServerDeclarations(): void {
    for (const server of this.workflow.servers) {
      const def = server.definition;
      if (def.kind !== 'object') continue;
      const keys = new Set(def.entries.map((e) => e.key));
      const type = literalEntry(def, 'type');
      if ((type === 'http' || type === 'sse') && !keys.has('url')) {
        this.error(`server '${server.name}' is of type ${type} and needs a 'url'.`, server.range, 'server-definition');
      } else if (type === 'stdio' && !keys.has('command')) {
        this.error(`server '${server.name}' is of type stdio and needs a 'command'.`, server.range, 'server-definition');
      } else if (keys.has('command') && keys.has('url')) {
        this.error(`server '${server.name}' has both 'command' and 'url': give 'command' for a local (stdio) server or 'url' for an HTTP one.`, server.range, 'server-definition');
      }
    }
  }

  private checkDependencies(): void {
    const dependencies = stepDependencies(this.workflow);
    for (const step of this.workflow.steps) {
      for (const need of step.needs) {
        if (need.name === step.id) {
          this.error(`step '${step.id}' cannot need itself.`, need.range, 'self-dependency');
        } else if (!this.steps.has(need.name)) {
          this.error(`step '${step.id}' needs unknown step '${need.name}'.${didYouMean(need.name, this.steps.keys())}`, need.range, 'unknown-step');
        }
      }
    }
    for (const { path, closing } of findCycles(dependencies)) {
      if (path.length === 2) continue; // a step needing itself, reported above
      const how = closing.via === 'needs' ? 'needs' : 'reads';
      this.error(
        `steps form a cycle: ${path.join(' → ')} (here '${path[path.length - 2]}' ${how} '${closing.step}'); a step cannot wait for itself.`,
        closing.range,
        'cycle',
      );
    }
  }

  private checkStep(step: StepDefinition): void {
    const contexts = step.foreach ? CONTEXTS.foreachStep : CONTEXTS.step;
    this.checkExpressions(expressionSites(step.if), CONTEXTS.step, step);
    this.checkExpressions(expressionSites(step.foreach), CONTEXTS.step, step);
    this.checkExpressions(expressionSites(step.with), contexts, step);
    this.checkExpressions(expressionSites(step.approval?.message), CONTEXTS.step, step);
    this.checkExpressions(expressionSites(step.wait?.until), CONTEXTS.step, step);
    this.checkExpressions(expressionSites(step.outputs), CONTEXTS.stepOutputs, step);
    if (step.foreach?.kind === 'literal' && !Array.isArray(step.foreach.value)) {
      this.error(`foreach of step '${step.id}' must be a list or an expression that gives one.`, step.foreach.range, 'foreach');
    }
    if (!step.foreach && step.concurrency !== undefined) {
      this.warning(`'concurrency' of step '${step.id}' has no effect without 'foreach'.`, step.idRange, 'concurrency');
    }
    this.checkUntil(step);
    if (step.server.name && this.checkServer(step.server)) this.checkTool(step.server, step.tool, step.with);
    if (step.compensate) this.checkCompensation(step);
  }

  /** A literal `wait.until` must be a date-time; one computed by an expression is checked when the step runs. */
  private checkUntil(step: StepDefinition): void {
    const until = step.wait?.until;
    if (until?.kind !== 'literal' || typeof until.value !== 'string') return;
    const value = until.value.trim();
    if (!DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
      this.error(
        `'wait.until' of step '${step.id}' is ${JSON.stringify(until.value)}, not an ISO 8601 date-time such as 2026-12-01T09:00:00Z.`,
        until.range,
        'wait-until',
      );
    } else if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(value)) {
      this.warning(
        `'wait.until' of step '${step.id}' has no time zone, so it is read in the local time of the machine that runs the workflow; add Z (UTC) or an offset such as +02:00.`,
        until.range,
        'wait-until',
      );
    }
  }

  private checkCompensation(step: StepDefinition): void {
    const compensate = step.compensate!;
    const contexts = step.foreach ? CONTEXTS.foreachCompensation : CONTEXTS.compensation;
    this.checkExpressions(expressionSites(compensate.with), contexts, step, 'compensation');
    // Without a server of its own it calls the step's, which the step's check has reported already.
    const ownServer = compensate.server !== step.server;
    if (!compensate.server.name || (ownServer && !this.checkServer(compensate.server))) return;
    if (!ownServer && !this.isKnownServer(step.server.name)) return;
    this.checkTool(compensate.server, compensate.tool, compensate.with);
  }

  private isKnownServer(name: string): boolean {
    return this.workflow.servers.some((s) => s.name === name) || this.externalServers.includes(name);
  }

  private knownServers(): string[] {
    return [...new Set([...this.workflow.servers.map((s) => s.name), ...this.externalServers])];
  }

  /** Whether a server named by a step or a compensation is known; reports it when not. */
  private checkServer(server: Named): boolean {
    if (this.isKnownServer(server.name)) return true;
    const known = this.knownServers();
    this.error(
      `unknown server '${server.name}': declare it under 'servers:' or in .vscode/mcp.json.${didYouMean(server.name, known)}${known.length ? ` Known servers: ${known.join(', ')}.` : ''}`,
      server.range,
      'unknown-server',
    );
    return false;
  }

  /** When the server's tools are known: the tool exists, and the literal parts of its arguments fit its inputSchema. */
  private checkTool(server: Named, toolName: Named, withValue: ValueTemplate | undefined): void {
    const tools = this.context.toolsOf?.(server.name);
    if (!tools || !toolName.name) return;
    const tool = tools.find((t) => t.name === toolName.name);
    if (!tool) {
      const names = tools.map((t) => t.name);
      this.error(
        `server '${server.name}' has no tool '${toolName.name}'.${didYouMean(toolName.name, names)} Its tools: ${names.join(', ') || '(none)'}.`,
        toolName.range,
        'unknown-tool',
      );
      return;
    }
    const args = withValue ? staticValue(withValue) : {};
    for (const issue of checkArguments(tool, (args ?? {}) as Record<string, unknown>)) {
      const range = (issue.path.length && withValue && rangeAtPath(withValue, issue.path, issue.about === 'key')) || withValue?.range || toolName.range;
      this.diagnostics.push({ severity: issue.severity, message: issue.message, range, code: 'tool-arguments' });
    }
  }

  /** Keys of `circuitBreakers:` that name no server this workflow can reach: a warning, since the breaker is harmless. */
  private checkCircuitBreakers(): void {
    const map = this.document.get('circuitBreakers', true);
    if (!isMap(map)) return;
    const known = this.knownServers();
    for (const pair of map.items) {
      if (!isScalar(pair.key) || !pair.key.range) continue;
      const name = String(pair.key.value);
      if (this.isKnownServer(name) || !SERVER_NAME.test(name)) continue; // an invalid name is the schema's to report
      this.warning(
        `unknown server '${name}' in 'circuitBreakers': it is neither under 'servers:' nor in .vscode/mcp.json, so this breaker applies to nothing.${didYouMean(name, known)}${known.length ? ` Known servers: ${known.join(', ')}.` : ''}`,
        { start: pair.key.range[0], end: pair.key.range[1] },
        'unknown-server',
      );
    }
  }

  private checkExpressions(sites: ExpressionSite[], contexts: readonly string[], step?: StepDefinition, place: 'step' | 'compensation' = 'step'): void {
    for (const site of sites) {
      if (!site.expr) continue;
      for (const issue of checkExpression(site.expr, contexts)) {
        this.error(issue.message, site.range(issue.start, issue.end), 'expression');
      }
      for (const ref of contextReferences(site.expr)) {
        if (!contexts.includes(ref.context)) continue;
        const range = site.range(ref.start, ref.end);
        const message = this.referenceProblem(ref, step, place);
        if (message) this.error(message, range, 'unknown-reference');
      }
    }
  }

  private referenceProblem(ref: ContextReference, step: StepDefinition | undefined, place: 'step' | 'compensation'): string | undefined {
    const [first, second, third] = ref.path;
    if (first === undefined) return undefined;
    switch (ref.context) {
      case 'inputs':
        return this.inputs.has(first) ? undefined : `unknown input '${first}'.${didYouMean(first, this.inputs.keys())}${this.inputs.size ? ` Inputs: ${[...this.inputs.keys()].join(', ')}.` : ' This workflow declares no inputs.'}`;
      case 'run':
        return RUN_PROPERTIES.includes(first) ? undefined : `'run' has no property '${first}'; it has ${RUN_PROPERTIES.join(', ')}.`;
      case 'steps': {
        if (step && first === step.id) {
          return place === 'compensation'
            ? `the compensation of step '${step.id}' reads the step's result as 'output', not through 'steps'.`
            : `step '${step.id}' cannot read its own result through 'steps'; use 'output' in its outputs.`;
        }
        const target = this.steps.get(first);
        if (!target) return `unknown step '${first}'.${didYouMean(first, this.steps.keys())}`;
        if (second === undefined) return undefined;
        if (!STEP_PROPERTIES.includes(second)) {
          return `'steps.${first}' has no property '${second}'.${didYouMean(second, STEP_PROPERTIES)} It has ${STEP_PROPERTIES.join(', ')}.`;
        }
        if (second === 'outputs' && third !== undefined) {
          const declared = outputNames(target.outputs);
          if (!declared.includes(third)) {
            return `step '${first}' declares no output '${third}'.${didYouMean(third, declared)}${declared.length ? ` Its outputs: ${declared.join(', ')}.` : ' Read its result as steps.' + first + '.output, or declare outputs.'}`;
          }
        }
        return undefined;
      }
      default:
        return undefined;
    }
  }
}

/** Why a value does not fit an input's declared type and enum, or undefined when it does. */
export function inputValueProblem(input: InputDefinition, value: unknown): string | undefined {
  const ok =
    input.type === 'string' ? typeof value === 'string'
    : input.type === 'number' ? typeof value === 'number' && Number.isFinite(value)
    : input.type === 'integer' ? Number.isInteger(value)
    : input.type === 'boolean' ? typeof value === 'boolean'
    : input.type === 'array' ? Array.isArray(value)
    : value !== null && typeof value === 'object' && !Array.isArray(value);
  if (!ok) return `must be ${withArticle(input.type, 'json')}, not ${JSON.stringify(value)}`;
  if (input.enum && !input.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    return `must be one of ${input.enum.map((e) => JSON.stringify(e)).join(', ')}, not ${JSON.stringify(value)}`;
  }
  return undefined;
}

/** The type of an input declared without one: that of its default (a string when it has none). */
export function inferInputType(value: unknown): InputType {
  if (Array.isArray(value)) return 'array';
  if (value !== null && typeof value === 'object') return 'object';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'boolean') return 'boolean';
  return 'string';
}

function literalEntry(value: ValueTemplate, key: string): unknown {
  if (value.kind !== 'object') return undefined;
  const entry = value.entries.find((e) => e.key === key)?.value;
  return entry?.kind === 'literal' ? entry.value : undefined;
}

function outputNames(outputs: ValueTemplate | undefined): string[] {
  return outputs?.kind === 'object' ? outputs.entries.map((e) => e.key) : [];
}

/** The value with every expression replaced by COMPUTED, for checking the literal parts before a run. */
function staticValue(value: ValueTemplate): unknown {
  switch (value.kind) {
    case 'literal':
      return value.value;
    case 'template':
      return COMPUTED;
    case 'object':
      return value.constant ? value.constant.value : Object.fromEntries(value.entries.map((e) => [e.key, staticValue(e.value)]));
    case 'array':
      return value.constant ? value.constant.value : value.items.map(staticValue);
  }
}
