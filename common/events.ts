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
  | 'Cancelled'
  | 'InternalError';

/** A foreach call is named by its step and its index in the list. */
export interface CallKey {
  step: string;
  /** The element's index, for a step with foreach. */
  index?: number;
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
      inputs: Record<string, unknown>;
      steps: string[];
    }
  | ({ type: 'StepScheduled'; server: string; tool: string; arguments: unknown; attempt: number } & CallKey)
  /**
   * A call, or a whole step, completed. A plain step's event carries its `output` (and computed `outputs`);
   * with foreach, each element's event carries `index` and `output`, and the step's own event only `outputs`:
   * its output is the list of the elements' outputs, not written twice.
   */
  | ({ type: 'StepCompleted'; output?: unknown; outputs?: Record<string, unknown>; durationMs: number } & CallKey)
  | ({ type: 'StepFailed'; error: ErrorInfo; attempt: number; durationMs: number } & CallKey)
  /** A foreach step evaluated its list: `count` calls follow. */
  | { type: 'StepFannedOut'; step: string; count: number }
  | { type: 'StepSkipped'; step: string; reason: string }
  | { type: 'WorkflowCompleted'; outputs: Record<string, unknown>; durationMs: number }
  | { type: 'WorkflowFailed'; error: ErrorInfo; durationMs: number }
  | { type: 'WorkflowCancelled'; reason: string; durationMs: number };

export type RunEventType = RunEventBody['type'];

/** An event as journaled: the body plus its run, its global sequence number and its time. */
export type RunEvent = RunEventBody & { runId: string; seq: number; time: number };

export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled';
export type StepStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped';

/** Whether an event ends its run. */
export function isTerminal(type: RunEventType): boolean {
  return type === 'WorkflowCompleted' || type === 'WorkflowFailed' || type === 'WorkflowCancelled';
}
