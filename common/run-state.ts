import type { RunEvent } from './events';
import type { RunDetails, StepDetails } from './runs';

/**
 * Folds one event into a run's details; WorkflowStarted creates them. The events are the run's truth: this
 * fold is how the CLI's live display, `runs show` and the editor's views all read them, so they agree.
 * Returns the run (the same object, updated).
 */
export function foldEvent(run: RunDetails | undefined, event: RunEvent): RunDetails | undefined {
  if (event.type === 'WorkflowStarted') {
    return {
      id: event.runId,
      workflow: event.workflow,
      file: event.file,
      status: 'running',
      definitionHash: event.definitionHash,
      startedAt: event.time,
      inputs: event.inputs,
      steps: event.steps.map((id) => ({ id, status: 'pending', attempts: 0, itemsDone: 0 })),
    };
  }
  if (!run) return run;
  if ('step' in event) {
    const step = run.steps.find((s) => s.id === event.step);
    if (step) foldStepEvent(step, event);
    return run;
  }
  run.endedAt = event.time;
  switch (event.type) {
    case 'WorkflowCompleted':
      run.status = 'completed';
      run.outputs = event.outputs;
      break;
    case 'WorkflowFailed':
      run.status = 'failed';
      run.error = event.error;
      break;
    case 'WorkflowCancelled':
      run.status = 'cancelled';
      run.error = { type: 'Cancelled', message: event.reason };
      break;
  }
  return run;
}

/** The details of a run from its whole event log, or undefined when the log does not start it. */
export function runFromEvents(events: Iterable<RunEvent>): RunDetails | undefined {
  let run: RunDetails | undefined;
  for (const event of events) run = foldEvent(run, event);
  return run;
}

function foldStepEvent(step: StepDetails, event: Extract<RunEvent, { step: string }>): void {
  const item = 'index' in event && event.index !== undefined ? itemAt(step, event.index) : undefined;
  switch (event.type) {
    case 'StepFannedOut':
      step.status = 'running';
      step.items = event.count;
      step.startedAt ??= event.time;
      step.itemDetails = Array.from({ length: event.count }, (_, index) => ({ index, status: 'pending' as const, attempts: 0 }));
      break;
    case 'StepScheduled':
      step.status = 'running';
      step.server = event.server;
      step.tool = event.tool;
      step.startedAt ??= event.time;
      step.attempts = Math.max(step.attempts, event.attempt);
      delete step.error;
      delete step.endedAt;
      if (item) {
        item.status = 'running';
        item.attempts = event.attempt;
        item.startedAt ??= event.time;
        delete item.error;
      }
      break;
    case 'StepCompleted':
      if (item) {
        item.status = 'completed';
        item.endedAt = event.time;
        item.output = event.output;
        step.itemsDone++;
      } else {
        step.status = 'completed';
        step.endedAt = event.time;
        step.output = event.output !== undefined ? event.output : (step.itemDetails ?? []).map((i) => i.output ?? null);
        if (event.outputs) step.outputs = event.outputs;
      }
      break;
    case 'StepFailed':
      if (item) {
        item.status = 'failed';
        item.endedAt = event.time;
        item.error = event.error;
      }
      step.status = 'failed';
      step.endedAt = event.time;
      step.error ??= event.error;
      break;
    case 'StepSkipped':
      step.status = 'skipped';
      step.endedAt = event.time;
      step.reason = event.reason;
      break;
  }
}

function itemAt(step: StepDetails, index: number) {
  step.itemDetails ??= [];
  return (step.itemDetails[index] ??= { index, status: 'pending', attempts: 0 });
}
