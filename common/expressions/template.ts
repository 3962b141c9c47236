/** Templates: strings with embedded `${{ expr }}` expressions. */
import type { Expr, ExpressionIssue } from './ast';
import { evaluateExpression, ExpressionError, toDisplayString } from './evaluate';
import { parseExpression } from './parser';

/**
 * Literal text, or an expression whose `start`/`end` are the offsets of `source` (the text between
 * `${{` and `}}`, untrimmed) inside the template string; `expr` is absent when `source` has a syntax error.
 */
export type TemplatePart =
  | { kind: 'text'; value: string; start: number; end: number }
  | { kind: 'expression'; source: string; expr?: Expr; start: number; end: number };

/** A parsed template; `errors` have offsets relative to the template string. */
export interface Template {
  parts: TemplatePart[];
  errors: ExpressionIssue[];
}

const OPEN = '${{';
const CLOSE = '}}';

/**
 * Splits `text` into literal text and expressions. Each `${{` yields one expression part, even when
 * it is empty or unterminated (then without `expr`, and with an error), so the k-th expression part
 * always belongs to the k-th `${{`.
 */
export function parseTemplate(text: string): Template {
  const parts: TemplatePart[] = [];
  const errors: ExpressionIssue[] = [];
  let pos = 0;
  while (pos < text.length) {
    const open = text.indexOf(OPEN, pos);
    if (open < 0) break;
    if (open > pos) parts.push({ kind: 'text', value: text.slice(pos, open), start: pos, end: open });
    const start = open + OPEN.length;
    const close = findClose(text, start);
    if (close < 0) {
      const hint = text.includes(CLOSE, start) ? ' (is a string literal missing its closing quote?)' : '';
      errors.push({ message: `unterminated expression: missing '}}'${hint}`, start: open, end: start });
      parts.push({ kind: 'expression', source: text.slice(start), start, end: text.length });
      return { parts, errors };
    }
    const source = text.slice(start, close);
    if (source.trim() === '') {
      errors.push({ message: 'empty expression', start: open, end: close + CLOSE.length });
      parts.push({ kind: 'expression', source, start, end: close });
    } else {
      const parsed = parseExpression(source);
      for (const e of parsed.errors) errors.push({ message: e.message, start: e.start + start, end: e.end + start });
      parts.push({ kind: 'expression', source, ...(parsed.expr && { expr: parsed.expr }), start, end: close });
    }
    pos = close + CLOSE.length;
  }
  if (pos < text.length) parts.push({ kind: 'text', value: text.slice(pos), start: pos, end: text.length });
  return { parts, errors };
}

/** The offset of the `}}` closing an expression whose source starts at `from`, skipping single-quoted strings; -1 if none. */
function findClose(text: string, from: number): number {
  let inString = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    // A doubled quote inside a string toggles twice, so `''` escapes need no special case.
    if (c === "'") inString = !inString;
    else if (!inString && c === '}' && text[i + 1] === '}') return i;
  }
  return -1;
}

/** Whether the template contains any `${{ }}` expression. */
export function hasExpressions(t: Template): boolean {
  return t.parts.some((p) => p.kind === 'expression');
}

/**
 * A template that is exactly one `${{ expr }}` (surrounding whitespace allowed) evaluates to the expression's value with its type kept; otherwise the parts are concatenated as display strings.
 * Evaluation errors are rethrown with offsets relative to the template string; a template with syntax errors throws its first one.
 */
export function evaluateTemplate(t: Template, contexts: Readonly<Record<string, unknown>>): unknown {
  if (t.errors.length > 0) {
    const { message, start, end } = t.errors[0];
    throw new ExpressionError(message, start, end);
  }
  const single = singleExpression(t.parts);
  if (single) return evaluatePart(single, contexts);
  let out = '';
  for (const part of t.parts) out += part.kind === 'text' ? part.value : toDisplayString(evaluatePart(part, contexts));
  return out;
}

type ExpressionPart = Extract<TemplatePart, { kind: 'expression' }>;

/** The only expression part when every other part is whitespace. */
function singleExpression(parts: readonly TemplatePart[]): ExpressionPart | undefined {
  let found: ExpressionPart | undefined;
  for (const part of parts) {
    if (part.kind === 'expression') {
      if (found) return undefined;
      found = part;
    } else if (/\S/.test(part.value)) {
      return undefined;
    }
  }
  return found;
}

function evaluatePart(part: ExpressionPart, contexts: Readonly<Record<string, unknown>>): unknown {
  if (!part.expr) throw new ExpressionError('expression has syntax errors', part.start, part.end);
  try {
    return evaluateExpression(part.expr, contexts);
  } catch (e) {
    if (!(e instanceof ExpressionError)) throw e;
    throw new ExpressionError(e.message, e.start + part.start, e.end + part.start, { cause: e.cause });
  }
}
