import type { CallRequest, ErrorInfo, RunStatus, StepStatus } from './events';

/** A run as lists show it. */
export interface RunSummary {
  id: string;
  workflow: string;
  file: string;
  status: RunStatus;
  definitionHash: string;
  startedAt: number;
  endedAt?: number;
  error?: ErrorInfo;
}

/** The compensation of a completed call: run when the run fails or is cancelled after it. */
export interface CompensationDetails {
  status: 'running' | 'completed' | 'failed';
  attempts: number;
  output?: unknown;
  error?: ErrorInfo;
}

/** What a call (a plain step, or one element of a foreach step) has done so far. */
export interface CallDetails {
  status: StepStatus;
  /** The last attempt's number. */
  attempts: number;
  /** Failed attempts that count against maximumAttempts (an attempt cut short by the engine stopping does not). */
  failedAttempts: number;
  /** What the last attempt sent. */
  request?: CallRequest;
  /** An attempt was sent and has no outcome yet. */
  inFlight?: boolean;
  /** When the next attempt is due, while waiting to retry. */
  retryAt?: number;
  /** Why the last attempt failed, while retrying. */
  lastError?: ErrorInfo;
  startedAt?: number;
  endedAt?: number;
  output?: unknown;
  error?: ErrorInfo;
  /** The seq of its completion: compensations run in reverse order of it. */
  completedSeq?: number;
  compensation?: CompensationDetails;
}

/** One call of a foreach step. */
export interface StepItemDetails extends CallDetails {
  index: number;
}

/** What a waiting step waits for. */
export interface WaitingDetails {
  timer?: { fireAt: number };
  approval?: { message?: string; expiresAt?: number };
  signal?: { name: string; expiresAt?: number };
}

/** A step of a run, with what it produced. */
export interface StepDetails extends CallDetails {
  id: string;
  server?: string;
  tool?: string;
  items?: number;
  itemsDone: number;
  outputs?: Record<string, unknown>;
  /** Why a skipped step was skipped. */
  reason?: string;
  itemDetails?: StepItemDetails[];
  waiting?: WaitingDetails;
}

/** A signal the run received, and whether a step has taken it. */
export interface SignalDetails {
  seq: number;
  name: string;
  payload: unknown;
  taken: boolean;
}

/** A run with its inputs, outputs and steps. */
export interface RunDetails extends RunSummary {
  language: 'yaml' | 'ts';
  inputs: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  steps: StepDetails[];
  signals: SignalDetails[];
  /** Why cancellation was asked for, once it was. */
  cancelRequested?: string;
  /** Compensations have begun: the run failed or was cancelled after steps with `compensate:` completed. */
  compensating?: boolean;
  /** The seq of the last event folded in: a client that holds these details applies only later events. */
  lastSeq: number;
}
