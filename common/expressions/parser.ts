/** Recursive-descent parser for `${{ }}` expressions. */
import type { CompareOperator, Expr, ExpressionIssue } from './ast';
import { SyntaxFailure, tokenize, type Punct, type Token } from './lexer';

/** Bounds recursion so pathological input (`((((…`) is a syntax error rather than a stack overflow. */
const MAX_DEPTH = 200;

const KEYWORDS: ReadonlyMap<string, null | boolean> = new Map([
  ['null', null],
  ['true', true],
  ['false', false],
]);

/** Parses one expression (the text between `${{` and `}}`); on a syntax error, `expr` is absent and `errors` holds the first one. */
export function parseExpression(text: string): { expr?: Expr; errors: ExpressionIssue[] } {
  if (text.trim() === '') return { errors: [{ message: 'empty expression', start: 0, end: text.length }] };
  try {
    const parser = new Parser(text, tokenize(text));
    return { expr: parser.parseAll(), errors: [] };
  } catch (e) {
    if (e instanceof SyntaxFailure) return { errors: [{ message: e.message, start: e.start, end: e.end }] };
    throw e;
  }
}

/**
 * Grammar, by precedence low → high:
 *   or      := and ('||' and)*
 *   and     := eq ('&&' eq)*
 *   eq      := cmp (('==' | '!=') cmp)*
 *   cmp     := unary (('<' | '<=' | '>' | '>=') unary)*
 *   unary   := '!' unary | postfix
 *   postfix := primary ('.' name | '.' '*' | '[' '*' ']' | '[' or ']')*
 *   primary := literal | name '(' args ')' | name | '(' or ')'
 */
class Parser {
  private pos = 0;
  private depth = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: Token[],
  ) {}

  parseAll(): Expr {
    const expr = this.parseOr();
    const t = this.peek();
    if (t.kind !== 'end') {
      throw new SyntaxFailure(`unexpected ${this.describe(t)} after the expression; expected an operator`, t.start, t.end);
    }
    return expr;
  }

  private peek(): Token {
    return this.tokens[this.pos];
  }

  /** End offset of the last consumed token: the end of the node being built. */
  private prevEnd(): number {
    return this.tokens[this.pos - 1].end;
  }

  private atPunct(value: Punct): boolean {
    const t = this.tokens[this.pos];
    return t.kind === 'punct' && t.value === value;
  }

  private expect(value: Punct, purpose: string): void {
    if (this.atPunct(value)) {
      this.pos++;
      return;
    }
    const t = this.peek();
    const message =
      t.kind === 'end' ? `missing '${value}' ${purpose}` : `expected '${value}' ${purpose}, found ${this.describe(t)}`;
    throw new SyntaxFailure(message, t.start, t.end);
  }

  private describe(t: Token): string {
    if (t.kind === 'end') return 'end of expression';
    const source = this.text.slice(t.start, t.end);
    return t.kind === 'string' ? `string ${source}` : `'${source}'`;
  }

  /** A sub-expression inside brackets, parentheses or arguments. */
  private parseNested(): Expr {
    if (++this.depth > MAX_DEPTH) {
      const t = this.peek();
      throw new SyntaxFailure('expression is nested too deeply', t.start, t.end);
    }
    const expr = this.parseOr();
    this.depth--;
    return expr;
  }

  private parseOr(): Expr {
    const start = this.peek().start;
    let left = this.parseAnd();
    while (this.atPunct('||')) {
      this.pos++;
      const right = this.parseAnd();
      left = { kind: 'logical', op: '||', left, right, start, end: this.prevEnd() };
    }
    return left;
  }

  private parseAnd(): Expr {
    const start = this.peek().start;
    let left = this.parseEquality();
    while (this.atPunct('&&')) {
      this.pos++;
      const right = this.parseEquality();
      left = { kind: 'logical', op: '&&', left, right, start, end: this.prevEnd() };
    }
    return left;
  }

  private parseEquality(): Expr {
    return this.parseComparisons(['==', '!='], () => this.parseRelational());
  }

  private parseRelational(): Expr {
    return this.parseComparisons(['<', '<=', '>', '>='], () => this.parseUnary());
  }

  private parseComparisons(ops: readonly CompareOperator[], operand: () => Expr): Expr {
    const start = this.peek().start;
    let left = operand();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'punct' || !(ops as readonly string[]).includes(t.value)) return left;
      this.pos++;
      const right = operand();
      left = { kind: 'compare', op: t.value as CompareOperator, left, right, start, end: this.prevEnd() };
    }
  }

  private parseUnary(): Expr {
    const t = this.peek();
    if (!(t.kind === 'punct' && t.value === '!')) return this.parsePostfix();
    this.pos++;
    if (++this.depth > MAX_DEPTH) throw new SyntaxFailure('expression is nested too deeply', t.start, t.end);
    const operand = this.parseUnary();
    this.depth--;
    return { kind: 'not', operand, start: t.start, end: this.prevEnd() };
  }

  private parsePostfix(): Expr {
    const start = this.peek().start;
    let expr = this.parsePrimary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'punct') return expr;
      const mapped = isFiltered(expr);
      if (t.value === '.') {
        this.pos++;
        const name = this.peek();
        this.pos++;
        if (name.kind === 'identifier') {
          expr = { kind: 'member', object: expr, property: name.value, mapped, start, end: name.end };
        } else if (name.kind === 'punct' && name.value === '*') {
          expr = { kind: 'filter', object: expr, mapped, start, end: name.end };
        } else {
          throw new SyntaxFailure(`expected a property name or '*' after '.', found ${this.describe(name)}`, name.start, name.end);
        }
      } else if (t.value === '[') {
        this.pos++;
        const next = this.tokens[this.pos + 1];
        if (this.atPunct('*') && next.kind === 'punct' && next.value === ']') {
          this.pos += 2;
          expr = { kind: 'filter', object: expr, mapped, start, end: next.end };
        } else {
          const index = this.parseNested();
          this.expect(']', "to close '['");
          expr = { kind: 'index', object: expr, index, mapped, start, end: this.prevEnd() };
        }
      } else if (t.value === '(') {
        throw new SyntaxFailure("unexpected '(': only built-in functions can be called, as name(…)", t.start, t.end);
      } else {
        return expr;
      }
    }
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    this.pos++;
    switch (t.kind) {
      case 'number':
      case 'string':
        return { kind: 'literal', value: t.value, start: t.start, end: t.end };
      case 'identifier': {
        const keyword = KEYWORDS.get(t.value);
        if (keyword !== undefined) return { kind: 'literal', value: keyword, start: t.start, end: t.end };
        if (!this.atPunct('(')) return { kind: 'context', name: t.value, start: t.start, end: t.end };
        this.pos++;
        const args: Expr[] = [];
        if (!this.atPunct(')')) {
          for (;;) {
            args.push(this.parseNested());
            if (!this.atPunct(',')) break;
            this.pos++;
          }
        }
        this.expect(')', `to close the call to '${t.value}'`);
        return { kind: 'call', name: t.value, nameEnd: t.end, args, start: t.start, end: this.prevEnd() };
      }
      case 'punct':
        if (t.value === '(') {
          const inner = this.parseNested();
          this.expect(')', "to close '('");
          return inner;
        }
        throw new SyntaxFailure(`unexpected ${this.describe(t)}`, t.start, t.end);
      case 'end':
        throw new SyntaxFailure('unexpected end of expression', t.start, t.end);
    }
  }
}

/** Whether `expr` is the result of a `*` filter, so accesses on it map over its elements. */
function isFiltered(expr: Expr): boolean {
  return expr.kind === 'filter' || ((expr.kind === 'member' || expr.kind === 'index') && expr.mapped);
}
