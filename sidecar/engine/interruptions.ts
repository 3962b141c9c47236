import type { CallKey, ErrorInfo, RunEventBody } from '../../common/events';

/**
 * The events of a call or wait cut short from outside (the run's cancellation, the engine stopping), the same
 * for YAML and code-first runs.
 */

/** The event of a call or wait the run's cancellation ended; `failed` is the error of an attempt it cut short, kept (server, tool, location) but typed Cancelled. */
export function stepCancelled(key: CallKey, reason: string, attempt: number, durationMs: number, failed?: ErrorInfo): RunEventBody {
  return { type: 'StepFailed', ...key, error: { ...failed, type: 'Cancelled', message: `cancelled: ${reason}` }, attempt, durationMs };
}

/** The event of a call the journal shows in flight when the engine stopped: it is sent again at once, with the same idempotency key. */
export function callInterrupted(key: CallKey, attempt: number, now: number): RunEventBody {
  return {
    type: 'StepAttemptFailed',
    ...key,
    attempt,
    error: { type: 'Interrupted', message: 'the engine stopped during the call (a crash or a restart); it is sent again with the same idempotency key.' },
    retryAt: now,
  };
}
