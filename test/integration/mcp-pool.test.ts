import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ServerSpec } from '../../sidecar/mcp/connection';
import { StepFailure } from '../../sidecar/mcp/errors';
import { McpPool } from '../../sidecar/mcp/pool';
import { toolOutput } from '../../sidecar/mcp/result';
import { ROOT } from '../support/cli';
import { until } from '../support/wait';

const EVERYTHING = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');
const everything: ServerSpec = { name: 'everything', definition: { type: 'stdio', command: process.execPath, args: [EVERYTHING], env: {} } };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

describe('MCP connection pool (real servers)', function () {
  this.timeout(60_000);
  let pool: McpPool;
  let logDir: string;

  beforeEach(() => {
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-pool-'));
    pool = new McpPool({ cwd: ROOT, logDir, clientVersion: 'test', defaultStartupTimeoutMs: 30_000 });
  });
  afterEach(async () => {
    await pool.closeAll();
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  it('starts a server lazily, reuses it, and caches its tool list', async () => {
    const connection = pool.connection(everything);
    assert.equal(connection.state, 'stopped', 'nothing starts before it is needed');
    const tools = await connection.listTools();
    assert.ok(tools.some((t) => t.name === 'echo'));
    const pid = connection.status().pid!;
    assert.equal(connection.state, 'running');
    assert.equal(await connection.listTools(), tools, 'the second listing is the cached one');
    const result = await connection.callTool('echo', { message: 'hello' }, { timeoutMs: 5000 });
    assert.equal(toolOutput(result), 'Echo: hello');
    assert.equal(pool.connection(everything), connection, 'the same definition gets the same connection');
    assert.equal(connection.status().pid, pid, 'the call reused the running process');
    assert.equal(connection.status().calls, 1);
  });

  it('restarts a crashed server on its next use, and fails the call in flight with the exit', async () => {
    const connection = pool.connection(everything);
    await connection.listTools();
    const firstPid = connection.status().pid!;
    const inFlight = connection.callTool('trigger-long-running-operation', { duration: 5, steps: 5 }, { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 300));
    process.kill(firstPid, 'SIGKILL');
    await assert.rejects(inFlight, (error: unknown) => {
      assert.ok(error instanceof StepFailure);
      assert.equal(error.type, 'ServerCrashed');
      assert.match(error.message, /server 'everything' exited on signal SIGKILL during the call to 'trigger-long-running-operation'; it will be restarted on its next use/);
      return true;
    });
    await until(() => connection.state === 'crashed', 'the connection to notice the crash', 5000);
    const result = await connection.callTool('echo', { message: 'again' }, { timeoutMs: 5000 });
    assert.equal(toolOutput(result), 'Echo: again');
    assert.notEqual(connection.status().pid, firstPid, 'a new process');
    assert.equal(connection.state, 'running');
  });

  it('cancels a call on timeout and on abort, and the server keeps serving', async () => {
    const connection = pool.connection(everything);
    await assert.rejects(connection.callTool('trigger-long-running-operation', { duration: 5, steps: 5 }, { timeoutMs: 300 }), (e: unknown) => {
      assert.ok(e instanceof StepFailure && e.type === 'Timeout');
      assert.match(e.message, /did not answer within 300ms; the call was cancelled/);
      return true;
    });
    const controller = new AbortController();
    const call = connection.callTool('trigger-long-running-operation', { duration: 5, steps: 5 }, { timeoutMs: 10_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    await assert.rejects(call, (e: unknown) => e instanceof StepFailure && e.type === 'Cancelled');
    assert.equal(toolOutput(await connection.callTool('echo', { message: 'still here' }, { timeoutMs: 5000 })), 'Echo: still here');
  });

  it('reports progress notifications of a long call', async () => {
    const seen: Array<[number, number | undefined]> = [];
    await pool.connection(everything).callTool('trigger-long-running-operation', { duration: 1, steps: 4 }, {
      timeoutMs: 10_000,
      onProgress: (progress, total) => seen.push([progress, total]),
    });
    assert.ok(seen.length >= 3, `got ${seen.length} progress notifications`);
    assert.equal(seen[0][1], 4);
  });

  it("keeps each server's stderr in its log and closes every process on closeAll", async () => {
    const a = pool.connection(everything);
    const b = pool.connection({ name: 'memory', definition: { type: 'stdio', command: process.execPath, args: [path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-memory', 'dist', 'index.js')], env: { MEMORY_FILE_PATH: path.join(logDir, 'graph.jsonl') } } });
    await Promise.all([a.listTools(), b.listTools()]);
    const pids = [a.status().pid!, b.status().pid!];
    assert.ok(pids.every(alive));
    await pool.closeAll();
    await until(() => !pids.some(alive), 'the server processes to exit', 5000);
    assert.deepEqual(pool.statuses().map((s) => s.state), ['stopped', 'stopped']);
    const log = fs.readFileSync(path.join(logDir, 'memory.log'), 'utf8');
    assert.match(log, /starting server 'memory'/);
    assert.match(log, /Knowledge Graph MCP Server running on stdio/);
  });

  describe('streamable HTTP', () => {
    let server: ChildProcess | undefined;
    afterEach(() => server?.kill());

    it('calls a real server-everything over streamable HTTP', async () => {
      const port = await freePort();
      server = spawn(process.execPath, [EVERYTHING, 'streamableHttp'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
      await new Promise<void>((resolve) => server!.stderr!.on('data', (d: Buffer) => /listening on port/.test(d.toString()) && resolve()));
      const connection = pool.connection({ name: 'remote', definition: { type: 'http', url: `http://127.0.0.1:${port}/mcp`, headers: { 'X-Test': '1' } } });
      const tools = await connection.listTools();
      assert.ok(tools.some((t) => t.name === 'get-sum'));
      assert.equal(toolOutput(await connection.callTool('get-sum', { a: 2, b: 40 }, { timeoutMs: 5000 })), 'The sum of 2 and 40 is 42.');
    });

    it('says when nothing listens at the URL', async () => {
      const port = await freePort();
      const connection = pool.connection({ name: 'gone', definition: { type: 'http', url: `http://127.0.0.1:${port}/mcp`, headers: {} }, origin: '.vscode/mcp.json:3:5' });
      await assert.rejects(connection.listTools(), (e: unknown) => {
        assert.ok(e instanceof StepFailure && e.type === 'ServerStartFailed');
        assert.match(e.message, new RegExp(`could not connect to server 'gone' at http://127\\.0\\.0\\.1:${port}/mcp: connection refused \\(defined in \\.vscode/mcp\\.json:3:5\\)`));
        return true;
      });
      assert.equal(connection.state, 'error');
    });
  });
});
