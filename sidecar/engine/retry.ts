import { NEVER_RETRIED, type ErrorInfo } from '../../common/events';
import type { RetryPolicy } from '../../common/workflow/model';

/**
 * When to try a failed call again, under Temporal's rules: the n-th retry waits initialInterval × coefficient^(n-1),
 * at most maximumInterval; maximumAttempts counts attempts (0: no limit); an error type listed as non-retryable,
 * or one no retry can mend, ends the step. `failedAttempts` counts the attempts that failed on their own merits.
 * Returns the time of the next attempt, or undefined when the step has failed for good.
 */
export function nextAttemptAt(
  policy: RetryPolicy | undefined,
  failedAttempts: number,
  error: ErrorInfo,
  now: number,
  deadline: number | undefined,
  notBefore = 0,
): number | undefined {
  if (error.type === 'Interrupted') return now;
  if (!policy || NEVER_RETRIED.includes(error.type) || policy.nonRetryableErrorTypes.includes(error.type)) return undefined;
  if (policy.maximumAttempts > 0 && failedAttempts >= policy.maximumAttempts) return undefined;
  const delay = Math.min(policy.initialIntervalMs * policy.backoffCoefficient ** Math.max(0, failedAttempts - 1), policy.maximumIntervalMs);
  const at = Math.max(now + delay, notBefore);
  if (deadline !== undefined && at >= deadline) return undefined;
  return at;
}
