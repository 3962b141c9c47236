/** Tokenizer for `${{ }}` expressions. */

export type Punct = '||' | '&&' | '==' | '!=' | '<=' | '>=' | '<' | '>' | '!' | '(' | ')' | '[' | ']' | '.' | ',' | '*';

export type Token =
  | { readonly kind: 'number'; readonly value: number; readonly start: number; readonly end: number }
  | { readonly kind: 'string'; readonly value: string; readonly start: number; readonly end: number }
  | { readonly kind: 'identifier'; readonly value: string; readonly start: number; readonly end: number }
  | { readonly kind: 'punct'; readonly value: Punct; readonly start: number; readonly end: number }
  | { readonly kind: 'end'; readonly start: number; readonly end: number };

/** A syntax error; thrown inside the lexer and parser, reported by `parseExpression` as an issue. */
export class SyntaxFailure extends Error {
  constructor(
    message: string,
    readonly start: number,
    readonly end: number,
  ) {
    super(message);
  }
}

const TWO_CHAR: ReadonlySet<string> = new Set(['||', '&&', '==', '!=', '<=', '>=']);
const ONE_CHAR: ReadonlySet<string> = new Set(['<', '>', '!', '(', ')', '[', ']', '.', ',', '*']);

/** Hints for characters people reach for out of habit from other languages. */
const MISUSED: Readonly<Record<string, string>> = {
  '=': "unexpected '=': use '==' to compare",
  '&': "unexpected '&': use '&&'",
  '|': "unexpected '|': use '||'",
  '-': "unexpected '-': expressions have no arithmetic; '-' may only start a negative number such as -1",
};

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isHexDigit = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
const isIdentStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
/** Identifiers may contain hyphens, as step ids do (`steps.my-step`). */
const isIdentPart = (c: number): boolean => isIdentStart(c) || isDigit(c) || c === 45;
/** Characters that may not directly follow a number (`1abc`, `0x1g`). */
const isWordChar = (c: number): boolean => isIdentStart(c) || isDigit(c);
const isSpace = (c: number): boolean =>
  c === 32 || c === 9 || c === 10 || c === 13 || (c > 127 && /\s/.test(String.fromCharCode(c)));

/** The tokens of `text`, ending with an `end` token; throws `SyntaxFailure` on the first malformed token. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const start = i;
    if (isIdentStart(c)) {
      i++;
      while (i < n && isIdentPart(text.charCodeAt(i))) i++;
      tokens.push({ kind: 'identifier', value: text.slice(start, i), start, end: i });
    } else if (isDigit(c) || (c === 45 && isDigit(text.charCodeAt(i + 1)))) {
      i = scanNumber(text, start);
      const negative = c === 45;
      const magnitude = Number(text.slice(negative ? start + 1 : start, i));
      tokens.push({ kind: 'number', value: negative ? -magnitude : magnitude, start, end: i });
    } else if (c === 39) {
      const [value, end] = scanString(text, start);
      tokens.push({ kind: 'string', value, start, end });
      i = end;
    } else if (c === 34) {
      const close = text.indexOf('"', start + 1);
      throw new SyntaxFailure("strings in expressions use single quotes: 'text'", start, close < 0 ? n : close + 1);
    } else if (TWO_CHAR.has(text.slice(i, i + 2))) {
      tokens.push({ kind: 'punct', value: text.slice(i, i + 2) as Punct, start, end: i + 2 });
      i += 2;
    } else if (ONE_CHAR.has(text[i])) {
      tokens.push({ kind: 'punct', value: text[i] as Punct, start, end: i + 1 });
      i++;
    } else if (Object.hasOwn(MISUSED, text[i])) {
      throw new SyntaxFailure(MISUSED[text[i]], start, start + 1);
    } else {
      // A whole code point, so an astral character is quoted and ranged intact.
      const char = String.fromCodePoint(text.codePointAt(i)!);
      throw new SyntaxFailure(`unexpected character '${char}'`, start, start + char.length);
    }
  }
  tokens.push({ kind: 'end', start: n, end: n });
  return tokens;
}

/** The end of the number starting at `start`: decimal with optional fraction and exponent, or `0x` hex; an optional leading `-`. */
function scanNumber(text: string, start: number): number {
  const n = text.length;
  let i = text.charCodeAt(start) === 45 ? start + 1 : start;
  let valid = true;
  if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X')) {
    i += 2;
    const digits = i;
    while (i < n && isHexDigit(text.charCodeAt(i))) i++;
    valid = i > digits;
  } else {
    while (i < n && isDigit(text.charCodeAt(i))) i++;
    // `1.foo` is the literal 1 followed by `.foo`, so a fraction needs a digit after the dot.
    if (text[i] === '.' && isDigit(text.charCodeAt(i + 1))) {
      i++;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      const digits = i;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      valid = i > digits;
    }
  }
  if (!valid || (i < n && isWordChar(text.charCodeAt(i)))) {
    while (i < n && isWordChar(text.charCodeAt(i))) i++;
    throw new SyntaxFailure(`invalid number '${text.slice(start, i)}'`, start, i);
  }
  return i;
}

/** The value and end of the single-quoted string starting at `start`; `''` stands for one quote. */
function scanString(text: string, start: number): [string, number] {
  let value = '';
  let from = start + 1;
  for (;;) {
    const close = text.indexOf("'", from);
    if (close < 0) throw new SyntaxFailure("unterminated string: missing closing '", start, text.length);
    value += text.slice(from, close);
    if (text[close + 1] !== "'") return [value, close + 1];
    value += "'";
    from = close + 2;
  }
}
