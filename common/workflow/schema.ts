import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import workflowSchema from '../../schemas/workflow.schema.json';
import type { Diagnostic } from '../diagnostics';
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

/** Drops the errors that only restate others: `if` summaries, and the branch errors under a `oneOf`/`anyOf` that gets one clear message. */
function relevantErrors(errors: ErrorObject[]): ErrorObject[] {
  const alternatives = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf').map((e) => e.instancePath);
  const underAlternative = (path: string): boolean => alternatives.some((a) => path === a || path.startsWith(`${a}/`));
  return errors.filter((e) => {
    if (e.keyword === 'if') return false;
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf') return true;
    return !underAlternative(e.instancePath);
  });
}

function toDiagnostic(doc: Document, text: string, error: ErrorObject): Diagnostic {
  const path = error.instancePath.split('/').slice(1).map(unescapePointer);
  const node = nodeAt(doc, path);
  const where = describePath(doc, path);
  const range = rangeOf(node) ?? { start: 0, end: Math.min(text.length, 1) };
  const diagnostic = (message: string, r: Range = range): Diagnostic => ({
    severity: 'error',
    message,
    range: r,
    code: 'schema',
  });
  const params = error.params as Record<string, unknown>;
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
        `${where} has an invalid name '${String(params.propertyName)}': names start with a letter or '_' and hold only letters, digits, '_' and '-'.`,
        keyRange(node, String(params.propertyName)) ?? range,
      );
    case 'minItems':
      return diagnostic(`${where} must have at least ${String(params.limit)} item(s).`);
    case 'minLength':
      return diagnostic(`${where} must not be empty.`);
    case 'minimum':
      return diagnostic(`${where} must be at least ${String(params.limit)}.`);
    case 'uniqueItems':
      return diagnostic(`${where} lists the same item twice.`);
    case 'oneOf':
    case 'anyOf':
      return diagnostic(anyOfMessage(where, path));
    default:
      return diagnostic(`${where} ${error.message ?? 'is invalid'}.`);
  }
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

function firstKeyRange(node: unknown): Range | undefined {
  return isMap(node) && node.items.length > 0 ? rangeOf(node.items[0].key) : rangeOf(node);
}

function allowedKeys(schema: unknown): string[] {
  const properties = (schema as { properties?: Record<string, unknown> }).properties ?? {};
  return Object.keys(properties).filter((k) => k !== '$schema');
}
