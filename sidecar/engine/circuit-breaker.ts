import type { BreakerState } from '../../common/events';
import type { CircuitBreakerPolicy } from '../../common/workflow/model';

/** A change of state, to journal and show. */
export interface BreakerTransition {
  state: BreakerState;
  reason: string;
}

const BUCKETS = 10;

/**
 * A server's circuit breaker. Closed, it counts outcomes over a rolling window (in buckets, so a busy server costs
 * no more memory than an idle one) and opens when enough calls failed; open, it fails calls at once until the
 * reset timeout passes; half-open, it lets a few trial calls through and closes when they all succeed, or opens
 * again at the first failure.
 */
export class CircuitBreaker {
  private stateValue: BreakerState = 'closed';
  private openedAt = 0;
  private trialsStarted = 0;
  private trialsSucceeded = 0;
  private readonly buckets = Array.from({ length: BUCKETS }, () => ({ start: 0, calls: 0, failures: 0 }));

  constructor(
    public policy: CircuitBreakerPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    return this.stateValue;
  }

  /** Restores a journaled state after a restart (outcome counts start afresh). */
  restore(state: BreakerState, since: number): void {
    this.stateValue = state === 'half-open' ? 'open' : state;
    this.openedAt = since;
  }

  /**
   * Whether a call may go ahead now; may move open → half-open (returned as a transition).
   * A call let through must be reported with record().
   */
  admit(): { allowed: boolean; transition?: BreakerTransition; retryAt?: number } {
    if (this.stateValue === 'open') {
      const reopensAt = this.openedAt + this.policy.resetTimeoutMs;
      if (this.now() < reopensAt) return { allowed: false, retryAt: reopensAt };
      this.stateValue = 'half-open';
      this.trialsStarted = 1;
      this.trialsSucceeded = 0;
      return { allowed: true, transition: { state: 'half-open', reason: `reset timeout of ${this.policy.resetTimeoutMs}ms passed: trying a call` } };
    }
    if (this.stateValue === 'half-open') {
      if (this.trialsStarted >= this.policy.halfOpenCalls) return { allowed: false, retryAt: this.now() + Math.min(1000, this.policy.resetTimeoutMs) };
      this.trialsStarted++;
    }
    return { allowed: true };
  }

  /** Reports a call's outcome (`failed` only for infrastructure failures); returns a transition when the state changes. */
  record(failed: boolean): BreakerTransition | undefined {
    if (this.stateValue === 'half-open') {
      if (failed) return this.open('a trial call failed');
      this.trialsSucceeded++;
      if (this.trialsSucceeded >= this.policy.halfOpenCalls) {
        this.stateValue = 'closed';
        for (const b of this.buckets) b.calls = b.failures = 0;
        return { state: 'closed', reason: `${this.trialsSucceeded} trial call(s) succeeded` };
      }
      return undefined;
    }
    if (this.stateValue === 'open') return undefined;
    const bucket = this.bucket();
    bucket.calls++;
    if (failed) bucket.failures++;
    if (!failed) return undefined;
    const { calls, failures } = this.totals();
    if (calls >= this.policy.minimumCalls && failures / calls >= this.policy.failureRateThreshold) {
      return this.open(`${failures} of the last ${calls} calls failed (threshold ${Math.round(this.policy.failureRateThreshold * 100)}% over ${this.policy.windowMs}ms)`);
    }
    return undefined;
  }

  private open(reason: string): BreakerTransition {
    this.stateValue = 'open';
    this.openedAt = this.now();
    return { state: 'open', reason };
  }

  private bucket(): { start: number; calls: number; failures: number } {
    const width = this.policy.windowMs / BUCKETS;
    const start = Math.floor(this.now() / width) * width;
    const bucket = this.buckets[Math.floor(start / width) % BUCKETS];
    if (bucket.start !== start) {
      bucket.start = start;
      bucket.calls = bucket.failures = 0;
    }
    return bucket;
  }

  private totals(): { calls: number; failures: number } {
    const oldest = this.now() - this.policy.windowMs;
    let calls = 0;
    let failures = 0;
    for (const b of this.buckets) {
      if (b.start > oldest) {
        calls += b.calls;
        failures += b.failures;
      }
    }
    return { calls, failures };
  }
}
