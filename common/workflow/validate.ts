import { checkExpression, contextReferences, type ContextReference } from '../expressions';
import type { Diagnostic } from '../diagnostics';
import type { Range } from '../source';
import { didYouMean } from '../suggest';
import { withArticle } from '../words';
import { findCycles, stepDependencies } from './graph';
import type { InputDefinition, StepDefinition, ValueTemplate, WorkflowDefinition } from './model';
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
  workflowOutputs: ['inputs', 'steps', 'env', 'run'],
} as const;

/** Properties of `steps.<id>`. */
export const STEP_PROPERTIES = ['output', 'outputs', 'status'];
/** Properties of `run`. */
export const RUN_PROPERTIES = ['id', 'workflow'];

/** Checks what the schema cannot: step ids, dependencies and cycles, expression references, servers, tools and their arguments. */
export function validateWorkflow(parsed: ParsedWorkflow, context: ValidationContext): Diagnostic[] {
  const workflow = parsed.workflow;
  if (!workflow) return [];
  return new Validator(workflow, context).run();
}

class Validator {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly steps = new Map<string, StepDefinition>();
  private readonly inputs: Map<string, InputDefinition>;
  private readonly externalServers: string[];

  constructor(
    private readonly workflow: WorkflowDefinition,
    private readonly context: ValidationContext,
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
    this.checkExpressions(expressionSites(step.outputs), CONTEXTS.stepOutputs, step);
    if (step.foreach?.kind === 'literal' && !Array.isArray(step.foreach.value)) {
      this.error(`foreach of step '${step.id}' must be a list or an expression that gives one.`, step.foreach.range, 'foreach');
    }
    if (!step.foreach && step.concurrency !== undefined) {
      this.warning(`'concurrency' of step '${step.id}' has no effect without 'foreach'.`, step.idRange, 'concurrency');
    }
    this.checkServerAndTool(step);
  }

  private checkServerAndTool(step: StepDefinition): void {
    if (!step.server.name) return;
    const local = this.workflow.servers.map((s) => s.name);
    const external = this.externalServers;
    if (!local.includes(step.server.name) && !external.includes(step.server.name)) {
      const known = [...new Set([...local, ...external])];
      this.error(
        `unknown server '${step.server.name}': declare it under 'servers:' or in .vscode/mcp.json.${didYouMean(step.server.name, known)}${known.length ? ` Known servers: ${known.join(', ')}.` : ''}`,
        step.server.range,
        'unknown-server',
      );
      return;
    }
    const tools = this.context.toolsOf?.(step.server.name);
    if (!tools || !step.tool.name) return;
    const tool = tools.find((t) => t.name === step.tool.name);
    if (!tool) {
      const names = tools.map((t) => t.name);
      this.error(
        `server '${step.server.name}' has no tool '${step.tool.name}'.${didYouMean(step.tool.name, names)} Its tools: ${names.join(', ') || '(none)'}.`,
        step.tool.range,
        'unknown-tool',
      );
      return;
    }
    const args = step.with ? staticValue(step.with) : {};
    for (const issue of checkArguments(tool, (args ?? {}) as Record<string, unknown>)) {
      const range = (issue.path.length && step.with && rangeAtPath(step.with, issue.path, issue.about === 'key')) || step.with?.range || step.tool.range;
      this.diagnostics.push({ severity: issue.severity, message: issue.message, range, code: 'tool-arguments' });
    }
  }

  private checkExpressions(sites: ExpressionSite[], contexts: readonly string[], step?: StepDefinition): void {
    for (const site of sites) {
      if (!site.expr) continue;
      for (const issue of checkExpression(site.expr, contexts)) {
        this.error(issue.message, site.range(issue.start, issue.end), 'expression');
      }
      for (const ref of contextReferences(site.expr)) {
        if (!contexts.includes(ref.context)) continue;
        const range = site.range(ref.start, ref.end);
        const message = this.referenceProblem(ref, step);
        if (message) this.error(message, range, 'unknown-reference');
      }
    }
  }

  private referenceProblem(ref: ContextReference, step: StepDefinition | undefined): string | undefined {
    const [first, second, third] = ref.path;
    if (first === undefined) return undefined;
    switch (ref.context) {
      case 'inputs':
        return this.inputs.has(first) ? undefined : `unknown input '${first}'.${didYouMean(first, this.inputs.keys())}${this.inputs.size ? ` Inputs: ${[...this.inputs.keys()].join(', ')}.` : ' This workflow declares no inputs.'}`;
      case 'run':
        return RUN_PROPERTIES.includes(first) ? undefined : `'run' has no property '${first}'; it has ${RUN_PROPERTIES.join(', ')}.`;
      case 'steps': {
        if (step && first === step.id) return `step '${step.id}' cannot read its own result through 'steps'; use 'output' in its outputs.`;
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
