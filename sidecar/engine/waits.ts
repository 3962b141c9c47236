import type { RunEventBody } from '../../common/events';
import type { SignalDetails } from '../../common/runs';

/**
 * The events that end durable waits (timers, approvals, signals), the same for YAML and code-first runs: both
 * executions build them here, with their own messages, so that their journals mean the same.
 */

/** How an approval was decided. */
export interface DecidedApproval {
  step: string;
  approved: boolean;
  by: 'user' | 'timeout';
  comment?: string;
}

/** The events of a timer that came due: it fired, and its step completed with the time it fired. */
export function timerFired(step: string, firedAt: number, durationMs: number): RunEventBody[] {
  return [
    { type: 'TimerFired', step },
    { type: 'StepCompleted', step, output: { firedAt }, durationMs },
  ];
}

/** The events of a decided approval: the decision, then its step completed with it, or failed as Rejected with `rejection` when given. */
export function approvalResolved(decision: DecidedApproval, durationMs: number, rejection?: string): RunEventBody[] {
  const { step, approved, by, comment } = decision;
  const resolved: RunEventBody = { type: 'ApprovalResolved', step, approved, by, ...(comment !== undefined && { comment }) };
  if (rejection !== undefined) return [resolved, { type: 'StepFailed', step, error: { type: 'Rejected', message: rejection }, attempt: 0, durationMs }];
  return [resolved, { type: 'StepCompleted', step, output: { approved, by, comment: comment ?? null }, durationMs }];
}

/** The event of a step taking a signal: it completes with the payload, naming the SignalReceived it took. */
export function signalTaken(step: string, signal: SignalDetails, durationMs: number): RunEventBody {
  return { type: 'StepCompleted', step, output: signal.payload, signal: signal.seq, durationMs };
}

/** The event of a wait for a signal that reached its timeout: the step fails as Timeout. */
export function signalTimedOut(step: string, message: string, durationMs: number, location?: string): RunEventBody {
  return { type: 'StepFailed', step, error: { type: 'Timeout', message, step, ...(location && { location }) }, attempt: 0, durationMs };
}

/**
 * The signals a process is handing to steps. A signal's taking counts once its StepCompleted is durable; until
 * then the journal still shows it free, and the claim keeps a second step from taking it too.
 */
export class SignalClaims {
  private readonly claimed = new Set<number>();

  /** Claims the first signal named `name` that is neither taken nor claimed; undefined when none is there. */
  claim(signals: readonly SignalDetails[], name: string): SignalDetails | undefined {
    const signal = signals.find((s) => s.name === name && !s.taken && !this.claimed.has(s.seq));
    if (signal) this.claimed.add(signal.seq);
    return signal;
  }

  /** Journals a claimed signal's taking with `journal`, then lets go of the claim (taken by then, or free again if journaling failed). */
  async hand(signal: SignalDetails, journal: () => Promise<void>): Promise<void> {
    try {
      await journal();
    } finally {
      this.claimed.delete(signal.seq);
    }
  }
}
