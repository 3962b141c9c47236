import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { parseExpression, parseTemplate, type Template } from '../expressions';
import type { Diagnostic } from '../diagnostics';
import type { Range, SourceFile } from '../source';
import { parseDuration } from './duration';
import { scalarSourceMap } from './source-map';
import {
  CIRCUIT_BREAKER_DEFAULTS,
  DEFAULT_TIMEOUT_MS,
  type InputDefinition,
  type InputType,
  type Named,
  type ServerDeclaration,
  type StepDefinition,
  type ValueTemplate,
  type WorkflowDefinition,
} from './model';
import { checkSchema } from './schema';

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
    const defaults = mapAt(root, 'defaults');
    const outputs = pairOf(root, 'outputs');
    return {
      name,
      ...(description !== undefined && { description }),
      inputs: this.inputs(mapAt(root, 'inputs')),
      servers: this.servers(mapAt(root, 'servers')),
      steps: this.steps(root),
      ...(outputs && isMap(outputs.value) && { outputs: this.value(outputs.value) }),
      defaults: { timeoutMs: (defaults && parseDuration(scalarAt(defaults, 'timeout'))) ?? DEFAULT_TIMEOUT_MS, circuitBreaker: CIRCUIT_BREAKER_DEFAULTS },
      circuitBreakers: new Map(),
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
        type: (typeof spec.type === 'string' ? spec.type : inferType(spec.default)) as InputType,
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

  private steps(root: YAMLMap): StepDefinition[] {
    const seq = pairOf(root, 'steps')?.value;
    if (!isSeq(seq)) return [];
    const steps: StepDefinition[] = [];
    seq.items.forEach((item, index) => {
      if (isMap(item)) steps.push(this.step(item, index));
    });
    return steps;
  }

  private step(map: YAMLMap, index: number): StepDefinition {
    const range = rangeOf(map)!;
    const idPair = pairOf(map, 'id');
    const id = stringAt(map, 'id') ?? `#${index}`;
    const name = stringAt(map, 'name');
    const withPair = pairOf(map, 'with');
    const ifPair = pairOf(map, 'if');
    const foreachPair = pairOf(map, 'foreach');
    const outputsPair = pairOf(map, 'outputs');
    const concurrency = scalarAt(map, 'concurrency');
    const timeoutMs = parseDuration(scalarAt(map, 'timeout'));
    return {
      id,
      kind: 'call',
      idRange: rangeOf(idPair?.value) ?? rangeOf(idPair?.key) ?? { start: range.start, end: range.start },
      range,
      ...(name !== undefined && { name }),
      server: namedAt(map, 'server') ?? { name: '', range },
      tool: namedAt(map, 'tool') ?? { name: '', range },
      ...(withPair && isMap(withPair.value) && { with: this.value(withPair.value) }),
      needs: this.needs(pairOf(map, 'needs')),
      ...(ifPair && { if: this.condition(ifPair.value) }),
      ...(foreachPair && { foreach: this.condition(foreachPair.value) }),
      ...(typeof concurrency === 'number' && Number.isInteger(concurrency) && concurrency > 0 && { concurrency }),
      ...(timeoutMs !== undefined && { timeoutMs }),
      ...(outputsPair && isMap(outputsPair.value) && { outputs: this.value(outputsPair.value) }),
    };
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

/** The plain value of a template tree without expressions, or undefined when it has some. */
export function constantOf(value: ValueTemplate): { value: unknown } | undefined {
  if (value.kind === 'literal') return { value: value.value };
  if (value.kind === 'template') return undefined;
  return value.constant;
}

function inferType(value: unknown): InputType {
  if (Array.isArray(value)) return 'array';
  if (value !== null && typeof value === 'object') return 'object';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'boolean') return 'boolean';
  return 'string';
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
