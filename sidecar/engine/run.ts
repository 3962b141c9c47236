import { setMaxListeners } from 'node:events';
import type { ErrorInfo, RunEvent, RunEventBody, RunStatus, StepStatus } from '../../common/events';
import { isTruthy } from '../../common/expressions';
import { describeValue } from '../../common/words';
import type { SourceFile } from '../../common/source';
import { EvaluationError, evaluateValue } from '../../common/workflow/evaluate';
import { stepDependencies } from '../../common/workflow/graph';
import { rangeAtPath } from '../../common/workflow/template-walk';
import { DEFAULT_CONCURRENCY, type StepDefinition, type ValueTemplate, type WorkflowDefinition } from '../../common/workflow/model';
import { checkArguments } from '../../common/workflow/tool-arguments';
import type { CallOptions, ServerConnection, ServerSpec } from '../mcp/connection';
import { errorInfo, StepFailure } from '../mcp/errors';
import { toolErrorMessage, toolOutput } from '../mcp/result';

/** What a run needs from the engine around it. */
export interface RunEnvironment {
  append(runId: string, body: RunEventBody, urgency?: 'now' | 'soon'): Promise<RunEvent>;
  /** Appends consecutive events of a run as one record, durable together. */
  appendAll(runId: string, bodies: RunEventBody[]): Promise<RunEvent[]>;
  /** Whether the store already holds this definition's source, so WorkflowStarted can name it by hash. */
  knowsDefinition(hash: string): boolean;
  connection(spec: ServerSpec): ServerConnection;
  /** Progress a tool reports during a call: shown live, never journaled. */
  progress?(runId: string, step: string, index: number | undefined, progress: number, total?: number, message?: string): void;
  env: Readonly<Record<string, string | undefined>>;
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
}

/** How a run ended. */
export interface RunResult {
  runId: string;
  status: RunStatus;
  outputs?: Record<string, unknown>;
  error?: ErrorInfo;
}

interface StepContext {
  output: unknown;
  outputs: Record<string, unknown> | null;
  status: StepStatus;
}

export const IDEMPOTENCY_KEY_META = 'dev.openconductor/idempotencyKey';

/**
 * Executes one run: starts every step whose dependencies have finished, records each transition in the journal,
 * and lets a step see another's result only once that result is durable.
 */
export class RunExecution {
  private readonly steps: Map<string, StepDefinition>;
  private readonly stepsContext: Record<string, StepContext> = {};
  /** How many unfinished steps each pending step still waits for; at zero it is ready. */
  private readonly waitingOn = new Map<string, number>();
  private readonly dependents = new Map<string, string[]>();
  private readonly ready: StepDefinition[] = [];
  /** StepScheduled events held back while their calls are quick, by call. */
  private readonly unannounced = new Map<string, { body: RunEventBody; timer: NodeJS.Timeout }>();
  private readonly abort = new AbortController();
  private readonly startedAt = Date.now();
  private active = 0;
  private failure?: ErrorInfo;
  private cancelReason?: string;
  private finished = false;
  private storeFailure?: unknown;
  private resolveDone!: (result: RunResult) => void;
  private rejectDone!: (error: unknown) => void;
  /** Settles when the run has ended and its last event is durable. */
  readonly done = new Promise<RunResult>((resolve, reject) => {
    this.resolveDone = resolve;
    this.rejectDone = reject;
  });

  constructor(
    private readonly plan: RunPlan,
    private readonly env: RunEnvironment,
  ) {
    this.steps = new Map(plan.workflow.steps.map((s) => [s.id, s]));
    const deps = stepDependencies(plan.workflow);
    for (const step of plan.workflow.steps) {
      const needs = [...new Set((deps.get(step.id) ?? []).map((d) => d.step))];
      this.waitingOn.set(step.id, needs.length);
      for (const need of needs) this.dependents.set(need, [...(this.dependents.get(need) ?? []), step.id]);
      if (needs.length === 0) this.ready.push(step);
    }
    // Every call in flight listens to the run's signal; a wide fan-out is not a leak.
    setMaxListeners(0, this.abort.signal);
  }

  get runId(): string {
    return this.plan.runId;
  }

  /** Records WorkflowStarted; once it is durable the run exists and its steps begin. */
  async begin(): Promise<void> {
    await this.env.append(this.runId, {
      type: 'WorkflowStarted',
      workflow: this.plan.workflow.name,
      file: this.plan.filePath,
      definitionHash: this.plan.definitionHash,
      ...(!this.env.knowsDefinition(this.plan.definitionHash) && { source: this.plan.file.text }),
      inputs: this.plan.inputs,
      steps: this.plan.workflow.steps.map((s) => s.id),
    });
    this.schedule();
  }

  /** Cancels the run: calls in flight are cancelled, no step starts, and the run ends as cancelled. */
  cancel(reason: string): void {
    if (this.finished || this.cancelReason) return;
    this.cancelReason = reason;
    this.abort.abort();
    this.schedule();
  }

  private contexts(extra?: Record<string, unknown>): Record<string, unknown> {
    return {
      inputs: this.plan.inputs,
      steps: this.stepsContext,
      env: this.env.env,
      run: { id: this.runId, workflow: this.plan.workflow.name },
      ...extra,
    };
  }

  private schedule(): void {
    if (this.finished) return;
    if (!this.failure && !this.cancelReason && !this.storeFailure) {
      for (const step of this.ready.splice(0)) {
        this.active++;
        void this.runStep(step).finally(() => {
          this.active--;
          this.schedule();
        });
      }
    }
    if (this.active === 0) void this.finish();
  }

  private async runStep(step: StepDefinition): Promise<void> {
    const started = Date.now();
    try {
      if (step.if && !isTruthy(evaluateValue(step.if, this.contexts()))) {
        await this.record({ type: 'StepSkipped', step: step.id, reason: 'its if condition was false' });
        this.finishStep(step, 'skipped', null, null);
        return;
      }
      if (step.foreach) {
        await this.runForeach(step, started);
        return;
      }
      const output = await this.call(step, undefined, this.contexts());
      const outputs = this.stepOutputs(step, output);
      await this.record({ type: 'StepCompleted', step: step.id, output, ...(outputs && { outputs }), durationMs: Date.now() - started });
      this.finishStep(step, 'completed', output, outputs ?? null);
    } catch (error) {
      await this.stepFailed(step, undefined, error, started);
    }
  }

  private async runForeach(step: StepDefinition, started: number): Promise<void> {
    const list = evaluateValue(step.foreach!, this.contexts());
    if (!Array.isArray(list)) {
      throw new StepFailure('ExpressionError', `foreach of step '${step.id}' gave ${describeValue(list, 'yaml')}, not a list.`, { location: this.location(step.foreach!) });
    }
    await this.record({ type: 'StepFannedOut', step: step.id, count: list.length });
    const outputs: unknown[] = new Array(list.length);
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (next < list.length && !failed && !this.cancelReason && !this.storeFailure) {
        const index = next++;
        const itemStarted = Date.now();
        try {
          outputs[index] = await this.call(step, index, this.contexts({ item: list[index], index }));
        } catch (error) {
          failed = true;
          await this.stepFailed(step, index, error, itemStarted);
        }
      }
    };
    const workers = Math.min(step.concurrency ?? DEFAULT_CONCURRENCY, list.length);
    await Promise.all(Array.from({ length: workers }, worker));
    if (failed || this.cancelReason || this.storeFailure) {
      if (!failed && this.cancelReason) await this.stepFailed(step, undefined, new StepFailure('Cancelled', `step '${step.id}' was cancelled: ${this.cancelReason}.`), started);
      return;
    }
    const stepOutputs = this.stepOutputs(step, outputs);
    await this.record({ type: 'StepCompleted', step: step.id, ...(stepOutputs && { outputs: stepOutputs }), durationMs: Date.now() - started });
    this.finishStep(step, 'completed', outputs, stepOutputs ?? null);
  }

  /** One tool call: arguments evaluated and checked against the live tool list, then the call, then its durable result. */
  private async call(step: StepDefinition, index: number | undefined, contexts: Record<string, unknown>): Promise<unknown> {
    const args = (step.with ? evaluateValue(step.with, contexts) : {}) as Record<string, unknown>;
    const server = this.plan.servers.get(step.server.name);
    const details = (): { server: string; tool: string; location: string } => ({ server: step.server.name, tool: step.tool.name, location: this.plan.file.location(step.tool.range.start) });
    if (!server) throw new StepFailure('InternalError', `server '${step.server.name}' was not resolved.`, details());
    const key = index === undefined ? { step: step.id } : { step: step.id, index };
    const started = Date.now();
    this.announceSoon({ type: 'StepScheduled', ...key, server: step.server.name, tool: step.tool.name, arguments: args, attempt: 1 });
    const connection = this.env.connection(server);
    const tools = await connection.listTools();
    const tool = tools.find((t) => t.name === step.tool.name);
    if (!tool) {
      throw new StepFailure('UnknownTool', `server '${step.server.name}' has no tool '${step.tool.name}'. Its tools: ${tools.map((t) => t.name).join(', ') || '(none)'}.`, details());
    }
    const problems = checkArguments(tool, args, true);
    if (problems.length > 0) {
      const at = step.with && rangeAtPath(step.with, problems[0].path);
      throw new StepFailure('InvalidArguments', problems.map((p) => p.message).join(' '), { ...details(), ...(at && { location: this.plan.file.location(at.start) }) });
    }
    const options: CallOptions = {
      timeoutMs: step.timeoutMs ?? this.plan.workflow.defaults.timeoutMs,
      signal: this.abort.signal,
      meta: { [IDEMPOTENCY_KEY_META]: `${this.runId}/${step.id}${index === undefined ? '' : `/${index}`}` },
      ...(this.env.progress && { onProgress: (p: number, total?: number, message?: string) => this.env.progress!(this.runId, step.id, index, p, total, message) }),
    };
    const result = await connection.callTool(step.tool.name, args, options);
    if (result.isError) {
      throw new StepFailure('ToolError', `tool '${step.tool.name}' on server '${step.server.name}' reported an error: ${toolErrorMessage(result)}`, details());
    }
    const output = toolOutput(result);
    if (index !== undefined) await this.record({ type: 'StepCompleted', ...key, output, durationMs: Date.now() - started });
    return output;
  }

  private stepOutputs(step: StepDefinition, output: unknown): Record<string, unknown> | undefined {
    if (!step.outputs) return undefined;
    return evaluateValue(step.outputs, this.contexts({ output })) as Record<string, unknown>;
  }

  private finishStep(step: StepDefinition, status: StepStatus, output: unknown, outputs: Record<string, unknown> | null): void {
    this.stepsContext[step.id] = { output, outputs, status };
    for (const dependent of this.dependents.get(step.id) ?? []) {
      const left = this.waitingOn.get(dependent)! - 1;
      this.waitingOn.set(dependent, left);
      if (left === 0) this.ready.push(this.steps.get(dependent)!);
    }
  }

  private async stepFailed(step: StepDefinition, index: number | undefined, error: unknown, started: number): Promise<void> {
    if (error === this.storeFailure) return;
    let info = errorInfo(error);
    if (this.cancelReason && info.type !== 'Cancelled') info = { ...info, type: 'Cancelled', message: `cancelled: ${this.cancelReason}` };
    if (error instanceof EvaluationError) info = { type: 'ExpressionError', message: error.message, location: this.plan.file.location(error.range.start) };
    if (!this.failure && info.type !== 'Cancelled') this.failure = { ...info, step: step.id };
    try {
      await this.record({ type: 'StepFailed', step: step.id, ...(index !== undefined && { index }), error: info, attempt: 1, durationMs: Date.now() - started });
    } catch {
      // record() has noted the store failure; the run ends with it.
    }
  }

  private async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    if (this.storeFailure) return this.rejectDone(this.storeFailure);
    const durationMs = Date.now() - this.startedAt;
    let result: RunResult;
    try {
      if (this.cancelReason) {
        await this.record({ type: 'WorkflowCancelled', reason: this.cancelReason, durationMs });
        result = { runId: this.runId, status: 'cancelled', error: { type: 'Cancelled', message: this.cancelReason } };
      } else if (this.failure) {
        await this.record({ type: 'WorkflowFailed', error: this.failure, durationMs });
        result = { runId: this.runId, status: 'failed', error: this.failure };
      } else {
        let outputs: Record<string, unknown>;
        try {
          outputs = (this.plan.workflow.outputs ? evaluateValue(this.plan.workflow.outputs, this.contexts()) : {}) as Record<string, unknown>;
        } catch (error) {
          const info = error instanceof EvaluationError ? { type: 'ExpressionError' as const, message: `workflow outputs: ${error.message}`, location: this.plan.file.location(error.range.start) } : errorInfo(error);
          await this.record({ type: 'WorkflowFailed', error: info, durationMs });
          return this.resolveDone({ runId: this.runId, status: 'failed', error: info });
        }
        await this.record({ type: 'WorkflowCompleted', outputs, durationMs });
        result = { runId: this.runId, status: 'completed', outputs };
      }
    } catch (error) {
      return this.rejectDone(error);
    }
    this.resolveDone(result);
  }

  private location(value: ValueTemplate | undefined): string | undefined {
    return value ? this.plan.file.location(value.range.start) : undefined;
  }

  /**
   * Journals a StepScheduled only if its call is still running a moment later: a quick call's start is written
   * with its end, in one record. Nothing waits on it (a retried call reuses its idempotency key), so no
   * guarantee changes; only live views see a quick call's start a little late.
   */
  private announceSoon(body: Extract<RunEventBody, { type: 'StepScheduled' }>): void {
    const id = callId(body);
    const timer = setTimeout(() => {
      this.unannounced.delete(id);
      this.recordLater(body);
    }, ANNOUNCE_AFTER_MS);
    this.unannounced.set(id, { body, timer });
  }

  /** Appends an event (after its call's StepScheduled, if that is still held back) and waits until it is durable; a store failure ends the run. */
  private async record(body: RunEventBody): Promise<void> {
    const id = 'step' in body ? callId(body) : undefined;
    const held = id === undefined ? undefined : this.unannounced.get(id);
    try {
      if (held) {
        clearTimeout(held.timer);
        this.unannounced.delete(id!);
        await this.env.appendAll(this.runId, [held.body, body]);
      } else {
        await this.env.append(this.runId, body);
      }
    } catch (error) {
      this.noteStoreFailure(error);
      throw error;
    }
  }

  /** Appends an event nothing waits on: the journal keeps order, and it shares the next event's fdatasync. */
  private recordLater(body: RunEventBody): void {
    this.env.append(this.runId, body, 'soon').catch((error: unknown) => this.noteStoreFailure(error));
  }

  private noteStoreFailure(error: unknown): void {
    if (this.storeFailure) return;
    this.storeFailure = error;
    this.abort.abort();
  }
}

/** How long a call may run before its StepScheduled is journaled on its own. */
const ANNOUNCE_AFTER_MS = 50;

/** The call an event is about: its step, and its element for a foreach call. */
function callId(event: { step: string; index?: number }): string {
  return event.index === undefined ? event.step : `${event.step}/${event.index}`;
}
