import type { Expr, TemplatePart } from '../expressions';
import type { Range } from '../source';
import type { ValueTemplate } from './model';

/** One `${{ }}` expression found in a value template, able to place its own offsets in the document. */
export interface ExpressionSite {
  part: Extract<TemplatePart, { kind: 'expression' }>;
  expr?: Expr;
  /** The document range of a range of offsets into `part.source` (the offsets expression issues and references carry). */
  range(start: number, end: number): Range;
}

/** Every expression in a value template, in document order. */
export function expressionSites(value: ValueTemplate | undefined): ExpressionSite[] {
  const sites: ExpressionSite[] = [];
  const visit = (v: ValueTemplate): void => {
    switch (v.kind) {
      case 'template': {
        const map = v.sourceMap;
        for (const part of v.template.parts) {
          if (part.kind !== 'expression') continue;
          const range = (start: number, end: number): Range => {
            const s = map[part.start + start];
            return { start: s, end: Math.max(s, map[part.start + end]) };
          };
          sites.push({ part, ...(part.expr && { expr: part.expr }), range });
        }
        break;
      }
      case 'object':
        for (const e of v.entries) visit(e.value);
        break;
      case 'array':
        for (const item of v.items) visit(item);
        break;
      case 'literal':
        break;
    }
  };
  if (value) visit(value);
  return sites;
}

/** The range of the value (or, with `key`, of the last key) at a path of keys and indices, as close as the tree allows. */
export function rangeAtPath(value: ValueTemplate, path: string[], key = false): Range | undefined {
  let node: ValueTemplate = value;
  for (const [i, segment] of path.entries()) {
    if (node.kind === 'object') {
      const entry = node.entries.find((e) => e.key === segment);
      if (!entry) return node.range;
      if (key && i === path.length - 1) return entry.keyRange;
      node = entry.value;
    } else if (node.kind === 'array' && node.items[Number(segment)]) {
      node = node.items[Number(segment)];
    } else {
      return node.range;
    }
  }
  return node.range;
}
