/**
 * The events of a run, in Temporal's spirit: the ordered log is the run's truth and every view is a projection of it.
 * Shared by the sidecar (which writes them), the CLI and the editor (which render them).
 */

/** Why something failed: a stable `type` (for retry policies and filters) and a message for people. */
export interface ErrorInfo {
  type: ErrorType;
  message: string;
  step?: string;
  server?: string;
  tool?: string;
  /** `file:line:col` of the workflow node the error is about, when it is about one. */
  location?: string;
}

export type ErrorType =
  | 'ToolError'
  | 'Timeout'
  | 'ServerStartFailed'
  | 'ServerCrashed'
  | 'UnknownTool'
  | 'InvalidArguments'
  | 'ExpressionError'
  | 'ProtocolError'
  | 'CircuitOpen'
  | 'Interrupted'
  | 'Rejected'
  | 'Cancelled'
  | 'NonDeterminism'
  | 'InternalError';

/** Errors that no retry can mend: the engine never retries them, whatever the policy says. */
export const NEVER_RETRIED: readonly ErrorType[] = ['UnknownTool', 'InvalidArguments', 'ExpressionError', 'Rejected', 'Cancelled', 'NonDeterminism', 'InternalError'];

/** Failures of the server rather than of the call: what a circuit breaker counts. */
export const INFRASTRUCTURE_FAILURES: readonly ErrorType[] = ['Timeout', 'ServerCrashed', 'ServerStartFailed', 'ProtocolError'];

/** A foreach call is named by its step and its index in the list. */
export interface CallKey {
  step: string;
  /** The element's index, for a step with foreach. */
  index?: number;
}

/** What a call sent: journaled with each attempt, so the history shows it and a retry resends it unchanged. */
export interface CallRequest {
  server: string;
  tool: string;
  arguments: unknown;
  attempt: number;
}

export type RunEventBody =
  | {
      type: 'WorkflowStarted';
      workflow: string;
      file: string;
      /** sha256 of the source: the version of the definition this run is pinned to. */
      definitionHash: string;
      /** The definition's text, journaled with the first run of each version; later runs name it by hash. */
      source?: string;
      /** `yaml` for *.workflow.yaml, `ts` for code-first *.workflow.ts (default yaml). */
      language?: 'yaml' | 'ts';
      inputs: Record<string, unknown>;
      /** The steps known up front (all of them for YAML; code-first workflows add steps as they call). */
      steps: string[];
    }
  | ({ type: 'StepScheduled' } & CallKey & CallRequest)
  /**
   * A call, or a whole step, completed. A plain step's event carries its `output` (and computed `outputs`);
   * with foreach, each element's event carries `index` and `output`, and the step's own event only `outputs`:
   * its output is the list of the elements' outputs, not written twice.
   */
  | ({
      type: 'StepCompleted';
      output?: unknown;
      outputs?: Record<string, unknown>;
      durationMs: number;
      /** For a signal step: the seq of the SignalReceived it took. */
      signal?: number;
    } & CallKey)
  /** An attempt failed and another follows at `retryAt` (epoch milliseconds). */
  | ({ type: 'StepAttemptFailed'; attempt: number; error: ErrorInfo; retryAt: number } & CallKey)
  /** A call, or a whole step, failed for good. */
  | ({ type: 'StepFailed'; error: ErrorInfo; attempt: number; durationMs: number } & CallKey)
  /** A foreach step evaluated its list: `count` calls follow. */
  | { type: 'StepFannedOut'; step: string; count: number }
  | { type: 'StepSkipped'; step: string; reason: string }
  | { type: 'TimerStarted'; step: string; fireAt: number }
  | { type: 'TimerFired'; step: string }
  | { type: 'ApprovalRequested'; step: string; message?: string; expiresAt?: number }
  | { type: 'ApprovalResolved'; step: string; approved: boolean; by: 'user' | 'timeout'; comment?: string }
  | { type: 'SignalWaitStarted'; step: string; name: string; expiresAt?: number }
  /** An external signal reached the run; it waits here until a step waiting for its name takes it. */
  | { type: 'SignalReceived'; name: string; payload: unknown }
  /** Someone asked for the run to stop: calls in flight are cancelled, completed steps compensated, then WorkflowCancelled. */
  | { type: 'WorkflowCancelRequested'; reason: string }
  | ({ type: 'CompensationScheduled' } & CallKey & CallRequest)
  | ({ type: 'CompensationCompleted'; output: unknown } & CallKey)
  | ({ type: 'CompensationFailed'; error: ErrorInfo } & CallKey)
  | { type: 'WorkflowCompleted'; outputs: Record<string, unknown>; durationMs: number }
  | { type: 'WorkflowFailed'; error: ErrorInfo; durationMs: number }
  | { type: 'WorkflowCancelled'; reason: string; durationMs: number };

export type RunEventType = RunEventBody['type'];

/** An event as journaled: the body plus its run, its global sequence number and its time. */
export type RunEvent = RunEventBody & { runId: string; seq: number; time: number };

export type BreakerState = 'closed' | 'open' | 'half-open';

/** An event about a server rather than a run: its circuit breaker changed state. */
export interface ServerEventBody {
  type: 'BreakerChanged';
  server: string;
  state: BreakerState;
  /** Why, in words: the failure rate that opened it, the trial that closed it. */
  reason: string;
}

/** A server event as journaled. */
export type ServerEvent = ServerEventBody & { seq: number; time: number };

export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled';
export type StepStatus = 'pending' | 'running' | 'waiting' | 'completed' | 'failed' | 'skipped';

/** Whether an event ends its run. */
export function isTerminal(type: RunEventType): boolean {
  return type === 'WorkflowCompleted' || type === 'WorkflowFailed' || type === 'WorkflowCancelled';
}
