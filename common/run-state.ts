import type { RunEvent } from './events';
import type { CallDetails, RunDetails, StepDetails, StepItemDetails } from './runs';

/**
 * Folds one event into a run's details; WorkflowStarted creates them. The events are the run's truth: this
 * fold is how the engine rebuilds a run after a restart, and how the CLI's live display, `runs show` and the
 * editor's views read runs, so they all agree. Returns the run (the same object, updated).
 */
export function foldEvent(run: RunDetails | undefined, event: RunEvent): RunDetails | undefined {
  if (event.type === 'WorkflowStarted') {
    return {
      id: event.runId,
      workflow: event.workflow,
      file: event.file,
      status: 'running',
      definitionHash: event.definitionHash,
      language: event.language ?? 'yaml',
      startedAt: event.time,
      inputs: event.inputs,
      steps: event.steps.map(newStep),
      signals: [],
      lastSeq: event.seq,
    };
  }
  if (!run) return run;
  run.lastSeq = event.seq;
  if ('step' in event) {
    foldStepEvent(run, stepOf(run, event.step), event);
    return run;
  }
  switch (event.type) {
    case 'SignalReceived':
      run.signals.push({ seq: event.seq, name: event.name, payload: event.payload, taken: false });
      break;
    case 'WorkflowCancelRequested':
      run.cancelRequested = event.reason;
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

/** The details of a run from its whole event log, or undefined when the log does not start it. */
export function runFromEvents(events: Iterable<RunEvent>): RunDetails | undefined {
  let run: RunDetails | undefined;
  for (const event of events) run = foldEvent(run, event);
  return run;
}

function newStep(id: string): StepDetails {
  return { id, status: 'pending', attempts: 0, failedAttempts: 0, itemsDone: 0 };
}

/** Each folded run's steps by id: a run of a long workflow folds an event per step, and a search per event adds up. */
const stepIndexes = new WeakMap<RunDetails, Map<string, StepDetails>>();

/** A step by id; a code-first workflow's steps appear as it calls them. */
function stepOf(run: RunDetails, id: string): StepDetails {
  let index = stepIndexes.get(run);
  if (!index) stepIndexes.set(run, (index = new Map(run.steps.map((s) => [s.id, s]))));
  let step = index.get(id);
  if (!step) {
    step = newStep(id);
    run.steps.push(step);
    index.set(id, step);
  }
  return step;
}

function foldStepEvent(run: RunDetails, step: StepDetails, event: Extract<RunEvent, { step: string }>): void {
  const item = 'index' in event && event.index !== undefined ? itemAt(step, event.index) : undefined;
  const call: CallDetails = item ?? step;
  switch (event.type) {
    case 'StepFannedOut':
      step.status = 'running';
      step.items = event.count;
      step.startedAt ??= event.time;
      step.itemDetails = Array.from({ length: event.count }, (_, index) => newItem(index));
      break;
    case 'StepScheduled':
      step.status = 'running';
      step.server = event.server;
      step.tool = event.tool;
      step.startedAt ??= event.time;
      if (item) step.attempts = Math.max(step.attempts, event.attempt);
      call.status = 'running';
      call.attempts = event.attempt;
      call.request = { server: event.server, tool: event.tool, arguments: event.arguments, attempt: event.attempt };
      call.inFlight = true;
      call.startedAt ??= event.time;
      delete call.retryAt;
      break;
    case 'StepAttemptFailed':
      call.inFlight = false;
      call.lastError = event.error;
      call.retryAt = event.retryAt;
      if (event.error.type !== 'Interrupted') call.failedAttempts++;
      break;
    case 'StepCompleted':
      call.status = 'completed';
      call.endedAt = event.time;
      call.inFlight = false;
      call.completedSeq = event.seq;
      delete call.retryAt;
      delete call.lastError;
      if (item) {
        item.output = event.output;
        step.itemsDone++;
      } else {
        step.output = event.output !== undefined ? event.output : (step.itemDetails ?? []).map((i) => i.output ?? null);
        if (event.outputs) step.outputs = event.outputs;
        delete step.waiting;
      }
      if (event.signal !== undefined) {
        const taken = run.signals.find((s) => s.seq === event.signal);
        if (taken) taken.taken = true;
      }
      break;
    case 'StepFailed':
      call.status = 'failed';
      call.endedAt = event.time;
      call.inFlight = false;
      call.error = event.error;
      delete call.retryAt;
      if (item) {
        step.status = 'failed';
        step.endedAt = event.time;
        step.error ??= event.error;
      }
      delete step.waiting;
      break;
    case 'StepSkipped':
      step.status = 'skipped';
      step.endedAt = event.time;
      step.reason = event.reason;
      break;
    case 'TimerStarted':
      step.status = 'waiting';
      step.startedAt ??= event.time;
      step.waiting = { timer: { fireAt: event.fireAt } };
      break;
    case 'ApprovalRequested':
      step.status = 'waiting';
      step.startedAt ??= event.time;
      step.waiting = { approval: { ...(event.message !== undefined && { message: event.message }), ...(event.expiresAt !== undefined && { expiresAt: event.expiresAt }) } };
      break;
    case 'SignalWaitStarted':
      step.status = 'waiting';
      step.startedAt ??= event.time;
      step.waiting = { signal: { name: event.name, ...(event.expiresAt !== undefined && { expiresAt: event.expiresAt }) } };
      break;
    case 'TimerFired':
    case 'ApprovalResolved':
      // The step's StepCompleted or StepFailed follows in the same record.
      break;
    case 'CompensationScheduled':
      run.compensating = true;
      call.compensation = { status: 'running', attempts: event.attempt };
      break;
    case 'CompensationCompleted':
      call.compensation = { ...(call.compensation ?? { attempts: 1 }), status: 'completed', output: event.output };
      break;
    case 'CompensationFailed':
      call.compensation = { ...(call.compensation ?? { attempts: 1 }), status: 'failed', error: event.error };
      break;
  }
}

function newItem(index: number): StepItemDetails {
  return { index, status: 'pending', attempts: 0, failedAttempts: 0 };
}

function itemAt(step: StepDetails, index: number): StepItemDetails {
  step.itemDetails ??= [];
  return (step.itemDetails[index] ??= newItem(index));
}
