import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, cli } from '../support/cli';
import { TestWorkspace } from '../support/host';
import { until } from '../support/wait';

const children = new Set<ChildProcess>();

/** A CLI process left running in the background, its output collected; killed after the test if still there. */
function background(args: string[], cwd: string): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return { child, output: () => text, exit };
}

/** The CLI's durable commands, between real processes: delegation to a running host, taking over, detaching. */
describe('durable runs from the command line', function () {
  this.timeout(120_000);
  let ws: TestWorkspace;

  beforeEach(() => (ws = new TestWorkspace()));
  afterEach(() => {
    for (const child of children) child.kill('SIGKILL');
    ws.remove();
  });

  const gated = `steps:
  - id: prepare
    server: rec
    tool: record
    with: { value: prepare }
    compensate: { tool: record, with: { value: undo } }
  - id: review
    needs: prepare
    approval: { message: ready? }
  - id: payment
    needs: review
    signal: { name: paid }
  - id: finish
    server: rec
    tool: record
    needs: payment
    with: { value: "\${{ format('finish {0}', steps.payment.output.amount) }}" }
outputs:
  amount: \${{ steps.payment.output.amount }}
`;

  it('approves and signals a run waiting in another terminal, through its host', async () => {
    const file = ws.workflow('gated', gated);
    const runner = background(['run', file], ws.dir);
    await until(() => /approve (\w+) review/.test(runner.output()), 'the run to wait for approval');
    const runId = /approve (\w+) review/.exec(runner.output())![1];

    const approve = await cli(['approve', runId.slice(0, 8), 'review', '--comment', 'go'], { cwd: ws.dir });
    assert.equal(approve.code, 0, approve.stderr);
    assert.match(approve.stderr, new RegExp(`approved step 'review' of run ${runId} \\(the run continues in its host\\)`));
    await until(() => /signal \w+ paid/.test(runner.output()), 'the run to wait for the signal');

    const signal = await cli(['signal', runId, 'paid', '--payload', '{"amount": 42}'], { cwd: ws.dir });
    assert.equal(signal.code, 0, signal.stderr);
    assert.equal(await runner.exit, 0, runner.output());
    assert.match(runner.output(), /"amount": 42/);
    assert.deepEqual(ws.calls().map((c) => c.value), ['prepare', 'finish 42']);

    const history = await cli(['runs', 'history', runId], { cwd: ws.dir });
    assert.equal(history.code, 0);
    assert.match(history.stdout, /ApprovalResolved\s+review {2}approved: go/);
    assert.match(history.stdout, /SignalReceived\s+signal 'paid' received/);
    const json = await cli(['runs', 'history', runId, '--json'], { cwd: ws.dir });
    const events = JSON.parse(json.stdout) as Array<{ type: string }>;
    assert.equal(events[0].type, 'WorkflowStarted');
    assert.equal(events.at(-1)!.type, 'WorkflowCompleted');
  });

  it('leaves a waiting run waiting on Ctrl-C; approve, signal and resume carry it on from a new process', async () => {
    const file = ws.workflow('gated', gated);
    const runner = background(['run', file], ws.dir);
    await until(() => /approve (\w+) review/.test(runner.output()), 'the run to wait for approval');
    const runId = /approve (\w+) review/.exec(runner.output())![1];
    runner.child.kill('SIGINT');
    assert.equal(await runner.exit, 0);
    assert.match(runner.output(), new RegExp(`Left run ${runId} waiting\\. Resume it with: openconductor runs resume ${runId}`));

    // No host runs now: approve becomes one, carries the run on until it waits again, and says for what.
    const approve = await cli(['approve', runId, 'review'], { cwd: ws.dir });
    assert.equal(approve.code, 0, approve.stderr);
    assert.match(approve.stderr, new RegExp(`run ${runId} is waiting\\n {2}payment: waiting for signal 'paid'`));

    const signal = await cli(['signal', runId, 'paid', '--payload', '{"amount": 7}', '--json'], { cwd: ws.dir });
    assert.equal(signal.code, 0, signal.stderr);
    const result = JSON.parse(signal.stdout.trim().split('\n').at(-1)!) as { status: string; outputs: { amount: number } };
    assert.equal(result.status, 'completed');
    assert.equal(result.outputs.amount, 7);
    assert.deepEqual(ws.calls().map((c) => c.value), ['prepare', 'finish 7'], 'prepare ran once, before the detach');

    const ended = await cli(['runs', 'resume', runId], { cwd: ws.dir });
    assert.equal(ended.code, 1);
    assert.match(ended.stderr, /run \w+ has ended \(completed\); there is nothing to resume/);
  });

  it('cancels a waiting run from another process: its completed steps are compensated', async () => {
    const file = ws.workflow('gated', gated);
    const runner = background(['run', file], ws.dir);
    await until(() => /approve (\w+) review/.test(runner.output()), 'the run to wait for approval');
    const runId = /approve (\w+) review/.exec(runner.output())![1];
    runner.child.kill('SIGKILL'); // gone without a word: the run stays open in the journal
    await runner.exit;

    const cancel = await cli(['runs', 'cancel', runId, '--reason', 'not needed'], { cwd: ws.dir });
    assert.equal(cancel.code, 1, 'a cancelled run is not a success');
    assert.match(cancel.stderr, /✗ run \w+ cancelled/);
    assert.deepEqual(ws.calls().map((c) => c.value), ['prepare', 'undo']);
    const show = await cli(['runs', 'show', runId, '--json'], { cwd: ws.dir });
    const run = JSON.parse(show.stdout) as { status: string; steps: Array<{ id: string; status: string; compensation?: { status: string } }> };
    assert.equal(run.status, 'cancelled');
    assert.equal(run.steps[0].compensation?.status, 'completed');
  });

  it('runs two workflows from two terminals at once: the second goes through the first one\'s host', async () => {
    const slow = ws.workflow('slow', `steps:\n  - id: wait\n    server: rec\n    tool: record\n    with: { value: slow, delayMs: 1500 }\n`);
    const quick = ws.workflow('quick', `steps:\n  - id: now\n    server: rec\n    tool: record\n    with: { value: quick }\n`);
    const first = background(['run', slow], ws.dir);
    await until(() => /run \w+ of 'slow' started/.test(first.output()), 'the first run to start');
    const second = await cli(['run', quick], { cwd: ws.dir });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(await first.exit, 0, first.output());
    assert.deepEqual(new Set(ws.calls().map((c) => c.pid)).size, 1, 'both calls went to the one host\'s server');
    assert.deepEqual(ws.calls().map((c) => c.value).sort(), ['quick', 'slow']);
  });
});
