/**
 * Syntax tree of a `${{ }}` expression. Every node carries `start`/`end`: 0-based offsets into the
 * expression text (UTF-16 code units, `end` exclusive) covering the tokens the node was parsed from.
 */

/** A problem in expression or template text, with the range it is about. */
export interface ExpressionIssue {
  message: string;
  start: number;
  end: number;
}

interface Span {
  readonly start: number;
  readonly end: number;
}

/** `null`, `true`, `false`, a number or a single-quoted string. */
export interface LiteralExpr extends Span {
  readonly kind: 'literal';
  readonly value: null | boolean | number | string;
}

/** A root identifier such as `inputs` or `steps`, looked up in the evaluation contexts. */
export interface ContextExpr extends Span {
  readonly kind: 'context';
  readonly name: string;
}

/**
 * Accesses that follow a `*` filter (directly or through further accesses) have `mapped` set:
 * they apply to each element of the filtered array instead of to the array itself.
 */
interface Access extends Span {
  readonly object: Expr;
  readonly mapped: boolean;
}

/** `object.property`. */
export interface MemberExpr extends Access {
  readonly kind: 'member';
  readonly property: string;
}

/** `object[index]`. */
export interface IndexExpr extends Access {
  readonly kind: 'index';
  readonly index: Expr;
}

/** `object.*` or `object[*]`: the array of the object's values or the array's elements. */
export interface FilterExpr extends Access {
  readonly kind: 'filter';
}

/** `name(args…)`; `name` is spelled as written, function lookup ignores case. */
export interface CallExpr extends Span {
  readonly kind: 'call';
  readonly name: string;
  /** End of the function name; the name starts at `start`. */
  readonly nameEnd: number;
  readonly args: readonly Expr[];
}

/** `!operand`. */
export interface NotExpr extends Span {
  readonly kind: 'not';
  readonly operand: Expr;
}

export type CompareOperator = '==' | '!=' | '<' | '<=' | '>' | '>=';

/** A comparison; always yields a boolean. */
export interface CompareExpr extends Span {
  readonly kind: 'compare';
  readonly op: CompareOperator;
  readonly left: Expr;
  readonly right: Expr;
}

/** `&&` / `||`; yields one of its operands, like JavaScript. */
export interface LogicalExpr extends Span {
  readonly kind: 'logical';
  readonly op: '&&' | '||';
  readonly left: Expr;
  readonly right: Expr;
}

export type Expr =
  | LiteralExpr
  | ContextExpr
  | MemberExpr
  | IndexExpr
  | FilterExpr
  | CallExpr
  | NotExpr
  | CompareExpr
  | LogicalExpr;

/** Calls `visit` on each direct child of `expr`, in source order. */
export function forEachChild(expr: Expr, visit: (child: Expr) => void): void {
  switch (expr.kind) {
    case 'literal':
    case 'context':
      return;
    case 'member':
    case 'filter':
      visit(expr.object);
      return;
    case 'index':
      visit(expr.object);
      visit(expr.index);
      return;
    case 'call':
      for (const arg of expr.args) visit(arg);
      return;
    case 'not':
      visit(expr.operand);
      return;
    case 'compare':
    case 'logical':
      visit(expr.left);
      visit(expr.right);
      return;
  }
}
