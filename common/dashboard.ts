import type { RunEvent } from './events';
import type { CallDetails, RunDetails, RunSummary } from './runs';

/** A frame at 60 Hz: the dashboard neither sends nor renders changes faster. */
export const FRAME_MS = 16;

/** What the extension tells the dashboard webview. */
export type DashboardMessage =
  /** Everything, when the page (re)loads or the sidecar (re)connects. */
  | {
      type: 'snapshot';
      runs: RunSummary[];
      details: RunDetails[];
      trusted: boolean;
      sidecar: string;
      /** The seq of the last event folded into this snapshot (0: none yet): see StreamGate. */
      lastEvent: number;
      /** Where to read the events straight from the sidecar (http://127.0.0.1:…), when it serves them. */
      stream?: string;
    }
  /** A fresh run list after connecting, with the details of the runs in flight. */
  | { type: 'list'; runs: RunSummary[]; details: RunDetails[] }
  /** Run events as the sidecar pushed them, in order (those that came together travel together). */
  | { type: 'events'; events: RunEvent[] }
  /** A run's details, fetched. */
  | { type: 'run'; run: RunDetails }
  /** The sidecar's state (starting, ready, restarting, stopped, failed). */
  | { type: 'sidecar'; state: string };

/** What the dashboard asks of the extension. */
export type DashboardRequest =
  | { type: 'ready' }
  | { type: 'details'; runId: string }
  | { type: 'cancel' | 'history' | 'rerun' | 'open'; runId: string }
  | { type: 'approve' | 'reject'; runId: string; step: string }
  | { type: 'runWorkflow' };

/** Checks a message from the webview: it is a page that renders untrusted text, so its messages are checked too. */
export function parseDashboardRequest(value: unknown): DashboardRequest | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  const id = (key: string) => typeof m[key] === 'string' && (m[key] as string).length > 0 && (m[key] as string).length <= 200;
  switch (m.type) {
    case 'ready':
    case 'runWorkflow':
      return { type: m.type };
    case 'details':
    case 'cancel':
    case 'history':
    case 'rerun':
    case 'open':
      return id('runId') ? { type: m.type, runId: m.runId as string } : undefined;
    case 'approve':
    case 'reject':
      return id('runId') && id('step') ? { type: m.type, runId: m.runId as string, step: m.step as string } : undefined;
    default:
      return undefined;
  }
}

/**
 * An event as the dashboard needs it: it shows statuses and times, not data, so tool arguments, outputs, inputs and
 * payloads (which may be megabytes) stay out of the message to the page.
 */
export function leanEvent(event: RunEvent): RunEvent {
  switch (event.type) {
    case 'WorkflowStarted': {
      const { source: _source, ...rest } = event;
      return { ...rest, inputs: {} };
    }
    case 'StepScheduled':
    case 'CompensationScheduled':
      return { ...event, arguments: null };
    case 'StepCompleted': {
      const { output: _output, outputs: _outputs, ...rest } = event;
      return rest;
    }
    case 'CompensationCompleted':
      return { ...event, output: null };
    case 'SignalReceived':
      return { ...event, payload: null };
    case 'WorkflowCompleted':
      return { ...event, outputs: {} };
    default:
      return event;
  }
}

/** A run's details as the dashboard needs them: the same statuses and times, without the data (see leanEvent). */
export function leanRun(run: RunDetails): RunDetails {
  const call = <T extends CallDetails>(c: T): T => {
    const { output: _output, request, compensation, ...rest } = c;
    return { ...rest, ...(request && { request: { ...request, arguments: null } }), ...(compensation && { compensation: { ...compensation, output: null } }) } as T;
  };
  const { outputs: _outputs, ...rest } = run;
  return {
    ...rest,
    inputs: {},
    signals: run.signals.map((s) => ({ ...s, payload: null })),
    steps: run.steps.map((step) => {
      const { outputs: _stepOutputs, itemDetails, ...lean } = call(step);
      return { ...lean, ...(itemDetails && { itemDetails: itemDetails.map(call) }) };
    }),
  };
}
