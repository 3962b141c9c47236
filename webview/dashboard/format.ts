import type { RunStatus, StepStatus } from '../../common/events';
import type { RunDetails, StepDetails } from '../../common/runs';
import { formatDuration } from '../../common/workflow/duration';

/** A glyph per status, as a terminal would print it. */
export const GLYPHS: Record<RunStatus | StepStatus, string> = {
  running: '▶',
  completed: '✔',
  failed: '✖',
  cancelled: '⊘',
  pending: '·',
  waiting: '◐',
  skipped: '↷',
};

/** How long something took, or has been running until `now`. */
export function elapsed(startedAt: number | undefined, endedAt: number | undefined, now: number): string {
  if (startedAt === undefined) return '';
  return formatDuration(Math.max(0, (endedAt ?? now) - startedAt));
}

// Formatters are costly to make and cheap to use: one each, for every row.
const TIME = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const DAY_TIME = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
const DAY_MS = 24 * 60 * 60 * 1000;

/** "hh:mm:ss" of a time within the last day, else the date and minute. */
export function clock(time: number): string {
  return Date.now() - time < DAY_MS ? TIME.format(time) : DAY_TIME.format(time);
}

/** Steps finished (completed or skipped) over all, and a bar of `width` cells. */
export function progress(run: RunDetails, width = 12): { done: number; total: number; bar: string } {
  const total = run.steps.length;
  const done = run.steps.filter((s) => s.status === 'completed' || s.status === 'skipped').length;
  const filled = total ? Math.round((done / total) * width) : 0;
  return { done, total, bar: '█'.repeat(filled) + '░'.repeat(width - filled) };
}

/** What a step is doing or did, in a few words. */
export function stepDetail(step: StepDetails): string {
  if (step.status === 'waiting') {
    if (step.waiting?.approval) return `waiting for approval${step.waiting.approval.message ? `: ${step.waiting.approval.message}` : ''}`;
    if (step.waiting?.signal) return `waiting for signal ${step.waiting.signal.name}`;
    if (step.waiting?.timer) return `timer until ${clock(step.waiting.timer.fireAt)}`;
  }
  if (step.error) return `${step.error.type}: ${step.error.message}`;
  if (step.retryAt && step.lastError) return `retrying at ${clock(step.retryAt)} after ${step.lastError.type}: ${step.lastError.message}`;
  if (step.reason) return step.reason;
  return '';
}

/** What a run is doing: its waiting or running steps, or its error. */
export function runActivity(run: RunDetails | undefined, error: string | undefined): string {
  if (error) return error;
  if (!run) return '';
  const waiting = run.steps.filter((s) => s.status === 'waiting').map((s) => `${s.id} ${stepDetail(s)}`);
  if (waiting.length) return waiting.join(' · ');
  const running = run.steps.filter((s) => s.status === 'running').map((s) => (s.items ? `${s.id} ${s.itemsDone}/${s.items}` : s.id));
  return running.length ? `running ${running.join(', ')}` : '';
}
