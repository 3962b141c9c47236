import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** A step's output from a tool result: structuredContent first, else the text content parsed as JSON when it parses, else the text; content without text as is. */
export function toolOutput(result: CallToolResult): unknown {
  if (result.structuredContent !== undefined) return result.structuredContent;
  const texts = (result.content ?? []).filter((c): c is { type: 'text'; text: string } => c.type === 'text').map((c) => c.text);
  if (texts.length === 0) return result.content ?? null;
  const text = texts.join('\n');
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[') || trimmed.startsWith('"') || /^(-?\d|true$|false$|null$)/.test(trimmed)) {
    try {
      return JSON.parse(trimmed);
    } catch {
      // Not JSON after all: the text is the output.
    }
  }
  return text;
}

/** The message of an `isError` result: its text content, or a note that it had none. */
export function toolErrorMessage(result: CallToolResult): string {
  const text = (result.content ?? [])
    .filter((c): c is { type: 'text'; text: string } => c.type === 'text')
    .map((c) => c.text)
    .join('\n')
    .trim();
  return text || '(the tool reported an error without a message)';
}
