import { NEVER_RETRIED, type ErrorInfo } from '../../common/events';
import type { RetryPolicy } from '../../common/workflow/model';

/** Whether and when a failed call is tried again; when not, why. */
export type RetryDecision = { at: number } | { stop: 'no-policy' | 'not-retryable' | 'exhausted' | 'deadline' };

/**
 * When to try a failed call again, under Temporal's rules: the n-th retry waits initialInterval × coefficient^(n-1),
 * at most maximumInterval; maximumAttempts counts attempts (0: no limit); an error type listed as non-retryable,
 * or one no retry can mend, ends the step, and so does a retry that would come after the step's deadline.
 * `failedAttempts` counts the attempts that failed on their own merits (not those the engine's stopping cut short).
 */
export function nextAttempt(
  policy: RetryPolicy | undefined,
  failedAttempts: number,
  error: ErrorInfo,
  now: number,
  deadline: number | undefined,
  notBefore = 0,
): RetryDecision {
  if (error.type === 'Interrupted') return { at: now };
  if (!policy) return { stop: 'no-policy' };
  if (NEVER_RETRIED.includes(error.type) || policy.nonRetryableErrorTypes.includes(error.type)) return { stop: 'not-retryable' };
  if (policy.maximumAttempts > 0 && failedAttempts >= policy.maximumAttempts) return { stop: 'exhausted' };
  const delay = Math.min(policy.initialIntervalMs * policy.backoffCoefficient ** Math.max(0, failedAttempts - 1), policy.maximumIntervalMs);
  const at = Math.max(now + delay, notBefore);
  if (deadline !== undefined && at >= deadline) return { stop: 'deadline' };
  return { at };
}
