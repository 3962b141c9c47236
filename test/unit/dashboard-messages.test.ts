import assert from 'node:assert/strict';
import type { RunEvent } from '../../common/events';
import { leanEvent, leanRun, parseDashboardRequest } from '../../common/dashboard';
import { runFromEvents } from '../../common/run-state';
import type { RunDetails } from '../../common/runs';

const big = 'x'.repeat(1_000_000);

/** A run whose data is large: a megabyte of arguments, output and payload, a foreach, a compensation, a signal. */
function journal(): RunEvent[] {
  const bodies = [
    { type: 'WorkflowStarted', workflow: 'w', file: '/ws/w.workflow.yaml', definitionHash: 'h', source: big, inputs: { blob: big }, steps: ['a', 'each', 'sig'] },
    { type: 'StepScheduled', step: 'a', server: 's', tool: 't', arguments: { blob: big }, attempt: 1 },
    { type: 'StepAttemptFailed', step: 'a', attempt: 1, error: { type: 'Timeout', message: 'slow' }, retryAt: 9 },
    { type: 'StepScheduled', step: 'a', server: 's', tool: 't', arguments: { blob: big }, attempt: 2 },
    { type: 'StepCompleted', step: 'a', output: { blob: big }, outputs: { blob: big }, durationMs: 3 },
    { type: 'StepFannedOut', step: 'each', count: 2 },
    { type: 'StepScheduled', step: 'each', index: 0, server: 's', tool: 't', arguments: { blob: big }, attempt: 1 },
    { type: 'StepCompleted', step: 'each', index: 0, output: big, durationMs: 1 },
    { type: 'StepScheduled', step: 'each', index: 1, server: 's', tool: 't', arguments: { blob: big }, attempt: 1 },
    { type: 'StepCompleted', step: 'each', index: 1, output: big, durationMs: 1 },
    { type: 'StepCompleted', step: 'each', outputs: { all: big }, durationMs: 2 },
    { type: 'SignalWaitStarted', step: 'sig', name: 'go' },
    { type: 'SignalReceived', name: 'go', payload: { blob: big } },
    { type: 'StepFailed', step: 'sig', error: { type: 'ToolError', message: 'no' }, attempt: 1, durationMs: 1 },
    { type: 'CompensationScheduled', step: 'a', server: 's', tool: 'undo', arguments: { blob: big }, attempt: 1 },
    { type: 'CompensationCompleted', step: 'a', output: { blob: big } },
    { type: 'WorkflowFailed', error: { type: 'ToolError', message: 'sig failed' }, durationMs: 20 },
  ];
  return bodies.map((body, i) => ({ ...body, runId: 'r', seq: i + 1, time: 1000 + i }) as RunEvent);
}

/** What the dashboard shows of a run: statuses, attempts, times, errors, progress. */
function shown(run: RunDetails): unknown {
  return {
    status: run.status,
    endedAt: run.endedAt,
    error: run.error,
    lastSeq: run.lastSeq,
    steps: run.steps.map((s) => ({ id: s.id, status: s.status, attempts: s.attempts, startedAt: s.startedAt, endedAt: s.endedAt, error: s.error, items: s.items, itemsDone: s.itemsDone, server: s.server, tool: s.tool, waiting: s.waiting, compensation: s.compensation?.status })),
  };
}

describe('dashboard messages', () => {
  it('sends events and runs without their data: the page folds them into the same statuses and times', () => {
    const events = journal();
    const full = runFromEvents(events)!;
    const leanEvents = events.map(leanEvent);
    assert.ok(JSON.stringify(leanEvents).length < 10_000, 'no megabyte travels to the page');
    assert.deepEqual(shown(runFromEvents(leanEvents)!), shown(full));
    const lean = leanRun(full);
    assert.ok(JSON.stringify(lean).length < 10_000);
    assert.deepEqual(shown(lean), shown(full));
    assert.ok(JSON.stringify(full).length > 5_000_000, 'the full details do hold the data (leanRun does not change them)');
  });

  it('accepts only the requests the page may send, with ids', () => {
    assert.deepEqual(parseDashboardRequest({ type: 'approve', runId: 'r1', step: 'gate' }), { type: 'approve', runId: 'r1', step: 'gate' });
    assert.deepEqual(parseDashboardRequest({ type: 'cancel', runId: 'r1', extra: 1 }), { type: 'cancel', runId: 'r1' });
    assert.equal(parseDashboardRequest({ type: 'approve', runId: 'r1' }), undefined);
    assert.equal(parseDashboardRequest({ type: 'cancel', runId: '' }), undefined);
    assert.equal(parseDashboardRequest({ type: 'runCommand', command: 'workbench.action.terminal.new' }), undefined);
    assert.equal(parseDashboardRequest('ready'), undefined);
  });
});
