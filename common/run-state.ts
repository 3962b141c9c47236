import type { ErrorInfo, RunEvent, RunStatus, StepStatus } from './events';

/** A step as live views show it. */
export interface LiveStep {
  id: string;
  status: StepStatus;
  server?: string;
  tool?: string;
  attempts: number;
  items?: number;
  itemsDone: number;
  itemsRunning: number;
  startedAt?: number;
  endedAt?: number;
  error?: ErrorInfo;
  reason?: string;
}

/** A run folded from its events, for live views (the CLI's progress display, the editor's views). */
export interface LiveRun {
  runId: string;
  workflow: string;
  file: string;
  status: RunStatus;
  startedAt: number;
  endedAt?: number;
  steps: LiveStep[];
  error?: ErrorInfo;
  outputs?: Record<string, unknown>;
}

/** Folds one event into a live run; WorkflowStarted creates it. Returns the run (the same object, updated). */
export function foldEvent(run: LiveRun | undefined, event: RunEvent): LiveRun | undefined {
  if (event.type === 'WorkflowStarted') {
    return {
      runId: event.runId,
      workflow: event.workflow,
      file: event.file,
      status: 'running',
      startedAt: event.time,
      steps: event.steps.map((id) => ({ id, status: 'pending', attempts: 0, itemsDone: 0, itemsRunning: 0 })),
    };
  }
  if (!run) return run;
  const step = 'step' in event ? run.steps.find((s) => s.id === event.step) : undefined;
  switch (event.type) {
    case 'StepScheduled':
      if (!step) break;
      step.status = 'running';
      step.server = event.server;
      step.tool = event.tool;
      step.startedAt ??= event.time;
      if (event.index === undefined) step.attempts++;
      else {
        step.itemsRunning++;
        step.attempts = Math.max(step.attempts, event.attempt);
      }
      break;
    case 'StepFannedOut':
      if (!step) break;
      step.status = 'running';
      step.items = event.count;
      step.startedAt ??= event.time;
      break;
    case 'StepCompleted':
      if (!step) break;
      if (event.index !== undefined) {
        step.itemsDone++;
        step.itemsRunning = Math.max(0, step.itemsRunning - 1);
      } else {
        step.status = 'completed';
        step.endedAt = event.time;
      }
      break;
    case 'StepFailed':
      if (!step) break;
      if (event.index !== undefined) step.itemsRunning = Math.max(0, step.itemsRunning - 1);
      step.status = 'failed';
      step.error ??= event.error;
      step.endedAt = event.time;
      break;
    case 'StepSkipped':
      if (!step) break;
      step.status = 'skipped';
      step.reason = event.reason;
      step.endedAt = event.time;
      break;
    case 'WorkflowCompleted':
      run.status = 'completed';
      run.endedAt = event.time;
      run.outputs = event.outputs;
      break;
    case 'WorkflowFailed':
      run.status = 'failed';
      run.endedAt = event.time;
      run.error = event.error;
      break;
    case 'WorkflowCancelled':
      run.status = 'cancelled';
      run.endedAt = event.time;
      run.error = { type: 'Cancelled', message: event.reason };
      break;
  }
  return run;
}
