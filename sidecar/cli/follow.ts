import type { RunEvent } from '../../common/events';
import type { RunOutcome } from '../../common/protocol';
import type { RunDetails } from '../../common/runs';
import { EXIT } from './errors';
import type { HostHandle } from './host-handle';
import { obtainHost } from './host-handle';
import { errorLine, JsonProgress, PlainProgress, TtyProgress, waitingText, type ProgressDisplay } from './progress';
import type { GlobalOptions } from './session';
import { Style } from './style';
import type { Workspace } from '../workspace/workspace';

/** Collects a host's events from the moment a command attaches, so that none of a run's first events is missed. */
export class EventBuffer {
  private readonly events: RunEvent[] = [];
  private listener: ((event: RunEvent) => void) | undefined;
  private stop: () => void;

  constructor(handle: HostHandle) {
    this.stop = handle.onEvent((event) => this.push(event));
  }

  /** Attaches to another host (after the first went away). */
  reattach(handle: HostHandle): void {
    this.stop();
    this.stop = handle.onEvent((event) => this.push(event));
  }

  private push(event: RunEvent): void {
    if (this.listener) this.listener(event);
    else this.events.push(event);
  }

  /** Hands every buffered event, then each new one, to `listener`. */
  drain(listener: (event: RunEvent) => void): void {
    for (const event of this.events.splice(0)) listener(event);
    this.listener = listener;
  }

  close(): void {
    this.stop();
  }
}

export interface FollowOptions {
  json: boolean;
  global: GlobalOptions;
  /** Each step's dependencies, for "waiting for …" on a terminal. */
  dependencies?: Map<string, string[]>;
  /** Stop as soon as the run only waits (approve, signal): the run goes on without this terminal. */
  untilWaiting?: boolean;
  /** The run as it was before this command (resume, approve): shown first. */
  before?: RunDetails;
}

/**
 * Reaches or becomes the workspace's host and runs `body` with it and a buffer of its events (attached first, so
 * that no event is missed). The buffer is closed afterwards; the host too when `body` fails.
 */
export async function withHost(workspace: Workspace, command: string, body: (handle: HostHandle, buffer: EventBuffer) => Promise<number>): Promise<number> {
  const handle = await obtainHost(workspace, command);
  const buffer = new EventBuffer(handle);
  try {
    return await body(handle, buffer);
  } catch (error) {
    await handle.close();
    throw error;
  } finally {
    buffer.close();
  }
}

/**
 * Shows a run's progress until it ends (or only waits, with untilWaiting), lets the host go (see closeHost), and
 * returns the exit code. Ctrl-C cancels a run that is working, and leaves a run that only waits as it is; twice,
 * it stops at once. When the host in another process goes away, this process becomes the host and resumes the run.
 */
export async function follow(initial: HostHandle, buffer: EventBuffer, runId: string, workspace: Workspace, options: FollowOptions): Promise<number> {
  let last = initial;
  let code: number;
  try {
    code = await watch(initial, buffer, runId, workspace, options, (taken) => (last = taken));
  } catch (error) {
    // The caller closes the host it gave; one this process took over meanwhile is closed here.
    if (last !== initial) await last.close();
    throw error;
  }
  await closeHost(last);
  return code;
}

async function watch(
  initial: HostHandle,
  buffer: EventBuffer,
  runId: string,
  workspace: Workspace,
  options: FollowOptions,
  tookOver: (handle: HostHandle) => void,
): Promise<number> {
  const err = Style.for(process.stderr, options.global.color);
  const display = progressDisplay(options);
  if (options.before) display.init(options.before);
  let handle = initial;
  let lastEvent: (() => void) | undefined;
  buffer.drain((event) => {
    if (event.runId !== runId) return;
    display.event(event);
    lastEvent?.();
  });
  let stopProgress = handle.onProgress((notice) => notice.runId === runId && display.progress(notice));
  let waiting = false;
  let interrupts = 0;
  const onInterrupt = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    if (waiting) {
      display.close();
      process.stderr.write(`\nLeft run ${runId} waiting. Resume it with: openconductor runs resume ${runId}\n`);
      process.exit(EXIT.ok);
    }
    process.stderr.write(`\n${err.yellow('Cancelling')} run ${runId}: completed steps are compensated (press Ctrl-C again to stop at once)…\n`);
    handle.cancel(runId, 'cancelled from the terminal (Ctrl-C)').catch((error: unknown) => process.stderr.write(`${(error as Error).message}\n`));
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  try {
    let hinted = false;
    for (;;) {
      let outcome: RunOutcome;
      try {
        outcome = await handle.wait(runId, true);
      } catch (error) {
        if (handle.local || !isConnectionLoss(error)) throw error;
        process.stderr.write(`${err.yellow('The host running this run went away;')} this process takes over.\n`);
        handle = await obtainHost(workspace, `openconductor runs resume ${runId}`);
        tookOver(handle);
        buffer.reattach(handle);
        stopProgress();
        stopProgress = handle.onProgress((notice) => notice.runId === runId && display.progress(notice));
        await handle.resume(runId);
        continue;
      }
      if (!outcome.waiting) {
        display.close();
        if (options.json) process.stdout.write(`${JSON.stringify({ type: 'RunResult', ...outcome })}\n`);
        else printOutcome(outcome, options.global);
        return outcome.status === 'completed' ? EXIT.ok : EXIT.failed;
      }
      waiting = true;
      const run = await handle.get(runId);
      const hints = run.steps.filter((s) => s.status === 'waiting').map((s) => `${s.id}: ${waitingText(s, runId)}`);
      if (options.untilWaiting) {
        display.close();
        if (options.json) process.stdout.write(`${JSON.stringify({ type: 'RunResult', ...outcome })}\n`);
        else process.stderr.write(`run ${runId} is waiting\n${hints.map((h) => `  ${h}\n`).join('')}`);
        return EXIT.ok;
      }
      if (!hinted && !options.json && !(display instanceof TtyProgress)) {
        process.stderr.write(`run ${runId} is waiting (Ctrl-C leaves it waiting)\n${hints.map((h) => `  ${h}\n`).join('')}`);
        hinted = true;
      }
      await new Promise<void>((resolve) => (lastEvent = resolve));
      lastEvent = undefined;
      waiting = false;
    }
  } finally {
    stopProgress();
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
}

/** Keeps a local host up while runs started through it by other processes still have work to do. */
async function closeHost(handle: HostHandle): Promise<void> {
  if (handle.local) {
    let busy = handle.busyRuns();
    if (busy.length > 0) process.stderr.write(`Still running ${busy.length} run(s) started from other terminals: ${busy.join(', ')}…\n`);
    while (busy.length > 0) {
      await Promise.all(busy.map((id) => handle.wait(id, true).catch(() => undefined)));
      busy = handle.busyRuns();
    }
  }
  await handle.close();
}

function isConnectionLoss(error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  return /connection (got )?(closed|disposed)|Pending response rejected/i.test(message);
}

function progressDisplay(options: FollowOptions): ProgressDisplay {
  if (options.json) return new JsonProgress(process.stdout);
  if (process.stderr.isTTY && process.env.TERM !== 'dumb') return new TtyProgress(process.stderr, Style.for(process.stderr, options.global.color), options.dependencies ?? new Map());
  return new PlainProgress(process.stderr);
}

function printOutcome(outcome: RunOutcome, global: GlobalOptions): void {
  const out = Style.for(process.stdout, global.color);
  const err = Style.for(process.stderr, global.color);
  if (outcome.status === 'completed') {
    process.stderr.write(`${err.green('✓')} run ${outcome.runId} completed\n`);
    const outputs = outcome.outputs ?? {};
    if (Object.keys(outputs).length > 0) process.stdout.write(`${out.bold('outputs')}\n${JSON.stringify(outputs, null, 2)}\n`);
    return;
  }
  const error = outcome.error;
  process.stderr.write(`${err.red('✗')} run ${outcome.runId} ${outcome.status}${error?.step ? ` at step '${error.step}'` : ''}\n`);
  if (error) {
    process.stderr.write(`  ${errorLine(error)}\n`);
    for (const line of error.message.split('\n').slice(1)) process.stderr.write(`  ${line}\n`);
    if (error.location) process.stderr.write(`  at ${error.location}\n`);
  }
  process.stderr.write(`  details: openconductor runs show ${outcome.runId}\n`);
}
