/**
 * `openconductor/workflow`: the API of code-first workflows (`*.workflow.ts`).
 *
 * ```ts
 * import { workflow } from 'openconductor/workflow';
 *
 * export default workflow({ name: 'hello', inputs: { who: { type: 'string' } } }, async (ctx, input: { who: string }) => {
 *   const echo = await ctx.call('everything', 'echo', { message: `hello ${input.who}` });
 *   return { echo };
 * });
 * ```
 *
 * A workflow function is made durable by deterministic replay: every `ctx` operation is journaled, and after a
 * crash the function runs again from the start, each operation the journal holds returning its recorded result.
 * So the function must do its I/O through `ctx` only, and decide the same way given the same results (its clock
 * and `Math.random` are made deterministic for it).
 *
 * This module is self-contained on purpose: the engine bundles it into every workflow, where it runs inside the
 * workflow's sandbox. It must not import anything.
 */

/** A duration: `500ms`, `30s`, `5m`, `1h`, or a number of milliseconds. */
export type Duration = `${number}ms` | `${number}s` | `${number}m` | `${number}h` | number;

/** Why an operation failed: the error types of the YAML language ("Retries and timeouts"). */
export type ErrorType =
  | 'ToolError'
  | 'Timeout'
  | 'ServerStartFailed'
  | 'ServerCrashed'
  | 'UnknownTool'
  | 'InvalidArguments'
  | 'ExpressionError'
  | 'ProtocolError'
  | 'CircuitOpen'
  | 'Interrupted'
  | 'Rejected'
  | 'Cancelled'
  | 'NonDeterminism'
  | 'InternalError';

/** Temporal's retry policy, with the YAML language's names and defaults. Fields left out take Temporal's defaults. */
export interface RetryPolicy {
  /** How many attempts in all, the first included; 0 means unlimited (default 0). */
  maximumAttempts?: number;
  /** The delay before the first retry (default 1s). */
  initialInterval?: Duration;
  /** How much each delay grows over the one before; at least 1 (default 2). */
  backoffCoefficient?: number;
  /** The longest delay (default 100 × initialInterval). */
  maximumInterval?: Duration;
  /** Error types that fail the call at once. */
  nonRetryableErrorTypes?: ErrorType[];
}

/** How a call is made. Without `retry` (and without `defaults.retry`) a call is tried once. */
export interface CallOptions {
  /** The step id (unique in the run); default `<server>.<tool>#<n>`, n counting the run's operations from 1. */
  id?: string;
  /** How long one attempt may take (default 60s, or `defaults.timeout`). */
  timeout?: Duration;
  /** How long the call may take in all, retries and their delays included (default `defaults.stepTimeout`). */
  stepTimeout?: Duration;
  /** The retry policy, or `false` for none whatever `defaults.retry` says. */
  retry?: RetryPolicy | false;
}

export interface SleepOptions {
  /** The step id; default `sleep#<n>`. */
  id?: string;
}

export interface ApprovalOptions {
  /** The step id, which `openconductor approve <run> <id>` names; default `approval#<n>`. */
  id?: string;
  /** Shown to whoever decides. */
  message?: string;
  /** Without it, the approval waits until someone decides. */
  timeout?: Duration;
  /** What the timeout decides (default reject). */
  onTimeout?: 'approve' | 'reject';
}

/** A decision. A rejection is a decision too: `approval()` does not throw on it, the code decides what follows. */
export interface ApprovalDecision {
  approved: boolean;
  /** `user` when a person decided, `timeout` when the timeout did. */
  by: 'user' | 'timeout';
  comment: string | null;
}

export interface SignalOptions {
  /** The step id; default `signal:<name>#<n>`. */
  id?: string;
  /** Without it, the wait lasts for ever; when it passes, `signal()` rejects with a `Timeout` WorkflowError. */
  timeout?: Duration;
}

/** What a workflow function does its work with. Every operation is journaled and replayed. */
export interface WorkflowContext {
  /** The run's id. */
  readonly runId: string;
  /** The workflow clock (milliseconds since 1970): the time of the latest event the run has seen; `Date.now()` gives the same. */
  now(): number;
  /**
   * Calls an MCP tool; resolves with its result (the `structuredContent`, else the text parsed as JSON when it
   * parses, else the text). Rejects with a {@link WorkflowError} when the call fails for good.
   */
  call<T = unknown>(server: string, tool: string, args?: Record<string, unknown>, options?: CallOptions): Promise<T>;
  /** Waits, durably: a restart does not start the wait over. */
  sleep(duration: Duration, options?: SleepOptions): Promise<void>;
  /** Waits for a person to approve or reject (`openconductor approve|reject <run> <id>`). */
  approval(options?: ApprovalOptions): Promise<ApprovalDecision>;
  /** Waits for a signal sent to the run (`openconductor signal <run> <name> --payload …`); resolves with its payload. */
  signal<T = unknown>(name: string, options?: SignalOptions): Promise<T>;
  /**
   * Starts every function at once (in the order given, so their operations get their numbers in that order) and
   * resolves with their results, in the same order; rejects with the first failure, as `Promise.all` does.
   */
  parallel<const T extends readonly (() => unknown)[]>(fns: T): Promise<{ -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> }>;
}

export type InputType = 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'object';

/** A workflow input, as in YAML's `inputs:`. */
export interface InputDeclaration {
  /** Inferred from `default` when left out, else `string`. */
  type?: InputType;
  description?: string;
  default?: unknown;
  /** Defaults to true when there is no default. */
  required?: boolean;
  enum?: unknown[];
}

/** A local server speaking MCP over stdio, in VS Code's `.vscode/mcp.json` shape. String values may use `${{ inputs.x }}`, `${{ env.X }}` and VS Code's `${workspaceFolder}`, `${env:NAME}`, `${input:id}`. */
export interface StdioServerDeclaration {
  type?: 'stdio';
  command: string;
  args?: string[];
  /** null removes an inherited variable. */
  env?: Record<string, string | null>;
  envFile?: string;
  cwd?: string;
  startupTimeout?: Duration;
}

/** A remote server over streamable HTTP (or the legacy HTTP+SSE transport). */
export interface HttpServerDeclaration {
  type?: 'http' | 'sse';
  url: string;
  headers?: Record<string, string>;
  startupTimeout?: Duration;
}

export type ServerDeclaration = StdioServerDeclaration | HttpServerDeclaration;

/** A circuit breaker's policy ("Circuit breakers" in the workflow language). */
export interface CircuitBreakerPolicy {
  /** `50%`, or a number greater than 0 and at most 1. */
  failureRateThreshold?: number | `${number}%`;
  window?: Duration;
  minimumCalls?: number;
  resetTimeout?: Duration;
  halfOpenCalls?: number;
}

/** A workflow's declarations: the same keys as a YAML workflow's top level, without `steps` and `outputs`. */
export interface WorkflowOptions {
  name: string;
  description?: string;
  inputs?: Record<string, InputDeclaration>;
  /** Servers this workflow declares itself; others come from `.vscode/mcp.json`. */
  servers?: Record<string, ServerDeclaration>;
  defaults?: {
    timeout?: Duration;
    stepTimeout?: Duration;
    retry?: RetryPolicy;
    circuitBreaker?: CircuitBreakerPolicy;
  };
  circuitBreakers?: Record<string, CircuitBreakerPolicy>;
}

/** The function of a workflow: its return value (an object) becomes the run's outputs. */
export type WorkflowFunction<I, O> = (ctx: WorkflowContext, input: I) => Promise<O>;

/** A workflow definition: what a `*.workflow.ts` file exports by default. */
export interface Workflow<I = Record<string, unknown>, O = unknown> {
  readonly options: WorkflowOptions;
  readonly fn: WorkflowFunction<I, O>;
}

/** Where a failure happened, besides its type and message. */
export interface ErrorDetails {
  step?: string;
  server?: string;
  tool?: string;
  /** `file:line:col` in the workflow's source. */
  location?: string;
}

/**
 * A failed operation: a call that failed for good (`ToolError`, `Timeout`, …), a signal that timed out, an
 * operation cut short by the run's cancellation (`Cancelled`). Catch it to handle the failure in code; throw one
 * to fail the run with a type of your choice.
 */
export class WorkflowError extends Error {
  readonly type: ErrorType;
  readonly step?: string;
  readonly server?: string;
  readonly tool?: string;
  readonly location?: string;

  constructor(type: ErrorType, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = 'WorkflowError';
    this.type = type;
    if (details.step !== undefined) this.step = details.step;
    if (details.server !== undefined) this.server = details.server;
    if (details.tool !== undefined) this.tool = details.tool;
    if (details.location !== undefined) this.location = details.location;
  }
}

/** Whether an error is the run's cancellation reaching an operation (the moment to clean up). */
export function isCancellation(error: unknown): boolean {
  return error instanceof WorkflowError && error.type === 'Cancelled';
}

/** Declares a workflow: its options and its function. Make it the file's default export. */
export function workflow<I = Record<string, unknown>, O = unknown>(options: WorkflowOptions, fn: WorkflowFunction<I, O>): Workflow<I, O> {
  const site = new Error('workflow()').stack ?? '';
  const definition: Workflow<I, O> = { options, fn };
  const internal: Internal = {
    version: 1,
    site,
    start: (bridge) => start(bridge, fn as WorkflowFunction<unknown, unknown>),
  };
  Object.defineProperty(definition, INTERNAL, { value: internal });
  return definition;
}

// ---------------------------------------------------------------------------------------------------------------
// The engine's side. Everything below is how the engine drives a workflow function from outside its sandbox:
// operations go out as JSON through the bridge, results come back as JSON, so no object crosses between realms.

const INTERNAL = Symbol.for('openconductor.workflow');

/** What the engine gives the function's runtime (functions of the engine, wrapped in the sandbox). */
interface Bridge {
  runId: string;
  /** Asks for an operation; answers `{"handle":n}` (the result comes later, through deliver) or `{"error":…}` at once. */
  invoke(kind: string, payload: string, stack: string): string;
  /** The function settled: `{"value":…}`, or the error it threw. */
  settled(ok: boolean, payload: string): void;
}

/** What the engine drives a run with. */
interface Runtime {
  run(input: string): void;
  deliver(handle: number, ok: boolean, payload: string): void;
}

interface Internal {
  version: 1;
  /** The stack where `workflow()` was called, for diagnostics about the options. */
  site: string;
  start(bridge: Bridge): Runtime;
}

interface ErrorPayload extends ErrorDetails {
  type?: string;
  name?: string;
  message: string;
  stack?: string;
}

function start(bridge: Bridge, fn: WorkflowFunction<unknown, unknown>): Runtime {
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();

  const operation = <T>(kind: string, request: Record<string, unknown>): Promise<T> => {
    const stack = new Error(kind).stack ?? '';
    let payload: string;
    try {
      payload = JSON.stringify(request);
    } catch (error) {
      return Promise.reject(new WorkflowError('InvalidArguments', `the arguments of ctx.${kind} are not JSON: ${(error as Error).message}`));
    }
    const answer = JSON.parse(bridge.invoke(kind, payload, stack)) as { handle: number } | { error: ErrorPayload };
    if ('error' in answer) return Promise.reject(toError(answer.error));
    return new Promise<T>((resolve, reject) => {
      pending.set(answer.handle, { resolve: resolve as (value: unknown) => void, reject });
    });
  };

  const ctx: WorkflowContext = {
    runId: bridge.runId,
    now: () => Date.now(),
    call: <T>(server: string, tool: string, args?: Record<string, unknown>, options?: CallOptions) => operation<T>('call', { server, tool, args, options }),
    sleep: (duration: Duration, options?: SleepOptions) => operation<void>('sleep', { duration, options }),
    approval: (options?: ApprovalOptions) => operation<ApprovalDecision>('approval', { options }),
    signal: <T>(name: string, options?: SignalOptions) => operation<T>('signal', { name, options }),
    parallel: ((fns: ReadonlyArray<() => unknown>) => {
      if (!Array.isArray(fns) || fns.some((f) => typeof f !== 'function')) {
        return Promise.reject(new WorkflowError('InvalidArguments', 'ctx.parallel takes a list of functions: ctx.parallel([() => ctx.call(…), () => ctx.call(…)])'));
      }
      return Promise.all(
        fns.map((f) => {
          try {
            return f();
          } catch (error) {
            return Promise.reject(error);
          }
        }),
      );
    }) as WorkflowContext['parallel'],
  };
  Object.freeze(ctx);

  return {
    run(input: string): void {
      Promise.resolve()
        .then(() => fn(ctx, JSON.parse(input)))
        .then(
          (value) => {
            let payload: string;
            try {
              payload = JSON.stringify({ value });
            } catch (error) {
              bridge.settled(false, JSON.stringify({ type: 'InternalError', message: `the workflow's return value is not JSON: ${(error as Error).message}` }));
              return;
            }
            bridge.settled(true, payload);
          },
          (error: unknown) => bridge.settled(false, JSON.stringify(describeThrown(error))),
        );
    },
    deliver(handle: number, ok: boolean, payload: string): void {
      const waiter = pending.get(handle);
      if (!waiter) return;
      pending.delete(handle);
      if (ok) waiter.resolve(payload === '' ? undefined : JSON.parse(payload));
      else waiter.reject(toError(JSON.parse(payload) as ErrorPayload));
    },
  };
}

function toError(info: ErrorPayload): WorkflowError {
  const { type, message, ...details } = info;
  return new WorkflowError((type ?? 'InternalError') as ErrorType, message, details);
}

function describeThrown(error: unknown): ErrorPayload {
  if (error instanceof WorkflowError) {
    return {
      type: error.type,
      message: error.message,
      ...(error.step !== undefined && { step: error.step }),
      ...(error.server !== undefined && { server: error.server }),
      ...(error.tool !== undefined && { tool: error.tool }),
      ...(error.location !== undefined && { location: error.location }),
      ...(error.stack !== undefined && { stack: error.stack }),
    };
  }
  if (error instanceof Error) return { name: error.name, message: error.message, ...(error.stack !== undefined && { stack: error.stack }) };
  let text: string;
  try {
    text = typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
  } catch {
    text = String(error);
  }
  return { message: `the workflow threw ${text}` };
}
