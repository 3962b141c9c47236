/** The built-in functions callable from expressions. Names are matched case-insensitively, as in GitHub Actions. */
import { kindOf, looseEquals, toDisplayString } from './evaluate';

/** A built-in function; `implementation` throws a plain `Error` whose message the evaluator prefixes with the name and ranges at the call. */
export interface BuiltinFunction {
  readonly name: string;
  readonly minArgs: number;
  readonly maxArgs: number;
  readonly implementation: (args: readonly unknown[]) => unknown;
}

/** How much of an unparsable JSON text an error message quotes. */
const JSON_QUOTE_LENGTH = 40;

/** Every built-in function, in alphabetical order. */
export const BUILTIN_FUNCTIONS: readonly BuiltinFunction[] = [
  {
    name: 'contains',
    minArgs: 2,
    maxArgs: 2,
    implementation: ([search, item]) =>
      Array.isArray(search)
        ? search.some((element) => looseEquals(element, item))
        : toDisplayString(search).includes(toDisplayString(item)),
  },
  {
    name: 'endsWith',
    minArgs: 2,
    maxArgs: 2,
    implementation: ([s, suffix]) => toDisplayString(s).endsWith(toDisplayString(suffix)),
  },
  {
    name: 'format',
    minArgs: 1,
    maxArgs: Infinity,
    implementation: ([fmt, ...args]) => format(toDisplayString(fmt), args),
  },
  {
    name: 'fromJSON',
    minArgs: 1,
    maxArgs: 1,
    implementation: ([value]) => {
      const text = toDisplayString(value);
      try {
        return JSON.parse(text);
      } catch (e) {
        throw new Error(`invalid JSON ${quoteStart(text)}: ${(e as Error).message}`, { cause: e });
      }
    },
  },
  {
    name: 'join',
    minArgs: 1,
    maxArgs: 2,
    implementation: ([value, separator]) =>
      Array.isArray(value)
        ? value.map(toDisplayString).join(separator === undefined ? ',' : toDisplayString(separator))
        : toDisplayString(value),
  },
  {
    name: 'keys',
    minArgs: 1,
    maxArgs: 1,
    implementation: ([value]) => {
      if (kindOf(value) !== 'object') throw new Error(`expected an object, got ${kindOf(value)}`);
      return Object.keys(value as object);
    },
  },
  {
    name: 'length',
    minArgs: 1,
    maxArgs: 1,
    implementation: ([value]) => {
      if (typeof value === 'string' || Array.isArray(value)) return value.length;
      if (kindOf(value) === 'object') return Object.keys(value as object).length;
      throw new Error(`expected a string, array or object, got ${kindOf(value)}`);
    },
  },
  {
    name: 'lower',
    minArgs: 1,
    maxArgs: 1,
    implementation: ([s]) => toDisplayString(s).toLowerCase(),
  },
  {
    // Not in GitHub Actions, but MCP servers often answer with lines of text that a foreach needs as a list.
    name: 'split',
    minArgs: 1,
    maxArgs: 2,
    implementation: ([value, separator]) => {
      const text = toDisplayString(value);
      const parts = separator === undefined ? text.split(/\r?\n/) : text.split(toDisplayString(separator));
      return parts.filter((part) => part !== '');
    },
  },
  {
    name: 'startsWith',
    minArgs: 2,
    maxArgs: 2,
    implementation: ([s, prefix]) => toDisplayString(s).startsWith(toDisplayString(prefix)),
  },
  {
    name: 'toJSON',
    minArgs: 1,
    maxArgs: 1,
    implementation: ([value]) => JSON.stringify(value, null, 2) ?? 'null',
  },
  {
    name: 'trim',
    minArgs: 1,
    maxArgs: 1,
    implementation: ([s]) => toDisplayString(s).trim(),
  },
  {
    name: 'upper',
    minArgs: 1,
    maxArgs: 1,
    implementation: ([s]) => toDisplayString(s).toUpperCase(),
  },
];

const BY_NAME: ReadonlyMap<string, BuiltinFunction> = new Map(BUILTIN_FUNCTIONS.map((f) => [f.name.toLowerCase(), f]));

/** The built-in function called `name`, ignoring case. */
export function lookupFunction(name: string): BuiltinFunction | undefined {
  return BY_NAME.get(name.toLowerCase());
}

/** The message for calling `fn` with `count` arguments, e.g. `'join' takes 1 to 2 arguments, got 3`. */
export function arityMessage(fn: BuiltinFunction, count: number): string {
  const allowed =
    fn.maxArgs === Infinity ? `at least ${fn.minArgs}` : fn.minArgs === fn.maxArgs ? `${fn.minArgs}` : `${fn.minArgs} to ${fn.maxArgs}`;
  const plural = (fn.maxArgs === Infinity ? fn.minArgs : fn.maxArgs) === 1 ? '' : 's';
  return `'${fn.name}' takes ${allowed} argument${plural}, got ${count}`;
}

/** .NET-style `{0}` placeholders; `{{` and `}}` are literal braces. Strict like GitHub: a stray brace is an error. */
function format(fmt: string, args: readonly unknown[]): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i];
    if (c !== '{' && c !== '}') continue;
    out += fmt.slice(from, i);
    if (fmt[i + 1] === c) {
      out += c;
      from = ++i + 1;
      continue;
    }
    if (c === '}') throw new Error(`unmatched '}' at position ${i} of the format string; write '}}' for a literal brace`);
    const close = fmt.indexOf('}', i);
    const index = close < 0 ? '' : fmt.slice(i + 1, close);
    if (!/^\d+$/.test(index)) {
      throw new Error(`invalid placeholder at position ${i} of the format string: expected {0}, {1}, …, or '{{' for a literal brace`);
    }
    const n = Number(index);
    if (n >= args.length) {
      throw new Error(`no argument for {${index}}: ${args.length} argument${args.length === 1 ? '' : 's'} after the format string`);
    }
    out += toDisplayString(args[n]);
    i = close;
    from = close + 1;
  }
  return out + fmt.slice(from);
}

/** The start of `text`, quoted on one line, for error messages. */
function quoteStart(text: string): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > JSON_QUOTE_LENGTH ? `'${line.slice(0, JSON_QUOTE_LENGTH)}'…` : `'${line}'`;
}
