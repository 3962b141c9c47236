import * as vscode from 'vscode';
import type { RunEvent } from '../common/events';
import { LiveRuns } from '../common/live-runs';
import { Requests } from '../common/protocol';
import type { RunDetails, RunSummary } from '../common/runs';
import type { Sidecar } from './sidecar';

/** A change of the runs the editor shows: a pushed event, a run's fetched details, or a fresh list after connecting. */
export type RunsChange = { kind: 'event'; event: RunEvent; applied: boolean } | { kind: 'run'; run: RunDetails } | { kind: 'list'; runs: RunSummary[]; details: RunDetails[] };

/** Runs listed after connecting (newest first); older ones are in `openconductor runs list`. */
const LISTED = 100;

/**
 * The one copy of the runs the editor shows (the Runs view, the dashboard, the status bar): the sidecar's list and
 * details, kept current by folding its pushed events locally, so an event reaches the views without another request.
 */
export class RunsModel implements vscode.Disposable {
  readonly live = new LiveRuns();
  private readonly changed = new vscode.EventEmitter<RunsChange>();
  /** Fired after every change, in order. */
  readonly onDidChange = this.changed.event;
  private readonly fetching = new Map<string, Promise<RunDetails | undefined>>();
  private lastSeq = 0;
  private readonly unsubscribe: Array<() => void>;

  constructor(private readonly sidecar: Sidecar) {
    this.unsubscribe = [sidecar.onNotification<RunEvent>('runs/event', (event) => this.onEvent(event)), sidecar.onConnect(() => void this.reload())];
  }

  /** Lists the runs again, with the details of those in flight (their approvals show in the status bar) and of those that ended unseen. */
  async reload(): Promise<void> {
    const connection = this.sidecar.connection;
    if (!connection) return;
    const list = await connection.sendRequest(Requests.list, { limit: LISTED });
    const stale = new Set(this.live.setList(list));
    const details = await Promise.all(list.filter((r) => r.status === 'running' || stale.has(r.id)).map((r) => this.fetch(r.id, false)));
    this.changed.fire({ kind: 'list', runs: this.live.list(), details: details.filter((d): d is RunDetails => d !== undefined) });
  }

  /** A run's details: held ones, else fetched from the sidecar. */
  async details(runId: string): Promise<RunDetails | undefined> {
    return this.live.get(runId) ?? this.fetch(runId, true);
  }

  /** Runs in flight and steps waiting for approval. */
  counts(): { running: number; approvals: Array<{ runId: string; step: string }> } {
    return { running: this.live.list().filter((r) => r.status === 'running').length, approvals: this.live.pendingApprovals() };
  }

  /** The seq of the last event pushed by the sidecar (0: none yet); events come in the order it gave them out. */
  get lastEvent(): number {
    return this.lastSeq;
  }

  private onEvent(event: RunEvent): void {
    this.lastSeq = event.seq;
    const result = this.live.apply(event);
    if (result === 'unknown') void this.fetch(event.runId, true);
    // Every event goes out, applied or waiting: a webview folds them with its own copy of the same state.
    this.changed.fire({ kind: 'event', event, applied: result === 'applied' });
  }

  /** Fetches a run's details once at a time; `announce` tells the views (a list reload announces them all at once). */
  private fetch(runId: string, announce: boolean): Promise<RunDetails | undefined> {
    let pending = this.fetching.get(runId);
    if (!pending) {
      const connection = this.sidecar.connection;
      if (!connection) return Promise.resolve(undefined);
      pending = connection
        .sendRequest(Requests.get, { runId })
        .then((fetched) => {
          const run = this.live.put(fetched);
          if (announce) this.changed.fire({ kind: 'run', run });
          return run;
        })
        .catch(() => undefined)
        .finally(() => this.fetching.delete(runId));
      this.fetching.set(runId, pending);
    }
    return pending;
  }

  dispose(): void {
    for (const off of this.unsubscribe) off();
    this.changed.dispose();
  }
}
