import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { didYouMean } from '../suggest';
import { describeValue, withArticle } from '../words';

/** What a workflow needs to know of an MCP tool to check a call to it. */
export interface ToolInfo {
  name: string;
  description?: string;
  inputSchema?: Record<string, unknown>;
}

/** A problem with the arguments of a tool call; `path` names the argument (empty for the whole object). */
export interface ArgumentIssue {
  path: string[];
  message: string;
  severity: 'error' | 'warning';
  /** Whether the issue is about the key at `path` (an unknown argument) rather than its value. */
  about: 'key' | 'value';
}

/** Stands for a value computed by an expression, unknown until the run: checks about it are dropped. */
export const COMPUTED = Symbol('computed');

const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false, verbose: true });
const cache = new Map<string, ValidateFunction | null>();
/** The engine checks every call: look schema objects up by identity before serialising them. */
const bySchema = new WeakMap<object, ValidateFunction | null>();

function compile(schema: Record<string, unknown>): ValidateFunction | null {
  const known = bySchema.get(schema);
  if (known !== undefined) return known;
  const key = JSON.stringify(schema);
  let fn = cache.get(key);
  if (fn === undefined) {
    // Servers declare draft-07 or 2020-12 in `$schema`; the keywords tools use are the same in both.
    const { $schema: _ignored, ...rest } = schema;
    try {
      fn = ajv.compile(rest);
    } catch {
      fn = null;
    }
    cache.set(key, fn);
  }
  bySchema.set(schema, fn);
  return fn;
}

/**
 * Checks tool arguments against the tool's inputSchema. Before a run, values that are `COMPUTED` (or contain it)
 * pass whatever they turn out to be; at run time (`runtime`), every value is known and only errors matter.
 */
export function checkArguments(tool: ToolInfo, args: Record<string, unknown>, runtime = false): ArgumentIssue[] {
  const schema = tool.inputSchema;
  if (!schema) return [];
  const validate = compile(schema);
  if (runtime && (!validate || validate(args))) return [];
  const issues: ArgumentIssue[] = [];
  const computed = new Set<string>();
  const data = runtime ? args : replaceComputed(args, [], computed);
  if (validate && !validate(data)) {
    for (const e of validate.errors ?? []) {
      const path = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
      if (isUnderComputed(path, computed)) continue;
      const unknownKey = e.keyword === 'additionalProperties';
      const at = unknownKey ? [...path, String((e.params as { additionalProperty: string }).additionalProperty)] : path;
      issues.push({ path: at, message: argumentMessage(tool, path, e), severity: 'error', about: unknownKey ? 'key' : 'value' });
    }
  }
  const properties = schema.properties as Record<string, unknown> | undefined;
  if (!runtime && properties && schema.additionalProperties !== false) {
    // Most tool schemas allow unknown keys, but an argument the tool does not declare is almost always a typo.
    for (const key of Object.keys(args)) {
      if (!(key in properties)) {
        issues.push({
          path: [key],
          message: `tool '${tool.name}' has no argument '${key}'.${didYouMean(key, Object.keys(properties))} Its arguments: ${listOrNone(Object.keys(properties))}.`,
          severity: 'warning',
          about: 'key',
        });
      }
    }
  }
  return issues;
}

const MARKER = '\u0000computed';

function replaceComputed(value: unknown, path: string[], computed: Set<string>): unknown {
  if (value === COMPUTED) {
    computed.add(path.join('/'));
    return MARKER;
  }
  if (Array.isArray(value)) return value.map((v, i) => replaceComputed(v, [...path, String(i)], computed));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceComputed(v, [...path, k], computed)]));
  }
  return value;
}

function isUnderComputed(path: string[], computed: Set<string>): boolean {
  for (let i = path.length; i >= 0; i--) if (computed.has(path.slice(0, i).join('/'))) return true;
  return false;
}

function argumentMessage(tool: ToolInfo, path: string[], e: ErrorObject): string {
  const params = e.params as Record<string, unknown>;
  const where = path.length === 0 ? `the arguments of '${tool.name}'` : `argument '${path.join('.')}' of '${tool.name}'`;
  switch (e.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      return path.length === 0
        ? `tool '${tool.name}' requires argument '${missing}'.`
        : `${where} is missing '${missing}'.`;
    }
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const props = Object.keys(((e.parentSchema as { properties?: object }) ?? {}).properties ?? {});
      return `${path.length === 0 ? `tool '${tool.name}'` : where} has no argument '${key}'.${didYouMean(key, props)} Its arguments: ${listOrNone(props)}.`;
    }
    case 'type':
      return `${where} must be ${withArticle(String(params.type), 'json')}, not ${describeValue(e.data, 'json')}.`;
    case 'enum':
      return `${where} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, not ${JSON.stringify(e.data)}.`;
    default:
      return `${where} ${e.message ?? 'is invalid'}.`;
  }
}

function listOrNone(names: string[]): string {
  return names.length === 0 ? '(none)' : names.join(', ');
}
