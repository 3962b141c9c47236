import type { Expr, TemplatePart } from '../expressions';
import type { Range } from '../source';
import type { ValueTemplate } from './model';

/** One `${{ }}` expression found in a value template, with the document offset its source starts at. */
export interface ExpressionSite {
  part: Extract<TemplatePart, { kind: 'expression' }>;
  expr?: Expr;
  /** Document offset of the first character of `part.source`. */
  offset: number;
}

/** Every expression in a value template, in document order. */
export function expressionSites(value: ValueTemplate | undefined): ExpressionSite[] {
  const sites: ExpressionSite[] = [];
  const visit = (v: ValueTemplate): void => {
    switch (v.kind) {
      case 'template': {
        let k = 0;
        for (const part of v.template.parts) {
          if (part.kind !== 'expression') continue;
          sites.push({ part, ...(part.expr && { expr: part.expr }), offset: v.expressionOffsets[k++] });
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

/** The range of the value at a path of keys and indices, as close as the tree allows. */
export function rangeAtPath(value: ValueTemplate, path: string[]): Range | undefined {
  let node: ValueTemplate = value;
  for (const key of path) {
    if (node.kind === 'object') {
      const entry = node.entries.find((e) => e.key === key);
      if (!entry) return node.range;
      node = entry.value;
    } else if (node.kind === 'array' && node.items[Number(key)]) {
      node = node.items[Number(key)];
    } else {
      return node.range;
    }
  }
  return node.range;
}
