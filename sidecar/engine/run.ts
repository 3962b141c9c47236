import { setMaxListeners } from 'node:events';
import type { ErrorInfo, RunEvent, RunEventBody, RunStatus } from '../../common/events';
import { isTruthy } from '../../common/expressions';
import { foldEvent } from '../../common/run-state';
import type { CallDetails, RunDetails, StepDetails } from '../../common/runs';
import type { SourceFile } from '../../common/source';
import { EvaluationError, evaluateValue } from '../../common/workflow/evaluate';
import { stepNeeds } from '../../common/workflow/graph';
import { DEFAULT_CONCURRENCY, type CircuitBreakerPolicy, type StepDefinition, type ValueTemplate, type WorkflowDefinition } from '../../common/workflow/model';
import { constantOf } from '../../common/workflow/parse';
import { rangeAtPath } from '../../common/workflow/template-walk';
import { describeValue } from '../../common/words';
import type { ServerSpec } from '../mcp/connection';
import { attemptCall, type BreakerGate, type ToolConnection } from './calls';
import { nextAttempt } from './retry';
import { RunSettlement, workflowStarted, type Execution, type PreparedDefinition } from './execution';
import type { HeldEvent } from './hold-back';
import { callInterrupted, stepCancelled } from './interruptions';
import { ArmedTimers, type TimerQueue } from './timers';
import { approvalResolved, SignalClaims, signalTaken, signalTimedOut, timerFired } from './waits';

/** What a run needs from the engine around it. */
export interface RunEnvironment {
  /** Appends events of the run as one journal record; resolves once durable (the engine has applied them by then). */
  append(runId: string, bodies: RunEventBody[], urgency?: 'now' | 'soon'): Promise<RunEvent[]>;
  /** Whether the store already holds this definition's source, so WorkflowStarted can name it by hash. */
  knowsDefinition(hash: string): boolean;
  connection(spec: ServerSpec): ToolConnection;
  /** The breaker of a server; `explicit` when the workflow sets this server's policy (not just the defaults). */
  breaker(server: string, policy: CircuitBreakerPolicy, explicit: boolean): BreakerGate;
  timers: TimerQueue;
  now(): number;
  /** Progress a tool reports during a call: shown live, never journaled. */
  progress?(runId: string, step: string, index: number | undefined, progress: number, total?: number, message?: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** Told after every change of the run, so that waiters can look at it. */
  changed?(runId: string): void;
  /**
   * Holds a call's StepScheduled back: a quick call's start is then written with its end, in one record; a call
   * still going after a moment gets it written on its own (the engine calls the run's released()).
   */
  holdBack(held: { runId: string; body: RunEventBody }): HeldEvent<{ runId: string; body: RunEventBody }>;
}

/** Everything a run starts from. */
export interface RunPlan {
  runId: string;
  file: SourceFile;
  filePath: string;
  workflow: WorkflowDefinition;
  definitionHash: string;
  inputs: Record<string, unknown>;
  servers: Map<string, ServerSpec>;
  graph: StepGraph;
}

/** A workflow's steps and what depends on what: the same for every run of a definition, so worked out once. */
interface StepGraph {
  defs: ReadonlyMap<string, StepDefinition>;
  /** For each step, how many other steps it needs. */
  needs: ReadonlyMap<string, number>;
  dependents: ReadonlyMap<string, readonly string[]>;
}

function stepGraph(workflow: WorkflowDefinition): StepGraph {
  const needs = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const [id, prerequisites] of stepNeeds(workflow)) {
    needs.set(id, prerequisites.length);
    for (const need of prerequisites) dependents.set(need, [...(dependents.get(need) ?? []), id]);
  }
  return { defs: new Map(workflow.steps.map((s) => [s.id, s])), needs, dependents };
}

/** A YAML workflow ready to run: each run of it executes as a RunExecution. */
export function yamlDefinition(definition: Omit<RunPlan, 'runId' | 'inputs' | 'graph'>): PreparedDefinition {
  const graph = stepGraph(definition.workflow);
  return {
    name: definition.workflow.name,
    filePath: definition.filePath,
    language: 'yaml',
    definitionHash: definition.definitionHash,
    source: definition.file.text,
    servers: definition.servers,
    execute: (runId, inputs, env) => new RunExecution({ ...definition, graph, runId, inputs }, env),
  };
}

/** How a run ended. */
export interface RunResult {
  runId: string;
  status: RunStatus;
  outputs?: Record<string, unknown>;
  error?: ErrorInfo;
}

/** How a run that has ended ended, from its details. */
export function runResult(runId: string, run: RunDetails): RunResult {
  const { status, outputs, error } = run;
  return { runId, status, ...(outputs && { outputs }), ...(error && { error }) };
}

/** A request the run cannot take, with the reason in words (not waiting, unknown step…). */
export class RunRequestError extends Error {
  override name = 'RunRequestError';
}

/** The `remaining` count of a step that has finished. */
const FINISHED = -1;

/**
 * Executes one YAML workflow run by event sourcing. The run's state is the fold of its journaled events
 * (common/run-state.ts); every decision reads that state, and every change is an event made durable before
 * it counts. So a run rebuilt from its history after a crash continues exactly where the journal says it was:
 * completed steps are not run again, calls that were in flight are sent again with the same idempotency key,
 * retries, timers, approvals and signals pick up their waits, and compensation resumes where it stopped.
 */
export class RunExecution implements Execution {
  private run!: RunDetails;
  private failure?: ErrorInfo;
  /** The run's steps by id, and the `steps` expression context of the finished ones: kept as events arrive. */
  private readonly stepIndex = new Map<string, StepDetails>();
  private readonly stepsContext: Record<string, unknown> = {};
  private readonly defs: ReadonlyMap<string, StepDefinition>;
  /** For each step, how many of its dependencies have not finished; and who depends on it. */
  private readonly remaining: Map<string, number>;
  private readonly dependents: ReadonlyMap<string, readonly string[]>;
  /** Unfinished steps that advance() must look at: those started, and the pending ones whose dependencies finished. */
  private readonly candidates = new Set<string>();
  private finishedSteps = 0;
  /** Work this process is doing now, by call id (`step` or `step/index`), plus `compensation` and `finish`. */
  private readonly active = new Set<string>();
  /** Timers armed in the engine's queue, by what they are for. */
  private readonly armed: ArmedTimers;
  /** Foreach lists, evaluated once per process (the journal keeps their length to check a rebuilt run against). */
  private readonly lists = new Map<string, unknown[]>();
  /** StepScheduled events held back while their calls are quick, by call id. */
  private readonly held = new Map<string, HeldEvent<{ runId: string; body: RunEventBody }>>();
  /** Signals this process is handing to a step, not yet durable as taken. */
  private readonly signals = new SignalClaims();
  private abort = new AbortController();
  private storeFailure?: unknown;
  private advancing = false;
  private advanceAgain = false;
  private settled = false;
  private readonly settlement = new RunSettlement();
  /** Settles when the run has ended and its last event is durable. */
  readonly done = this.settlement.promise;

  constructor(
    private readonly plan: RunPlan,
    private readonly env: RunEnvironment,
  ) {
    this.defs = plan.graph.defs;
    this.dependents = plan.graph.dependents;
    this.remaining = new Map(plan.graph.needs);
    for (const [id, needs] of plan.graph.needs) if (needs === 0) this.candidates.add(id);
    this.armed = new ArmedTimers(env.timers);
    // Every call in flight relays the run's signal; a wide fan-out is not a leak.
    setMaxListeners(0, this.abort.signal);
  }

  get runId(): string {
    return this.plan.runId;
  }

  /** The run as its journal describes it now. */
  details(): RunDetails {
    return this.run;
  }

  /** Applies a durable event of this run to its state: the engine calls it for every event, in journal order. */
  apply(event: RunEvent): void {
    this.run = foldEvent(this.run, event)!;
    if (event.type === 'WorkflowStarted') for (const step of this.run.steps) this.stepIndex.set(step.id, step);
    if ((event.type === 'StepCompleted' && event.index === undefined) || event.type === 'StepSkipped') {
      const step = this.stepState(event.step);
      this.stepsContext[step.id] = { output: step.output ?? null, outputs: step.outputs ?? null, status: step.status };
      this.finished(step.id);
    }
    if (event.type === 'StepFailed' && event.error.type !== 'Cancelled' && !this.run.cancelRequested) {
      this.failure ??= { ...event.error, step: event.step };
    }
    if (event.type === 'WorkflowCompleted' || event.type === 'WorkflowFailed' || event.type === 'WorkflowCancelled') this.settle();
  }

  /** Starts a new run: WorkflowStarted is durable before this resolves, and the steps begin. */
  async begin(): Promise<void> {
    const { workflow, filePath, definitionHash, file, inputs } = this.plan;
    const definition = { workflow: workflow.name, filePath, definitionHash, language: 'yaml' as const, source: file.text };
    await this.env.append(this.runId, [workflowStarted(definition, inputs, workflow.steps.map((s) => s.id), this.env)]);
    this.advance();
  }

  /**
   * Continues a run rebuilt from its history (already applied). Calls the journal shows in flight were cut short
   * by the engine stopping: they are sent again (same idempotency key), unless the run is being cancelled.
   */
  async resume(): Promise<void> {
    if (this.run.status !== 'running') return this.settle();
    const interrupted: RunEventBody[] = [];
    const now = this.env.now();
    for (const step of this.run.steps) {
      for (const [call, index] of callsOf(step)) {
        if (!call.inFlight) continue;
        const key = index === undefined ? { step: step.id } : { step: step.id, index };
        interrupted.push(this.run.cancelRequested ? stepCancelled(key, this.run.cancelRequested, call.attempts, 0) : callInterrupted(key, call.attempts, now));
      }
    }
    for (const body of interrupted) await this.record(body);
    this.advance();
  }

  /** Asks the run to stop: durable first, then calls in flight are cancelled, waits end, completed steps are compensated. */
  async cancel(reason: string): Promise<void> {
    this.assertRunning();
    if (this.run.cancelRequested) return;
    await this.record({ type: 'WorkflowCancelRequested', reason });
    this.advance();
  }

  /** Approves or rejects a step waiting for approval. */
  async decide(stepId: string, approved: boolean, comment?: string): Promise<void> {
    this.assertRunning();
    const def = this.defs.get(stepId);
    const step = this.run.steps.find((s) => s.id === stepId);
    if (!def || !step) throw new RunRequestError(`run ${this.runId} has no step '${stepId}'. Its steps: ${[...this.defs.keys()].join(', ')}.`);
    if (def.kind !== 'approval') throw new RunRequestError(`step '${stepId}' of run ${this.runId} is not an approval step.`);
    if (!step.waiting?.approval || this.active.has(stepId)) {
      throw new RunRequestError(`step '${stepId}' of run ${this.runId} is not waiting for approval (it is ${step.status}).`);
    }
    await this.resolveApproval(def, approved, 'user', comment);
  }

  /** Delivers a signal: durable at once, taken by the first step that waits (or will wait) for its name. */
  async signal(name: string, payload: unknown): Promise<void> {
    this.assertRunning();
    await this.record({ type: 'SignalReceived', name, payload });
    this.advance();
  }

  private assertRunning(): void {
    if (this.run.status !== 'running') throw new RunRequestError(`run ${this.runId} has ended (${this.run.status}).`);
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.armed.clear();
    this.settlement.resolve(runResult(this.runId, this.run));
  }

  /** Decides what to do next from the journaled state. Idempotent: call it after anything changes. */
  private advance(): void {
    if (this.advancing) {
      this.advanceAgain = true;
      return;
    }
    this.advancing = true;
    try {
      do {
        this.advanceAgain = false;
        this.advanceOnce();
      } while (this.advanceAgain);
    } finally {
      this.advancing = false;
    }
    this.env.changed?.(this.runId);
  }

  /** Whether the run has nothing to do but wait for an approval, a signal or a timer. */
  isWaitingOnly(): boolean {
    if (this.run.status !== 'running' || this.settled || this.active.size > 0 || this.held.size > 0) return false;
    if (this.run.cancelRequested || this.failure) return false;
    let waits = false;
    for (const step of this.run.steps) {
      if (step.status === 'waiting') waits = true;
      else if (step.status === 'running') return false;
    }
    return waits;
  }

  /** A step completed or was skipped: its dependents may become ready. Looking only at candidates keeps advance() cheap on long chains. */
  private finished(stepId: string): void {
    if (this.remaining.get(stepId) === FINISHED) return;
    this.candidates.delete(stepId);
    this.remaining.set(stepId, FINISHED);
    this.finishedSteps++;
    for (const dependent of this.dependents.get(stepId) ?? []) {
      const left = this.remaining.get(dependent)! - 1;
      this.remaining.set(dependent, left);
      if (left === 0) this.candidates.add(dependent);
    }
  }

  private advanceOnce(): void {
    if (this.settled) return;
    if (this.storeFailure) {
      if (this.active.size === 0) {
        this.settled = true;
        this.settlement.reject(this.storeFailure);
      }
      return;
    }
    if (this.run.cancelRequested || this.failure) return this.wind_down();
    for (const id of this.candidates) {
      const def = this.defs.get(id)!;
      const step = this.stepState(id);
      if (step.status === 'pending') {
        if (!this.active.has(id)) this.work(id, () => this.startStep(def));
      } else if (step.status === 'running') {
        this.advanceCalls(def, step);
      } else if (step.status === 'waiting') {
        this.advanceWait(def, step);
      }
    }
    if (this.finishedSteps === this.plan.workflow.steps.length && this.active.size === 0) this.work('finish', () => this.complete());
  }

  private stepState(id: string): StepDetails {
    return this.stepIndex.get(id)!;
  }

  /** Runs a piece of work as `id`, so that advance() does not start it twice, and advances when it ends. */
  private work(id: string, fn: () => Promise<void>): void {
    this.active.add(id);
    void fn()
      .catch((error: unknown) => this.noteStoreFailure(error))
      .finally(() => {
        this.active.delete(id);
        this.advance();
      });
  }

  private contexts(extra?: Record<string, unknown>): Record<string, unknown> {
    return { inputs: this.plan.inputs, steps: this.stepsContext, env: this.env.env, run: { id: this.runId, workflow: this.plan.workflow.name }, ...extra };
  }

  /** Evaluates a template; an error becomes a thrown ExpressionFailure carrying the file position. */
  private evaluate(value: ValueTemplate, contexts: Record<string, unknown>): unknown {
    try {
      return evaluateValue(value, contexts);
    } catch (error) {
      if (error instanceof EvaluationError) throw new ExpressionFailure({ type: 'ExpressionError', message: error.message, location: this.plan.file.location(error.range.start) });
      throw error;
    }
  }

  private async startStep(def: StepDefinition): Promise<void> {
    try {
      if (def.if && !isTruthy(this.evaluate(def.if, this.contexts()))) {
        await this.record({ type: 'StepSkipped', step: def.id, reason: 'its if condition was false' });
        return;
      }
      const now = this.env.now();
      switch (def.kind) {
        case 'call':
          if (def.foreach) {
            const list = this.foreachList(def);
            await this.record({ type: 'StepFannedOut', step: def.id, count: list.length });
          } else {
            await this.attempt(def, undefined);
          }
          return;
        case 'wait':
          await this.record({ type: 'TimerStarted', step: def.id, fireAt: this.fireAt(def, now) });
          return;
        case 'approval': {
          const message = def.approval!.message === undefined ? undefined : String(this.evaluate(def.approval!.message, this.contexts()));
          const expiresAt = def.approval!.timeoutMs === undefined ? undefined : now + def.approval!.timeoutMs;
          await this.record({ type: 'ApprovalRequested', step: def.id, ...(message !== undefined && { message }), ...(expiresAt !== undefined && { expiresAt }) });
          return;
        }
        case 'signal': {
          const expiresAt = def.signal!.timeoutMs === undefined ? undefined : now + def.signal!.timeoutMs;
          await this.record({ type: 'SignalWaitStarted', step: def.id, name: def.signal!.name, ...(expiresAt !== undefined && { expiresAt }) });
          return;
        }
      }
    } catch (error) {
      if (!(error instanceof ExpressionFailure)) throw error;
      await this.record({ type: 'StepFailed', step: def.id, error: error.info, attempt: 0, durationMs: 0 });
    }
  }

  private fireAt(def: StepDefinition, now: number): number {
    const wait = def.wait!;
    if (wait.durationMs !== undefined) return now + wait.durationMs;
    const until = this.evaluate(wait.until!, this.contexts());
    const at = typeof until === 'number' ? until : Date.parse(String(until));
    if (Number.isNaN(at)) {
      throw new ExpressionFailure({ type: 'ExpressionError', message: `wait.until of step '${def.id}' gave ${describeValue(until, 'yaml')}, not a date and time (ISO 8601, e.g. 2026-12-01T09:00:00Z).`, location: this.plan.file.location(wait.until!.range.start) });
    }
    return at;
  }

  /** The list a foreach step iterates: evaluated again after a restart, and checked against the journaled count. */
  private foreachList(def: StepDefinition): unknown[] {
    let list = this.lists.get(def.id);
    if (list) return list;
    const value = this.evaluate(def.foreach!, this.contexts());
    if (!Array.isArray(value)) {
      throw new ExpressionFailure({ type: 'ExpressionError', message: `foreach of step '${def.id}' gave ${describeValue(value, 'yaml')}, not a list.`, location: this.plan.file.location(def.foreach!.range.start) });
    }
    list = value;
    const count = this.stepState(def.id).items;
    if (count !== undefined && count !== list.length) {
      throw new ExpressionFailure({ type: 'NonDeterminism', message: `foreach of step '${def.id}' now gives ${list.length} elements, but the run started with ${count}: its inputs changed since (an environment variable?).`, location: this.plan.file.location(def.foreach!.range.start) });
    }
    this.lists.set(def.id, list);
    return list;
  }

  /** Starts the calls of a running step that are due: a retry whose time has come, foreach elements up to the concurrency. */
  private advanceCalls(def: StepDefinition, step: StepDetails): void {
    if (step.items === undefined) {
      if (!this.active.has(def.id) && step.retryAt !== undefined) this.whenDue(def.id, step.retryAt, () => this.attempt(def, undefined));
      return;
    }
    const items = step.itemDetails ?? [];
    const limit = def.concurrency ?? DEFAULT_CONCURRENCY;
    // An element waiting to retry keeps its place: concurrency counts elements started and not finished.
    let running = items.filter((i) => this.active.has(`${def.id}/${i.index}`) || i.status === 'running').length;
    for (const item of items) {
      const id = `${def.id}/${item.index}`;
      if (this.active.has(id) || item.status === 'completed' || item.status === 'failed') continue;
      if (item.retryAt !== undefined) {
        // Already counted among the running elements.
        this.whenDue(id, item.retryAt, () => this.attempt(def, item.index));
        continue;
      }
      if (item.status !== 'pending') continue;
      if (running >= limit) continue;
      running++;
      this.work(id, () => this.attempt(def, item.index));
    }
    if (items.every((i) => i.status === 'completed') && !this.active.has(def.id)) this.work(def.id, () => this.completeForeach(def));
  }

  /** Runs `fn` as `id` once `at` has come, arming a timer until then. */
  private whenDue(id: string, at: number, fn: () => Promise<void>): void {
    if (at > this.env.now()) return this.armed.arm(id, at, () => this.advance());
    this.armed.disarm(id);
    this.work(id, fn);
  }

  private async completeForeach(def: StepDefinition): Promise<void> {
    const step = this.stepState(def.id);
    const output = (step.itemDetails ?? []).map((i) => i.output ?? null);
    try {
      const outputs = def.outputs ? (this.evaluate(def.outputs, this.contexts({ output })) as Record<string, unknown>) : undefined;
      await this.record({ type: 'StepCompleted', step: def.id, ...(outputs && { outputs }), durationMs: this.env.now() - (step.startedAt ?? this.env.now()) });
    } catch (error) {
      if (!(error instanceof ExpressionFailure)) throw error;
      await this.record({ type: 'StepFailed', step: def.id, error: error.info, attempt: step.attempts, durationMs: 0 });
    }
  }

  /** One attempt of a call (a plain step, or one element), then its durable outcome: completion, a retry, or failure. */
  private async attempt(def: StepDefinition, index: number | undefined): Promise<void> {
    const step = this.stepState(def.id);
    const call: CallDetails = index === undefined ? step : step.itemDetails![index];
    const key = index === undefined ? { step: def.id } : { step: def.id, index };
    const id = index === undefined ? def.id : `${def.id}/${index}`;
    const attempt = call.attempts + 1;
    const now = this.env.now();
    const stepStarted = step.startedAt ?? now;
    const deadline = def.stepTimeoutMs === undefined ? undefined : stepStarted + def.stepTimeoutMs;
    let args: Record<string, unknown>;
    let item: unknown;
    try {
      item = index === undefined ? undefined : this.foreachList(def)[index];
      const constant = def.with ? constantOf(def.with) : { value: {} };
      args = (call.request?.arguments ?? constant?.value ?? this.evaluate(def.with!, this.contexts(index === undefined ? undefined : { item, index }))) as Record<string, unknown>;
    } catch (error) {
      if (!(error instanceof ExpressionFailure)) throw error;
      await this.record({ type: 'StepFailed', ...key, error: error.info, attempt, durationMs: 0 });
      return;
    }
    this.holdBack(id, { type: 'StepScheduled', ...key, server: def.server.name, tool: def.tool.name, arguments: args, attempt });
    const spec = this.plan.servers.get(def.server.name)!;
    const outcome = await attemptCall({
      connection: this.env.connection(spec),
      breaker: this.breakerOf(def.server.name),
      server: def.server.name,
      tool: def.tool.name,
      args,
      timeoutMs: Math.max(1, Math.min(def.timeoutMs ?? this.plan.workflow.defaults.timeoutMs, deadline === undefined ? Infinity : deadline - now)),
      signal: this.abort.signal,
      idempotencyKey: `${this.runId}/${id}`,
      location: this.plan.file.location(def.tool.range.start),
      ...(this.env.progress && { onProgress: (p: number, total?: number, message?: string) => this.env.progress!(this.runId, def.id, index, p, total, message) }),
    });
    const ended = this.env.now();
    const durationMs = ended - (call.startedAt ?? now);
    if (outcome.ok) {
      if (index !== undefined) return this.record({ type: 'StepCompleted', ...key, output: outcome.output, durationMs });
      try {
        const outputs = def.outputs ? (this.evaluate(def.outputs, this.contexts({ output: outcome.output })) as Record<string, unknown>) : undefined;
        return await this.record({ type: 'StepCompleted', ...key, output: outcome.output, ...(outputs && { outputs }), durationMs });
      } catch (error) {
        if (!(error instanceof ExpressionFailure)) throw error;
        return this.record({ type: 'StepFailed', ...key, error: error.info, attempt, durationMs });
      }
    }
    let error = outcome.error;
    if (outcome.argumentPath && def.with) {
      const at = rangeAtPath(def.with, outcome.argumentPath);
      if (at) error = { ...error, location: this.plan.file.location(at.start) };
    }
    if (this.run.cancelRequested) {
      return this.record(stepCancelled(key, this.run.cancelRequested, attempt, durationMs, error));
    }
    const decision = nextAttempt(def.retry, call.failedAttempts + 1, error, ended, deadline, outcome.notBefore);
    if ('at' in decision) return this.record({ type: 'StepAttemptFailed', ...key, attempt, error, retryAt: decision.at });
    if (decision.stop === 'deadline' || (deadline !== undefined && ended >= deadline)) {
      error = { ...error, type: 'Timeout', message: `step '${def.id}' did not finish within its stepTimeout of ${def.stepTimeoutMs}ms (attempt ${attempt}: ${error.message})` };
    }
    await this.record({ type: 'StepFailed', ...key, error, attempt, durationMs });
  }

  private breakerOf(server: string): BreakerGate {
    const explicit = this.plan.workflow.circuitBreakers.get(server);
    return this.env.breaker(server, explicit ?? this.plan.workflow.defaults.circuitBreaker, explicit !== undefined);
  }

  /** Arms the timer, approval expiry or signal match of a waiting step. */
  private advanceWait(def: StepDefinition, step: StepDetails): void {
    const waiting = step.waiting;
    if (!waiting || this.active.has(def.id)) return;
    if (waiting.timer) {
      const firedAt = waiting.timer.fireAt;
      this.whenDue(def.id, firedAt, () => this.record(...timerFired(def.id, this.env.now(), this.env.now() - (step.startedAt ?? firedAt))));
    } else if (waiting.approval?.expiresAt !== undefined) {
      this.whenDue(def.id, waiting.approval.expiresAt, () => this.resolveApproval(def, def.approval!.onTimeout === 'approve', 'timeout'));
    } else if (waiting.signal) {
      const name = waiting.signal.name;
      const signal = this.signals.claim(this.run.signals, name);
      if (signal) {
        this.armed.disarm(def.id);
        this.work(def.id, () => this.signals.hand(signal, () => this.record(signalTaken(def.id, signal, this.env.now() - (step.startedAt ?? this.env.now())))));
      } else if (waiting.signal.expiresAt !== undefined) {
        const message = `step '${def.id}' waited for signal '${name}' until its timeout of ${def.signal!.timeoutMs}ms.`;
        this.whenDue(def.id, waiting.signal.expiresAt, () => this.record(signalTimedOut(def.id, message, def.signal!.timeoutMs!)));
      }
    }
  }

  private async resolveApproval(def: StepDefinition, approved: boolean, by: 'user' | 'timeout', comment?: string): Promise<void> {
    this.active.add(def.id);
    try {
      const step = this.stepState(def.id);
      const durationMs = this.env.now() - (step.startedAt ?? this.env.now());
      const why = by === 'timeout' ? 'its approval timed out (onTimeout: reject)' : `it was rejected${comment ? `: ${comment}` : ''}`;
      const rejection = approved || def.approval!.onReject === 'continue' ? undefined : `step '${def.id}' did not go ahead: ${why}.`;
      await this.record(...approvalResolved({ step: def.id, approved, by, comment }, durationMs, rejection));
    } finally {
      this.active.delete(def.id);
      this.armed.disarm(def.id);
      this.advance();
    }
  }

  /**
   * After a failure or a cancellation request: no new step starts; waits and pending retries end (cancelled
   * calls in flight end on their own); once nothing is in flight, completed steps are compensated and the run ends.
   */
  private wind_down(): void {
    if (this.run.cancelRequested && !this.abort.signal.aborted) this.abort.abort();
    const reason = this.run.cancelRequested ? `cancelled: ${this.run.cancelRequested}` : `the run failed at step '${this.failure!.step}'`;
    for (const step of this.run.steps) {
      for (const [call, index] of callsOf(step)) {
        const id = index === undefined ? step.id : `${step.id}/${index}`;
        const stuck = call.status === 'waiting' || (call.retryAt !== undefined && call.status === 'running');
        if (!stuck || this.active.has(id)) continue;
        this.armed.disarm(id);
        const key = index === undefined ? { step: step.id } : { step: step.id, index };
        this.work(id, () => this.record({ type: 'StepFailed', ...key, error: { type: 'Cancelled', message: reason }, attempt: call.attempts, durationMs: 0 }));
      }
    }
    if (this.active.size === 0) this.work('compensation', () => this.compensateAndEnd());
  }

  /** Compensates completed calls in reverse order of completion, then records how the run ended. */
  private async compensateAndEnd(): Promise<void> {
    const failures: string[] = [];
    const done = this.run.steps
      .flatMap((step) => callsOf(step).map(([call, index]) => ({ step, call, index })))
      .filter(({ step, call }) => call.status === 'completed' && call.completedSeq !== undefined && this.defs.get(step.id)?.compensate)
      .sort((a, b) => b.call.completedSeq! - a.call.completedSeq!);
    for (const { step, call, index } of done) {
      if (call.compensation?.status === 'completed') continue;
      if (call.compensation?.status === 'failed') {
        failures.push(`${step.id}${index === undefined ? '' : `[${index}]`}: ${call.compensation.error?.message ?? 'failed'}`);
        continue;
      }
      const error = await this.compensate(this.defs.get(step.id)!, call, index);
      if (error) failures.push(`${step.id}${index === undefined ? '' : `[${index}]`}: ${error.message}`);
    }
    const durationMs = this.env.now() - this.run.startedAt;
    const note = failures.length ? ` Compensation failed for ${failures.join('; ')}.` : '';
    if (this.run.cancelRequested) {
      await this.record({ type: 'WorkflowCancelled', reason: `${this.run.cancelRequested}${note}`, durationMs });
    } else {
      await this.record({ type: 'WorkflowFailed', error: { ...this.failure!, message: `${this.failure!.message}${note}` }, durationMs });
    }
  }

  /** Runs one compensation to its end (retried under the step's policy); returns its error if it failed for good. */
  private async compensate(def: StepDefinition, call: CallDetails, index: number | undefined): Promise<ErrorInfo | undefined> {
    const compensation = def.compensate!;
    const key = index === undefined ? { step: def.id } : { step: def.id, index };
    const id = index === undefined ? def.id : `${def.id}/${index}`;
    let args: Record<string, unknown>;
    try {
      const item = index === undefined ? undefined : this.foreachList(def)[index];
      args = (compensation.with ? this.evaluate(compensation.with, this.contexts({ output: call.output ?? null, ...(index !== undefined && { item, index }) })) : {}) as Record<string, unknown>;
    } catch (error) {
      if (!(error instanceof ExpressionFailure)) throw error;
      await this.record({ type: 'CompensationFailed', ...key, error: error.info });
      return error.info;
    }
    const spec = this.plan.servers.get(compensation.server.name)!;
    let failedAttempts = 0;
    for (let attempt = (call.compensation?.attempts ?? 0) + 1; ; attempt++) {
      await this.record({ type: 'CompensationScheduled', ...key, server: compensation.server.name, tool: compensation.tool.name, arguments: args, attempt });
      const outcome = await attemptCall({
        connection: this.env.connection(spec),
        breaker: this.breakerOf(compensation.server.name),
        server: compensation.server.name,
        tool: compensation.tool.name,
        args,
        timeoutMs: def.timeoutMs ?? this.plan.workflow.defaults.timeoutMs,
        // Compensation runs after cancellation too: it has a signal of its own.
        signal: new AbortController().signal,
        idempotencyKey: `${this.runId}/compensate/${id}`,
        location: this.plan.file.location(compensation.tool.range.start),
      });
      if (outcome.ok) {
        await this.record({ type: 'CompensationCompleted', ...key, output: outcome.output });
        return undefined;
      }
      failedAttempts++;
      const decision = nextAttempt(def.retry, failedAttempts, outcome.error, this.env.now(), undefined, outcome.notBefore);
      if (!('at' in decision)) {
        await this.record({ type: 'CompensationFailed', ...key, error: outcome.error });
        return outcome.error;
      }
      await new Promise<void>((resolve) => this.env.timers.schedule(decision.at, resolve));
    }
  }

  private async complete(): Promise<void> {
    const durationMs = this.env.now() - this.run.startedAt;
    try {
      const outputs = (this.plan.workflow.outputs ? this.evaluate(this.plan.workflow.outputs, this.contexts()) : {}) as Record<string, unknown>;
      await this.record({ type: 'WorkflowCompleted', outputs, durationMs });
    } catch (error) {
      if (!(error instanceof ExpressionFailure)) throw error;
      await this.record({ type: 'WorkflowFailed', error: { ...error.info, message: `workflow outputs: ${error.info.message}` }, durationMs });
    }
  }

  /**
   * Journals a StepScheduled only if its call is still running a moment later: a quick call's start is written
   * with its end, in one record. Nothing waits on it (a call sent again reuses its idempotency key), so no
   * guarantee changes; only live views see a quick call's start a little late.
   */
  private holdBack(id: string, body: RunEventBody): void {
    this.held.set(id, this.env.holdBack({ runId: this.runId, body }));
  }

  /** The engine's hold-back queue released a StepScheduled of this run: its call is still going, journal its start. */
  released(body: RunEventBody): void {
    const id = callIdOf(body);
    if (id !== undefined) this.held.delete(id);
    this.env.append(this.runId, [body], 'soon').catch((error: unknown) => this.noteStoreFailure(error));
  }

  /** Makes events durable as one record (after the held-back start of their call, if any); the engine applies them. */
  private async record(...bodies: RunEventBody[]): Promise<void> {
    const id = callIdOf(bodies[0]);
    const held = id === undefined ? undefined : this.held.get(id);
    if (held) {
      this.held.delete(id!);
      if (!held.taken) {
        held.taken = true;
        bodies = [held.item.body, ...bodies];
      }
    }
    try {
      await this.env.append(this.runId, bodies);
    } catch (error) {
      this.noteStoreFailure(error);
      throw error;
    }
  }

  private noteStoreFailure(error: unknown): void {
    if (this.storeFailure) return;
    this.storeFailure = error;
    this.abort.abort();
  }
}

/** The call an event is about (`step` or `step/index`), if it is about one. */
function callIdOf(body: RunEventBody): string | undefined {
  if (!('step' in body)) return undefined;
  return 'index' in body && body.index !== undefined ? `${body.step}/${body.index}` : body.step;
}

/** A failure found while evaluating the workflow (an expression, a foreach list): the step fails with it. */
class ExpressionFailure extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message);
  }
}

/** The calls of a step: itself, or each of its elements. */
function callsOf(step: StepDetails): Array<[CallDetails, number | undefined]> {
  return step.itemDetails ? step.itemDetails.map((item) => [item, item.index] as [CallDetails, number]) : [[step, undefined]];
}
