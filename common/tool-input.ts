/** Turning a tool's inputSchema into questions for a person, and their typed answers back into arguments. */

/** One argument to ask for. */
export interface ArgumentQuestion {
  name: string;
  /** JSON Schema type (`string` when absent or several). */
  type: string;
  description?: string;
  required: boolean;
  choices?: string[];
}

/** The top-level properties of an inputSchema, required ones first. */
export function argumentQuestions(schema: Record<string, unknown> | undefined): ArgumentQuestion[] {
  const properties = (schema?.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = new Set(Array.isArray(schema?.required) ? (schema.required as string[]) : []);
  return Object.entries(properties)
    .map(([name, p]) => ({
      name,
      type: typeof p?.type === 'string' ? p.type : 'string',
      required: required.has(name),
      ...(typeof p?.description === 'string' && { description: p.description }),
      ...(Array.isArray(p?.enum) && { choices: p.enum.map(String) }),
    }))
    .sort((a, b) => Number(b.required) - Number(a.required));
}

/** An answer typed as text, as the argument's type: a value, or why it is not one. */
export function parseAnswer(text: string, type: string): { value: unknown } | { error: string } {
  if (type === 'string') return { value: text };
  if (type === 'integer' || type === 'number') {
    const n = Number(text.trim());
    if (text.trim() === '' || !Number.isFinite(n)) return { error: `a ${type} is expected, not ${JSON.stringify(text)}` };
    if (type === 'integer' && !Number.isInteger(n)) return { error: `a whole number is expected, not ${text}` };
    return { value: n };
  }
  if (type === 'boolean') {
    if (/^(true|false)$/i.test(text.trim())) return { value: text.trim().toLowerCase() === 'true' };
    return { error: 'true or false is expected' };
  }
  try {
    const value: unknown = JSON.parse(text);
    if (type === 'array' && !Array.isArray(value)) return { error: 'a JSON list is expected, e.g. ["a", "b"]' };
    if (type === 'object' && (value === null || typeof value !== 'object' || Array.isArray(value))) return { error: 'a JSON object is expected, e.g. {"key": "value"}' };
    return { value };
  } catch {
    return { error: `valid JSON is expected for a${type === 'array' || type === 'object' ? 'n' : ''} ${type}` };
  }
}
