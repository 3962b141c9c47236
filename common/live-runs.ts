import type { RunEvent } from './events';
import { foldEvent } from './run-state';
import type { RunDetails, RunSummary } from './runs';

/** What applying a pushed event did. */
export type ApplyResult = 'applied' | 'stale' | 'unknown';

/** Events kept per run whose details are not held yet; past this a client refetches anyway. */
const MAX_BUFFERED = 10_000;

/**
 * The runs a client shows (the Runs view, the dashboard), kept current by folding the host's pushed events with the
 * engine's own fold, so every view agrees with `runs show`. Details fetched from the host and pushed events can
 * arrive in any order: each run's `lastSeq` says which events its details already hold, and events for a run whose
 * details are still on their way wait for them.
 */
export class LiveRuns {
  private readonly summaries = new Map<string, RunSummary>();
  private readonly details = new Map<string, RunDetails>();
  private readonly waiting = new Map<string, RunEvent[]>();

  /**
   * Merges the host's run list (newest first): known details stay, runs no longer listed are dropped. Details still
   * running of a run the list says has ended (it ended while this client was not listening) are stale: they go, and
   * the ids of those runs come back, to be fetched again. The other way round is no news: a run never starts again.
   */
  setList(list: RunSummary[]): string[] {
    const keep = new Set(list.map((r) => r.id));
    for (const id of [...this.summaries.keys()]) if (!keep.has(id) && this.summaries.get(id)?.status !== 'running') this.forget(id);
    const stale: string[] = [];
    for (const run of list) {
      if (this.details.get(run.id)?.status === 'running' && run.status !== 'running') {
        this.details.delete(run.id);
        stale.push(run.id);
      }
      if (!this.details.has(run.id)) this.summaries.set(run.id, run);
    }
    return stale;
  }

  /** Takes a run's details fetched from the host (unless newer ones are held), then the events that waited for them. */
  put(run: RunDetails): RunDetails {
    const held = this.details.get(run.id);
    let current = held && held.lastSeq >= run.lastSeq ? held : run;
    const waiting = this.waiting.get(run.id) ?? [];
    this.waiting.delete(run.id);
    for (const event of waiting) if (event.seq > current.lastSeq) current = foldEvent(current, event) ?? current;
    this.hold(current);
    return current;
  }

  /** Folds a pushed event into its run; 'unknown' means the run's details must be fetched (the event waits for them). */
  apply(event: RunEvent): ApplyResult {
    const held = this.details.get(event.runId);
    if (event.type === 'WorkflowStarted' && !held) {
      this.hold(foldEvent(undefined, event)!);
      return 'applied';
    }
    if (!held) {
      const waiting = this.waiting.get(event.runId) ?? [];
      if (waiting.length < MAX_BUFFERED) waiting.push(event);
      this.waiting.set(event.runId, waiting);
      return 'unknown';
    }
    if (event.seq <= held.lastSeq) return 'stale';
    foldEvent(held, event);
    this.summaries.set(held.id, summaryOf(held));
    return 'applied';
  }

  /** The runs, newest first. */
  list(): RunSummary[] {
    return [...this.summaries.values()].sort((a, b) => b.startedAt - a.startedAt);
  }

  /** A run's summary, if listed. */
  summary(runId: string): RunSummary | undefined {
    return this.summaries.get(runId);
  }

  /** A run's details, if held. */
  get(runId: string): RunDetails | undefined {
    return this.details.get(runId);
  }

  /** Every run whose details are held. */
  held(): RunDetails[] {
    return [...this.details.values()];
  }

  /** Runs waiting for an approval: each step that waits for one. */
  pendingApprovals(): Array<{ runId: string; step: string }> {
    return this.held()
      .filter((d) => d.status === 'running')
      .flatMap((d) => d.steps.filter((s) => s.status === 'waiting' && s.waiting?.approval).map((s) => ({ runId: d.id, step: s.id })));
  }

  private hold(run: RunDetails): void {
    this.details.set(run.id, run);
    this.summaries.set(run.id, summaryOf(run));
  }

  private forget(runId: string): void {
    this.summaries.delete(runId);
    this.details.delete(runId);
    this.waiting.delete(runId);
  }
}

/** The list row of a run's details. */
export function summaryOf(run: RunDetails): RunSummary {
  return {
    id: run.id,
    workflow: run.workflow,
    file: run.file,
    status: run.status,
    definitionHash: run.definitionHash,
    startedAt: run.startedAt,
    ...(run.endedAt !== undefined && { endedAt: run.endedAt }),
    ...(run.error && { error: run.error }),
  };
}
