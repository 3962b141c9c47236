import { applyEdits, modify, parseTree, findNodeAtLocation, getNodeValue, type FormattingOptions, type ParseError } from 'jsonc-parser';

/** A server entry for .vscode/mcp.json, with the `inputs` its `${input:…}` references need. */
export interface McpJsonAddition {
  key: string;
  server: Record<string, unknown>;
  inputs: Array<{ id: string; type: 'promptString'; description: string; password?: boolean; default?: string }>;
}

/** The edited text, or why the file was left as it was. */
export type McpJsonEditResult = { text: string; key: string; addedInputs: string[]; reusedInputs: string[] } | { error: string };

/**
 * Adds a server to the text of a .vscode/mcp.json with minimal edits, so comments and formatting stay as they
 * were. A server of the same name is never overwritten: the new one takes a free name (`name-2`, …, see
 * freeServerKey: pick it first so the inputs' ids can carry it) unless `replace` is set. Inputs already declared with the same id are reused, not duplicated.
 */
export function addServerToMcpJson(text: string, addition: McpJsonAddition, options: { replace?: boolean; formatting?: FormattingOptions } = {}): McpJsonEditResult {
  const errors: ParseError[] = [];
  const root = text.trim() === '' ? undefined : parseTree(text, errors, { allowTrailingComma: true });
  if (errors.length > 0) return { error: `the file is not valid JSON (first problem at offset ${errors[0].offset}); fix it first, nothing was changed` };
  if (root && root.type !== 'object') return { error: 'the file does not hold a JSON object; nothing was changed' };
  const formatting = options.formatting ?? detectFormatting(text);
  let out = root ? text : '{}';
  const servers = root ? findNodeAtLocation(root, ['servers']) : undefined;
  if (servers && servers.type !== 'object') return { error: '"servers" is not an object; nothing was changed' };
  const key = options.replace ? addition.key : freeServerKey(text, addition.key);
  // Inserted first: jsonc-parser formats from the start of the line it inserts at, so inserting after the last
  // server would reformat that server's line and push its trailing comment past the new one.
  out = applyEdits(out, modify(out, ['servers', key], addition.server, { formattingOptions: formatting, getInsertionIndex: () => 0 }));
  const inputsNode = root ? findNodeAtLocation(root, ['inputs']) : undefined;
  if (inputsNode && inputsNode.type !== 'array') return { error: '"inputs" is not a list; nothing was changed' };
  const existing = new Set(((inputsNode ? getNodeValue(inputsNode) : []) as Array<{ id?: unknown }>).map((i) => i?.id));
  const addedInputs: string[] = [];
  const reusedInputs: string[] = [];
  // Each is inserted first (see above): in reverse, they end up in their order.
  for (const input of [...addition.inputs].reverse()) {
    if (existing.has(input.id)) {
      reusedInputs.push(input.id);
      continue;
    }
    out = applyEdits(out, modify(out, ['inputs', 0], input, { formattingOptions: formatting, isArrayInsertion: true }));
    existing.add(input.id);
    addedInputs.push(input.id);
  }
  addedInputs.reverse();
  reusedInputs.reverse();
  return { text: out.endsWith('\n') ? out : `${out}${formatting.eol ?? '\n'}`, key, addedInputs, reusedInputs };
}

/** `key`, or the first of `key-2`, `key-3`, … that the file's `servers` does not use yet. */
export function freeServerKey(text: string, key: string): string {
  const root = text.trim() === '' ? undefined : parseTree(text, [], { allowTrailingComma: true });
  const servers = root && findNodeAtLocation(root, ['servers']);
  const taken = new Set(servers?.type === 'object' ? Object.keys(getNodeValue(servers) as object) : []);
  let free = key;
  for (let n = 2; taken.has(free); n++) free = `${key}-${n}`;
  return free;
}

/** The file's own indentation (two spaces when it has none yet). */
function detectFormatting(text: string): FormattingOptions {
  const indent = /\n([ \t]+)\S/.exec(text)?.[1] ?? '  ';
  return { insertSpaces: !indent.includes('\t'), tabSize: indent.includes('\t') ? 4 : indent.length, eol: text.includes('\r\n') ? '\r\n' : '\n' };
}
