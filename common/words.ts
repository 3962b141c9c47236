/**
 * How messages name types and values. Workflow files are YAML, so lists and mappings; tool arguments are JSON
 * Schema, so arrays and objects: `vocabulary` picks the words.
 */
export type Vocabulary = 'yaml' | 'json';

const WORDS: Record<Vocabulary, Record<string, string>> = {
  yaml: { integer: 'an integer', array: 'a list', object: 'a mapping' },
  json: { integer: 'an integer', array: 'an array', object: 'an object' },
};

/** A type, or a comma-separated list of types (as JSON Schema errors give them), with its article: `a string or a list`. */
export function withArticle(types: string, vocabulary: Vocabulary): string {
  return types
    .split(',')
    .map((t) => WORDS[vocabulary][t] ?? `a ${t}`)
    .join(' or ');
}

/** A value as a message shows it: its kind, and the value itself when it is short enough to help. */
export function describeValue(value: unknown, vocabulary: Vocabulary): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return WORDS[vocabulary].array;
  if (typeof value === 'object') return WORDS[vocabulary].object;
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 60 ? `${text.slice(0, 59)}…` : text}`;
}
