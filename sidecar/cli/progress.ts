import type { ErrorInfo, RunEvent } from '../../common/events';
import { foldEvent } from '../../common/run-state';
import type { RunDetails, StepDetails } from '../../common/runs';
import { formatDuration } from '../../common/workflow/duration';
import type { ProgressNotice } from '../engine/engine';
import { clock, fitLine, preview, Style } from './style';

/** Shows a run's progress as it happens. */
export interface ProgressDisplay {
  /** Starts from a run's state so far (a resumed run). */
  init(run: RunDetails): void;
  event(event: RunEvent): void;
  progress(notice: ProgressNotice): void;
  /** Stops redrawing; called once the run has ended. */
  close(): void;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** On a terminal: one line per step, redrawn in place with a spinner, counts and durations. */
export class TtyProgress implements ProgressDisplay {
  private run?: RunDetails;
  private readonly notices = new Map<string, ProgressNotice>();
  private lines = 0;
  private frame = 0;
  private readonly timer: NodeJS.Timeout;
  private dirty = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly style: Style,
    private readonly dependencies: Map<string, string[]>,
  ) {
    this.stream.write('\x1b[?25l');
    process.on('exit', this.restoreCursor);
    this.timer = setInterval(() => {
      this.frame++;
      if (this.dirty || this.run?.status === 'running') this.draw();
    }, 80);
  }

  init(run: RunDetails): void {
    this.run = structuredClone(run);
    this.dirty = true;
  }

  event(event: RunEvent): void {
    this.run = foldEvent(this.run, event);
    if (event.type === 'StepCompleted' || event.type === 'StepFailed') this.notices.delete(event.step);
    this.dirty = true;
  }

  progress(notice: ProgressNotice): void {
    this.notices.set(notice.step, notice);
    this.dirty = true;
  }

  close(): void {
    clearInterval(this.timer);
    this.draw();
    this.restoreCursor();
    process.off('exit', this.restoreCursor);
  }

  /** Shows the cursor again, also when the process exits in the middle of a run. */
  private readonly restoreCursor = (): void => {
    this.stream.write('\x1b[?25h');
  };

  private draw(): void {
    this.dirty = false;
    if (!this.run) return;
    const width = Math.max(40, this.stream.columns ?? 100);
    const output = [this.header(this.run), ...this.run.steps.map((s) => this.stepLine(s))].map((l) => fitLine(l, width));
    let text = this.lines > 0 ? `\x1b[${this.lines}F` : '';
    for (const line of output) text += `${line}\x1b[K\n`;
    this.stream.write(text);
    this.lines = output.length;
  }

  private header(run: RunDetails): string {
    const elapsed = formatDuration((run.endedAt ?? Date.now()) - run.startedAt);
    const done = run.steps.filter((s) => s.status === 'completed' || s.status === 'skipped').length;
    return `${this.style.bold(run.workflow)}  ${done}/${run.steps.length} steps · ${elapsed}  ${this.style.dim(`run ${run.id} · ${run.file}`)}`;
  }

  private stepLine(step: StepDetails): string {
    const s = this.style;
    const target = step.server ? s.dim(`${step.server} › ${step.tool}`) : '';
    const time = step.startedAt ? formatDuration((step.endedAt ?? Date.now()) - step.startedAt) : '';
    const items = step.items !== undefined ? ` [${step.itemsDone}/${step.items}]` : '';
    switch (step.status) {
      case 'completed':
        return `  ${s.green('✓')} ${step.id}${items}  ${target}  ${s.dim(time)}`;
      case 'failed':
        return `  ${s.red('✗')} ${step.id}${items}  ${target}  ${s.red(errorLine(step.error))}`;
      case 'skipped':
        return `  ${s.dim(`– ${step.id}  skipped: ${step.reason ?? ''}`)}`;
      case 'running': {
        const notice = this.notices.get(step.id);
        const progress = notice ? ` ${noticeText(notice)}` : '';
        const retry = step.retryAt !== undefined ? s.yellow(` retrying in ${formatDuration(Math.max(0, step.retryAt - Date.now()))} (${errorLine(step.lastError)})`) : '';
        return `  ${s.cyan(SPINNER[this.frame % SPINNER.length])} ${step.id}${items}  ${target}  ${time}${s.dim(progress)}${retry}`;
      }
      case 'waiting':
        return `  ${s.yellow('⏸')} ${step.id}  ${s.yellow(waitingText(step, this.run!.id))}`;
      case 'pending': {
        const waiting = (this.dependencies.get(step.id) ?? []).filter((d) => this.run!.steps.find((x) => x.id === d)?.status !== 'completed');
        return `  ${s.dim(`○ ${step.id}${waiting.length ? `  waiting for ${waiting.join(', ')}` : ''}`)}`;
      }
    }
  }
}

/** Without a terminal: one line per event, for logs and CI. */
export class PlainProgress implements ProgressDisplay {
    constructor(private readonly stream: NodeJS.WritableStream) {}

  init(run: RunDetails): void {
    const done = run.steps.filter((s) => s.status === 'completed' || s.status === 'skipped').length;
    this.stream.write(`${clock(Date.now())}  run ${run.id} of '${run.workflow}': ${done}/${run.steps.length} steps done so far\n`);
  }

  event(event: RunEvent): void {
    const line = describeEvent(event);
    if (line) this.stream.write(`${clock(event.time)}  ${line}\n`);
  }

  progress(notice: ProgressNotice): void {
    this.stream.write(`${clock(Date.now())}  ${notice.step}${notice.index !== undefined ? `[${notice.index}]` : ''}  progress ${noticeText(notice)}\n`);
  }

  close(): void {}
}

/** With --json: every event as one line of JSON (the definition's source left out). */
export class JsonProgress implements ProgressDisplay {
  constructor(private readonly stream: NodeJS.WritableStream) {}

  init(): void {}

  event(event: RunEvent): void {
    const { ...copy } = event as RunEvent & { source?: string };
    delete copy.source;
    this.stream.write(`${JSON.stringify(copy)}\n`);
  }

  progress(notice: ProgressNotice): void {
    this.stream.write(`${JSON.stringify({ type: 'Progress', ...notice })}\n`);
  }

  close(): void {}
}

/** One line describing an event, for plain progress and histories. */
export function describeEvent(event: RunEvent): string | undefined {
  const call = 'step' in event ? `${event.step}${'index' in event && event.index !== undefined ? `[${event.index}]` : ''}` : '';
  switch (event.type) {
    case 'WorkflowStarted':
      return `run ${event.runId} of '${event.workflow}' started (${event.file}, ${event.steps.length} steps)`;
    case 'StepScheduled':
      return `${call}  started  ${event.server} › ${event.tool}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}`;
    case 'StepFannedOut':
      return `${call}  fans out over ${event.count} item(s)`;
    case 'StepCompleted':
      return `${call}  completed in ${formatDuration(event.durationMs)}${'output' in event ? `  → ${preview(event.output, 80)}` : ''}`;
    case 'StepFailed':
      return `${call}  failed after ${formatDuration(event.durationMs)}: ${errorLine(event.error)}`;
    case 'StepSkipped':
      return `${call}  skipped: ${event.reason}`;
    case 'StepAttemptFailed':
      return `${call}  attempt ${event.attempt} failed: ${errorLine(event.error)}; retrying at ${clock(event.retryAt)}`;
    case 'TimerStarted':
      return `${call}  waits until ${clock(event.fireAt)}`;
    case 'TimerFired':
      return `${call}  timer fired`;
    case 'ApprovalRequested':
      return `${call}  waits for approval${event.message ? `: ${event.message}` : ''} — openconductor approve ${event.runId} ${event.step}`;
    case 'ApprovalResolved':
      return `${call}  ${event.approved ? 'approved' : 'rejected'}${event.by === 'timeout' ? ' (timed out)' : ''}${event.comment ? `: ${event.comment}` : ''}`;
    case 'SignalWaitStarted':
      return `${call}  waits for signal '${event.name}' — openconductor signal ${event.runId} ${event.name}`;
    case 'SignalReceived':
      return `signal '${event.name}' received`;
    case 'WorkflowCancelRequested':
      return `cancellation requested: ${event.reason}`;
    case 'CompensationScheduled':
      return `${call}  compensating: ${event.server} › ${event.tool}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}`;
    case 'CompensationCompleted':
      return `${call}  compensated`;
    case 'CompensationFailed':
      return `${call}  compensation failed: ${errorLine(event.error)}`;
    case 'WorkflowCompleted':
      return `run completed in ${formatDuration(event.durationMs)}`;
    case 'WorkflowFailed':
      return `run failed after ${formatDuration(event.durationMs)}: ${errorLine(event.error)}`;
    case 'WorkflowCancelled':
      return `run cancelled after ${formatDuration(event.durationMs)}: ${event.reason}`;
  }
}

/** An error on one line: its type and the first line of its message. */
export function errorLine(error: ErrorInfo | undefined): string {
  if (!error) return '';
  return `${error.type}: ${error.message.split('\n')[0]}`;
}

/** What a waiting step waits for, and how to end the wait. */
export function waitingText(step: StepDetails, runId: string): string {
  const waiting = step.waiting;
  const until = (at: number | undefined): string => (at === undefined ? '' : ` (until ${clock(at)}, in ${formatDuration(Math.max(0, at - Date.now()))})`);
  if (waiting?.timer) return `waiting until ${clock(waiting.timer.fireAt)} (in ${formatDuration(Math.max(0, waiting.timer.fireAt - Date.now()))})`;
  if (waiting?.approval) {
    return `waiting for approval${waiting.approval.message ? `: ${waiting.approval.message}` : ''}${until(waiting.approval.expiresAt)} — openconductor approve ${runId} ${step.id}`;
  }
  if (waiting?.signal) return `waiting for signal '${waiting.signal.name}'${until(waiting.signal.expiresAt)} — openconductor signal ${runId} ${waiting.signal.name}`;
  return 'waiting';
}

function noticeText(notice: ProgressNotice): string {
  const amount = notice.total ? `${Math.round((notice.progress / notice.total) * 100)}%` : String(notice.progress);
  return `${amount}${notice.message ? ` ${notice.message}` : ''}`;
}
