/**
 * Evaluator and the value helpers it shares with the built-in functions.
 *
 * Values are JSON-like: null, booleans, numbers, strings, arrays and plain objects (`undefined`
 * from a context counts as null). Evaluation never fails on the shape of the data: a missing
 * property, a property of null, or an out-of-range or non-integer index is `null`. Only function
 * calls raise errors (unknown function, wrong argument count, bad argument).
 */
import type { CallExpr, CompareOperator, Expr } from './ast';
import { arityMessage, lookupFunction } from './functions';

/** An evaluation error; `start`/`end` are the range of the offending call or sub-expression. */
export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly start: number,
    readonly end: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ExpressionError';
  }
}

export type ValueKind = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';

/** The kind of a value, as named in messages; `undefined` counts as null. */
export function kindOf(v: unknown): ValueKind {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'boolean':
    case 'number':
    case 'string':
      return typeof v as ValueKind;
    default:
      return Array.isArray(v) ? 'array' : 'object';
  }
}

/** Evaluates a parsed expression against the root contexts; an unknown root context is null. */
export function evaluateExpression(expr: Expr, contexts: Readonly<Record<string, unknown>>): unknown {
  switch (expr.kind) {
    case 'literal':
      return expr.value;
    case 'context':
      return Object.hasOwn(contexts, expr.name) ? (contexts[expr.name] ?? null) : null;
    case 'member': {
      const object = evaluateExpression(expr.object, contexts);
      return expr.mapped ? mapAccess(object, expr.property) : (access(object, expr.property) ?? null);
    }
    case 'index': {
      const object = evaluateExpression(expr.object, contexts);
      const key = evaluateExpression(expr.index, contexts);
      return expr.mapped ? mapAccess(object, key) : (access(object, key) ?? null);
    }
    case 'filter': {
      const object = evaluateExpression(expr.object, contexts);
      const out: unknown[] = [];
      if (!expr.mapped) appendValues(object, out);
      else if (Array.isArray(object)) for (const element of object) appendValues(element, out);
      return out;
    }
    case 'call':
      return call(expr, contexts);
    case 'not':
      return !isTruthy(evaluateExpression(expr.operand, contexts));
    case 'compare':
      return compare(expr.op, evaluateExpression(expr.left, contexts), evaluateExpression(expr.right, contexts));
    case 'logical': {
      const left = evaluateExpression(expr.left, contexts);
      // Short-circuits and yields an operand, so `inputs.name || 'default'` works as in JavaScript.
      if (expr.op === '&&' ? !isTruthy(left) : isTruthy(left)) return left;
      return evaluateExpression(expr.right, contexts);
    }
  }
}

function call(expr: CallExpr, contexts: Readonly<Record<string, unknown>>): unknown {
  const fn = lookupFunction(expr.name);
  if (!fn) throw new ExpressionError(`unknown function '${expr.name}'`, expr.start, expr.nameEnd);
  const count = expr.args.length;
  if (count < fn.minArgs || count > fn.maxArgs) throw new ExpressionError(arityMessage(fn, count), expr.start, expr.end);
  const args = new Array<unknown>(count);
  for (let i = 0; i < count; i++) args[i] = evaluateExpression(expr.args[i], contexts);
  try {
    return fn.implementation(args);
  } catch (e) {
    throw new ExpressionError(`${fn.name}: ${e instanceof Error ? e.message : String(e)}`, expr.start, expr.end, { cause: e });
  }
}

/**
 * `object[key]`, or `undefined` when there is no such entry. Arrays take integer numbers; objects take
 * strings (numbers are converted, so `obj[1]` reads key '1'); only own properties count, so
 * `constructor` or `__proto__` never reach the prototype.
 */
function access(object: unknown, key: unknown): unknown {
  if (object === null || typeof object !== 'object') return undefined;
  if (Array.isArray(object)) return typeof key === 'number' && Number.isInteger(key) && key >= 0 ? object[key] : undefined;
  const name = typeof key === 'string' ? key : typeof key === 'number' ? String(key) : undefined;
  return name !== undefined && Object.hasOwn(object, name) ? (object as Record<string, unknown>)[name] : undefined;
}

/** An access applied to each element of a filtered array; elements without the entry are skipped. */
function mapAccess(list: unknown, key: unknown): unknown[] {
  const out: unknown[] = [];
  if (Array.isArray(list)) {
    for (const element of list) {
      const value = access(element, key);
      if (value !== undefined) out.push(value);
    }
  }
  return out;
}

/** Appends an array's elements or an object's values; other values have none. */
function appendValues(value: unknown, out: unknown[]): void {
  if (value === null || typeof value !== 'object') return;
  const values = Array.isArray(value) ? value : Object.values(value);
  for (const v of values) out.push(v ?? null);
}

/** Falsy: null, false, 0, -0, NaN and ''. Everything else, including `[]` and `{}`, is truthy (JavaScript's rule). */
export function isTruthy(v: unknown): boolean {
  return Boolean(v);
}

/** Number coercion for comparing different kinds: null → 0, booleans → 1/0, strings by `Number()` ('' → 0, invalid → NaN), arrays/objects → NaN. */
export function toNumber(v: unknown): number {
  switch (typeof v) {
    case 'number':
      return v;
    case 'boolean':
      return v ? 1 : 0;
    case 'string':
      return Number(v);
    default:
      return v === null || v === undefined ? 0 : NaN;
  }
}

/**
 * `==`: values of the same kind compare strictly (primitives) or structurally (arrays, objects);
 * values of different kinds are compared as numbers. NaN equals nothing. Strings compare
 * case-sensitively, unlike GitHub Actions, so that `==` agrees with JSON data and with `contains`.
 */
export function looseEquals(a: unknown, b: unknown): boolean {
  const kind = kindOf(a);
  if (kind !== kindOf(b)) return toNumber(a) === toNumber(b);
  return kind === 'array' || kind === 'object' ? deepEquals(a, b) : kind === 'null' || a === b;
}

/** Structural equality with no coercion: `[1] == ['1']` is false. */
function deepEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const kind = kindOf(a);
  if (kind !== kindOf(b)) return false;
  if (kind === 'array') {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!deepEquals(x[i], y[i])) return false;
    return true;
  }
  if (kind === 'object') {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    const keys = Object.keys(x);
    if (keys.length !== Object.keys(y).length) return false;
    for (const key of keys) if (!Object.hasOwn(y, key) || !deepEquals(x[key], y[key])) return false;
    return true;
  }
  return kind === 'null';
}

/** Ordering: two strings compare by UTF-16 code units, anything else as numbers; NaN makes every comparison false. */
function compare(op: CompareOperator, a: unknown, b: unknown): boolean {
  switch (op) {
    case '==':
      return looseEquals(a, b);
    case '!=':
      return !looseEquals(a, b);
  }
  if (typeof a === 'string' && typeof b === 'string') return ordered(op, a, b);
  return ordered(op, toNumber(a), toNumber(b));
}

function ordered<T extends string | number>(op: '<' | '<=' | '>' | '>=', a: T, b: T): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

/** The text a value interpolates as: null → '', strings as-is, numbers and booleans as JavaScript prints them, arrays/objects as compact JSON. */
export function toDisplayString(v: unknown): string {
  if (v === null || v === undefined) return '';
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(v);
    default:
      return JSON.stringify(v) ?? '';
  }
}
