import { ExpressionError, evaluateTemplate } from '../expressions';
import type { Range } from '../source';
import type { ValueTemplate } from './model';

/** An expression failed while a run evaluated it; `range` is where in the workflow file. */
export class EvaluationError extends Error {
  constructor(
    message: string,
    readonly range: Range,
  ) {
    super(message);
    this.name = 'EvaluationError';
  }
}

/** The value of a template tree under the given contexts. */
export function evaluateValue(value: ValueTemplate, contexts: Readonly<Record<string, unknown>>): unknown {
  switch (value.kind) {
    case 'literal':
      return value.value;
    case 'template':
      try {
        return evaluateTemplate(value.template, contexts);
      } catch (error) {
        if (!(error instanceof ExpressionError)) throw error;
        const start = value.sourceMap[error.start];
        throw new EvaluationError(error.message, { start, end: Math.max(start, value.sourceMap[error.end]) });
      }
    case 'object': {
      if (value.constant) return value.constant.value;
      const result: Record<string, unknown> = {};
      for (const entry of value.entries) result[entry.key] = evaluateValue(entry.value, contexts);
      return result;
    }
    case 'array':
      return value.constant ? value.constant.value : value.items.map((item) => evaluateValue(item, contexts));
  }
}
