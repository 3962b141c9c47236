import type { ErrorInfo, ErrorType, RunEvent, RunEventBody } from '../../common/events';
import { foldEvent } from '../../common/run-state';
import type { RunDetails, StepDetails } from '../../common/runs';
import type { WorkflowDefinition } from '../../common/workflow/model';
import { attemptCall, type AttemptOutcome, type BreakerGate } from '../engine/calls';
import { RunSettlement, workflowStarted, type Execution, type PreparedDefinition } from '../engine/execution';
import { callInterrupted, stepCancelled } from '../engine/interruptions';
import { nextAttempt } from '../engine/retry';
import { RunRequestError, runResult, type RunEnvironment} from '../engine/run';
import { ArmedTimers } from '../engine/timers';
import { approvalResolved, SignalClaims, signalTaken, signalTimedOut, timerFired } from '../engine/waits';
import type { ServerSpec } from '../mcp/connection';
import { errorInfo } from '../mcp/errors';
import { callPolicy, durationOption, operationOptions, signalNameProblem, stepIdProblem, type CallPolicy } from './options';
import { Sandbox, SandboxError, SiteMapper } from './sandbox';

/** Every error type, to tell a typed error a workflow throws from any other value. */
const ERROR_TYPES: Record<ErrorType, true> = {
  ToolError: true,
  Timeout: true,
  ServerStartFailed: true,
  ServerCrashed: true,
  UnknownTool: true,
  InvalidArguments: true,
  ExpressionError: true,
  ProtocolError: true,
  CircuitOpen: true,
  Interrupted: true,
  Rejected: true,
  Cancelled: true,
  NonDeterminism: true,
  InternalError: true,
};

/** A compiled workflow ready to run, with what its runs need from the host. */
export interface CodeDefinition {
  /** The path the run records (and call sites are named after). */
  filePath: string;
  /** The compiled bundle, as pinned in the store. */
  bundle: string;
  definitionHash: string;
  /** Its options as the language's model: name, inputs, servers, defaults, circuit breakers (no steps). */
  workflow: WorkflowDefinition;
  /** The servers resolved up front (the workflow's own). */
  servers: Map<string, ServerSpec>;
  /** Resolves any server the workflow may call; throws a StepFailure (UnknownTool, ServerStartFailed) when it cannot. */
  server(name: string): Promise<ServerSpec>;
  /** Where the workflow's console output goes (it is silent while the run replays). */
  log?(level: string, text: string): void;
}

/** A code-first workflow ready to run: each run executes as a CodeExecution. */
export function codeDefinition(definition: CodeDefinition): PreparedDefinition {
  return {
    name: definition.workflow.name,
    filePath: definition.filePath,
    language: 'ts',
    definitionHash: definition.definitionHash,
    source: definition.bundle,
    servers: definition.servers,
    execute: (runId, inputs, env) => new CodeExecution({ ...definition, runId, inputs }, env),
  };
}

type OpKind = 'call' | 'sleep' | 'approval' | 'signal';

/** An operation the workflow function asked for, in the order it asked (`seq` from 1). */
interface Op {
  seq: number;
  id: string;
  kind: OpKind;
  /** How the code asked for it, for messages: ctx.call('ci', 'build'). */
  label: string;
  /** `file:line:col` of the call in the workflow's source. */
  site?: string;
  handle: number;
  server?: string;
  tool?: string;
  args?: Record<string, unknown>;
  policy?: CallPolicy;
  durationMs?: number;
  message?: string;
  timeoutMs?: number;
  onTimeout?: 'approve' | 'reject';
  signalName?: string;
  /** Asked for after the run's cancellation was requested: cleanup, which the cancellation does not cut short. */
  afterCancel: boolean;
  /** Its live work has begun in this process (after replay, for operations the history has). */
  launched: boolean;
  /** Its result has been handed to the code. */
  delivered: boolean;
  abort: AbortController;
  /** Ends a wait for a retry early (cancellation, the end of the run). */
  wake?: () => void;
}

/** An operation as the history records it: from the first event of its step. */
interface RecordedOp {
  id: string;
  kind: OpKind;
  server?: string;
  tool?: string;
  name?: string;
  /** The seq of its first event. */
  seq: number;
}

interface ErrorPayload {
  type?: string;
  name?: string;
  message: string;
  stack?: string;
  step?: string;
  server?: string;
  tool?: string;
  location?: string;
}

export interface CodePlan extends CodeDefinition {
  runId: string;
  inputs: Record<string, unknown>;
}

/**
 * Executes one run of a code-first workflow by deterministic replay. The journal is the truth, as for YAML runs,
 * with the same events: each ctx operation is a step (its id given or derived from its position), its first event
 * (StepScheduled, TimerStarted, ApprovalRequested, SignalWaitStarted) written when the code asks for it, so the
 * history's steps are in the order the code asked for them. Results reach the code one at a time, in the order
 * the journal completed them, each followed by everything the code does until it waits again (the sandbox drains
 * its microtasks before a delivery returns).
 *
 * After a crash the function runs again from the start in a new sandbox: the operations the history holds are
 * matched by position against what the code asks for (a mismatch is a NonDeterminism failure at the call site),
 * their recorded results are delivered in the recorded order, with the workflow clock at each event's time, and
 * nothing is called again. Then the run goes on live: calls in flight at the crash are sent again with the same
 * idempotency key, waits pick up their deadlines.
 */
export class CodeExecution implements Execution {
  private run!: RunDetails;
  private readonly history: RecordedOp[] = [];
  private readonly recorded = new Map<string, RecordedOp>();
  private readonly ops: Op[] = [];
  private readonly opsById = new Map<string, Op>();
  /** Terminal events of steps, in journal order; those from `deliveryHead` on are not yet handed to the code. */
  private deliveries: RunEvent[] = [];
  private deliveryHead = 0;
  /** The run's steps by id (the fold's objects). */
  private readonly stepIndex = new Map<string, StepDetails>();
  /** Operations whose result the code has not been handed yet, in the order asked. */
  private readonly pendingOps = new Set<Op>();
  /** Waits (sleep, approval, signal) begun live and not finished, in the order asked: what advance() looks at. */
  private readonly openWaits = new Set<Op>();
  /** Open waits something happened to since advance() last looked (it looks at no other: a run may wait on thousands). */
  private readonly dirty = new Set<Op>();
  private readonly terminal = new Set<string>();
  private readonly busy = new Set<string>();
  private readonly armed: ArmedTimers;
  private readonly signals = new SignalClaims();
  private readonly mapper: SiteMapper;
  private sandbox?: Sandbox;
  /** The workflow clock: the time of the event the code last saw. */
  private clock = 0;
  private lastSeq = 0;
  private cancelSeq?: number;
  private started = false;
  private replaying = false;
  /** The last event of the history the run was rebuilt from (events up to it are replayed, not lived). */
  private replayEndSeq = 0;
  private outcome?: { ok: boolean; payload: string };
  private failure?: ErrorInfo;
  private closing = false;
  private settled = false;
  private ticking = false;
  private tickAgain = false;
  private tickScheduled = false;
  private storeFailure?: unknown;
  private readonly settlement = new RunSettlement();
  readonly done = this.settlement.promise;

  constructor(
    private readonly plan: CodePlan,
    private readonly env: RunEnvironment,
  ) {
    this.mapper = new SiteMapper(plan.bundle, plan.filePath);
    this.armed = new ArmedTimers(env.timers);
  }

  get runId(): string {
    return this.plan.runId;
  }

  details(): RunDetails {
    return this.run;
  }

  apply(event: RunEvent): void {
    this.run = foldEvent(this.run, event)!;
    this.lastSeq = event.seq;
    if ('step' in event && !this.stepIndex.has(event.step)) {
      const last = this.run.steps.at(-1);
      this.stepIndex.set(event.step, last?.id === event.step ? last : this.run.steps.find((s) => s.id === event.step)!);
    }
    if ('step' in event) this.touch(event.step);
    switch (event.type) {
      case 'StepScheduled':
        this.note({ id: event.step, kind: 'call', server: event.server, tool: event.tool, seq: event.seq });
        break;
      case 'TimerStarted':
        this.note({ id: event.step, kind: 'sleep', seq: event.seq });
        break;
      case 'ApprovalRequested':
        this.note({ id: event.step, kind: 'approval', seq: event.seq });
        break;
      case 'SignalWaitStarted':
        this.note({ id: event.step, kind: 'signal', name: event.name, seq: event.seq });
        break;
      case 'StepCompleted':
      case 'StepFailed':
        if (event.index === undefined && !this.terminal.has(event.step)) {
          this.terminal.add(event.step);
          this.deliveries.push(event);
          const op = this.opsById.get(event.step);
          if (op) this.openWaits.delete(op);
        }
        break;
      case 'SignalReceived':
        for (const op of this.openWaits) if (op.kind === 'signal') this.dirty.add(op);
        break;
      case 'WorkflowCancelRequested':
        this.cancelSeq = event.seq;
        if (this.started) queueMicrotask(() => this.onCancel());
        break;
      case 'WorkflowCompleted':
      case 'WorkflowFailed':
      case 'WorkflowCancelled':
        this.settle();
        return;
    }
    if (this.started) this.scheduleTick();
  }

  private note(op: RecordedOp): void {
    if (this.recorded.has(op.id)) return;
    this.history.push(op);
    this.recorded.set(op.id, op);
  }

  async begin(): Promise<void> {
    const { workflow, filePath, definitionHash, bundle, inputs } = this.plan;
    const definition = { workflow: workflow.name, filePath, definitionHash, language: 'ts' as const, source: bundle };
    // A code-first run's steps appear as it calls them.
    await this.env.append(this.runId, [workflowStarted(definition, inputs, [], this.env)]);
    this.start();
  }

  /**
   * Continues a run rebuilt from its history: calls the journal shows in flight were cut short by the engine
   * stopping; they are marked so (and sent again once the code asks for them), or cancelled when the run is.
   */
  async resume(): Promise<void> {
    if (this.run.status !== 'running') return this.settle();
    const now = this.env.now();
    const bodies: RunEventBody[] = [];
    for (const step of this.run.steps) {
      if (!step.inFlight) continue;
      const cancelled = this.run.cancelRequested !== undefined && !this.isAfterCancel(this.recorded.get(step.id)?.seq);
      bodies.push(cancelled ? stepCancelled({ step: step.id }, this.run.cancelRequested!, step.attempts, 0) : callInterrupted({ step: step.id }, step.attempts, now));
    }
    if (bodies.length > 0) await this.record(...bodies);
    this.start();
  }

  async cancel(reason: string): Promise<void> {
    this.assertRunning();
    if (this.run.cancelRequested !== undefined) return;
    await this.record({ type: 'WorkflowCancelRequested', reason });
  }

  async decide(stepId: string, approved: boolean, comment?: string): Promise<void> {
    this.assertRunning();
    const recorded = this.recorded.get(stepId);
    const step = this.stepState(stepId);
    if (!recorded || !step) {
      const waiting = this.run.steps.filter((s) => s.waiting?.approval).map((s) => s.id);
      throw new RunRequestError(`run ${this.runId} has no step '${stepId}'. ${waiting.length ? `Approvals waiting: ${waiting.join(', ')}.` : 'No approval is waiting.'}`);
    }
    if (recorded.kind !== 'approval') throw new RunRequestError(`step '${stepId}' of run ${this.runId} is not an approval.`);
    if (!step.waiting?.approval || this.busy.has(stepId) || this.closing) {
      throw new RunRequestError(`step '${stepId}' of run ${this.runId} is not waiting for approval (it is ${step.status}).`);
    }
    await this.resolveApproval(stepId, approved, 'user', comment);
  }

  async signal(name: string, payload: unknown): Promise<void> {
    this.assertRunning();
    await this.record({ type: 'SignalReceived', name, payload });
  }

  /** Never called: a code-first run writes each call's StepScheduled when the code asks (the order of first events is the order of operations), it holds none back. */
  released(): void {}

  isWaitingOnly(): boolean {
    if (this.run.status !== 'running' || !this.started || this.settled || this.closing || this.replaying) return false;
    if (this.run.cancelRequested !== undefined || this.outcome || this.ticking || this.undelivered() > 0 || this.busy.size > 0) return false;
    let waits = false;
    for (const op of this.pendingOps) {
      const step = this.stepState(op.id);
      if (!step || step.status !== 'waiting') return false;
      waits = true;
    }
    return waits;
  }

  private assertRunning(): void {
    if (this.run.status !== 'running' || this.settled) throw new RunRequestError(`run ${this.runId} has ended (${this.run.status}).`);
    if (this.closing) throw new RunRequestError(`run ${this.runId} is ending: its workflow function has returned or failed.`);
  }

  private stepState(id: string): StepDetails | undefined {
    return this.stepIndex.get(id);
  }

  /** How many terminal events wait to be handed to the code. */
  private undelivered(): number {
    return this.deliveries.length - this.deliveryHead;
  }

  /** The next terminal event to hand to the code. */
  private nextDelivery(): RunEvent | undefined {
    return this.deliveries[this.deliveryHead];
  }

  private takeDelivery(): void {
    this.deliveryHead++;
    if (this.deliveryHead > 1024 && this.deliveryHead * 2 > this.deliveries.length) {
      this.deliveries = this.deliveries.slice(this.deliveryHead);
      this.deliveryHead = 0;
    }
  }

  private isAfterCancel(firstSeq: number | undefined): boolean {
    return this.cancelSeq !== undefined && firstSeq !== undefined && firstSeq > this.cancelSeq;
  }

  /** Whether the run's cancellation applies to an operation (not to cleanup asked for after it). */
  private cancelling(op: Op): boolean {
    return this.run.cancelRequested !== undefined && !op.afterCancel;
  }

  // ---------------------------------------------------------------------------------------------------------
  // The workflow function.

  /** Loads the bundle into a fresh sandbox and runs the function from the start (replaying the history, if any). */
  private start(): void {
    this.started = true;
    this.replayEndSeq = this.lastSeq;
    this.replaying = this.history.length > 0 || this.undelivered() > 0;
    this.clock = this.run.startedAt;
    try {
      this.sandbox = new Sandbox(this.plan.bundle, {
        clock: () => this.clock,
        seed: this.runId,
        log: (level, text) => {
          if (!this.replaying) this.plan.log?.(level, text);
        },
      });
      this.sandbox.start(this.runId, this.plan.inputs, {
        invoke: (kind, payload, stack) => this.invoke(kind, payload, stack),
        settled: (ok, payload) => {
          this.outcome ??= { ok, payload };
        },
      });
    } catch (error) {
      if (!(error instanceof SandboxError)) throw error;
      this.fail({ type: 'InternalError', message: error.message, ...this.locate(error.codeStack) });
    }
    this.tick();
  }

  private locate(stack: string | undefined): { location?: string } {
    const location = this.mapper.location(stack);
    return location ? { location } : {};
  }

  /** An operation the code asks for (called from inside the sandbox): answers a handle, or an error at once. */
  private invoke(kind: string, payload: string, stack: string): string {
    const site = this.mapper.location(stack);
    const reject = (type: ErrorType, message: string): string => JSON.stringify({ error: { type, message, ...(site && { location: site }) } });
    if (this.outcome || this.closing) return reject('Cancelled', `ctx.${kind}: the run is ending; no operation starts any more.`);
    const request = JSON.parse(payload) as Record<string, unknown>;
    const seq = this.ops.length + 1;
    const built = this.buildOp(kind, request, seq, site);
    if ('error' in built) return reject('InvalidArguments', built.error);
    const op = built;
    const twin = this.opsById.get(op.id);
    if (twin) {
      return reject('InvalidArguments', `${op.label} uses the step id '${op.id}', which ${twin.label}${twin.site ? ` at ${twin.site}` : ''} already uses: step ids are unique in a run.`);
    }
    const recorded = this.history[seq - 1];
    op.afterCancel = recorded ? this.isAfterCancel(recorded.seq) : this.run.cancelRequested !== undefined;
    this.ops.push(op);
    this.pendingOps.add(op);
    this.opsById.set(op.id, op);
    if (recorded && !matches(recorded, op)) {
      this.nonDeterminism(`${op.label} does not match the run's history: its operation #${seq} there is ${describeRecorded(recorded)}.`, site);
    } else if (!this.replaying) {
      this.launch(op);
    }
    return JSON.stringify({ handle: op.handle });
  }

  private buildOp(kind: string, request: Record<string, unknown>, seq: number, site: string | undefined): Op | { error: string } {
    const base = { seq, site, handle: seq, afterCancel: false, launched: false, delivered: false, abort: new AbortController() };
    const withId = (label: string, options: Record<string, unknown>, derived: string): { id: string } | { error: string } => {
      if (options.id === undefined) return { id: derived };
      const problem = stepIdProblem(options.id);
      return problem ? { error: `${label}: ${problem}` } : { id: options.id as string };
    };
    switch (kind) {
      case 'call': {
        const { server, tool, args } = request;
        if (typeof server !== 'string' || server === '' || typeof tool !== 'string' || tool === '') {
          return { error: `ctx.call takes a server name and a tool name (strings), not ${JSON.stringify(server)} and ${JSON.stringify(tool)}.` };
        }
        const label = `ctx.call('${server}', '${tool}')`;
        if (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args))) return { error: `${label}: the tool's arguments must be an object, not ${JSON.stringify(args)}.` };
        const options = operationOptions('call', request.options);
        if ('error' in options) return { error: `${label}: ${options.error}` };
        const policy = callPolicy(options, this.plan.workflow.defaults);
        if ('error' in policy) return { error: `${label}: ${policy.error}` };
        const id = withId(label, options, `${server}.${tool}#${seq}`);
        if ('error' in id) return id;
        return { ...base, kind, label, id: id.id, server, tool, args: (args as Record<string, unknown> | undefined) ?? {}, policy };
      }
      case 'sleep': {
        const duration = durationOption(request.duration, 'ctx.sleep: the duration');
        if (typeof duration !== 'number') return duration;
        const label = `ctx.sleep(${JSON.stringify(request.duration)})`;
        const options = operationOptions('sleep', request.options);
        if ('error' in options) return { error: `${label}: ${options.error}` };
        const id = withId(label, options, `sleep#${seq}`);
        if ('error' in id) return id;
        return { ...base, kind, label, id: id.id, durationMs: duration };
      }
      case 'approval': {
        const options = operationOptions('approval', request.options);
        if ('error' in options) return { error: `ctx.approval: ${options.error}` };
        const label = `ctx.approval(${options.id === undefined ? '' : `{ id: ${JSON.stringify(options.id)} }`})`;
        if (options.message !== undefined && typeof options.message !== 'string') return { error: `${label}: 'message' must be a string.` };
        if (options.onTimeout !== undefined && options.onTimeout !== 'approve' && options.onTimeout !== 'reject') return { error: `${label}: 'onTimeout' must be 'approve' or 'reject'.` };
        let timeoutMs: number | undefined;
        if (options.timeout !== undefined) {
          const ms = durationOption(options.timeout, `${label}: 'timeout'`);
          if (typeof ms !== 'number') return ms;
          timeoutMs = ms;
        }
        const id = withId(label, options, `approval#${seq}`);
        if ('error' in id) return id;
        return {
          ...base,
          kind,
          label,
          id: id.id,
          ...(typeof options.message === 'string' && { message: options.message }),
          ...(timeoutMs !== undefined && { timeoutMs }),
          onTimeout: options.onTimeout === 'approve' ? 'approve' : 'reject',
        };
      }
      case 'signal': {
        const problem = signalNameProblem(request.name);
        if (problem) return { error: `ctx.signal: ${problem}` };
        const name = request.name as string;
        const label = `ctx.signal('${name}')`;
        const options = operationOptions('signal', request.options);
        if ('error' in options) return { error: `${label}: ${options.error}` };
        let timeoutMs: number | undefined;
        if (options.timeout !== undefined) {
          const ms = durationOption(options.timeout, `${label}: 'timeout'`);
          if (typeof ms !== 'number') return ms;
          timeoutMs = ms;
        }
        const id = withId(label, options, `signal:${name}#${seq}`);
        if ('error' in id) return id;
        return { ...base, kind, label, id: id.id, signalName: name, ...(timeoutMs !== undefined && { timeoutMs }) };
      }
      default:
        return { error: `unknown operation ctx.${kind}` };
    }
  }

  /** Hands results to the code, one at a time in journal order; ends the replay; ends the run when the code has. */
  private pump(): void {
    if (!this.started || !this.sandbox || this.settled) return;
    try {
      for (;;) {
        if (this.failure || this.closing) return;
        if (this.outcome) return this.functionSettled();
        if (this.replaying && !((this.nextDelivery()?.seq ?? Infinity) <= this.replayEndSeq)) {
          this.endReplay();
          continue;
        }
        const event = this.nextDelivery();
        if (!event || !('step' in event)) return;
        const op = this.opsById.get(event.step);
        if (!op) {
          const recorded = this.recorded.get(event.step);
          const last = this.ops.at(-1);
          this.nonDeterminism(
            `the run's history has ${recorded ? describeRecorded(recorded) : `step '${event.step}'`} ${event.type === 'StepCompleted' ? 'completing' : 'failing'} here, but the code has not asked for it${last ? ` (the last operation it asked for is ${last.label}${last.site ? ` at ${last.site}` : ''})` : ''}.`,
            last?.site,
          );
          return;
        }
        this.takeDelivery();
        this.clock = Math.max(this.clock, event.time);
        op.delivered = true;
        this.pendingOps.delete(op);
        if (event.type === 'StepCompleted') {
          const output = op.kind === 'sleep' ? undefined : event.output;
          this.sandbox.deliver(op.handle, true, output === undefined ? '' : JSON.stringify(output));
        } else if (event.type === 'StepFailed') {
          const error: ErrorInfo = { ...event.error, step: event.step, ...(event.error.location === undefined && op.site && { location: op.site }) };
          this.sandbox.deliver(op.handle, false, JSON.stringify(error));
        }
      }
    } catch (error) {
      if (!(error instanceof SandboxError)) throw error;
      this.fail({ type: 'InternalError', message: error.message, ...this.locate(error.codeStack) });
    }
  }

  /** Every recorded result has been handed over: the code must have asked for every operation the history has. */
  private endReplay(): void {
    this.replaying = false;
    const recorded = this.history.filter((h) => h.seq <= this.replayEndSeq);
    if (this.ops.length < recorded.length) {
      const missing = recorded[this.ops.length];
      const last = this.ops.at(-1);
      this.nonDeterminism(
        `the code did not ask for operation #${this.ops.length + 1} of the run's history, ${describeRecorded(missing)}${last ? `; the last operation it asked for is ${last.label}${last.site ? ` at ${last.site}` : ''}` : ''}.`,
        last?.site,
      );
      return;
    }
    for (const op of this.ops) if (!op.launched && !this.terminal.has(op.id)) this.launch(op);
  }

  /** The function returned or threw: during replay only when the history ends there too. */
  private functionSettled(): void {
    const outcome = this.outcome!;
    const thrown = outcome.ok ? undefined : (JSON.parse(outcome.payload) as ErrorPayload);
    if (this.replaying) {
      const next = this.nextDelivery();
      const pending = next && next.seq <= this.replayEndSeq ? next : undefined;
      const recorded = this.history.filter((h) => h.seq <= this.replayEndSeq);
      const ahead = pending && 'step' in pending ? this.recorded.get(pending.step) : recorded[this.ops.length];
      if (pending || this.ops.length < recorded.length) {
        const where = thrown ? (thrown.location ?? this.mapper.location(thrown.stack)) : undefined;
        this.nonDeterminism(
          `the workflow function ${outcome.ok ? 'returned' : 'threw'} on replay, but the run's history goes on${ahead ? ` with ${describeRecorded(ahead)}` : ''}.`,
          where,
        );
        return;
      }
      this.replaying = false;
    }
    const durationMs = this.env.now() - this.run.startedAt;
    if (this.run.cancelRequested !== undefined) {
      // Cancelled, however the function ended (a cancellation it let through, a return after its cleanup).
      const failed = thrown && thrown.type !== 'Cancelled' ? ` The workflow function then failed: ${thrownError(thrown).message}` : '';
      return this.finish({ type: 'WorkflowCancelled', reason: `${this.run.cancelRequested}${failed}`, durationMs });
    }
    if (outcome.ok) {
      const value = (JSON.parse(outcome.payload) as { value?: unknown }).value;
      const outputs = value === undefined ? {} : value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { result: value };
      return this.finish({ type: 'WorkflowCompleted', outputs, durationMs });
    }
    const error = thrownError(thrown!);
    const location = error.location ?? this.mapper.location(thrown!.stack);
    this.finish({ type: 'WorkflowFailed', error: { ...error, ...(location && { location }) }, durationMs });
  }

  private nonDeterminism(message: string, site: string | undefined): void {
    this.fail({ type: 'NonDeterminism', message: `${message} A workflow must ask for the same operations in the same order when it replays (its history was made by this same code: what it decides must depend only on its input and the results of ctx operations).`, ...(site && { location: site }) });
  }

  private fail(error: ErrorInfo): void {
    if (this.failure || this.closing) return;
    this.failure = error;
    this.finish({ type: 'WorkflowFailed', error, durationMs: this.env.now() - this.run.startedAt });
  }

  /** Ends the run: what the code left unfinished is cancelled, then the run's last event (one record). */
  private finish(last: RunEventBody): void {
    if (this.closing) return;
    this.stopAll();
    this.replaying = false;
    const ended = this.run.cancelRequested !== undefined ? `the run was cancelled (${this.run.cancelRequested})` : last.type === 'WorkflowFailed' ? 'the run failed' : 'the workflow function returned';
    const open = new Set<string>();
    for (const step of this.run.steps) if (!this.terminal.has(step.id)) open.add(step.id);
    for (const op of this.ops) if (op.launched && !this.terminal.has(op.id)) open.add(op.id);
    const bodies: RunEventBody[] = [...open].map((step) => ({
      type: 'StepFailed',
      step,
      attempt: this.stepState(step)?.attempts ?? 0,
      error: { type: 'Cancelled', message: `${ended} before this operation finished.` },
      durationMs: 0,
    }));
    this.work('finish', () => this.append([...bodies, last]));
  }

  /** Nothing can settle the function any more: it awaits a promise no operation will resolve. */
  private checkStuck(): void {
    if (!this.started || this.replaying || this.closing || this.outcome || this.failure || this.undelivered() > 0) return;
    if (this.pendingOps.size > 0) return;
    this.fail({
      type: 'InternalError',
      message: 'the workflow function waits for something no ctx operation will settle (a promise made outside ctx that never resolves?): it can never go on.',
      ...(this.ops.at(-1)?.site && { location: this.ops.at(-1)!.site }),
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // Live work.

  /** Begins the live work of an operation: its first event (a new one), and its call or wait. */
  private launch(op: Op): void {
    op.launched = true;
    const known = this.recorded.has(op.id);
    if (op.kind === 'call') {
      this.work(op.id, () => this.callLoop(op));
      return;
    }
    if (!this.terminal.has(op.id)) {
      this.openWaits.add(op);
      this.dirty.add(op);
    }
    if (known) return; // A wait the history has: advance() picks it up.
    const now = this.env.now();
    const first: RunEventBody =
      op.kind === 'sleep'
        ? { type: 'TimerStarted', step: op.id, fireAt: now + op.durationMs! }
        : op.kind === 'approval'
          ? { type: 'ApprovalRequested', step: op.id, ...(op.message !== undefined && { message: op.message }), ...(op.timeoutMs !== undefined && { expiresAt: now + op.timeoutMs }) }
          : { type: 'SignalWaitStarted', step: op.id, name: op.signalName!, ...(op.timeoutMs !== undefined && { expiresAt: now + op.timeoutMs }) };
    // A wait asked for once the run is being cancelled ends at once: a cancelled run does not wait for people or time.
    const bodies = this.run.cancelRequested !== undefined ? [first, stepCancelled({ step: op.id }, this.run.cancelRequested, 0, 0)] : [first];
    this.work(op.id, () => this.record(...bodies));
  }

  /** A call to its end: attempts, retries under its policy, its timeouts; each outcome journaled. */
  private async callLoop(op: Op): Promise<void> {
    const step = this.recorded.has(op.id) ? this.stepState(op.id) : undefined;
    let attempts = step?.attempts ?? 0;
    let failed = step?.failedAttempts ?? 0;
    let retryAt = step?.retryAt;
    const startedAt = step?.startedAt ?? this.env.now();
    const policy = op.policy!;
    const deadline = policy.stepTimeoutMs === undefined ? undefined : startedAt + policy.stepTimeoutMs;
    // A call sent again sends what the journal says it sent.
    const args = (step?.request?.arguments as Record<string, unknown> | undefined) ?? op.args!;
    for (;;) {
      if (retryAt !== undefined) {
        if (retryAt > this.env.now() && !this.cancelling(op)) await this.waitUntil(op, retryAt);
        retryAt = undefined;
      }
      if (this.closing) return;
      if (this.cancelling(op)) {
        await this.record(stepCancelled({ step: op.id }, this.run.cancelRequested!, attempts, this.env.now() - startedAt));
        return;
      }
      attempts++;
      const now = this.env.now();
      // Appended when the code asks (never held back: the order of first events is the order of the operations),
      // but nothing waits for it to be durable: a call sent again after a crash carries the same idempotency key.
      const scheduled = this.record({ type: 'StepScheduled', step: op.id, server: op.server!, tool: op.tool!, arguments: args, attempt: attempts }, 'soon');
      const outcome = await this.attempt(op, args, now, deadline);
      await scheduled;
      if (this.closing) return;
      const ended = this.env.now();
      const durationMs = ended - startedAt;
      if (outcome.ok) {
        await this.record({ type: 'StepCompleted', step: op.id, output: outcome.output, durationMs });
        return;
      }
      let error: ErrorInfo = outcome.error;
      if (this.cancelling(op)) {
        await this.record(stepCancelled({ step: op.id }, this.run.cancelRequested!, attempts, durationMs, error));
        return;
      }
      const decision = nextAttempt(policy.retry, failed + 1, error, ended, deadline, outcome.notBefore);
      if ('at' in decision) {
        failed++;
        await this.record({ type: 'StepAttemptFailed', step: op.id, attempt: attempts, error, retryAt: decision.at });
        retryAt = decision.at;
        continue;
      }
      if (decision.stop === 'deadline' || (deadline !== undefined && ended >= deadline)) {
        error = { ...error, type: 'Timeout', message: `${op.label} did not finish within its stepTimeout of ${policy.stepTimeoutMs}ms (attempt ${attempts}: ${error.message})` };
      }
      await this.record({ type: 'StepFailed', step: op.id, attempt: attempts, error, durationMs });
      return;
    }
  }

  private async attempt(op: Op, args: Record<string, unknown>, now: number, deadline: number | undefined): Promise<AttemptOutcome> {
    const where = { server: op.server!, tool: op.tool!, ...(op.site && { location: op.site }) };
    let spec: ServerSpec;
    try {
      spec = await this.plan.server(op.server!);
    } catch (error) {
      return { ok: false, error: { ...where, ...errorInfo(error) } };
    }
    return attemptCall({
      connection: this.env.connection(spec),
      breaker: this.breakerOf(op.server!),
      server: op.server!,
      tool: op.tool!,
      args,
      timeoutMs: Math.max(1, Math.min(op.policy!.timeoutMs, deadline === undefined ? Infinity : deadline - now)),
      signal: op.abort.signal,
      idempotencyKey: `${this.runId}/${op.id}`,
      ...(op.site && { location: op.site }),
      ...(this.env.progress && { onProgress: (p: number, total?: number, message?: string) => this.env.progress!(this.runId, op.id, undefined, p, total, message) }),
    });
  }

  private breakerOf(server: string): BreakerGate {
    const explicit = this.plan.workflow.circuitBreakers.get(server);
    return this.env.breaker(server, explicit ?? this.plan.workflow.defaults.circuitBreaker, explicit !== undefined);
  }

  /** Resolves at `at`, or earlier when woken (cancellation, the end of the run). */
  private waitUntil(op: Op, at: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const id = this.env.timers.schedule(at, () => {
        op.wake = undefined;
        resolve();
      });
      op.wake = () => {
        this.env.timers.cancel(id);
        op.wake = undefined;
        resolve();
      };
    });
  }

  /** The run's cancellation reaches the operations begun before it: calls in flight are aborted, retries stop waiting. */
  private onCancel(): void {
    for (const op of this.ops) {
      if (op.afterCancel) continue;
      op.abort.abort();
      op.wake?.();
    }
    for (const op of this.openWaits) this.dirty.add(op);
    this.tick();
  }

  /** Marks an operation's wait for advance() to look at. */
  private touch(id: string): void {
    const op = this.opsById.get(id);
    if (op && this.openWaits.has(op)) this.dirty.add(op);
  }

  /** Arms the timers of waiting operations, matches signals, ends waits the cancellation reaches. */
  private advance(): void {
    if (!this.started || this.replaying || this.closing || this.settled || this.dirty.size === 0) return;
    // In the order asked: the first of several waits for a signal takes the first signal.
    const ops = [...this.dirty].sort((a, b) => a.seq - b.seq);
    this.dirty.clear();
    for (const op of ops) {
      if (!this.openWaits.has(op) || this.terminal.has(op.id) || this.busy.has(op.id)) continue;
      const step = this.stepState(op.id);
      const waiting = step?.waiting;
      if (!step || !waiting) continue;
      if (this.cancelling(op)) {
        this.armed.disarm(op.id);
        this.work(op.id, () => this.record(stepCancelled({ step: op.id }, this.run.cancelRequested!, 0, this.env.now() - (step.startedAt ?? this.env.now()))));
        continue;
      }
      if (waiting.timer) {
        const fireAt = waiting.timer.fireAt;
        this.whenDue(op.id, fireAt, () => this.record(...timerFired(op.id, this.env.now(), this.env.now() - (step.startedAt ?? fireAt))));
      } else if (waiting.approval) {
        if (waiting.approval.expiresAt !== undefined) this.whenDue(op.id, waiting.approval.expiresAt, () => this.resolveApproval(op.id, op.onTimeout === 'approve', 'timeout'));
      } else if (waiting.signal) {
        const signal = this.signals.claim(this.run.signals, waiting.signal.name);
        if (signal) {
          this.armed.disarm(op.id);
          this.work(op.id, () => this.signals.hand(signal, () => this.record(signalTaken(op.id, signal, this.env.now() - (step.startedAt ?? this.env.now())))));
        } else if (waiting.signal.expiresAt !== undefined) {
          const expiresAt = waiting.signal.expiresAt;
          const waitedMs = expiresAt - (step.startedAt ?? expiresAt);
          const message = `${op.label} waited until its timeout of ${op.timeoutMs ?? waitedMs}ms.`;
          this.whenDue(op.id, expiresAt, () => this.record(signalTimedOut(op.id, message, waitedMs, op.site)));
        }
      }
    }
  }

  private async resolveApproval(stepId: string, approved: boolean, by: 'user' | 'timeout', comment?: string): Promise<void> {
    this.busy.add(stepId);
    try {
      const step = this.stepState(stepId);
      // A rejection is a decision too: the code gets it and decides what follows, the step does not fail.
      await this.record(...approvalResolved({ step: stepId, approved, by, comment }, this.env.now() - (step?.startedAt ?? this.env.now())));
    } finally {
      this.busy.delete(stepId);
      this.armed.disarm(stepId);
      this.touch(stepId);
      this.scheduleTick();
    }
  }

  private whenDue(id: string, at: number, fn: () => Promise<void>): void {
    if (at > this.env.now()) {
      this.armed.arm(id, at, () => {
        this.touch(id);
        this.tick();
      });
      return;
    }
    this.armed.disarm(id);
    this.work(id, fn);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Plumbing.

  private scheduleTick(): void {
    if (this.tickScheduled) return;
    this.tickScheduled = true;
    queueMicrotask(() => {
      this.tickScheduled = false;
      this.tick();
    });
  }

  /** Decides what to do next: deliveries to the code, waits to arm. Idempotent: call it after anything changes. */
  private tick(): void {
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    try {
      do {
        this.tickAgain = false;
        if (this.storeFailure) {
          if (this.busy.size === 0 && !this.settled) {
            this.settled = true;
            this.settlement.reject(this.storeFailure);
          }
          break;
        }
        this.pump();
        this.advance();
        this.checkStuck();
      } while (this.tickAgain);
    } finally {
      this.ticking = false;
    }
    this.env.changed?.(this.runId);
  }

  /** Runs a piece of work as `id` (so it is not started twice, and the run is not waiting-only meanwhile); ticks after. */
  private work(id: string, fn: () => Promise<void>): void {
    this.busy.add(id);
    void fn()
      .catch((error: unknown) => this.noteStoreFailure(error))
      .finally(() => {
        this.busy.delete(id);
        this.touch(id);
        this.tick();
      });
  }

  /** Makes events durable as one record (the engine applies them); nothing is written once the run is ending. */
  private record(...args: Array<RunEventBody | 'soon'>): Promise<void> {
    if (this.closing) return Promise.resolve();
    const soon = args.at(-1) === 'soon';
    return this.append(args.filter((a): a is RunEventBody => a !== 'soon'), soon ? 'soon' : 'now');
  }

  private async append(bodies: RunEventBody[], urgency: 'now' | 'soon' = 'now'): Promise<void> {
    try {
      await this.env.append(this.runId, bodies, urgency);
    } catch (error) {
      this.noteStoreFailure(error);
      throw error;
    }
  }

  private noteStoreFailure(error: unknown): void {
    if (this.storeFailure) return;
    this.storeFailure = error;
    this.closing = true;
    for (const op of this.ops) op.abort.abort();
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.stopAll();
    this.settlement.resolve(runResult(this.runId, this.run));
  }

  /** Stops every operation of the code: calls in flight are aborted, waits woken, timers disarmed. */
  private stopAll(): void {
    this.closing = true;
    for (const op of this.ops) {
      op.abort.abort();
      op.wake?.();
    }
    this.armed.clear();
  }
}

/** Whether the code's operation is the one the history has at its position. */
function matches(recorded: RecordedOp, op: Op): boolean {
  if (recorded.id !== op.id || recorded.kind !== op.kind) return false;
  if (op.kind === 'call') return recorded.server === op.server && recorded.tool === op.tool;
  if (op.kind === 'signal') return recorded.name === op.signalName;
  return true;
}

function describeRecorded(op: RecordedOp): string {
  const call = op.kind === 'call' ? `ctx.call('${op.server}', '${op.tool}')` : op.kind === 'signal' ? `ctx.signal('${op.name}')` : `ctx.${op.kind}`;
  return `${call} (step '${op.id}')`;
}

/** The error a run fails with when its function throws: a WorkflowError keeps its type; anything else is an InternalError. */
function thrownError(thrown: ErrorPayload): ErrorInfo {
  const typed = thrown.type !== undefined && thrown.type in ERROR_TYPES;
  const message = typed || !thrown.name || thrown.name === 'Error' ? thrown.message : `${thrown.name}: ${thrown.message}`;
  return {
    type: typed ? (thrown.type as ErrorType) : 'InternalError',
    message,
    ...(thrown.step !== undefined && { step: thrown.step }),
    ...(thrown.server !== undefined && { server: thrown.server }),
    ...(thrown.tool !== undefined && { tool: thrown.tool }),
    ...(thrown.location !== undefined && { location: thrown.location }),
  };
}
