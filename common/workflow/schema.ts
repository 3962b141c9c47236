import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import workflowSchema from '../../schemas/workflow.schema.json';
import type { Diagnostic } from '../diagnostics';
import { NEVER_RETRIED } from '../events';
import type { Range } from '../source';
import { didYouMean } from '../suggest';
import { describeValue, withArticle } from '../words';

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, strict: false, verbose: true }).compile(workflowSchema);
  return compiled;
}

/** Checks a parsed YAML document against the workflow JSON Schema, with each error placed on the node it is about. */
export function checkSchema(doc: Document, text: string): Diagnostic[] {
  const validate = validator();
  if (validate(doc.toJS({ maxAliasCount: 100 }))) return [];
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const error of relevantErrors(validate.errors ?? [])) {
    const d = toDiagnostic(doc, text, error);
    const key = `${d.range.start}:${d.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      diagnostics.push(d);
    }
  }
  return diagnostics;
}

/**
 * Drops the errors that only restate others: `if` summaries, the errors of a name's own schema under
 * `propertyNames` (which reports the name), and the branch errors under a `oneOf`/`anyOf` that gets one clear message.
 */
function relevantErrors(errors: ErrorObject[]): ErrorObject[] {
  const alternatives = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf').map((e) => e.instancePath);
  const underAlternative = (path: string): boolean => alternatives.some((a) => path === a || path.startsWith(`${a}/`));
  return errors.filter((e) => {
    if (e.keyword === 'if') return false;
    if (e.propertyName !== undefined && e.keyword !== 'propertyNames') return false;
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf') return true;
    return !underAlternative(e.instancePath);
  });
}

function toDiagnostic(doc: Document, text: string, error: ErrorObject): Diagnostic {
  const path = error.instancePath.split('/').slice(1).map(unescapePointer);
  const node = nodeAt(doc, path);
  const where = describePath(doc, path);
  // An empty value (`approval:` with nothing after it) has an empty range: point at its key instead.
  const valueRange = rangeOf(node);
  const range =
    (valueRange && valueRange.end > valueRange.start ? valueRange : keyRange(nodeAt(doc, path.slice(0, -1)), path[path.length - 1] ?? '')) ??
    valueRange ??
    { start: 0, end: Math.min(text.length, 1) };
  const diagnostic = (message: string, r: Range = range): Diagnostic => ({
    severity: 'error',
    message,
    range: r,
    code: 'schema',
  });
  const params = error.params as Record<string, unknown>;
  const last = path[path.length - 1];
  const inStep = path[0] === 'steps' && path.length === 3;
  if (error.keyword === 'false schema' && path[0] === 'steps' && path.length === 3) {
    return stepKindDiagnostic(doc, path, range);
  }
  if (error.keyword === 'required' && params.missingProperty === 'tool' && path[0] === 'steps' && path.length === 2 && !hasKey(node, 'server')) {
    // The last branch of the step's kind chain: none of tool, approval, wait, signal.
    return diagnostic(`${where} needs one of: ${STEP_KIND_KEYS.map((k) => (k === 'tool' ? 'tool (with server)' : k)).join(', ')}.`, firstKeyRange(node) ?? range);
  }
  if (last === 'failureRateThreshold' && ['type', 'pattern', 'maximum', 'exclusiveMinimum'].includes(error.keyword)) {
    return diagnostic(`${where} is ${JSON.stringify(error.data)}: write a percentage such as 50%, or a number greater than 0 and at most 1.`);
  }
  if (inStep && last === 'retry' && (error.keyword === 'type' || error.keyword === 'const')) {
    return diagnostic(`${where} must be a retry policy (a mapping) or false, not ${describeValue(error.data, 'yaml')}.`);
  }
  if (inStep && last === 'wait' && error.keyword === 'type') {
    return diagnostic(`${where} must be a duration (such as 30s or 5m) or a mapping with 'until', not ${describeValue(error.data, 'yaml')}.`);
  }
  if (error.keyword === 'enum' && path[path.length - 2] === 'nonRetryableErrorTypes') {
    return diagnostic(nonRetryableMessage(describePath(doc, path.slice(0, -1)), error.data, params.allowedValues as string[]));
  }
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const allowed = allowedKeys(error.parentSchema);
      return diagnostic(
        `unknown key '${key}' in ${where}.${didYouMean(key, allowed)} Allowed keys: ${allowed.join(', ')}.`,
        keyRange(node, key) ?? range,
      );
    }
    case 'required':
      return diagnostic(`${where} is missing '${String(params.missingProperty)}'.`, firstKeyRange(node) ?? range);
    case 'type':
      return diagnostic(`${where} must be ${withArticle(String(params.type), 'yaml')}, not ${describeValue(error.data, 'yaml')}.`);
    case 'enum':
      return diagnostic(
        `${where} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, not ${JSON.stringify(error.data)}.`,
      );
    case 'pattern':
      return diagnostic(patternMessage(where, error));
    case 'propertyNames':
      return diagnostic(
        `${where} has an invalid name '${String(params.propertyName)}': ${
          path[0] === 'servers' || path[0] === 'circuitBreakers'
            ? "server names hold only letters, digits, '_', '.' and '-'"
            : "names start with a letter or '_' and hold only letters, digits, '_' and '-'"
        }.`,
        keyRange(node, String(params.propertyName)) ?? range,
      );
    case 'minItems':
      return diagnostic(`${where} must have at least ${String(params.limit)} item(s).`);
    case 'minLength':
      return diagnostic(`${where} must not be empty.`);
    case 'minimum':
      return diagnostic(`${where} must be at least ${String(params.limit)}.`);
    case 'maximum':
      return diagnostic(`${where} must be at most ${String(params.limit)}.`);
    case 'exclusiveMinimum':
      return diagnostic(`${where} must be greater than ${String(params.limit)}.`);
    case 'const':
      return diagnostic(`${where} must be ${JSON.stringify(params.allowedValue)}, not ${describeValue(error.data, 'yaml')}.`);
    case 'uniqueItems':
      return diagnostic(`${where} lists the same item twice.`);
    case 'oneOf':
    case 'anyOf':
      return diagnostic(anyOfMessage(where, path));
    default:
      return diagnostic(`${where} ${error.message ?? 'is invalid'}.`);
  }
}

/** The keys that decide what a step does, in the order that decides its kind when it has several. */
const STEP_KIND_KEYS = ['tool', 'approval', 'wait', 'signal'] as const;

/** What a step that does not call a tool does, for messages. */
const STEP_KIND_WORDS: Record<string, string> = { approval: 'waits for an approval', wait: 'waits for a time', signal: 'waits for a signal' };

/**
 * A key the step's kind forbids (the schema's `false` properties): another kind's key ("has both 'tool' and
 * 'wait'"), or a key of call steps on a step that calls no tool. Every kind key of one step gets the same message
 * at the same place, so the duplicates fold into one.
 */
function stepKindDiagnostic(doc: Document, path: string[], fallback: Range): Diagnostic {
  const stepNode = nodeAt(doc, path.slice(0, -1));
  const where = describePath(doc, path.slice(0, -1));
  const key = path[2];
  const keys = isMap(stepNode) ? stepNode.items.filter((p) => isScalar(p.key)).map((p) => String((p.key as { value: unknown }).value)) : [];
  const kindKeys = keys.filter((k) => (STEP_KIND_KEYS as readonly string[]).includes(k));
  if ((STEP_KIND_KEYS as readonly string[]).includes(key) && kindKeys.length > 1) {
    const names = kindKeys.map((k) => `'${k}'`);
    const list = names.length === 2 ? `both ${names[0]} and ${names[1]}` : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
    return {
      severity: 'error',
      message: `${where} has ${list}: a step does one thing.`,
      range: keyRange(stepNode, kindKeys[1]) ?? fallback,
      code: 'schema',
    };
  }
  const kind = STEP_KIND_KEYS.find((k) => keys.includes(k)) ?? 'tool';
  return {
    severity: 'error',
    message: `${where} ${STEP_KIND_WORDS[kind] ?? 'does not call a tool'}: '${key}' only applies to steps that call a tool.`,
    range: keyRange(stepNode, key) ?? fallback,
    code: 'schema',
  };
}

function nonRetryableMessage(where: string, value: unknown, allowed: string[]): string {
  const listed = `Error types a policy may retry: ${allowed.join(', ')}.`;
  if (typeof value === 'string' && (NEVER_RETRIED as readonly string[]).includes(value)) {
    return `${where} lists '${value}', which is never retried anyway: leave it out. ${listed}`;
  }
  const suggestion = typeof value === 'string' ? didYouMean(value, allowed) : '';
  return `${where} lists ${JSON.stringify(value)}, which is not an error type.${suggestion} ${listed}`;
}

function patternMessage(where: string, error: ErrorObject): string {
  const value = JSON.stringify(error.data);
  const pattern = String((error.params as { pattern: string }).pattern);
  if (pattern.includes('ms|s|m|h')) {
    return `${where} is ${value}, not a duration: write milliseconds as a number, or a string such as 500ms, 30s, 5m, 1h.`;
  }
  if (pattern.includes('.-')) {
    return `${where} is ${value}: server names hold only letters, digits, '_', '.' and '-'.`;
  }
  return `${where} is ${value}: it must start with a letter or '_' and hold only letters, digits, '_' and '-'.`;
}

function anyOfMessage(where: string, path: string[]): string {
  const last = path[path.length - 1];
  if (last === 'needs') return `${where} must be a step id or a list of step ids.`;
  if (path[0] === 'servers') return `${where} needs either 'command' (a stdio server) or 'url' (an HTTP server).`;
  return `${where} does not match any allowed form.`;
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

function nodeAt(doc: Document, path: string[]): Node | undefined {
  let node: unknown = doc.contents;
  for (const segment of path) {
    if (isMap(node)) {
      node = node.items.find((p) => isScalar(p.key) && String(p.key.value) === segment)?.value;
    } else if (isSeq(node)) {
      node = node.items[Number(segment)];
    } else {
      return undefined;
    }
  }
  return node as Node | undefined;
}

/** Where a JSON pointer path lies, in words a workflow author recognises: `step 'fetch'`, `input 'dir'`. */
export function describePath(doc: Document, path: string[]): string {
  if (path.length === 0) return 'the workflow';
  const [section, key, ...rest] = path;
  let base: string;
  if (section === 'steps' && key !== undefined) {
    const id = doc.getIn(['steps', Number(key), 'id']);
    base = typeof id === 'string' ? `step '${id}'` : `steps[${key}]`;
  } else if ((section === 'inputs' || section === 'servers' || section === 'outputs') && key !== undefined) {
    base = `${section.slice(0, -1)} '${key}'`;
  } else if (section === 'circuitBreakers' && key !== undefined) {
    base = `the circuit breaker of '${key}'`;
  } else {
    return `'${path.join('.')}'`;
  }
  return rest.length === 0 ? base : `'${rest.join('.')}' of ${base}`;
}

function rangeOf(node: unknown): Range | undefined {
  const r = (node as { range?: [number, number, number] } | undefined)?.range;
  return r ? { start: r[0], end: r[1] } : undefined;
}

function keyRange(node: unknown, key: string): Range | undefined {
  if (!isMap(node)) return undefined;
  const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
  return rangeOf(pair?.key);
}

function hasKey(node: unknown, key: string): boolean {
  return isMap(node) && node.items.some((p) => isScalar(p.key) && String(p.key.value) === key);
}

function firstKeyRange(node: unknown): Range | undefined {
  return isMap(node) && node.items.length > 0 ? rangeOf(node.items[0].key) : rangeOf(node);
}

function allowedKeys(schema: unknown): string[] {
  const properties = (schema as { properties?: Record<string, unknown> }).properties ?? {};
  return Object.keys(properties).filter((k) => k !== '$schema');
}
