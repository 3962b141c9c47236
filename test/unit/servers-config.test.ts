import assert from 'node:assert/strict';
import { formatDiagnostic } from '../../common/diagnostics';
import {
  normalizeServerDefinition,
  parseMcpConfig,
  substituteVariables,
  VariableError,
  type McpConfig,
  type VariableScope,
} from '../../common/servers';
import { SourceFile } from '../../common/source';

function parse(text: string): McpConfig {
  return parseMcpConfig(new SourceFile('.vscode/mcp.json', text));
}

/** Each diagnostic as `line:col code message`. */
function problems(config: McpConfig): string[] {
  return config.diagnostics.map((d) => {
    const { line, column } = config.file.position(d.range.start);
    return `${line}:${column} ${d.code} ${d.message}`;
  });
}

describe('.vscode/mcp.json', () => {
  describe('a real-looking file', () => {
    const text = `{
  // Servers this workspace uses; VS Code's chat reads the same file.
  "inputs": [
    {
      "type": "promptString",
      "id": "github-token",
      "description": "GitHub personal access token",
      "password": true,
    },
    { "type": "pickString", "id": "region", "options": ["eu", "us"], "default": "eu" },
    { "description": "no id, ignored" },
  ],
  "servers": {
    "filesystem": {
      "type": "stdio",
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "\${workspaceFolder}"],
      "env": { "DEBUG": "1", "UNSET_ME": null, "PORT": 8080, },
      "envFile": "\${workspaceFolder}/.env",
    },
    /* A remote server over streamable HTTP. */
    "github": {
      "type": "http",
      "url": "https://api.githubcopilot.com/mcp/",
      "headers": { "Authorization": "Bearer \${input:github-token}" },
    },
    "legacy": { "type": "sse", "url": "http://localhost:3001/sse" },
    "memory": { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"], "startupTimeout": "20s" },
  },
}
`;
    const config = parse(text);

    it('parses with no diagnostics despite comments and trailing commas', () => {
      assert.deepEqual(problems(config), []);
    });

    it('keeps every server in order, with the range of its name', () => {
      assert.deepEqual([...config.servers.keys()], ['filesystem', 'github', 'legacy', 'memory']);
      const github = config.servers.get('github')!;
      assert.equal(text.slice(github.range.start, github.range.end), '"github"');
      assert.deepEqual(config.file.position(github.range.start), { line: 22, column: 5 });
    });

    it('keeps each raw definition', () => {
      assert.deepEqual(JSON.parse(JSON.stringify(config.servers.get('github')!.raw)), {
        type: 'http',
        url: 'https://api.githubcopilot.com/mcp/',
        headers: { Authorization: 'Bearer ${input:github-token}' },
      });
    });

    it('normalizes each kind of server', () => {
      assert.deepEqual(normalizeServerDefinition(config.servers.get('filesystem')!.raw), {
        type: 'stdio',
        command: 'npx',
        args: ['-y', '@modelcontextprotocol/server-filesystem', '${workspaceFolder}'],
        env: { DEBUG: '1', UNSET_ME: null, PORT: '8080' },
        envFile: '${workspaceFolder}/.env',
      });
      assert.deepEqual(normalizeServerDefinition(config.servers.get('legacy')!.raw), {
        type: 'sse',
        url: 'http://localhost:3001/sse',
        headers: {},
      });
      assert.deepEqual(normalizeServerDefinition(config.servers.get('memory')!.raw), {
        type: 'stdio',
        command: 'npx',
        args: ['-y', '@modelcontextprotocol/server-memory'],
        env: {},
        startupTimeoutMs: 20_000,
      });
    });

    it('reads the inputs, with password and options, skipping entries without id', () => {
      assert.deepEqual(config.inputs, [
        { id: 'github-token', type: 'promptString', description: 'GitHub personal access token', password: true },
        { id: 'region', type: 'pickString', password: false, default: 'eu', options: ['eu', 'us'] },
      ]);
    });
  });

  describe('JSON syntax errors', () => {
    it('reports a missing comma at the next property', () => {
      const config = parse('{\n  "servers": {\n    "a": { "command": "x" }\n    "b": { "command": "y" }\n  }\n}\n');
      assert.deepEqual(problems(config), ['4:5 json JSON: comma expected']);
      assert.deepEqual([...config.servers.keys()], ['a', 'b'], 'the rest of the file is still read');
    });

    it('reports an unclosed array at the end of the file', () => {
      const config = parse('{\n  "servers": {},\n  "inputs": [ { "id": "tok" }\n}\n');
      // The first problem is where the `]` should be; jsonc-parser adds follow-up errors after it.
      assert.equal(formatDiagnostic(config.file, config.diagnostics[0]), '.vscode/mcp.json:4:1: error: JSON: comma expected');
      assert.ok(problems(config).includes('5:1 json JSON: close bracket expected'), problems(config).join(' | '));
      assert.ok(config.diagnostics.every((d) => d.code === 'json' && d.severity === 'error'));
      assert.deepEqual(config.inputs.map((i) => i.id), ['tok'], 'the input before the error is still read');
    });

    it('reports a value that is not JSON', () => {
      const config = parse('{\n  "servers": {\n    "a": { "command": npx }\n  }\n}\n');
      assert.deepEqual(problems(config)[0], '3:23 json JSON: invalid symbol');
    });

    it('accepts an empty file and reports a root that is not an object', () => {
      assert.deepEqual(problems(parse('')), []);
      assert.deepEqual(problems(parse('\n[1]')), ['2:1 mcp-json mcp.json must hold an object with "servers".']);
      assert.deepEqual(problems(parse('{"servers": []}')), ['1:13 mcp-json "servers" must be an object of server names to definitions.']);
    });
  });

  describe('invalid server entries', () => {
    const config = parse(`{
  "servers": {
    "nocmd": { "args": ["x"] },
    "badurl": { "url": "not a url" },
    "ftp": { "type": "http", "url": "ftp://example.com/mcp" },
    "env": { "command": "node", "env": { "A": { "b": 1 } } },
    "sse": { "type": "sse" },
    "ws": { "type": "websocket", "url": "ws://localhost" },
    "ok": { "command": "node" }
  }
}`);

    it('are reported each on its server name', () => {
      assert.deepEqual(problems(config), [
        "3:5 mcp-json server 'nocmd': a stdio server needs a 'command'.",
        `4:5 mcp-json server 'badurl': 'url' is not a valid URL: "not a url".`,
        "5:5 mcp-json server 'ftp': 'url' must be http or https, not ftp.",
        "6:5 mcp-json server 'env': 'env' has a value for 'A' that is not a string.",
        "7:5 mcp-json server 'sse': an sse server needs a 'url'.",
        `8:5 mcp-json server 'ws': unknown server type "websocket"; use stdio, http or sse.`,
      ]);
    });

    it('are still listed as servers, so that steps using them are not called unknown', () => {
      assert.deepEqual([...config.servers.keys()], ['nocmd', 'badurl', 'ftp', 'env', 'sse', 'ws', 'ok']);
    });
  });

  describe('normalizeServerDefinition', () => {
    it('infers stdio from a command and http from a url', () => {
      assert.deepEqual(normalizeServerDefinition({ command: 'node', args: ['server.js', 3, true] }), {
        type: 'stdio',
        command: 'node',
        args: ['server.js', '3', 'true'],
        env: {},
      });
      assert.deepEqual(normalizeServerDefinition({ url: 'https://example.com/mcp', headers: { 'X-Key': 'k' } }), {
        type: 'http',
        url: 'https://example.com/mcp',
        headers: { 'X-Key': 'k' },
      });
    });

    it('prefers the url when both are given without a type', () => {
      assert.deepEqual(normalizeServerDefinition({ command: 'node', url: 'http://localhost/mcp' }), {
        type: 'http',
        url: 'http://localhost/mcp',
        headers: {},
      });
    });

    it('explains what is wrong', () => {
      assert.deepEqual(normalizeServerDefinition('npx server'), { error: 'a server definition must be an object' });
      assert.deepEqual(normalizeServerDefinition([]), { error: 'a server definition must be an object' });
      assert.deepEqual(normalizeServerDefinition({ command: '  ' }), { error: "a stdio server needs a 'command'" });
      assert.deepEqual(normalizeServerDefinition({ command: 'x', args: 'a b' }), { error: "'args' must be a list" });
      assert.deepEqual(normalizeServerDefinition({ command: 'x', env: ['A=1'] }), { error: "'env' must be an object of names to values" });
      assert.deepEqual(normalizeServerDefinition({ url: 'http://x', headers: { A: null } }), {
        error: "'headers' has a value for 'A' that is not a string",
      });
      assert.deepEqual(normalizeServerDefinition({ type: 'http', command: 'x' }), { error: "a http server needs a 'url'" });
    });

    it('drops a startupTimeout that is not a duration, and keeps cwd', () => {
      assert.deepEqual(normalizeServerDefinition({ command: 'x', cwd: '/w', startupTimeout: 'soon' }), {
        type: 'stdio',
        command: 'x',
        args: [],
        env: {},
        cwd: '/w',
      });
      assert.deepEqual(normalizeServerDefinition({ url: 'http://x', startupTimeout: 1500 }), {
        type: 'http',
        url: 'http://x',
        headers: {},
        startupTimeoutMs: 1500,
      });
    });
  });

  describe('substituteVariables', () => {
    const scope: VariableScope = {
      workspaceFolder: '/home/ada/projects/demo',
      userHome: '/home/ada',
      env: { HOME: '/home/ada', TOKEN: 's3cret' },
      input: (id) => (id === 'github-token' ? 'ghp_123' : undefined),
    };

    it('substitutes workspace, home, env and input variables in every string of a value', () => {
      const raw = {
        command: 'npx',
        args: ['${workspaceFolder}/data', '${workspaceFolderBasename}', '${userHome}/.cache', 7],
        env: { TOKEN: '${env:TOKEN}', MISSING: '<${env:NOPE}>', KEEP: null },
        headers: { Authorization: 'Bearer ${input:github-token}' },
        plain: '$HOME and {workspaceFolder} stay',
      };
      assert.deepEqual(substituteVariables(raw, scope), {
        command: 'npx',
        args: ['/home/ada/projects/demo/data', 'demo', '/home/ada/.cache', 7],
        env: { TOKEN: 's3cret', MISSING: '<>', KEEP: null },
        headers: { Authorization: 'Bearer ghp_123' },
        plain: '$HOME and {workspaceFolder} stay',
      });
    });

    it('takes the basename of a folder with a trailing or Windows separator', () => {
      assert.equal(substituteVariables('${workspaceFolderBasename}', { ...scope, workspaceFolder: '/w/demo/' }), 'demo');
      assert.equal(substituteVariables('${workspaceFolderBasename}', { ...scope, workspaceFolder: 'C:\\w\\demo' }), 'demo');
    });

    it('does not substitute inside substituted values', () => {
      assert.equal(substituteVariables('${env:A}', { ...scope, env: { A: '${env:TOKEN}' } }), '${env:TOKEN}');
    });

    it('throws VariableError for an input without value', () => {
      assert.throws(
        () => substituteVariables({ headers: { Authorization: 'Bearer ${input:api-key}' } }, scope),
        (e: unknown) => e instanceof VariableError && e.message === "needs the input 'api-key' (${input:api-key}), which has no value",
      );
    });

    it('throws VariableError for a variable it does not know', () => {
      assert.throws(
        () => substituteVariables(['${command:pickFile}'], scope),
        (e: unknown) => e instanceof VariableError && e.name === 'VariableError' && e.message === 'uses ${command:pickFile}, a variable OpenConductor does not know',
      );
    });
  });
});
