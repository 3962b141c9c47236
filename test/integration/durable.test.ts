import assert from 'node:assert/strict';
import type { RunEvent } from '../../common/events';
import { IDEMPOTENCY_KEY_META } from '../../sidecar/engine/calls';
import { hostPerTest } from '../support/host';

/** Policies, compensation, approvals, timers and signals, in a real host against real MCP servers. */
describe('durable execution features', function () {
  this.timeout(60_000);
  const t = hostPerTest();

  async function run(name: string, body: string, inputs: Record<string, string> = {}): Promise<{ runId: string; events: RunEvent[]; status: string }> {
    const { runId } = await t.host.start({ file: t.ws.workflow(name, body), inputs: { text: inputs } });
    const outcome = await t.host.wait(runId, false);
    return { runId, events: t.host.history(runId), status: outcome.status };
  }

  const types = (events: RunEvent[], step?: string): string[] => events.filter((e) => !step || ('step' in e && e.step === step)).map((e) => e.type);

  describe('retries', () => {
    it('retries a failing call with Temporal backoff until it succeeds, with one idempotency key', async () => {
      const { runId, events, status } = await run(
        'retry',
        `steps:
  - id: flaky
    server: rec
    tool: record
    with: { value: flaky, failTimes: 2 }
    retry: { maximumAttempts: 5, initialInterval: 100ms, backoffCoefficient: 2 }
`,
      );
      assert.equal(status, 'completed');
      assert.deepEqual(types(events, 'flaky'), ['StepScheduled', 'StepAttemptFailed', 'StepScheduled', 'StepAttemptFailed', 'StepScheduled', 'StepCompleted']);
      const calls = t.ws.calls();
      assert.equal(calls.length, 3);
      assert.deepEqual(new Set(calls.map((c) => c.meta?.[IDEMPOTENCY_KEY_META])), new Set([`${runId}/flaky`]));
      // 100ms before the second attempt, 200ms before the third.
      assert.ok(calls[1].time - calls[0].time >= 95, `first backoff ${calls[1].time - calls[0].time}ms`);
      assert.ok(calls[2].time - calls[1].time >= 195, `second backoff ${calls[2].time - calls[1].time}ms`);
      const failed = events.filter((e) => e.type === 'StepAttemptFailed') as Array<Extract<RunEvent, { type: 'StepAttemptFailed' }>>;
      assert.deepEqual(failed.map((e) => [e.attempt, e.error.type]), [
        [1, 'ToolError'],
        [2, 'ToolError'],
      ]);
      const details = t.host.get(runId).steps[0];
      assert.equal(details.attempts, 3);
      assert.equal(details.failedAttempts, 2);
    });

    it('gives up after maximumAttempts, and at once on a non-retryable error type', async () => {
      const exhausted = await run(
        'exhausted',
        `steps:
  - id: flaky
    server: rec
    tool: record
    with: { value: never, failTimes: 10 }
    retry: { maximumAttempts: 3, initialInterval: 10ms }
`,
      );
      assert.equal(exhausted.status, 'failed');
      assert.deepEqual(types(exhausted.events, 'flaky'), ['StepScheduled', 'StepAttemptFailed', 'StepScheduled', 'StepAttemptFailed', 'StepScheduled', 'StepFailed']);
      const final = exhausted.events.find((e) => e.type === 'StepFailed') as Extract<RunEvent, { type: 'StepFailed' }>;
      assert.equal(final.attempt, 3);
      assert.match(final.error.message, /flaky failure 3 of 10/);

      const nonRetryable = await run(
        'nonretryable',
        `steps:
  - id: flaky
    server: rec
    tool: record
    with: { value: once, failTimes: 10 }
    retry: { maximumAttempts: 5, initialInterval: 10ms, nonRetryableErrorTypes: [ToolError] }
`,
      );
      assert.equal(nonRetryable.status, 'failed');
      assert.deepEqual(types(nonRetryable.events, 'flaky'), ['StepScheduled', 'StepFailed']);
    });

    it('never retries what no retry can mend, and tries once without a policy', async () => {
      const badArgs = await run(
        'badargs',
        `steps:
  - id: sum
    server: everything
    tool: get-sum
    with: { a: "\${{ 'x' }}", b: 1 }
    retry: { maximumAttempts: 5, initialInterval: 10ms }
`,
      );
      assert.equal(badArgs.status, 'failed');
      assert.deepEqual(types(badArgs.events, 'sum'), ['StepScheduled', 'StepFailed']);
      const once = await run('once', `steps:\n  - id: flaky\n    server: rec\n    tool: record\n    with: { value: x, failTimes: 1 }\n`);
      assert.equal(once.status, 'failed');
      assert.deepEqual(types(once.events, 'flaky'), ['StepScheduled', 'StepFailed']);
    });

    it('times out each attempt, and the whole step at stepTimeout', async () => {
      const started = Date.now();
      const { events, status } = await run(
        'timeouts',
        `steps:
  - id: slow
    server: rec
    tool: record
    with: { value: slow, delayMs: 2000 }
    timeout: 200ms
    stepTimeout: 700ms
    retry: { maximumAttempts: 0, initialInterval: 50ms }
`,
      );
      assert.equal(status, 'failed');
      assert.ok(Date.now() - started < 1800, 'the step stopped at its stepTimeout');
      const attempts = events.filter((e) => e.type === 'StepAttemptFailed') as Array<Extract<RunEvent, { type: 'StepAttemptFailed' }>>;
      assert.ok(attempts.length >= 1 && attempts.every((a) => a.error.type === 'Timeout'));
      const final = events.find((e) => e.type === 'StepFailed') as Extract<RunEvent, { type: 'StepFailed' }>;
      assert.equal(final.error.type, 'Timeout');
      assert.match(final.error.message, /did not finish within its stepTimeout of 700ms/);
    });
  });

  describe('circuit breakers', () => {
    it('opens after enough infrastructure failures, fails fast, then closes after a good trial call', async () => {
      const body = `circuitBreakers:
  rec: { minimumCalls: 2, failureRateThreshold: 100%, resetTimeout: 300ms }
steps:
  - id: slow
    server: rec
    tool: record
    foreach: [1, 2, 3, 4]
    concurrency: 1
    with: { value: "\${{ format('slow {0}', item) }}", delayMs: 1000 }
    timeout: 100ms
    retry: { maximumAttempts: 4, initialInterval: 10ms }
`;
      const first = await run('breaker', body);
      assert.equal(first.status, 'failed');
      const errors = (first.events.filter((e) => e.type === 'StepAttemptFailed' || e.type === 'StepFailed') as Array<{ error: { type: string } }>).map((e) => e.error.type);
      assert.ok(errors.includes('Timeout'));
      assert.ok(errors.includes('CircuitOpen'), `the breaker opened: ${errors.join(', ')}`);
      assert.equal(t.host.store.breaker('rec')?.state, 'open');
      assert.match(t.host.store.breaker('rec')!.reason, /2 of the last 2 calls failed|a trial call failed/);

      await new Promise((r) => setTimeout(r, 350));
      const good = await run('good', `steps:\n  - id: ok\n    server: rec\n    tool: record\n    with: { value: fine }\n`);
      assert.equal(good.status, 'completed');
      assert.equal(t.host.store.breaker('rec')?.state, 'closed');
      assert.match(t.host.store.breaker('rec')!.reason, /trial call\(s\) succeeded/);
    });
  });

  describe('compensation', () => {
    const saga = (failing: string) => `steps:
  - id: reserve
    server: rec
    tool: record
    with: { value: reserve }
    compensate:
      tool: record
      with: { value: "\${{ format('undo {0}', output.recorded) }}" }
  - id: charge
    server: rec
    tool: record
    needs: reserve
    foreach: [a, b]
    concurrency: 1
    with: { value: "\${{ format('charge {0}', item) }}" }
    compensate:
      tool: record
      with: { value: "\${{ format('refund {0} ({1})', item, output.recorded) }}" }
  - id: ship
    server: rec
    tool: record
    needs: charge
    with: { value: ship, failTimes: ${failing} }
`;

    it('undoes completed steps in reverse order of completion when the run fails', async () => {
      const { events, status } = await run('saga', saga('5'));
      assert.equal(status, 'failed');
      assert.deepEqual(
        t.ws.calls().map((c) => c.value),
        ['reserve', 'charge a', 'charge b', 'ship', 'refund b (charge b)', 'refund a (charge a)', 'undo reserve'],
      );
      const compensations = events.filter((e) => e.type.startsWith('Compensation')).map((e) => `${e.type}:${'step' in e ? e.step : ''}${'index' in e && e.index !== undefined ? `[${e.index}]` : ''}`);
      assert.deepEqual(compensations, [
        'CompensationScheduled:charge[1]',
        'CompensationCompleted:charge[1]',
        'CompensationScheduled:charge[0]',
        'CompensationCompleted:charge[0]',
        'CompensationScheduled:reserve',
        'CompensationCompleted:reserve',
      ]);
      assert.equal(events.at(-1)!.type, 'WorkflowFailed');
      const keys = t.ws.calls().slice(4).map((c) => c.meta?.[IDEMPOTENCY_KEY_META]);
      assert.ok(keys.every((k) => typeof k === 'string' && /\/compensate\/(charge\/[01]|reserve)$/.test(k)));
    });

    it('does not compensate a run that completes', async () => {
      const { status } = await run('saga-ok', saga('0'));
      assert.equal(status, 'completed');
      assert.deepEqual(t.ws.calls().map((c) => c.value), ['reserve', 'charge a', 'charge b', 'ship']);
    });
  });

  describe('approvals, timers and signals', () => {
    it('waits for an approval, then continues; a rejection fails the run and compensates', async () => {
      const body = `steps:
  - id: prepare
    server: rec
    tool: record
    with: { value: prepare }
    compensate: { tool: record, with: { value: unprepare } }
  - id: review
    needs: prepare
    approval:
      message: "Deploy \${{ steps.prepare.output.recorded }}?"
  - id: deploy
    server: rec
    tool: record
    needs: review
    with: { value: "\${{ format('deploy, approved by {0}', steps.review.output.by) }}" }
`;
      const { runId } = await t.host.start({ file: t.ws.workflow('approve', body) });
      const waiting = await t.host.wait(runId, true);
      assert.equal(waiting.waiting, true);
      const review = t.host.get(runId).steps.find((s) => s.id === 'review')!;
      assert.equal(review.status, 'waiting');
      assert.deepEqual(review.waiting, { approval: { message: 'Deploy prepare?' } });
      await assert.rejects(t.host.decide(runId, 'deploy', true), /not an approval step/);
      await t.host.decide(runId, 'review', true, 'looks good');
      const done = await t.host.wait(runId, false);
      assert.equal(done.status, 'completed');
      assert.deepEqual(t.ws.calls().map((c) => c.value), ['prepare', 'deploy, approved by user']);
      assert.deepEqual(t.host.get(runId).steps[1].output, { approved: true, by: 'user', comment: 'looks good' });
      await assert.rejects(t.host.decide(runId, 'review', true), /has ended \(completed\)/);

      const second = await t.host.start({ file: t.ws.workflow('approve', body) });
      await t.host.wait(second.runId, true);
      await t.host.decide(second.runId, 'review', false, 'not today');
      const rejected = await t.host.wait(second.runId, false);
      assert.equal(rejected.status, 'failed');
      assert.equal(rejected.error?.type, 'Rejected');
      assert.match(rejected.error!.message, /rejected: not today/);
      assert.deepEqual(t.ws.calls().map((c) => c.value).slice(2), ['prepare', 'unprepare']);
    });

    it('decides an approval when its timeout passes', async () => {
      const { events, status, runId } = await run('timeout', `steps:\n  - id: review\n    approval: { timeout: 300ms, onTimeout: approve }\n`);
      assert.equal(status, 'completed');
      assert.deepEqual(types(events, 'review'), ['ApprovalRequested', 'ApprovalResolved', 'StepCompleted']);
      assert.deepEqual(t.host.get(runId).steps[0].output, { approved: true, by: 'timeout', comment: null });
    });

    it('waits for a duration and until a time', async () => {
      const started = Date.now();
      const { events, status } = await run(
        'timer',
        `inputs:
  at: { type: string }
steps:
  - id: pause
    wait: 400ms
  - id: until
    wait: { until: "\${{ inputs.at }}" }
`,
        { at: new Date(Date.now() + 600).toISOString() },
      );
      assert.equal(status, 'completed');
      assert.ok(Date.now() - started >= 590, `waited ${Date.now() - started}ms`);
      const fired = events.filter((e) => e.type === 'TimerStarted') as Array<Extract<RunEvent, { type: 'TimerStarted' }>>;
      const completions = events.filter((e) => e.type === 'StepCompleted');
      for (const timer of fired) {
        const done = completions.find((c) => 'step' in c && c.step === timer.step)!;
        assert.ok(done.time >= timer.fireAt, `${timer.step} completed at ${done.time}, due at ${timer.fireAt}`);
      }
    });

    it('delivers a signal with its payload, whether it arrives before or after the step waits', async () => {
      const body = `steps:
  - id: gate
    wait: 300ms
  - id: paid
    needs: gate
    signal: { name: payment }
  - id: shipped
    needs: paid
    signal: { name: shipment, timeout: 20s }
  - id: record
    server: rec
    tool: record
    needs: shipped
    with: { value: "\${{ format('{0} / {1}', steps.paid.output.amount, steps.shipped.output) }}" }
`;
      const { runId } = await t.host.start({ file: t.ws.workflow('signals', body) });
      await t.host.signal(runId, 'payment', { amount: 42 }); // before `paid` waits: kept
      while (t.host.get(runId).steps.find((s) => s.id === 'shipped')!.status !== 'waiting') await t.host.wait(runId, true).then(() => new Promise((r) => setTimeout(r, 20)));
      assert.equal(t.host.get(runId).steps.find((s) => s.id === 'paid')!.status, 'completed');
      await t.host.signal(runId, 'shipment', 'parcel 7');
      const done = await t.host.wait(runId, false);
      assert.equal(done.status, 'completed');
      assert.deepEqual(t.ws.calls().map((c) => c.value), ['42 / parcel 7']);
      const run = t.host.get(runId);
      assert.deepEqual(run.signals.map((s) => [s.name, s.taken]), [
        ['payment', true],
        ['shipment', true],
      ]);
    });

    it('fails a signal step that waits past its timeout', async () => {
      const { status, events } = await run('nosignal', `steps:\n  - id: wait\n    signal: { name: never, timeout: 200ms }\n`);
      assert.equal(status, 'failed');
      const failed = events.find((e) => e.type === 'StepFailed') as Extract<RunEvent, { type: 'StepFailed' }>;
      assert.equal(failed.error.type, 'Timeout');
      assert.match(failed.error.message, /waited for signal 'never'/);
    });
  });

  describe('cancellation', () => {
    it('cancels calls in flight and waits, compensates, and ends cancelled', async () => {
      const { runId } = await t.host.start({
        file: t.ws.workflow(
          'cancel',
          `steps:
  - id: book
    server: rec
    tool: record
    with: { value: book }
    compensate: { tool: record, with: { value: unbook } }
  - id: slow
    server: rec
    tool: record
    needs: book
    with: { value: slow, delayMs: 5000 }
  - id: review
    needs: book
    approval: {}
`,
        ),
      });
      while (!t.host.get(runId).steps.some((s) => s.id === 'slow' && s.status === 'running')) await new Promise((r) => setTimeout(r, 20));
      await t.host.cancel(runId, 'changed my mind');
      const done = await t.host.wait(runId, false);
      assert.equal(done.status, 'cancelled');
      const run = t.host.get(runId);
      assert.deepEqual(run.steps.map((s) => [s.id, s.status, s.error?.type]), [
        ['book', 'completed', undefined],
        ['slow', 'failed', 'Cancelled'],
        ['review', 'failed', 'Cancelled'],
      ]);
      assert.deepEqual(t.ws.calls().map((c) => c.value).filter((v) => v !== 'slow'), ['book', 'unbook']);
      const history = t.host.history(runId).map((e) => e.type);
      assert.ok(history.indexOf('WorkflowCancelRequested') < history.indexOf('CompensationScheduled'));
      assert.equal(history.at(-1), 'WorkflowCancelled');
    });
  });
});
