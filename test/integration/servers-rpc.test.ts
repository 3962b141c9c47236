/** The editor's server requests to a sidecar: list, tools (starting the server), a call, stop, and pushed states. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Notifications, Requests, type ServerInfo } from '../../common/protocol';
import { makeWorkspace } from '../support/cli';
import { connectSidecar, killHard, startSidecar } from '../support/sidecar';
import { until } from '../support/wait';

describe('server requests to a sidecar', function () {
  this.timeout(90_000);

  it('lists the workspace servers with their state, starts one to list its tools, calls a tool, stops it, and pushes each state', async () => {
    // A workflow server written without expressions: one a client (VS Code's chat) can start as it is.
    const dir = makeWorkspace('servers-rpc', { 'static.workflow.yaml': 'name: static\nservers:\n  echoer:\n    command: node\n    args: [echo-server.js, --quiet]\n    env: { LEVEL: "2" }\nsteps:\n  - id: one\n    server: echoer\n    tool: echo\n' });
    const sidecar = startSidecar(dir);
    try {
      await sidecar.ready;
      const connection = await connectSidecar(path.join(dir, '.openconductor'));
      const states: string[] = [];
      connection.onNotification(Notifications.serverStatus, (s) => s.name === 'everything' && states.push(s.state));
      const servers = await connection.sendRequest(Requests.servers, undefined);
      const byName = new Map(servers.map((s) => [s.name, s]));
      assert.deepEqual([...byName.keys()].sort(), ['echoer', 'everything', 'files', 'memory']);
      assert.deepEqual(byName.get('echoer')?.definition, { type: 'stdio', command: 'node', args: ['echo-server.js', '--quiet'], env: { LEVEL: '2' } });
      assert.match(byName.get('echoer')!.definedIn, /static\.workflow\.yaml:\d+:\d+$/);
      assert.equal(byName.get('files')?.definition, undefined, 'a definition with expressions has no value outside a run');
      assert.equal(byName.get('everything')?.definition, undefined, 'VS Code reads .vscode/mcp.json itself');
      const everything = byName.get('everything') as ServerInfo;
      assert.equal(everything.origin, 'mcp.json');
      assert.equal(everything.state, 'stopped');
      assert.match(everything.definedIn, /\.vscode\/mcp\.json:\d+:\d+$/);
      assert.ok(byName.get('files')?.origin === 'workflow', 'a workflow-declared server is listed too');

      const tools = await connection.sendRequest(Requests.serverTools, { name: 'everything' });
      assert.ok(tools.some((t) => t.name === 'echo' && t.inputSchema), tools.map((t) => t.name).join(', '));
      const result = (await connection.sendRequest(Requests.callTool, { name: 'everything', tool: 'echo', arguments: { message: 'hello' } })) as { content: Array<{ text: string }> };
      assert.match(result.content[0].text, /hello/);
      const running = (await connection.sendRequest(Requests.servers, undefined)).find((s) => s.name === 'everything')!;
      assert.equal(running.state, 'running');
      assert.equal(running.calls, 1);
      assert.ok(running.pid && running.pid > 0);
      assert.ok(running.latencyMs !== undefined && running.latencyMs >= 0);

      await connection.sendRequest(Requests.stopServer, { name: 'everything' });
      await until(() => states.includes('stopped'), 'a pushed stopped state', 10_000);
      assert.deepEqual(states.slice(0, 2), ['starting', 'running']);

      await assert.rejects(connection.sendRequest(Requests.serverTools, { name: 'nope' }), /no server 'nope' in \.vscode\/mcp\.json or in the workspace's workflow files/);
      connection.dispose();
    } finally {
      await killHard(sidecar.child);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
