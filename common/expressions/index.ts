/** The `${{ }}` expression language: parsing, evaluation, static checks and templates. */
export type {
  CallExpr,
  CompareExpr,
  CompareOperator,
  ContextExpr,
  Expr,
  ExpressionIssue,
  FilterExpr,
  IndexExpr,
  LiteralExpr,
  LogicalExpr,
  MemberExpr,
  NotExpr,
} from './ast';
export { forEachChild } from './ast';
export { parseExpression } from './parser';
export { evaluateExpression, ExpressionError, isTruthy, looseEquals, toDisplayString, toNumber } from './evaluate';
export { BUILTIN_FUNCTIONS, lookupFunction, type BuiltinFunction } from './functions';
export { checkExpression, contextReferences, type ContextReference } from './check';
export { evaluateTemplate, hasExpressions, parseTemplate, type Template, type TemplatePart } from './template';
