import assert from 'node:assert/strict';
import { parse } from 'jsonc-parser';
import { addServerToMcpJson, freeServerKey, type McpJsonAddition } from '../../common/registry/mcp-json-edit';

const brave: McpJsonAddition = {
  key: 'brave',
  server: { type: 'stdio', command: 'npx', args: ['-y', '@brave/brave-search-mcp-server@2.0.24'], env: { BRAVE_API_KEY: '${input:brave.BRAVE_API_KEY}' } },
  inputs: [{ id: 'brave.BRAVE_API_KEY', type: 'promptString', description: 'Your Brave Search API key', password: true }],
};

describe('adding a server to .vscode/mcp.json', () => {
  it('creates the file content when there is none', () => {
    const result = addServerToMcpJson('', brave);
    assert.ok(!('error' in result));
    assert.deepEqual(parse(result.text), { servers: { brave: brave.server }, inputs: brave.inputs });
    assert.ok(result.text.endsWith('\n'));
  });

  it('keeps comments, formatting and the other servers, with minimal edits', () => {
    const text = '{\n\t// team servers\n\t"servers": {\n\t\t"memory": { "command": "npx" } // the graph\n\t},\n\t"inputs": [\n\t\t{ "id": "other", "type": "promptString" }\n\t]\n}\n';
    const result = addServerToMcpJson(text, brave);
    assert.ok(!('error' in result));
    assert.match(result.text, /\/\/ team servers/);
    assert.match(result.text, /"memory": \{ "command": "npx" \} \/\/ the graph/);
    assert.match(result.text, /\n\t\t"brave": \{\n\t\t\t"type": "stdio",/, 'indented with the file\'s tabs');
    assert.match(result.text, /\n\t\t\{ "id": "other", "type": "promptString" \}\n/, 'the other entries are untouched');
    const config = parse(result.text) as { servers: Record<string, unknown>; inputs: Array<{ id: string }> };
    assert.deepEqual(Object.keys(config.servers), ['brave', 'memory']);
    assert.deepEqual(config.inputs.map((i) => i.id), ['brave.BRAVE_API_KEY', 'other']);
    assert.deepEqual(result.addedInputs, ['brave.BRAVE_API_KEY']);
  });

  it('never overwrites a server of the same name unless asked, and reuses declared inputs', () => {
    const once = addServerToMcpJson('', brave);
    assert.ok(!('error' in once));
    assert.equal(freeServerKey(once.text, 'brave'), 'brave-2');
    const twice = addServerToMcpJson(once.text, brave);
    assert.ok(!('error' in twice));
    assert.equal(twice.key, 'brave-2');
    assert.deepEqual(twice.reusedInputs, ['brave.BRAVE_API_KEY']);
    assert.equal((parse(twice.text) as { inputs: unknown[] }).inputs.length, 1);
    const replaced = addServerToMcpJson(once.text, { ...brave, server: { type: 'http', url: 'https://example.com/mcp' } }, { replace: true });
    assert.ok(!('error' in replaced));
    assert.deepEqual(parse(replaced.text).servers, { brave: { type: 'http', url: 'https://example.com/mcp' } });
  });

  it('leaves an invalid file as it is and says why', () => {
    for (const [text, pattern] of [
      ['{ "servers": { ', /not valid JSON/],
      ['[1, 2]', /does not hold a JSON object/],
      ['{ "servers": [] }', /"servers" is not an object/],
      ['{ "inputs": {} }', /"inputs" is not a list/],
    ] as const) {
      const result = addServerToMcpJson(text, brave);
      assert.ok('error' in result, text);
      assert.match(result.error, pattern);
      assert.match(result.error, /nothing was changed/);
    }
  });
});
