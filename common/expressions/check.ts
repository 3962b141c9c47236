/** Static analysis of parsed expressions: context references and checks that need no data. */
import { forEachChild, type Expr, type ExpressionIssue } from './ast';
import { arityMessage, BUILTIN_FUNCTIONS, lookupFunction } from './functions';
import { didYouMean } from '../suggest';

/** A reference from a root context through literal property names, e.g. steps.fetch.output.items → { context: 'steps', path: ['fetch','output','items'] }; stops at the first non-literal index or filter. */
export interface ContextReference {
  context: string;
  path: string[];
  start: number;
  end: number;
}

/**
 * Every context reference in `expr`, in source order. Each access chain yields one reference, as
 * long as its literal prefix; `a['b']` counts as a literal name, a numeric index `a[0]` does not.
 */
export function contextReferences(expr: Expr): ContextReference[] {
  const out: ContextReference[] = [];
  collectReferences(expr, out);
  return out;
}

function collectReferences(expr: Expr, out: ContextReference[]): void {
  if (expr.kind !== 'context' && expr.kind !== 'member' && expr.kind !== 'index' && expr.kind !== 'filter') {
    forEachChild(expr, (child) => collectReferences(child, out));
    return;
  }
  // Walk down to the root of the access chain, outermost access first.
  const chain: Expr[] = [];
  let root: Expr = expr;
  while (root.kind === 'member' || root.kind === 'index' || root.kind === 'filter') {
    chain.push(root);
    root = root.object;
  }
  if (root.kind === 'context') {
    const reference: ContextReference = { context: root.name, path: [], start: root.start, end: root.end };
    for (let i = chain.length - 1; i >= 0; i--) {
      const name = literalName(chain[i]);
      if (name === undefined) break;
      reference.path.push(name);
      reference.end = chain[i].end;
    }
    out.push(reference);
  } else {
    collectReferences(root, out);
  }
  for (let i = chain.length - 1; i >= 0; i--) {
    const access = chain[i];
    if (access.kind === 'index') collectReferences(access.index, out);
  }
}

function literalName(access: Expr): string | undefined {
  if (access.kind === 'member') return access.property;
  if (access.kind === 'index' && access.index.kind === 'literal' && typeof access.index.value === 'string') return access.index.value;
  return undefined;
}

const FUNCTION_NAMES = BUILTIN_FUNCTIONS.map((f) => f.name);

/** Static checks: unknown context names (with "did you mean" by edit distance), unknown functions (with suggestion), wrong argument counts. */
export function checkExpression(expr: Expr, allowedContexts: readonly string[]): ExpressionIssue[] {
  const issues: ExpressionIssue[] = [];
  const visit = (e: Expr): void => {
    if (e.kind === 'context' && !allowedContexts.includes(e.name)) {
      const hint = didYouMean(e.name, allowedContexts);
      const available = allowedContexts.length > 0 ? ` Available here: ${allowedContexts.join(', ')}.` : '';
      issues.push({ message: `unknown context '${e.name}'.${hint || available}`, start: e.start, end: e.end });
    } else if (e.kind === 'call') {
      const fn = lookupFunction(e.name);
      if (!fn) {
        const hint = didYouMean(e.name, FUNCTION_NAMES);
        const available = ` Available functions: ${FUNCTION_NAMES.join(', ')}.`;
        issues.push({ message: `unknown function '${e.name}'.${hint || available}`, start: e.start, end: e.nameEnd });
      } else if (e.args.length < fn.minArgs || e.args.length > fn.maxArgs) {
        issues.push({ message: arityMessage(fn, e.args.length), start: e.start, end: e.end });
      }
    }
    forEachChild(e, visit);
  };
  visit(expr);
  return issues;
}
