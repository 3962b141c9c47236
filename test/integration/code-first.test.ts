import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunEvent } from '../../common/events';
import { IDEMPOTENCY_KEY_META } from '../../sidecar/engine/calls';
import type { Host } from '../../sidecar/host/host';
import { HostError } from '../../sidecar/host/host';
import { displayPath } from '../../sidecar/workspace/workspace';
import { cli, jsonLines } from '../support/cli';
import { EVERYTHING, RECORDER, TestWorkspace } from '../support/host';
import { until } from '../support/wait';

/** The `servers` of a test workflow: the meta-recorder (`rec`) and server-everything (`everything`). */
function serversOf(ws: TestWorkspace): string {
  return `{
    rec: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(RECORDER)}], env: { RECORD_FILE: ${JSON.stringify(ws.recordFile)} } },
    everything: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING)}] },
  }`;
}

/**
 * Writes `<name>.workflow.ts` in the workspace: the function's body given, its options (besides name and servers)
 * given; the body starts on line 7 of the file (for positions).
 */
function codeWorkflow(ws: TestWorkspace, name: string, body: string, options = ''): string {
  const file = path.join(ws.dir, `${name}.workflow.ts`);
  const text = [
    `import { workflow, WorkflowError, isCancellation } from 'openconductor/workflow';`,
    `const servers = ${serversOf(ws).replace(/\n\s*/g, ' ')};`,
    `export default workflow(`,
    `  { name: '${name}', servers, ${options} },`,
    `  // eslint-disable-next-line @typescript-eslint/no-explicit-any`,
    `  async (ctx, input: any) => {`,
    body,
    `  },`,
    `);`,
    ``,
  ].join('\n');
  fs.writeFileSync(file, text);
  return file;
}

/** Line and column (1-based) of the first occurrence of `needle` in a file. */
function positionOf(file: string, needle: string): string {
  const text = fs.readFileSync(file, 'utf8');
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `${needle} not in ${file}`);
  const before = text.slice(0, at).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

const types = (events: RunEvent[], step?: string): string[] => events.filter((e) => !step || ('step' in e && e.step === step)).map((e) => e.type);

describe('code-first workflows (*.workflow.ts) in a host, against real MCP servers', function () {
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

  const waitingStep = (runId: string, step: string): boolean => host.get(runId).steps.find((s) => s.id === step)?.status === 'waiting';

  it('runs calls, parallel branches, retries, a sleep, an approval and a signal, and returns its outputs', async () => {
    const file = codeWorkflow(
      ws,
      'tour',
      `    const first = await ctx.call('rec', 'record', { value: 'first ' + input.version });
    const [b, c] = await ctx.parallel([
      () => ctx.call('rec', 'record', { value: 'b' }),
      () => ctx.call('rec', 'record', { value: 'c', failTimes: 2 }, { retry: { maximumAttempts: 3, initialInterval: '50ms' } }),
    ]);
    const sum = await ctx.call<string>('everything', 'get-sum', { a: 2, b: 3 });
    const before = ctx.now();
    await ctx.sleep('300ms');
    const slept = Date.now() - before;
    const decision = await ctx.approval({ id: 'release', message: 'Ship ' + input.version + '?' });
    const paid = await ctx.signal<{ amount: number }>('payment');
    return { first, b, c, sum, slept, decision, amount: paid.amount, run: ctx.runId };`,
      `inputs: { version: { type: 'string' } }`,
    );
    const { runId } = await host.start({ file, inputs: { text: { version: '1.2' } } });
    await until(() => waitingStep(runId, 'release'), 'the approval');
    assert.equal((await host.wait(runId, true)).waiting, true, 'a run waiting for a person only waits');
    const message = host.history(runId).find((e) => e.type === 'ApprovalRequested') as Extract<RunEvent, { type: 'ApprovalRequested' }>;
    assert.equal(message.message, 'Ship 1.2?');
    // A signal sent before the code waits for it is kept for it.
    await host.signal(runId, 'payment', { amount: 42 });
    await host.decide(runId, 'release', true, 'go');
    const outcome = await host.wait(runId, false);
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome.error));
    const outputs = outcome.outputs as Record<string, unknown>;
    assert.deepEqual(outputs.first, { recorded: 'first 1.2' });
    assert.deepEqual(outputs.b, { recorded: 'b' });
    assert.deepEqual(outputs.c, { recorded: 'c' });
    assert.match(String(outputs.sum), /The sum of 2 and 3 is 5/);
    assert.ok((outputs.slept as number) >= 300, `the workflow clock moved with the timer's events: ${String(outputs.slept)}`);
    assert.deepEqual(outputs.decision, { approved: true, by: 'user', comment: 'go' });
    assert.equal(outputs.amount, 42);
    assert.equal(outputs.run, runId);

    const events = host.history(runId);
    const started = events[0] as Extract<RunEvent, { type: 'WorkflowStarted' }>;
    assert.equal(started.language, 'ts');
    assert.deepEqual(started.steps, []);
    assert.match(started.source!, /__openconductor_workflow__/, 'the compiled bundle is pinned with the run');
    const details = host.get(runId);
    assert.deepEqual(
      details.steps.map((s) => [s.id, s.status]),
      [
        ['rec.record#1', 'completed'],
        ['rec.record#2', 'completed'],
        ['rec.record#3', 'completed'],
        ['everything.get-sum#4', 'completed'],
        ['sleep#5', 'completed'],
        ['release', 'completed'],
        ['signal:payment#7', 'completed'],
      ],
    );
    assert.deepEqual(types(events, 'rec.record#3'), ['StepScheduled', 'StepAttemptFailed', 'StepScheduled', 'StepAttemptFailed', 'StepScheduled', 'StepCompleted']);
    assert.deepEqual(types(events, 'sleep#5'), ['TimerStarted', 'TimerFired', 'StepCompleted']);
    assert.deepEqual(types(events, 'signal:payment#7'), ['SignalWaitStarted', 'StepCompleted']);
    const calls = ws.calls();
    assert.deepEqual(calls.map((c) => c.value).sort(), ['b', 'c', 'c', 'c', 'first 1.2'], 'each call once, the flaky one three times');
    assert.deepEqual(
      calls.filter((c) => c.value === 'c').map((c) => c.meta?.[IDEMPOTENCY_KEY_META]),
      [`${runId}/rec.record#3`, `${runId}/rec.record#3`, `${runId}/rec.record#3`],
      'every attempt carries the same idempotency key',
    );
    assert.equal(calls.find((c) => c.value === 'b')!.meta?.[IDEMPOTENCY_KEY_META], `${runId}/rec.record#2`);
    assert.equal(details.steps.find((s) => s.id === 'rec.record#3')!.failedAttempts, 2);
  });

  it('rejects a failed call with a WorkflowError the code can catch; an uncaught failure fails the run at its call site', async () => {
    const file = codeWorkflow(
      ws,
      'failures',
      `    let caught: Record<string, unknown> = {};
    try {
      await ctx.call('rec', 'record', { value: 'boom', failTimes: 9 });
    } catch (error) {
      const e = error as WorkflowError;
      caught = { isWorkflowError: e instanceof WorkflowError, isError: e instanceof Error, type: e.type, step: e.step, location: e.location, message: e.message };
    }
    await ctx.call('rec', 'record', { value: 'after' });
    if (input.mode === 'args') await ctx.call('everything', 'get-sum', { a: 'x', b: 1 });
    if (input.mode === 'server') await ctx.call('nowhere', 'thing');
    if (input.mode === 'throw') throw new Error('the code gave up');
    if (input.mode === 'typed') throw new WorkflowError('Rejected', 'not today');
    return { caught };`,
      `inputs: { mode: { type: 'string', default: 'catch' } }`,
    );
    const run = async (mode: string): Promise<{ status: string; outputs?: Record<string, unknown>; error?: { type: string; message: string; step?: string; location?: string } }> => {
      const { runId } = await host.start({ file, inputs: { text: { mode } } });
      return host.wait(runId, false);
    };
    const rel = displayPath(file);

    const caught = await run('catch');
    assert.equal(caught.status, 'completed');
    const info = caught.outputs!.caught as Record<string, unknown>;
    assert.equal(info.isWorkflowError, true);
    assert.equal(info.isError, true);
    assert.equal(info.type, 'ToolError');
    assert.equal(info.step, 'rec.record#1');
    assert.equal(info.location, `${rel}:${positionOf(file, "call('rec', 'record', { value: 'boom'")}`);
    assert.match(String(info.message), /flaky failure 1 of 9 for boom/);

    const args = await run('args');
    assert.equal(args.status, 'failed');
    assert.equal(args.error?.type, 'InvalidArguments');
    assert.equal(args.error?.step, 'everything.get-sum#3');
    assert.equal(args.error?.location, `${rel}:${positionOf(file, "call('everything'")}`);

    const server = await run('server');
    assert.equal(server.error?.type, 'UnknownTool');
    assert.match(server.error!.message, /server 'nowhere' is neither in the workflow's servers nor in \.vscode\/mcp\.json/);

    const thrown = await run('throw');
    assert.equal(thrown.status, 'failed');
    assert.equal(thrown.error?.type, 'InternalError');
    assert.equal(thrown.error?.message, 'the code gave up');
    assert.equal(thrown.error?.location, `${rel}:${positionOf(file, "new Error('the code gave up')")}`);

    const typed = await run('typed');
    assert.equal(typed.error?.type, 'Rejected');
    assert.equal(typed.error?.message, 'not today');
  });

  it('times out each attempt and the call as a whole, under the workflow defaults or its own', async () => {
    const file = codeWorkflow(
      ws,
      'timeouts',
      `    try {
      await ctx.call('rec', 'record', { value: 'slow', delayMs: 3000 }, { stepTimeout: '700ms', retry: { maximumAttempts: 0, initialInterval: '50ms' } });
      return { timedOut: false };
    } catch (error) {
      return { timedOut: true, type: (error as WorkflowError).type, message: (error as WorkflowError).message };
    }`,
      `defaults: { timeout: '200ms' }`,
    );
    const started = Date.now();
    const { runId } = await host.start({ file });
    const outcome = await host.wait(runId, false);
    assert.ok(Date.now() - started < 2500, 'the call stopped at its stepTimeout');
    const outputs = outcome.outputs as { timedOut: boolean; type: string; message: string };
    assert.equal(outputs.timedOut, true);
    assert.equal(outputs.type, 'Timeout');
    assert.match(outputs.message, /ctx\.call\('rec', 'record'\) did not finish within its stepTimeout of 700ms/);
    const attempts = host.history(runId).filter((e) => e.type === 'StepAttemptFailed') as Array<Extract<RunEvent, { type: 'StepAttemptFailed' }>>;
    assert.ok(attempts.length >= 1 && attempts.every((a) => a.error.type === 'Timeout' && /within 200ms/.test(a.error.message)), 'each attempt cut at the default timeout of 200ms');
  });

  it('numbers operations for their step ids, takes given ids, and refuses a duplicate naming both call sites', async () => {
    const file = codeWorkflow(
      ws,
      'ids',
      `    await ctx.sleep(10, { id: 'pause' });
    const problems: string[] = [];
    try {
      await ctx.sleep('10ms', { id: 'pause' });
    } catch (error) {
      problems.push((error as WorkflowError).type + ': ' + (error as WorkflowError).message);
    }
    for (const bad of [{ id: 'a#b' }, { timeout: 'soon' }, { retry: { maximumAttempts: -1 } }, { retyr: 3 }]) {
      try {
        await ctx.call('rec', 'record', { value: 'never' }, bad as never);
      } catch (error) {
        problems.push((error as WorkflowError).type + ': ' + (error as WorkflowError).message);
      }
    }
    await ctx.call('rec', 'record', { value: 'numbered' });
    await ctx.call('rec', 'record', { value: 'named' }, { id: 'named' });
    await ctx.approval({ timeout: '20ms', onTimeout: 'approve' });
    await ctx.signal('poke', { timeout: '20ms' }).catch((e: WorkflowError) => problems.push(e.type + ': ' + e.message));
    return { problems };`,
    );
    const { runId } = await host.start({ file });
    const outcome = await host.wait(runId, false);
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome.error));
    const rel = displayPath(file);
    const problems = (outcome.outputs as { problems: string[] }).problems;
    assert.equal(
      problems[0],
      `InvalidArguments: ctx.sleep("10ms") uses the step id 'pause', which ctx.sleep(10) at ${rel}:${positionOf(file, "sleep(10, { id: 'pause' })")} already uses: step ids are unique in a run.`,
    );
    assert.match(problems[1], /^InvalidArguments: ctx\.call\('rec', 'record'\): a step id has letters, digits/);
    assert.match(problems[2], /^InvalidArguments: ctx\.call\('rec', 'record'\): the call's timeout must be a duration such as '500ms'/);
    assert.match(problems[3], /^InvalidArguments: ctx\.call\('rec', 'record'\): the call's retry\.maximumAttempts must be a whole number/);
    assert.match(problems[4], /^InvalidArguments: ctx\.call\('rec', 'record'\): the options of ctx\.call has no key 'retyr'\. Did you mean 'retry'\?/);
    assert.match(problems[5], /^Timeout: ctx\.signal\('poke'\) waited until its timeout of 20ms/);
    assert.deepEqual(
      host.get(runId).steps.map((s) => [s.id, s.status]),
      [
        ['pause', 'completed'],
        ['rec.record#2', 'completed'],
        ['named', 'completed'],
        ['approval#4', 'completed'],
        ['signal:poke#5', 'failed'],
      ],
      'refused operations take no number',
    );
    const approval = host.history(runId).find((e) => e.type === 'ApprovalResolved') as Extract<RunEvent, { type: 'ApprovalResolved' }>;
    assert.equal(approval.by, 'timeout');
    assert.equal(approval.approved, true);
    assert.deepEqual(ws.calls().map((c) => c.value), ['numbered', 'named']);
    await assert.rejects(host.decide(runId, 'pause', true), HostError);
  });

  it('cancels: calls in flight are aborted, waits reject with a cancellation the code catches to clean up', async () => {
    const file = codeWorkflow(
      ws,
      'cancel',
      `    try {
      await ctx.parallel([() => ctx.call('rec', 'record', { value: 'slow', delayMs: 10000 }), () => ctx.approval({ id: 'gate' }), () => ctx.sleep('1h')]);
      return { cleaned: false };
    } catch (error) {
      if (!isCancellation(error)) throw error;
      // Cleanup asked for after the cancellation runs; a wait asked for now ends at once.
      const cleanup = await ctx.call('rec', 'record', { value: 'cleanup' });
      const late = await ctx.approval({ id: 'late' }).then(() => 'approved', (e: WorkflowError) => e.type);
      return { cleaned: true, cleanup, late };
    }`,
    );
    const { runId } = await host.start({ file });
    await until(() => waitingStep(runId, 'gate') && host.get(runId).steps.find((s) => s.id === 'rec.record#1')?.status === 'running', 'the gate and the slow call');
    const started = Date.now();
    await host.cancel(runId, 'changed my mind');
    const outcome = await host.wait(runId, false);
    assert.ok(Date.now() - started < 5000, 'the slow call was aborted, not waited for');
    assert.equal(outcome.status, 'cancelled');
    assert.equal(outcome.error?.type, 'Cancelled');
    assert.match(outcome.error!.message, /changed my mind/);
    const events = host.history(runId);
    const failed = events.filter((e) => e.type === 'StepFailed') as Array<Extract<RunEvent, { type: 'StepFailed' }>>;
    assert.deepEqual(new Set(failed.map((e) => `${e.step}:${e.error.type}`)), new Set(['rec.record#1:Cancelled', 'gate:Cancelled', 'sleep#3:Cancelled', 'late:Cancelled']));
    assert.deepEqual(types(events, 'rec.record#4'), ['StepScheduled', 'StepCompleted'], 'the cleanup call ran to its end');
    assert.equal(events.at(-1)!.type, 'WorkflowCancelled');
    assert.ok(ws.calls().some((c) => c.value === 'cleanup'));
    assert.deepEqual(host.get(runId).outputs, undefined);
  });

  it('ends cancelled when the function lets the cancellation through; returns other values than objects as { result }', async () => {
    const file = codeWorkflow(ws, 'through', `    if (input.value !== undefined) return input.value;\n    await ctx.signal('never');\n    return { reached: true };`, `inputs: { value: { type: 'array', required: false } }`);
    const { runId } = await host.start({ file });
    await until(() => waitingStep(runId, 'signal:never#1'), 'the signal wait');
    await host.cancel(runId, 'enough');
    const cancelled = await host.wait(runId, false);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.error?.message, 'enough');
    assert.deepEqual(types(host.history(runId)).slice(-2), ['StepFailed', 'WorkflowCancelled']);

    const list = await host.start({ file, inputs: { typed: { value: [1, 2] } } });
    assert.deepEqual((await host.wait(list.runId, false)).outputs, { result: [1, 2] });
  });

  it('fails, does not hang, when the function awaits a promise no operation settles', async () => {
    const file = codeWorkflow(ws, 'stuck', `    await ctx.call('rec', 'record', { value: 'one' });\n    await new Promise(() => undefined);\n    return {};`);
    const { runId } = await host.start({ file });
    const outcome = await host.wait(runId, false);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.error?.type, 'InternalError');
    assert.match(outcome.error!.message, /waits for something no ctx operation will settle/);
  });

  it('refuses to start an invalid file or wrong inputs, with diagnostics at file:line:col', async () => {
    const bad = path.join(ws.dir, 'bad.workflow.ts');
    fs.writeFileSync(bad, `import { workflow } from 'openconductor/workflow';\nimport * as fs from 'node:fs';\nexport default workflow({ name: 'bad' }, async () => ({ x: fs.readFileSync('x') }));\n`);
    await assert.rejects(host.start({ file: bad }), (error: unknown) => {
      assert.ok(error instanceof HostError);
      assert.equal(error.data.kind, 'invalid-workflow');
      assert.match(error.data.diagnostics!.join('\n'), /bad\.workflow\.ts:2:21: error: no I\/O in a workflow except through ctx: 'node:fs' is a Node built-in module/);
      return true;
    });
    const file = codeWorkflow(ws, 'typed', `    return { n: input.n };`, `inputs: { n: { type: 'integer' } }`);
    await assert.rejects(host.start({ file, inputs: { text: { n: 'many' } } }), /input 'n': "many" is not a number/);
    const { runId } = await host.start({ file, inputs: { text: { n: '7' } } });
    assert.deepEqual((await host.wait(runId, false)).outputs, { n: 7 });
  });
});

describe('code-first workflows from the command line', function () {
  this.timeout(60_000);
  let ws: TestWorkspace;
  beforeEach(() => (ws = new TestWorkspace()));
  afterEach(() => ws.remove());

  it('validates with file:line:col diagnostics, runs, and shows runs and their history', async () => {
    const broken = path.join(ws.dir, 'broken.workflow.ts');
    fs.writeFileSync(broken, `import { workflow } from 'openconductor/workflow';\nexport default workflow({ name: 'broken' }, async (ctx) => {\n  setInterval(() => 1, 5);\n  return { a: ) };\n});\n`);
    const invalid = await cli(['validate', 'broken.workflow.ts'], { cwd: ws.dir });
    assert.equal(invalid.code, 1);
    assert.match(invalid.stdout, /^broken\.workflow\.ts:4:15: error: Unexpected "\)"$/m);

    fs.writeFileSync(broken, `import { workflow } from 'openconductor/workflow';\nexport default workflow({ name: 'broken' }, async (ctx) => {\n  setInterval(() => 1, 5);\n  return {};\n});\n`);
    const timers = await cli(['validate', '.'], { cwd: ws.dir });
    assert.equal(timers.code, 1);
    assert.match(timers.stdout, /^broken\.workflow\.ts:3:3: error: `setInterval` is not available in a workflow/m);
    fs.rmSync(broken);

    codeWorkflow(ws, 'hello', `    const said = await ctx.call('rec', 'record', { value: 'hello ' + input.who });\n    return { said };`, `inputs: { who: { type: 'string', default: 'world' } }`);
    const valid = await cli(['validate', '.'], { cwd: ws.dir });
    assert.equal(valid.code, 0, valid.stdout + valid.stderr);
    assert.match(valid.stderr, /✓ hello\.workflow\.ts/);
    assert.match(valid.stderr, /1 file\(s\): 0 error\(s\), 0 warning\(s\)/);

    const run = await cli(['run', 'hello.workflow.ts', '--json', '--input', 'who=cli'], { cwd: ws.dir });
    assert.equal(run.code, 0, run.stderr);
    const lines = jsonLines(run.stdout);
    const result = lines.at(-1) as { type: string; status: string; runId: string; outputs: unknown };
    assert.equal(result.type, 'RunResult');
    assert.equal(result.status, 'completed');
    assert.deepEqual(result.outputs, { said: { recorded: 'hello cli' } });
    assert.deepEqual(
      lines.slice(0, -1).map((l) => l.type),
      ['WorkflowStarted', 'StepScheduled', 'StepCompleted', 'WorkflowCompleted'],
    );

    const show = await cli(['runs', 'show', result.runId], { cwd: ws.dir });
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /hello\s+run \w+\s+completed/);
    assert.match(show.stdout, /completed\s+rec\.record#1\s+rec › record\s+1/);
    const history = await cli(['runs', 'history', result.runId], { cwd: ws.dir });
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /rec\.record#1\s+started\s+rec › record/);
  });

  it("lists a code-first workflow's own servers, and starts one of them to list its tools", async () => {
    const file = codeWorkflow(ws, 'listed', '    return {};');
    const servers = await cli(['servers', 'list', '--json'], { cwd: ws.dir });
    assert.equal(servers.code, 0, servers.stderr);
    const rows = JSON.parse(servers.stdout) as Array<{ name: string; type: string; target: string; definedIn: string }>;
    assert.deepEqual(rows.map((r) => r.name).sort(), ['everything', 'rec']);
    assert.match(rows.find((r) => r.name === 'rec')!.definedIn, /^listed\.workflow\.ts:\d+:\d+$/);
    assert.equal(rows.find((r) => r.name === 'rec')!.target, `${process.execPath} ${RECORDER}`);

    const tools = await cli(['servers', 'tools', 'rec', '--json', '--file', file], { cwd: ws.dir });
    assert.equal(tools.code, 0, tools.stderr);
    assert.ok((JSON.parse(tools.stdout) as Array<{ name: string }>).some((t) => t.name === 'record'), tools.stdout);
  });
});
