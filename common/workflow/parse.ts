import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { parseExpression, parseTemplate, type Template } from '../expressions';
import type { Diagnostic } from '../diagnostics';
import type { Range, SourceFile } from '../source';
import { parseDuration, parseRate } from './duration';
import { scalarSourceMap } from './source-map';
import {
  CIRCUIT_BREAKER_DEFAULTS,
  DEFAULT_TIMEOUT_MS,
  RETRY_DEFAULTS,
  type ApprovalDefinition,
  type CircuitBreakerPolicy,
  type CompensationDefinition,
  type InputDefinition,
  type InputType,
  type Named,
  type RetryPolicy,
  type ServerDeclaration,
  type SignalDefinition,
  type StepDefinition,
  type StepKind,
  type ValueTemplate,
  type WaitDefinition,
  type WorkflowDefaults,
  type WorkflowDefinition,
} from './model';
import { checkSchema } from './schema';
import { inferInputType } from './validate';

/** The result of parsing a workflow file: the model (when the file is a mapping at all) and every problem found on the way. */
export interface ParsedWorkflow {
  file: SourceFile;
  document: Document;
  workflow?: WorkflowDefinition;
  diagnostics: Diagnostic[];
}

/** Parses workflow YAML into a model whose every node keeps its source range; YAML, schema and expression syntax errors become diagnostics. */
export function parseWorkflow(file: SourceFile): ParsedWorkflow {
  const document = parseDocument(file.text, { prettyErrors: false, uniqueKeys: true });
  const diagnostics: Diagnostic[] = [];
  let hinted = false;
  const linesWithErrors = new Set<number>();
  for (const e of document.errors) {
    // One syntax error usually sets off more on the same line; the first says what is wrong.
    const line = file.position(e.pos[0]).line;
    if (linesWithErrors.has(line)) continue;
    linesWithErrors.add(line);
    const d = yamlDiagnostic('error', e.message, e.pos, file.text);
    // `{ a: ${{ x }} }` is the classic trap: in a flow collection the braces of ${{ }} are YAML syntax.
    if (!hinted && lineAt(file.text, e.pos[0]).includes('${{') && /[[{]/.test(lineAt(file.text, e.pos[0]).replace(/\$\{\{.*?\}\}/g, ''))) {
      d.message += " (inside [ ] or { }, quote a value that holds ${{ }}: '${{ item }}')";
      hinted = true;
    }
    diagnostics.push(d);
  }
  for (const w of document.warnings) diagnostics.push(yamlDiagnostic('warning', w.message, w.pos, file.text));
  const root = document.contents;
  if (!isMap(root)) {
    if (document.errors.length === 0) {
      diagnostics.push({
        severity: 'error',
        message: 'a workflow file must be a YAML mapping with at least `name` and `steps`.',
        range: rangeOf(root) ?? { start: 0, end: Math.min(1, file.text.length) },
        code: 'not-a-workflow',
      });
    }
    return { file, document, diagnostics };
  }
  if (document.errors.length === 0) diagnostics.push(...checkSchema(document, file.text));
  const builder = new ModelBuilder(file, diagnostics);
  return { file, document, workflow: builder.workflow(root), diagnostics };
}

function lineAt(text: string, offset: number): string {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  const end = text.indexOf('\n', offset);
  return text.slice(start, end < 0 ? text.length : end);
}

function yamlDiagnostic(severity: 'error' | 'warning', message: string, pos: [number, number], text: string): Diagnostic {
  const start = Math.min(pos[0], text.length);
  return {
    severity,
    message: `YAML: ${message.replace(/\s+/g, ' ').trim()}`,
    range: { start, end: Math.max(start, Math.min(pos[1], text.length)) },
    code: 'yaml',
  };
}

/** Builds the model leniently: a field of the wrong type is left out (the schema check already reported it). */
class ModelBuilder {
  constructor(
    private readonly file: SourceFile,
    private readonly diagnostics: Diagnostic[],
  ) {}

  workflow(root: YAMLMap): WorkflowDefinition {
    const name = stringAt(root, 'name') ?? '';
    const description = stringAt(root, 'description');
    const defaults = this.defaults(mapAt(root, 'defaults'));
    const outputs = pairOf(root, 'outputs');
    return {
      name,
      ...(description !== undefined && { description }),
      inputs: this.inputs(mapAt(root, 'inputs')),
      servers: this.servers(mapAt(root, 'servers')),
      steps: this.steps(root, defaults),
      ...(outputs && isMap(outputs.value) && { outputs: this.value(outputs.value) }),
      defaults,
      circuitBreakers: circuitBreakers(mapAt(root, 'circuitBreakers'), defaults.circuitBreaker),
    };
  }

  private defaults(map: YAMLMap | undefined): WorkflowDefaults {
    const stepTimeoutMs = map && parseDuration(scalarAt(map, 'stepTimeout'));
    const retry = map && mapAt(map, 'retry');
    return {
      timeoutMs: (map && parseDuration(scalarAt(map, 'timeout'))) ?? DEFAULT_TIMEOUT_MS,
      ...(stepTimeoutMs !== undefined && { stepTimeoutMs }),
      ...(retry && { retry: this.retryPolicy(retry, "'defaults.retry'") }),
      circuitBreaker: circuitBreakerPolicy(map && mapAt(map, 'circuitBreaker'), CIRCUIT_BREAKER_DEFAULTS),
    };
  }

  /** A `retry:` block with Temporal's defaults for the fields it leaves out (not those of `defaults.retry`). */
  private retryPolicy(map: YAMLMap, where: string): RetryPolicy {
    const initialIntervalMs = parseDuration(scalarAt(map, 'initialInterval')) ?? RETRY_DEFAULTS.initialIntervalMs;
    const maximumIntervalMs = parseDuration(scalarAt(map, 'maximumInterval'));
    if (maximumIntervalMs !== undefined && maximumIntervalMs < initialIntervalMs) {
      const initial = pairOf(map, 'initialInterval') ? String(scalarAt(map, 'initialInterval')) : '1s, the default';
      this.diagnostics.push({
        severity: 'error',
        message: `${where}: maximumInterval (${String(scalarAt(map, 'maximumInterval'))}) is shorter than initialInterval (${initial}); the delay between attempts starts at initialInterval and grows up to maximumInterval.`,
        range: rangeOf(pairOf(map, 'maximumInterval')?.value)!,
        code: 'retry',
      });
    }
    const coefficient = scalarAt(map, 'backoffCoefficient');
    const attempts = scalarAt(map, 'maximumAttempts');
    const types = pairOf(map, 'nonRetryableErrorTypes')?.value;
    return {
      initialIntervalMs,
      backoffCoefficient: typeof coefficient === 'number' && coefficient >= 1 ? coefficient : RETRY_DEFAULTS.backoffCoefficient,
      maximumIntervalMs: maximumIntervalMs ?? initialIntervalMs * RETRY_DEFAULTS.maximumIntervalFactor,
      maximumAttempts: typeof attempts === 'number' && Number.isInteger(attempts) && attempts >= 0 ? attempts : RETRY_DEFAULTS.maximumAttempts,
      nonRetryableErrorTypes: isSeq(types) ? types.items.flatMap((i) => (isScalar(i) && typeof i.value === 'string' ? [i.value] : [])) : [],
    };
  }

  private inputs(map: YAMLMap | undefined): InputDefinition[] {
    if (!map) return [];
    const inputs: InputDefinition[] = [];
    for (const pair of map.items) {
      if (!isScalar(pair.key) || !isMap(pair.value)) continue;
      const spec = pair.value.toJSON() as Record<string, unknown>;
      const hasDefault = 'default' in spec;
      inputs.push({
        name: String(pair.key.value),
        range: rangeOf(pair.key)!,
        type: (typeof spec.type === 'string' ? spec.type : inferInputType(spec.default)) as InputType,
        ...(typeof spec.description === 'string' && { description: spec.description }),
        ...(hasDefault && { default: spec.default }),
        required: typeof spec.required === 'boolean' ? spec.required : !hasDefault,
        ...(Array.isArray(spec.enum) && { enum: spec.enum }),
      });
    }
    return inputs;
  }

  private servers(map: YAMLMap | undefined): ServerDeclaration[] {
    if (!map) return [];
    const servers: ServerDeclaration[] = [];
    for (const pair of map.items) {
      if (!isScalar(pair.key) || !isMap(pair.value)) continue;
      servers.push({ name: String(pair.key.value), range: rangeOf(pair.key)!, definition: this.value(pair.value) });
    }
    return servers;
  }

  private steps(root: YAMLMap, defaults: WorkflowDefaults): StepDefinition[] {
    const seq = pairOf(root, 'steps')?.value;
    if (!isSeq(seq)) return [];
    const steps: StepDefinition[] = [];
    seq.items.forEach((item, index) => {
      if (isMap(item)) steps.push(this.step(item, index, defaults));
    });
    return steps;
  }

  /**
   * A step. Its kind comes from the first of tool, approval, wait, signal it has (as in the schema, which reports a
   * step with several or none); the keys of call steps are read only on call steps.
   */
  private step(map: YAMLMap, index: number, defaults: WorkflowDefaults): StepDefinition {
    const range = rangeOf(map)!;
    const idPair = pairOf(map, 'id');
    const id = stringAt(map, 'id') ?? `#${index}`;
    const name = stringAt(map, 'name');
    const ifPair = pairOf(map, 'if');
    const outputsPair = pairOf(map, 'outputs');
    const kind = stepKind(map);
    const common = {
      id,
      kind,
      idRange: rangeOf(idPair?.value) ?? rangeOf(idPair?.key) ?? { start: range.start, end: range.start },
      range,
      ...(name !== undefined && { name }),
      needs: this.needs(pairOf(map, 'needs')),
      ...(ifPair && { if: this.condition(ifPair.value) }),
      ...(outputsPair && isMap(outputsPair.value) && { outputs: this.value(outputsPair.value) }),
    };
    if (kind !== 'call') {
      const pair = pairOf(map, kind)!;
      const where = valueRange(pair);
      return {
        ...common,
        server: { name: '', range },
        tool: { name: '', range },
        ...(kind === 'approval' && { approval: this.approval(pair.value, where) }),
        ...(kind === 'wait' && { wait: this.wait(pair.value, where) }),
        ...(kind === 'signal' && { signal: signal(pair.value, where) }),
      };
    }
    const server = namedAt(map, 'server') ?? { name: '', range };
    const withPair = pairOf(map, 'with');
    const foreachPair = pairOf(map, 'foreach');
    const concurrency = scalarAt(map, 'concurrency');
    const timeoutMs = parseDuration(scalarAt(map, 'timeout'));
    const stepTimeoutMs = parseDuration(scalarAt(map, 'stepTimeout')) ?? defaults.stepTimeoutMs;
    const retryNode = pairOf(map, 'retry')?.value;
    const retry = isMap(retryNode)
      ? this.retryPolicy(retryNode, `'retry' of step '${id}'`)
      : isScalar(retryNode) && retryNode.value === false
        ? undefined
        : defaults.retry;
    const compensate = mapAt(map, 'compensate');
    return {
      ...common,
      server,
      tool: namedAt(map, 'tool') ?? { name: '', range },
      ...(withPair && isMap(withPair.value) && { with: this.value(withPair.value) }),
      ...(foreachPair && { foreach: this.condition(foreachPair.value) }),
      ...(typeof concurrency === 'number' && Number.isInteger(concurrency) && concurrency > 0 && { concurrency }),
      ...(timeoutMs !== undefined && { timeoutMs }),
      ...(stepTimeoutMs !== undefined && { stepTimeoutMs }),
      ...(retry && { retry }),
      ...(compensate && { compensate: this.compensation(compensate, server) }),
    };
  }

  /** A compensating call; without its own `server` it calls the step's. */
  private compensation(map: YAMLMap, stepServer: Named): CompensationDefinition {
    const range = rangeOf(map)!;
    const withPair = pairOf(map, 'with');
    return {
      server: namedAt(map, 'server') ?? stepServer,
      tool: namedAt(map, 'tool') ?? { name: '', range },
      ...(withPair && isMap(withPair.value) && { with: this.value(withPair.value) }),
      range,
    };
  }

  private approval(node: unknown, range: Range): ApprovalDefinition {
    const map = isMap(node) ? node : undefined;
    const message = map && pairOf(map, 'message');
    const timeoutMs = map && parseDuration(scalarAt(map, 'timeout'));
    return {
      ...(message && isScalar(message.value) && { message: this.value(message.value) }),
      ...(timeoutMs !== undefined && { timeoutMs }),
      onTimeout: map && scalarAt(map, 'onTimeout') === 'approve' ? 'approve' : 'reject',
      onReject: map && scalarAt(map, 'onReject') === 'continue' ? 'continue' : 'fail',
      range,
    };
  }

  /** `wait: 5m`, or `wait: { until: <date-time> }` where until may be an expression. */
  private wait(node: unknown, range: Range): WaitDefinition {
    if (isMap(node)) {
      const until = pairOf(node, 'until');
      return { ...(until && { until: this.value(until.value) }), range };
    }
    const durationMs = isScalar(node) ? parseDuration(node.value) : undefined;
    return { ...(durationMs !== undefined && { durationMs }), range };
  }

  private needs(pair: Pair | undefined): Named[] {
    if (!pair) return [];
    const nodes = isSeq(pair.value) ? pair.value.items : [pair.value];
    const needs: Named[] = [];
    for (const node of nodes) {
      if (isScalar(node) && typeof node.value === 'string') needs.push({ name: node.value, range: rangeOf(node)! });
    }
    return needs;
  }

  /** `if` and `foreach` take a bare expression as well as a `${{ }}` template. */
  private condition(node: unknown): ValueTemplate {
    if (isScalar(node) && typeof node.value === 'string' && !node.value.includes('${{')) {
      const source = node.value;
      const { expr, errors } = parseExpression(source);
      const template: Template = {
        parts: [{ kind: 'expression', source, ...(expr && { expr }), start: 0, end: source.length }],
        errors,
      };
      return this.templateNode(node, template);
    }
    return this.value(node);
  }

  /** Turns a YAML node into a value template; subtrees without expressions carry their plain value. */
  value(node: unknown): ValueTemplate {
    const resolved = isAlias(node) ? undefined : node;
    const range = rangeOf(node) ?? { start: 0, end: 0 };
    if (isScalar(resolved)) {
      if (typeof resolved.value === 'string' && resolved.value.includes('${{')) {
        return this.templateNode(resolved, parseTemplate(resolved.value));
      }
      return { kind: 'literal', value: resolved.toJSON(), range };
    }
    if (isMap(resolved)) {
      const entries = resolved.items
        .filter((p): p is Pair<Node, unknown> => isScalar(p.key))
        .map((p) => ({ key: String((p.key as { value: unknown }).value), keyRange: rangeOf(p.key)!, value: this.value(p.value) }));
      const constant = entries.every((e) => constantOf(e.value) !== undefined)
        ? { value: Object.fromEntries(entries.map((e) => [e.key, constantOf(e.value)!.value])) }
        : undefined;
      return { kind: 'object', entries, range, ...(constant && { constant }) };
    }
    if (isSeq(resolved)) {
      const items = resolved.items.map((item) => this.value(item));
      const constant = items.every((i) => constantOf(i) !== undefined)
        ? { value: items.map((i) => constantOf(i)!.value) }
        : undefined;
      return { kind: 'array', items, range, ...(constant && { constant }) };
    }
    return { kind: 'literal', value: isAlias(node) ? (node as { toJSON(): unknown }).toJSON() : null, range };
  }

  /** A template node, its syntax errors reported at their exact place in the file. */
  private templateNode(node: Scalar, template: Template): ValueTemplate {
    const range = rangeOf(node)!;
    const sourceMap = scalarSourceMap(String(node.value), this.file.text.slice(range.start, range.end), range.start);
    for (const error of template.errors) {
      const start = sourceMap[error.start];
      this.diagnostics.push({ severity: 'error', message: error.message, range: { start, end: Math.max(start, sourceMap[error.end]) }, code: 'expression-syntax' });
    }
    return { kind: 'template', template, range, sourceMap };
  }
}

/** What a step does, from the first of its keys tool, approval, wait, signal (a step with none is taken as a call the schema reports). */
function stepKind(map: YAMLMap): StepKind {
  if (pairOf(map, 'tool')) return 'call';
  if (pairOf(map, 'approval')) return 'approval';
  if (pairOf(map, 'wait')) return 'wait';
  if (pairOf(map, 'signal')) return 'signal';
  return 'call';
}

function signal(node: unknown, range: Range): SignalDefinition {
  const map = isMap(node) ? node : undefined;
  const timeoutMs = map && parseDuration(scalarAt(map, 'timeout'));
  return { name: (map && stringAt(map, 'name')) ?? '', ...(timeoutMs !== undefined && { timeoutMs }), range };
}

/** A circuit breaker policy: the fields the mapping sets, the others from `base`. */
function circuitBreakerPolicy(map: YAMLMap | undefined, base: CircuitBreakerPolicy): CircuitBreakerPolicy {
  if (!map) return { ...base };
  return {
    failureRateThreshold: parseRate(scalarAt(map, 'failureRateThreshold')) ?? base.failureRateThreshold,
    windowMs: parseDuration(scalarAt(map, 'window')) ?? base.windowMs,
    minimumCalls: positiveInteger(scalarAt(map, 'minimumCalls')) ?? base.minimumCalls,
    resetTimeoutMs: parseDuration(scalarAt(map, 'resetTimeout')) ?? base.resetTimeoutMs,
    halfOpenCalls: positiveInteger(scalarAt(map, 'halfOpenCalls')) ?? base.halfOpenCalls,
  };
}

/** The `circuitBreakers:` block by server name, each merged over `defaults.circuitBreaker`. */
function circuitBreakers(map: YAMLMap | undefined, base: CircuitBreakerPolicy): Map<string, CircuitBreakerPolicy> {
  const result = new Map<string, CircuitBreakerPolicy>();
  for (const pair of map?.items ?? []) {
    if (isScalar(pair.key)) result.set(String(pair.key.value), circuitBreakerPolicy(isMap(pair.value) ? pair.value : undefined, base));
  }
  return result;
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : undefined;
}

/** The range of a pair's value, or of its key when the value is empty (`approval:` with nothing after it). */
function valueRange(pair: Pair): Range {
  const value = rangeOf(pair.value);
  return value && value.end > value.start ? value : rangeOf(pair.key)!;
}

/** The plain value of a template tree without expressions, or undefined when it has some. */
export function constantOf(value: ValueTemplate): { value: unknown } | undefined {
  if (value.kind === 'literal') return { value: value.value };
  if (value.kind === 'template') return undefined;
  return value.constant;
}

/** The range of a YAML node, without trailing comments. */
export function rangeOf(node: unknown): Range | undefined {
  const r = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return r ? { start: r[0], end: r[1] } : undefined;
}

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => isScalar(p.key) && p.key.value === key) as Pair | undefined;
}

function mapAt(map: YAMLMap, key: string): YAMLMap | undefined {
  const value = pairOf(map, key)?.value;
  return isMap(value) ? value : undefined;
}

function scalarAt(map: YAMLMap, key: string): unknown {
  const value = pairOf(map, key)?.value;
  return isScalar(value) ? value.value : undefined;
}

function stringAt(map: YAMLMap, key: string): string | undefined {
  const value = scalarAt(map, key);
  return typeof value === 'string' ? value : undefined;
}

function namedAt(map: YAMLMap, key: string): Named | undefined {
  const value = pairOf(map, key)?.value;
  return isScalar(value) && typeof value.value === 'string' ? { name: value.value, range: rangeOf(value)! } : undefined;
}
