import type { BreakerState, RunEvent, RunEventBody } from '../../common/events';
import type { RunOutcome } from '../../common/protocol';
import type { CircuitBreakerPolicy } from '../../common/workflow/model';
import type { ServerSpec } from '../mcp/connection';
import type { Store } from '../store/store';
import type { BreakerGate, ToolConnection } from './calls';
import { CircuitBreaker } from './circuit-breaker';
import { HoldBack } from './hold-back';
import { newRunId } from './ids';
import type { Execution, PreparedDefinition } from './execution';
import { RunRequestError, type RunEnvironment, type RunResult } from './run';
import { TimerQueue } from './timers';
import { Listeners } from '../../common/listeners';

/** How long a call may run before its StepScheduled is journaled on its own: a quick call's start is written with its end. */
const HOLD_BACK_MS = 50;

/** A run's progress report from a tool: ephemeral, for live displays only. */
export interface ProgressNotice {
  runId: string;
  step: string;
  index?: number;
  progress: number;
  total?: number;
  message?: string;
}

export interface StartRequest {
  definition: PreparedDefinition;
  /** Inputs already checked against the workflow's declarations. */
  inputs: Record<string, unknown>;
}

/**
 * Prepares the pinned definition of a run to resume: parses the source the run started with (not the file as it
 * is now) and resolves its servers again, since their secrets were never journaled.
 */
export type PrepareResume = (run: {
  runId: string;
  file: string;
  language: 'yaml' | 'ts';
  source: string;
  definitionHash: string;
  inputs: Record<string, unknown>;
}) => Promise<PreparedDefinition>;

export interface EngineOptions {
  /** The tools of a server: the MCP pool's connections, or in-process ones. */
  connection: (spec: ServerSpec) => ToolConnection;
  env?: Readonly<Record<string, string | undefined>>;
  now?: () => number;
}

/**
 * Runs workflows durably. Every run's events go through the store, whose durability gates every step; the
 * engine routes each durable event back to its run, keeps the timers of every waiting run in one queue, and
 * keeps one circuit breaker per server, journaling its changes.
 */
export class Engine {
  private readonly runs = new Map<string, Execution>();
  private readonly breakers = new Map<string, { breaker: CircuitBreaker; gate: BreakerGate; explicit: boolean }>();
  private readonly progressListeners = new Listeners<ProgressNotice>();
  private readonly waiters = new Map<string, Array<(outcome: RunOutcome) => void>>();
  private readonly unsubscribe: () => void;
  private readonly env: RunEnvironment;
  private readonly held: HoldBack<{ runId: string; body: RunEventBody }>;
  readonly timers: TimerQueue;

  constructor(
    private readonly store: Store,
    options: EngineOptions,
  ) {
    const now = options.now ?? Date.now;
    this.timers = new TimerQueue(now);
    this.held = new HoldBack(HOLD_BACK_MS, ({ runId, body }) => this.runs.get(runId)?.released(body), now);
    this.unsubscribe = store.subscribe((event) => this.runs.get(event.runId)?.apply(event));
    this.env = {
      append: (runId: string, bodies: RunEventBody[], urgency?: 'now' | 'soon'): Promise<RunEvent[]> => this.store.appendAll(runId, bodies, urgency),
      knowsDefinition: (hash) => this.store.knowsDefinition(hash),
      connection: options.connection,
      breaker: (server, policy, explicit) => this.breaker(server, policy, explicit),
      timers: this.timers,
      now,
      progress: (runId, step, index, progress, total, message) => {
        const notice: ProgressNotice = { runId, step, progress, ...(index !== undefined && { index }), ...(total !== undefined && { total }), ...(message !== undefined && { message }) };
        this.progressListeners.emit(notice);
      },
      env: options.env ?? process.env,
      changed: (runId) => this.changed(runId),
      holdBack: (item) => this.held.hold(item),
    };
  }

  /** Resolves when a run executing here ends, or, with `untilWaiting`, as soon as it only waits. */
  waitFor(runId: string, untilWaiting: boolean): Promise<RunOutcome> {
    const run = this.loaded(runId);
    const outcome = (waiting: boolean): RunOutcome => {
      const d = run.details();
      return { runId, status: d.status, ...(waiting && { waiting }), ...(d.outputs && { outputs: d.outputs }), ...(d.error && { error: d.error }) };
    };
    if (untilWaiting && run.isWaitingOnly()) return Promise.resolve(outcome(true));
    return new Promise((resolve) => {
      if (untilWaiting) this.waiters.set(runId, [...(this.waiters.get(runId) ?? []), resolve]);
      run.done.then(
        () => resolve(outcome(false)),
        () => resolve(outcome(false)),
      );
    });
  }

  private changed(runId: string): void {
    const waiting = this.waiters.get(runId);
    const run = this.runs.get(runId);
    if (!waiting || !run?.isWaitingOnly()) return;
    this.waiters.delete(runId);
    const d = run.details();
    for (const resolve of waiting) resolve({ runId, status: d.status, waiting: true });
  }

  /** Starts a run; resolves with its id and completion once WorkflowStarted is durable. */
  async start(request: StartRequest): Promise<{ runId: string; done: Promise<RunResult> }> {
    const runId = newRunId();
    const run = request.definition.execute(runId, request.inputs, this.env);
    this.runs.set(runId, run);
    try {
      await run.begin();
    } catch (error) {
      this.runs.delete(runId);
      throw error;
    }
    return { runId, done: this.track(run) };
  }

  /**
   * Resumes one run from its journal: its pinned definition, its history, its waits. A run already loaded here
   * is returned as it is; a run that has ended resolves at once. `events` saves reading a history already read.
   */
  async resume(runId: string, prepare: PrepareResume, events?: RunEvent[]): Promise<{ runId: string; done: Promise<RunResult> }> {
    const loaded = this.runs.get(runId);
    if (loaded) return { runId, done: loaded.done };
    const history = events ?? this.store.events(runId);
    const started = history[0];
    if (!started || started.type !== 'WorkflowStarted') throw new RunRequestError(`no run '${runId}' in this store.`);
    const source = this.store.definitionSource(started.definitionHash);
    if (source === undefined) throw new RunRequestError(`the definition of run ${runId} (version ${started.definitionHash.slice(0, 12)}) is missing from the store.`);
    const definition = await prepare({ runId, file: started.file, language: started.language ?? 'yaml', source, definitionHash: started.definitionHash, inputs: started.inputs });
    const run = definition.execute(runId, started.inputs, this.env);
    this.runs.set(runId, run);
    for (const event of history) run.apply(event);
    await run.resume();
    return { runId, done: this.track(run) };
  }

  /** The run executing here, or a clear error. */
  private loaded(runId: string): Execution {
    const run = this.runs.get(runId);
    if (!run) throw new RunRequestError(`run ${runId} is not running in this process.`);
    return run;
  }

  /** Whether a run executing here has nothing to do but wait for an approval, a signal or a timer. */
  isWaitingOnly(runId: string): boolean {
    return this.runs.get(runId)?.isWaitingOnly() ?? false;
  }

  /** Whether a run is executing here. */
  has(runId: string): boolean {
    return this.runs.has(runId);
  }

  /** Asks a run to stop (durably); calls in flight are cancelled and completed steps compensated. */
  cancel(runId: string, reason: string): Promise<void> {
    return this.loaded(runId).cancel(reason);
  }

  /** Cancels every run executing here. */
  async cancelAll(reason: string): Promise<void> {
    await Promise.all([...this.runs.values()].map((run) => run.cancel(reason).catch(() => undefined)));
  }

  /** Approves or rejects a step waiting for approval. */
  decide(runId: string, step: string, approved: boolean, comment?: string): Promise<void> {
    return this.loaded(runId).decide(step, approved, comment);
  }

  /** Sends a signal to a run. */
  signal(runId: string, name: string, payload: unknown): Promise<void> {
    return this.loaded(runId).signal(name, payload);
  }

  /** The ids of the runs executing here. */
  runIds(): string[] {
    return [...this.runs.keys()];
  }

  /** Calls `listener` with tools' progress reports; returns the unsubscribe function. */
  onProgress(listener: (notice: ProgressNotice) => void): () => void {
    return this.progressListeners.add(listener);
  }

  /** Stops timers and event routing; runs still open stay open in the journal, to be resumed later. */
  close(): void {
    this.timers.stop();
    this.held.stop();
    this.unsubscribe();
  }

  private track(run: Execution): Promise<RunResult> {
    const done = run.done.finally(() => this.runs.delete(run.runId));
    done.catch(() => undefined);
    return done;
  }

  /**
   * A server's breaker gate: one breaker per server name for every run here, restored from the journal, its
   * changes journaled. Its policy is the one a workflow last set for this server explicitly, else the defaults.
   */
  private breaker(server: string, policy: CircuitBreakerPolicy, explicit: boolean): BreakerGate {
    let entry = this.breakers.get(server);
    if (!entry) {
      const breaker = new CircuitBreaker(policy, this.env.now);
      const saved = this.store.breaker(server);
      if (saved) breaker.restore(saved.state, saved.since);
      const journal = (transition: { state: BreakerState; reason: string } | undefined): void => {
        if (transition) this.store.appendServerEvent({ type: 'BreakerChanged', server, ...transition }).catch(() => undefined);
      };
      const gate: BreakerGate = {
        admit: () => {
          const admitted = breaker.admit();
          journal(admitted.transition);
          return admitted;
        },
        record: (failed) => journal(breaker.record(failed)),
      };
      entry = { breaker, gate, explicit };
      this.breakers.set(server, entry);
    }
    if (explicit || !entry.explicit) {
      entry.breaker.policy = policy;
      entry.explicit ||= explicit;
    }
    return entry.gate;
  }
}
