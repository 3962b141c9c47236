import assert from 'node:assert/strict';
import type { RunEvent, RunEventBody } from '../../common/events';
import { LiveRuns, summaryOf } from '../../common/live-runs';
import { runFromEvents } from '../../common/run-state';

/** Two runs' events interleaved under one global seq, as a host journals them. */
function journal(): RunEvent[] {
  const bodies: Array<[string, RunEventBody]> = [
    ['a', { type: 'WorkflowStarted', workflow: 'alpha', file: '/ws/alpha.workflow.yaml', definitionHash: 'h1', inputs: {}, steps: ['one', 'gate', 'two'] }],
    ['a', { type: 'StepScheduled', step: 'one', server: 'memory', tool: 'read_graph', arguments: {}, attempt: 1 }],
    ['b', { type: 'WorkflowStarted', workflow: 'beta', file: '/ws/beta.workflow.yaml', definitionHash: 'h2', inputs: { n: 1 }, steps: ['x'] }],
    ['a', { type: 'StepAttemptFailed', step: 'one', attempt: 1, error: { type: 'Timeout', message: 'slow' }, retryAt: 1_000 }],
    ['a', { type: 'StepScheduled', step: 'one', server: 'memory', tool: 'read_graph', arguments: {}, attempt: 2 }],
    ['b', { type: 'StepScheduled', step: 'x', server: 'everything', tool: 'echo', arguments: { message: 'hi' }, attempt: 1 }],
    ['a', { type: 'StepCompleted', step: 'one', output: { entities: [] }, durationMs: 4 }],
    ['a', { type: 'ApprovalRequested', step: 'gate', message: 'go?' }],
    ['b', { type: 'StepFailed', step: 'x', error: { type: 'ToolError', message: 'no' }, attempt: 1, durationMs: 2 }],
    ['b', { type: 'WorkflowFailed', error: { type: 'ToolError', message: 'x failed' }, durationMs: 9 }],
    ['a', { type: 'ApprovalResolved', step: 'gate', approved: true, by: 'user' }],
    ['a', { type: 'StepCompleted', step: 'gate', output: { approved: true }, durationMs: 50 }],
    ['a', { type: 'StepSkipped', step: 'two', reason: 'if: false' }],
    ['a', { type: 'WorkflowCompleted', outputs: { done: true }, durationMs: 80 }],
  ];
  return bodies.map(([runId, body], i) => ({ ...body, runId, seq: 100 + i, time: 5_000 + i * 10 }) as RunEvent);
}

const truth = (events: RunEvent[], runId: string) => runFromEvents(events.filter((e) => e.runId === runId))!;
const clone = <T>(value: T): T => structuredClone(value);

describe('LiveRuns: runs kept current from pushed events and fetched details', () => {
  it('folds every event of runs it saw start into the same details as the engine', () => {
    const events = journal();
    const live = new LiveRuns();
    for (const event of events) assert.equal(live.apply(event), 'applied');
    assert.deepEqual(live.get('a'), truth(events, 'a'));
    assert.deepEqual(live.get('b'), truth(events, 'b'));
    assert.deepEqual(
      live.list().map((r) => [r.id, r.status]),
      [
        ['b', 'failed'],
        ['a', 'completed'],
      ],
    );
  });

  it('keeps the events of a run whose details are still being fetched, and applies only the newer ones', () => {
    const events = journal();
    const live = new LiveRuns();
    // The client connects after event 6: it fetches a's details as of seq 106 while events 105..109 arrive.
    const fetched = clone(truth(events.slice(0, 7), 'a'));
    assert.equal(fetched.lastSeq, 106);
    for (const event of events.slice(5, 10)) if (event.runId === 'a') assert.equal(live.apply(event), 'unknown');
    const held = live.put(fetched);
    assert.equal(held.steps.find((s) => s.id === 'gate')?.status, 'waiting');
    assert.deepEqual(live.pendingApprovals(), [{ runId: 'a', step: 'gate' }]);
    // Events already in the fetched details are stale; later ones apply.
    assert.equal(live.apply(events[6]), 'stale');
    for (const event of events.slice(10)) assert.equal(live.apply(event), 'applied');
    assert.deepEqual(live.get('a'), truth(events, 'a'));
    assert.deepEqual(live.pendingApprovals(), []);
  });

  it('never lets older fetched details replace newer ones', () => {
    const events = journal();
    const live = new LiveRuns();
    for (const event of events) live.apply(event);
    const old = clone(truth(events.slice(0, 4), 'a'));
    const held = live.put(old);
    assert.equal(held.status, 'completed');
    assert.deepEqual(live.get('a'), truth(events, 'a'));
  });

  it('merges the host list: summaries for runs without details, details win, unlisted finished runs go', () => {
    const events = journal();
    const live = new LiveRuns();
    for (const event of events.filter((e) => e.runId === 'a')) live.apply(event);
    const b = summaryOf(truth(events, 'b'));
    const listedA = { ...summaryOf(truth(events.slice(0, 3), 'a')) };
    live.setList([b, listedA]);
    assert.equal(live.summary('a')?.status, 'completed', 'the held details are newer than the listed summary');
    assert.equal(live.summary('b')?.status, 'failed');
    assert.equal(live.get('b'), undefined);
    assert.deepEqual(live.setList([b]), []);
    assert.equal(live.summary('a'), undefined);
    assert.deepEqual(
      live.list().map((r) => r.id),
      ['b'],
    );
  });

  it('drops the details still running of a run the list says has ended (it ended unseen), and names it for a fetch', () => {
    const events = journal();
    const live = new LiveRuns();
    // Seen until a's gate waited; then the client stopped listening while both runs went on to end.
    for (const event of events.slice(0, 8)) live.apply(event);
    assert.equal(live.get('a')?.status, 'running');
    assert.equal(live.get('b')?.status, 'running');
    const ended = summaryOf(truth(events, 'a'));
    assert.deepEqual(live.setList([ended, summaryOf(truth(events, 'b'))]), ['a', 'b']);
    assert.equal(live.summary('b')?.status, 'failed');
    assert.equal(live.get('a'), undefined, 'the stale details are gone');
    assert.equal(live.summary('a')?.status, 'completed');
    assert.deepEqual(live.pendingApprovals(), [], 'no approval waits on a run that ended');
    live.put(truth(events, 'a'));
    assert.deepEqual(live.get('a'), truth(events, 'a'));
  });
});
