import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunEvent } from '../../common/events';
import { Requests } from '../../common/protocol';
import { compileWorkflow } from '../../sidecar/code-first/compile';
import { prepareCodeDefinition } from '../../sidecar/code-first/prepare';
import { codeDeclaredServers, evaluateBundle } from '../../sidecar/code-first/load';
import { IDEMPOTENCY_KEY_META } from '../../sidecar/engine/calls';
import type { Host } from '../../sidecar/host/host';
import { SourceFile } from '../../common/source';
import { displayPath, openWorkspace } from '../../sidecar/workspace/workspace';
import { EVERYTHING, RECORDER, TestWorkspace } from '../support/host';
import { connectSidecar, killHard, startSidecar, stopSidecar } from '../support/sidecar';

/** Writes a code-first workflow with the meta-recorder (`rec`) and server-everything declared; returns its path. */
function writeWorkflow(ws: TestWorkspace, name: string, head: string, body: string): string {
  const file = path.join(ws.dir, `${name}.workflow.ts`);
  fs.writeFileSync(
    file,
    `import { workflow } from 'openconductor/workflow';
${head}
const servers = {
  rec: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(RECORDER)}], env: { RECORD_FILE: ${JSON.stringify(ws.recordFile)} } },
  everything: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING)}] },
};
export default workflow({ name: '${name}', servers }, async (ctx) => {
${body}
});
`,
  );
  return file;
}

/** `line:col` (1-based) of the first occurrence of `needle` in a file. */
function positionOf(file: string, needle: string): string {
  const text = fs.readFileSync(file, 'utf8');
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `${needle} not in ${file}`);
  const lines = text.slice(0, at).split('\n');
  return `${lines.length}:${lines.at(-1)!.length + 1}`;
}

/** Deterministic replay: runs resumed from their journal after a crash, and what replay refuses. */
describe('code-first workflows: replay after a crash', function () {
  this.timeout(120_000);
  let ws: TestWorkspace;
  let dataDir: string;

  beforeEach(() => {
    ws = new TestWorkspace();
    dataDir = path.join(ws.dir, '.openconductor');
  });
  afterEach(() => ws.remove());

  it('resumes a run SIGKILLed while it waits for an approval: nothing completed is called again, the clock, random numbers and race winners replay, the pinned code runs', async () => {
    fs.writeFileSync(path.join(ws.dir, 'label.ts'), `export const label = 'v1';\n`);
    const file = writeWorkflow(
      ws,
      'replayed',
      `import { label } from './label';`,
      `  const pick = ['red', 'green', 'blue', 'cyan', 'pink'][Math.floor(Math.random() * 5)] + '-' + Math.floor(Math.random() * 1000);
  await ctx.call('rec', 'record', { value: 'pick ' + pick });
  // The slow call is asked for first: if results came back in the order of asking, it would win on replay.
  const winner = await Promise.race([
    ctx.call('rec', 'record', { value: 'slow', delayMs: 600 }).then(() => 'slow'),
    ctx.call('rec', 'record', { value: 'fast', delayMs: 20 }).then(() => 'fast'),
  ]);
  const clock = Date.now();
  await ctx.call('rec', 'record', { value: 'before ' + winner + ' ' + clock + ' ' + label });
  const decision = await ctx.approval({ id: 'go', message: 'go on?' });
  await ctx.call('rec', 'record', { value: 'after ' + pick + ' ' + winner + ' ' + clock + ' ' + label + ' ' + decision.comment });
  return { pick, winner, clock, label };`,
    );
    let sidecar = startSidecar(ws.dir);
    await sidecar.ready;
    let connection = await connectSidecar(dataDir);
    const { runId } = await connection.sendRequest(Requests.start, { file });
    assert.equal((await connection.sendRequest(Requests.wait, { runId, untilWaiting: true })).waiting, true);
    // The slow call of the race finishes too before the crash: the history has both, fast first.
    while ((await connection.sendRequest(Requests.get, { runId })).steps.find((s) => s.id === 'rec.record#2')?.status !== 'completed') await new Promise((r) => setTimeout(r, 20));
    connection.dispose();
    await killHard(sidecar.child);

    // The imported module changes while the run waits: the run goes on with the code it started with.
    fs.writeFileSync(path.join(ws.dir, 'label.ts'), `export const label = 'v2';\n`);
    const before = ws.calls().map((c) => c.value);

    sidecar = startSidecar(ws.dir);
    await sidecar.ready;
    connection = await connectSidecar(dataDir);
    const waiting = await connection.sendRequest(Requests.get, { runId });
    assert.equal(waiting.steps.find((s) => s.id === 'go')?.status, 'waiting', 'replayed up to the approval, still waiting');
    assert.deepEqual(ws.calls().map((c) => c.value), before, 'the replay called nothing');
    await connection.sendRequest(Requests.decide, { runId, step: 'go', approved: true, comment: 'ok' });
    const done = await connection.sendRequest(Requests.wait, { runId });
    const history: RunEvent[] = await connection.sendRequest(Requests.history, { runId });

    // A new run of the file uses the module as it is now.
    const second = await connection.sendRequest(Requests.start, { file });
    await connection.sendRequest(Requests.wait, { runId: second.runId, untilWaiting: true });
    await connection.sendRequest(Requests.decide, { runId: second.runId, step: 'go', approved: true });
    const secondDone = await connection.sendRequest(Requests.wait, { runId: second.runId });
    connection.dispose();
    await stopSidecar(sidecar.child);

    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const outputs = done.outputs as { pick: string; winner: string; clock: number; label: string };
    assert.equal(outputs.winner, 'fast', 'the race is won by the result the history completed first');
    assert.equal(outputs.label, 'v1', 'the pinned bundle, not the edited module');
    const values = ws.calls().filter((c) => c.meta?.[IDEMPOTENCY_KEY_META]?.toString().startsWith(runId)).map((c) => c.value);
    assert.deepEqual(values.sort(), [`after ${outputs.pick} fast ${outputs.clock} v1 ok`, `before fast ${outputs.clock} v1`, 'fast', `pick ${outputs.pick}`, 'slow'].sort(), 'each call once, with the values replay recomputed');
    // The clock the code read before the crash is the time of the event that delivered the race's winner.
    const fastDone = history.find((e) => e.type === 'StepCompleted' && e.step === 'rec.record#3')!;
    assert.equal(outputs.clock, fastDone.time);
    assert.equal(history.filter((e) => e.type === 'WorkflowStarted').length, 1);
    assert.equal((secondDone.outputs as { label: string }).label, 'v2');
  });

  it('sends a call in flight at the crash again, with its idempotency key, and none of the completed ones', async () => {
    const file = writeWorkflow(
      ws,
      'midcall',
      '',
      `  const one = await ctx.call('rec', 'record', { value: 'one' });
  const slow = await ctx.call('rec', 'record', { value: 'slow', delayMs: 1500 });
  const three = await ctx.call('rec', 'record', { value: 'three' });
  return { one, slow, three };`,
    );
    let sidecar = startSidecar(ws.dir);
    await sidecar.ready;
    let connection = await connectSidecar(dataDir);
    const { runId } = await connection.sendRequest(Requests.start, { file });
    for (;;) {
      const history: RunEvent[] = await connection.sendRequest(Requests.history, { runId });
      if (history.some((e) => e.type === 'StepScheduled' && e.step === 'rec.record#2')) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    connection.dispose();
    await killHard(sidecar.child);

    sidecar = startSidecar(ws.dir);
    await sidecar.ready;
    connection = await connectSidecar(dataDir);
    const done = await connection.sendRequest(Requests.wait, { runId });
    const history: RunEvent[] = await connection.sendRequest(Requests.history, { runId });
    connection.dispose();
    await stopSidecar(sidecar.child);

    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const calls = ws.calls();
    assert.equal(calls.filter((c) => c.value === 'one').length, 1, 'a completed call is not made again');
    assert.equal(calls.filter((c) => c.value === 'three').length, 1);
    const slow = calls.filter((c) => c.value === 'slow');
    assert.ok(slow.length >= 1);
    assert.deepEqual(new Set(slow.map((c) => c.meta?.[IDEMPOTENCY_KEY_META])), new Set([`${runId}/rec.record#2`]), 'sent again with the same idempotency key');
    const interrupted = history.find((e) => e.type === 'StepAttemptFailed') as Extract<RunEvent, { type: 'StepAttemptFailed' }>;
    assert.equal(interrupted.step, 'rec.record#2');
    assert.equal(interrupted.error.type, 'Interrupted');
    assert.deepEqual(
      history.filter((e) => e.type === 'StepScheduled').map((e) => [(e as { step: string }).step, (e as { attempt: number }).attempt]),
      [
        ['rec.record#1', 1],
        ['rec.record#2', 1],
        ['rec.record#2', 2],
        ['rec.record#3', 1],
      ],
    );
  });
});

describe('code-first workflows: non-determinism', function () {
  this.timeout(60_000);
  let ws: TestWorkspace;
  let host: Host;

  beforeEach(async () => {
    ws = new TestWorkspace();
    host = await ws.open();
  });
  afterEach(async () => {
    await host.close();
    ws.remove();
  });

  /** A run of `original`, journaled by the real store, waiting for its approval 'go' after one call. */
  async function waitingRun(): Promise<string> {
    const file = writeWorkflow(ws, 'original', '', `  await ctx.call('rec', 'record', { value: 'one' });\n  await ctx.approval({ id: 'go' });\n  await ctx.call('rec', 'record', { value: 'two' });\n  return {};`);
    const { runId } = await host.start({ file });
    await host.wait(runId, true);
    assert.equal(host.get(runId).steps.find((s) => s.id === 'go')?.status, 'waiting');
    return runId;
  }

  /**
   * Replays that run's history against another workflow: the store's events, the engine's resume, the compiled
   * `replacement` standing in for the pinned definition (which a run never changes on its own).
   */
  async function replayAgainst(runId: string, replacement: string): Promise<{ status: string; error?: { type: string; message: string; location?: string } }> {
    // Another host takes over the data directory, as after a crash: the run is no longer executing anywhere.
    await host.close();
    host = await ws.open();
    const compiled = await compileWorkflow(replacement);
    assert.ok(compiled.bundle, JSON.stringify(compiled.problems.map((p) => p.diagnostic.message)));
    const workspace = openWorkspace(ws.dir);
    const calls = ws.calls().length;
    const { done } = await host.engine.resume(runId, async ({ file, inputs }) => {
      const evaluated = evaluateBundle(compiled.bundle!, file);
      const servers = codeDeclaredServers(workspace, new SourceFile(file, fs.readFileSync(replacement, 'utf8')), evaluated.workflow, evaluated.rawServers);
      const { prepared } = await prepareCodeDefinition({ workspace, filePath: displayPath(replacement), bundle: compiled.bundle!, definitionHash: compiled.hash!, workflow: evaluated.workflow!, servers, inputs, askInput: async () => undefined });
      return prepared;
    });
    if ((await host.wait(runId, true)).waiting) await host.decide(runId, 'go', true);
    const result = await done;
    assert.ok(ws.calls().length >= calls);
    return result;
  }

  it('fails the run with NonDeterminism when the code asks for another operation than the history has, naming the call site', async () => {
    const runId = await waitingRun();
    const replacement = writeWorkflow(ws, 'other-tool', '', `  await ctx.call('rec', 'record', { value: 'one' });\n  await ctx.call('everything', 'echo', { message: 'not an approval' });\n  return {};`);
    const before = ws.calls().length;
    const result = await replayAgainst(runId, replacement);
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.type, 'NonDeterminism');
    assert.match(result.error!.message, /^ctx\.call\('everything', 'echo'\) does not match the run's history: its operation #2 there is ctx\.approval \(step 'go'\)\./);
    assert.equal(result.error!.location, `${displayPath(replacement)}:${positionOf(replacement, "call('everything'")}`);
    assert.equal(ws.calls().length, before, 'nothing was called: replay does not call, and a mismatch stops the run before anything goes live');
    const details = host.get(runId);
    assert.equal(details.steps.find((s) => s.id === 'go')?.status, 'failed', 'the waiting approval is closed with the run');
  });

  it('fails the run when the code ends before the history does, or names an operation differently', async () => {
    const first = await waitingRun();
    const early = writeWorkflow(ws, 'early', '', `  await ctx.call('rec', 'record', { value: 'one' });\n  return { early: true };`);
    const ended = await replayAgainst(first, early);
    assert.equal(ended.error?.type, 'NonDeterminism');
    assert.match(ended.error!.message, /^the workflow function returned on replay, but the run's history goes on with ctx\.approval \(step 'go'\)\./);

    const second = await waitingRun();
    const renamed = writeWorkflow(ws, 'renamed', '', `  await ctx.call('rec', 'record', { value: 'one' }, { id: 'first' });\n  await ctx.approval({ id: 'go' });\n  return {};`);
    const result = await replayAgainst(second, renamed);
    assert.equal(result.error?.type, 'NonDeterminism');
    assert.match(result.error!.message, /^ctx\.call\('rec', 'record'\) does not match the run's history: its operation #1 there is ctx\.call\('rec', 'record'\) \(step 'rec\.record#1'\)\./);
    assert.equal(result.error!.location, `${displayPath(renamed)}:${positionOf(renamed, "call('rec'")}`);
  });

  it('replays code that asks for the same operations, whatever else changed, and goes on live', async () => {
    const runId = await waitingRun();
    const same = writeWorkflow(ws, 'same', `const note = 'a comment and a helper changed';`, `  await ctx.call('rec', 'record', { value: 'one' });\n  await ctx.approval({ id: 'go' });\n  await ctx.call('rec', 'record', { value: 'two, ' + note });\n  return { ok: true };`);
    const result = await replayAgainst(runId, same);
    assert.equal(result.status, 'completed', JSON.stringify(result.error));
    assert.deepEqual(ws.calls().map((c) => c.value), ['one', 'two, a comment and a helper changed']);
  });
});
