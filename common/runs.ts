import type { ErrorInfo, RunStatus, StepStatus } from './events';

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

/** One call of a foreach step. */
export interface StepItemDetails {
  index: number;
  status: StepStatus;
  attempts: number;
  startedAt?: number;
  endedAt?: number;
  output?: unknown;
  error?: ErrorInfo;
}

/** A step of a run, with what it produced. */
export interface StepDetails {
  id: string;
  status: StepStatus;
  server?: string;
  tool?: string;
  attempts: number;
  items?: number;
  itemsDone: number;
  startedAt?: number;
  endedAt?: number;
  output?: unknown;
  outputs?: Record<string, unknown>;
  error?: ErrorInfo;
  /** Why a skipped step was skipped. */
  reason?: string;
  itemDetails?: StepItemDetails[];
}

/** A run with its inputs, outputs and steps. */
export interface RunDetails extends RunSummary {
  inputs: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  steps: StepDetails[];
}
