import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunEvent } from '../../common/events';
import { SourceFile } from '../../common/source';
import { parseWorkflow } from '../../common/workflow/parse';
import { validateWorkflow } from '../../common/workflow/validate';
import { Engine } from '../../sidecar/engine/engine';
import { IDEMPOTENCY_KEY_META } from '../../sidecar/engine/calls';
import { yamlDefinition, type RunResult } from '../../sidecar/engine/run';
import type { ServerSpec } from '../../sidecar/mcp/connection';
import { McpPool } from '../../sidecar/mcp/pool';
import { Store } from '../../sidecar/store/store';
import { ROOT } from '../support/cli';

const RECORDER = path.join(ROOT, 'test', 'fixtures', 'servers', 'meta-recorder.mjs');
const EVERYTHING = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');

interface Recorded {
  value: string;
  meta: Record<string, unknown> | null;
}

describe('engine (in process, real MCP servers, real store)', function () {
  this.timeout(60_000);
  let dir: string;
  let store: Store;
  let pool: McpPool;
  let engine: Engine;
  let recordFile: string;
  let events: RunEvent[];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-engine-'));
    recordFile = path.join(dir, 'calls.jsonl');
    store = await Store.open({ dataDir: path.join(dir, 'data'), mode: 'writer' });
    pool = new McpPool({ cwd: dir, clientVersion: 'test', defaultStartupTimeoutMs: 30_000 });
    engine = new Engine(store, { connection: (spec) => pool.connection(spec) });
    events = [];
    store.subscribe((e) => events.push(e));
  });
  afterEach(async () => {
    engine.close();
    await pool.closeAll();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const servers = (): Map<string, ServerSpec> =>
    new Map<string, ServerSpec>([
      ['rec', { name: 'rec', definition: { type: 'stdio', command: process.execPath, args: [RECORDER], env: { RECORD_FILE: recordFile } } }],
      ['everything', { name: 'everything', definition: { type: 'stdio', command: process.execPath, args: [EVERYTHING], env: {} } }],
    ]);

  async function start(yaml: string, inputs: Record<string, unknown> = {}): Promise<{ runId: string; done: Promise<RunResult> }> {
    const file = new SourceFile('test.workflow.yaml', yaml);
    const parsed = parseWorkflow(file);
    const problems = [...parsed.diagnostics, ...validateWorkflow(parsed, { externalServers: ['rec', 'everything'] })];
    assert.deepEqual(problems.map((d) => d.message), []);
    return engine.start({ definition: yamlDefinition({ file, filePath: file.path, workflow: parsed.workflow!, definitionHash: 'h', servers: servers() }), inputs });
  }

  const recorded = (): Recorded[] =>
    fs.existsSync(recordFile) ? fs.readFileSync(recordFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Recorded) : [];

  it('sends each call once, with an idempotency key naming the run, step and element', async () => {
    const { runId, done } = await start(`name: keys
steps:
  - id: one
    server: rec
    tool: record
    with: { value: single }
  - id: many
    server: rec
    tool: record
    foreach: [a, b, c]
    with:
      value: \${{ item }}
`);
    const result = await done;
    assert.equal(result.status, 'completed');
    const calls = recorded();
    assert.equal(calls.length, 4);
    const keys = Object.fromEntries(calls.map((c) => [c.value, c.meta?.[IDEMPOTENCY_KEY_META]]));
    assert.deepEqual(keys, { single: `${runId}/one`, a: `${runId}/many/0`, b: `${runId}/many/1`, c: `${runId}/many/2` });
  });

  it('runs independent steps at the same time and orders steps by the data they read', async () => {
    const started = Date.now();
    const { done } = await start(`name: parallel
steps:
  - id: left
    server: rec
    tool: record
    with: { value: left, delayMs: 600 }
  - id: right
    server: rec
    tool: record
    with: { value: right, delayMs: 600 }
  - id: join
    server: rec
    tool: record
    with:
      value: \${{ format('{0}+{1}', steps.left.output.recorded, steps.right.output.recorded) }}
`);
    const result = await done;
    assert.equal(result.status, 'completed');
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 1150, `left and right overlapped (took ${elapsed}ms for two 600ms calls)`);
    assert.deepEqual(recorded().map((c) => c.value).slice(-1), ['left+right']);
    const order = events.map((e) => `${e.type}:${'step' in e ? e.step : ''}`);
    assert.ok(order.indexOf('StepScheduled:join') > order.indexOf('StepCompleted:left'));
    assert.ok(order.indexOf('StepScheduled:join') > order.indexOf('StepCompleted:right'));
    assert.ok(order.indexOf('StepScheduled:right') < order.indexOf('StepCompleted:left'), 'right started before left finished');
  });

  it('delivers events to subscribers in journal order, each only once durable', async () => {
    const { runId, done } = await start(`name: order
steps:
  - id: a
    server: everything
    tool: echo
    with: { message: x }
  - id: b
    server: everything
    tool: echo
    with:
      message: \${{ steps.a.output }}
`);
    await done;
    const seqs = events.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
    assert.deepEqual(store.events(runId).map((e) => e.seq), seqs, 'the store holds exactly what subscribers saw');
    assert.deepEqual(events.map((e) => e.type), ['WorkflowStarted', 'StepScheduled', 'StepCompleted', 'StepScheduled', 'StepCompleted', 'WorkflowCompleted']);
    const run = store.getRun(runId)!;
    assert.equal(run.steps[1].output, 'Echo: Echo: x');
  });

  it('cancels a run: the call in flight is cancelled and the run ends cancelled', async () => {
    const { runId, done } = await start(`name: cancel
steps:
  - id: slow
    server: everything
    tool: trigger-long-running-operation
    with: { duration: 10, steps: 10 }
  - id: after
    server: everything
    tool: echo
    needs: slow
    with: { message: never }
`);
    await new Promise((r) => setTimeout(r, 800));
    await engine.cancel(runId, 'test cancel');
    const result = await done;
    assert.equal(result.status, 'cancelled');
    const run = store.getRun(runId)!;
    assert.equal(run.status, 'cancelled');
    assert.deepEqual(run.steps.map((s) => [s.id, s.status]), [
      ['slow', 'failed'],
      ['after', 'pending'],
    ]);
    assert.equal(run.steps[0].error?.type, 'Cancelled');
    assert.equal(store.events(runId).at(-1)!.type, 'WorkflowCancelled');
  });

  it('fails a foreach at its first failing element and starts no more elements', async () => {
    const { runId, done } = await start(`name: stop
steps:
  - id: each
    server: everything
    tool: get-sum
    foreach: [1, 2, 'three', 4, 5, 6]
    concurrency: 1
    with:
      a: \${{ item }}
      b: 1
`);
    const result = await done;
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.type, 'InvalidArguments');
    assert.equal(result.error?.step, 'each');
    const run = store.getRun(runId)!;
    assert.deepEqual(run.steps[0].itemDetails?.map((i) => [i.index, i.status]), [
      [0, 'completed'],
      [1, 'completed'],
      [2, 'failed'],
      [3, 'pending'],
      [4, 'pending'],
      [5, 'pending'],
    ]);
  });
});
