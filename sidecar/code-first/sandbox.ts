import { createHash } from 'node:crypto';
import { SourceMap } from 'node:module';
import * as path from 'node:path';
import { formatWithOptions } from 'node:util';
import * as vm from 'node:vm';

/** The name the bundle runs under in the sandbox: how its frames are told apart in stack traces. */
export const BUNDLE_FILENAME = 'openconductor-workflow-bundle.js';
/** The variable the IIFE bundle assigns its exports to. */
export const GLOBAL_NAME = '__openconductor_workflow__';
/** The runtime module's name in the bundle's source map (esbuild namespace:path): its frames are never call sites. */
export const RUNTIME_SOURCE = 'openconductor:workflow';
/** The key of the runtime's internals on a workflow definition (see workflow.ts). */
const INTERNAL = Symbol.for('openconductor.workflow');

/** How long the workflow code may run before it awaits (module loading, or one activation with its microtasks). */
export const DEFAULT_ACTIVATION_TIMEOUT_MS = 10_000;

/** What the engine answers the workflow's runtime through (see Bridge in workflow.ts). */
export interface HostBridge {
  invoke(kind: string, payload: string, stack: string): string;
  settled(ok: boolean, payload: string): void;
}

export interface SandboxOptions {
  /** The workflow clock: what `Date.now()` and `new Date()` give. */
  clock(): number;
  /** Seeds `Math.random` (the run id, so a replay draws the same numbers). */
  seed: string;
  /** Where `console.*` goes; nowhere when left out. */
  log?(level: string, text: string): void;
  timeoutMs?: number;
}

/** The workflow code threw, or ran out of time, outside of any operation (while loading, say). */
export class SandboxError extends Error {
  override name = 'SandboxError';
  constructor(
    message: string,
    /** The stack of what the code threw, to map to its source. */
    readonly codeStack?: string,
  ) {
    super(message);
  }
}

/** Set up inside the sandbox: deterministic globals, and the wrappers through which the engine's functions are reached. */
const SETUP = `(function (hostClock, hostLog, a, b, c, d) {
  'use strict';
  const OriginalDate = Date;
  const now = () => hostClock();
  function WorkflowDate(...args) {
    if (!new.target) return new OriginalDate(now()).toString();
    return args.length === 0 ? Reflect.construct(OriginalDate, [now()], new.target) : Reflect.construct(OriginalDate, args, new.target);
  }
  Object.setPrototypeOf(WorkflowDate, OriginalDate);
  WorkflowDate.prototype = OriginalDate.prototype;
  WorkflowDate.now = now;
  Object.defineProperty(OriginalDate.prototype, 'constructor', { value: WorkflowDate, writable: true, configurable: true });
  globalThis.Date = WorkflowDate;
  // sfc32, seeded by the run id: the same numbers in the same order on every replay.
  Math.random = function random() {
    a |= 0; b |= 0; c |= 0; d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  const consoleObject = {};
  for (const level of ['log', 'info', 'warn', 'error', 'debug', 'trace']) consoleObject[level] = (...args) => hostLog(level, args);
  globalThis.console = consoleObject;
  // Garbage collection and WebAssembly compilation finish on their own time: not deterministic.
  delete globalThis.WeakRef;
  delete globalThis.FinalizationRegistry;
  delete globalThis.WebAssembly;
  Error.stackTraceLimit = 50;
  // Stacks in V8's format, made here: the engine reads call sites from them, and so they never go through a
  // process-wide source-map hook (costly, and it would rewrite the bundle's positions).
  Error.prepareStackTrace = (error, frames) => {
    let text;
    try { text = String(error); } catch { text = 'Error'; }
    for (const frame of frames) {
      const where = (frame.getFileName() || '<anonymous>') + ':' + frame.getLineNumber() + ':' + frame.getColumnNumber();
      const name = frame.getFunctionName();
      text += '\\n    at ' + (frame.isAsync() ? 'async ' : '') + (name ? name + ' (' + where + ')' : where);
    }
    return text;
  };
  return (hostInvoke, hostSettled, runId) => ({
    runId,
    invoke: (kind, payload, stack) => hostInvoke(String(kind), String(payload), String(stack)),
    settled: (ok, payload) => hostSettled(ok === true, String(payload)),
  });
})`;

const setupScript = new vm.Script(SETUP, { filename: 'openconductor-sandbox-setup.js' });
const runScript = new vm.Script('globalThis.__openconductor_runtime__.run(globalThis.__openconductor_a__)', { filename: 'openconductor-entry.js' });
const deliverScript = new vm.Script(
  'globalThis.__openconductor_runtime__.deliver(globalThis.__openconductor_a__, globalThis.__openconductor_b__, globalThis.__openconductor_c__)',
  { filename: 'openconductor-entry.js' },
);

interface Internal {
  version: number;
  site: string;
  start(bridge: unknown): unknown;
}

/**
 * A workflow bundle loaded into its own V8 context (node:vm): no `require`, `process`, timers or `fetch`; `Date`
 * and `Math.random` deterministic; the context's microtasks drained at the end of every call into it, so that when
 * a call returns, the workflow code has done everything it can until its next operation completes.
 *
 * node:vm is not a security boundary: this keeps honest code deterministic, it does not contain hostile code.
 * Only strings and numbers cross between the realms; the engine's functions are reached through closures made
 * inside the sandbox.
 */
export class Sandbox {
  private readonly context: vm.Context;
  private readonly makeBridge: (invoke: HostBridge['invoke'], settled: HostBridge['settled'], runId: string) => unknown;
  private readonly timeoutMs: number;
  private started = false;
  /** The bundle's default export: a workflow definition, if workflow() made it. */
  readonly exported: unknown;

  constructor(bundle: string, options: SandboxOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_ACTIVATION_TIMEOUT_MS;
    this.context = vm.createContext({}, { name: 'openconductor workflow', codeGeneration: { strings: true, wasm: false }, microtaskMode: 'afterEvaluate' });
    const seed = createHash('sha256').update(options.seed).digest();
    const log = (level: string, args: unknown[]): void => {
      try {
        options.log?.(level, formatWithOptions({ colors: false, depth: 4 }, ...args));
      } catch {
        // A console call never fails the workflow.
      }
    };
    const clock = (): number => options.clock();
    const setup = setupScript.runInContext(this.context) as (...args: unknown[]) => typeof this.makeBridge;
    this.makeBridge = setup(clock, log, seed.readInt32LE(0), seed.readInt32LE(4), seed.readInt32LE(8), seed.readInt32LE(12));
    let script: vm.Script;
    try {
      script = new vm.Script(bundle, { filename: BUNDLE_FILENAME });
    } catch (error) {
      throw new SandboxError(`the workflow bundle does not compile: ${(error as Error).message}`);
    }
    this.guard(() => script.runInContext(this.context, { timeout: this.timeoutMs }), 'while the workflow module loaded');
    const exports = (this.context as Record<string, unknown>)[GLOBAL_NAME] as Record<string, unknown> | undefined;
    this.exported = exports?.default;
  }

  /** The runtime's internals of the default export, when it is a workflow() definition. */
  private internal(): Internal | undefined {
    const exported = this.exported as Record<PropertyKey, unknown> | null | undefined;
    if (exported === null || (typeof exported !== 'object' && typeof exported !== 'function')) return undefined;
    const internal = exported[INTERNAL] as Internal | undefined;
    return internal && typeof internal.start === 'function' ? internal : undefined;
  }

  /** Whether the default export was made by workflow(). */
  get isWorkflow(): boolean {
    return this.internal() !== undefined;
  }

  /** Where workflow() was called: its stack. */
  get definitionSite(): string {
    return this.internal()?.site ?? '';
  }

  /** The workflow's options as JSON (functions and undefined values dropped, as JSON does). */
  optionsJson(): string {
    const exported = this.exported as { options?: unknown };
    try {
      return JSON.stringify(exported.options ?? null) ?? 'null';
    } catch (error) {
      throw new SandboxError(`the workflow's options are not JSON: ${(error as Error).message}`);
    }
  }

  /** Starts the workflow function with its input; from here on the runtime calls `bridge` for every operation. */
  start(runId: string, input: unknown, bridge: HostBridge): void {
    const internal = this.internal();
    if (!internal) throw new SandboxError('the default export is not a workflow() definition');
    if (this.started) throw new Error('the workflow was started already');
    this.started = true;
    const invoke = (kind: string, payload: string, stack: string): string => {
      try {
        return bridge.invoke(kind, payload, stack);
      } catch (error) {
        return JSON.stringify({ error: { type: 'InternalError', message: `the engine failed on ctx.${kind}: ${(error as Error).message}` } });
      }
    };
    const settled = (ok: boolean, payload: string): void => {
      try {
        bridge.settled(ok, payload);
      } catch {
        // The engine's own failure: it notes it itself.
      }
    };
    const runtime = internal.start(this.makeBridge(invoke, settled, runId));
    this.set({ __openconductor_runtime__: runtime, __openconductor_a__: JSON.stringify(input ?? {}) });
    this.guard(() => runScript.runInContext(this.context, { timeout: this.timeoutMs }), 'while the workflow function ran');
  }

  /** Settles the promise of operation `handle`; the code that awaited it runs before this returns. */
  deliver(handle: number, ok: boolean, payload: string): void {
    this.set({ __openconductor_a__: handle, __openconductor_b__: ok, __openconductor_c__: payload });
    this.guard(() => deliverScript.runInContext(this.context, { timeout: this.timeoutMs }), 'while the workflow function ran');
  }

  private set(values: Record<string, unknown>): void {
    Object.assign(this.context, values);
  }

  private guard(fn: () => unknown, when: string): void {
    try {
      fn();
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
        throw new SandboxError(`the workflow code ran for more than ${this.timeoutMs / 1000}s without waiting for an operation ${when} (an endless loop?)`);
      }
      const stack = typeof (error as { stack?: unknown })?.stack === 'string' ? (error as { stack: string }).stack : undefined;
      const message = error instanceof Object && 'message' in error ? `${String((error as { name?: unknown }).name ?? 'Error')}: ${String((error as { message: unknown }).message)}` : String(error);
      throw new SandboxError(`the workflow code threw ${when}: ${message}`, stack);
    }
  }
}

/** A position in a source of the bundle: `source` as the bundle's source map names it (relative to the workflow's folder). */
export interface SourcePosition {
  source: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

/**
 * Maps stack frames of the bundle back to the workflow's sources through the bundle's inline source map, to name
 * the call site of an operation (the first frame that is not the runtime's) as `file:line:col`.
 */
export class SiteMapper {
  private map: SourceMap | null | undefined;

  /** `workflowFile`: the workflow's path as the run records it; sources are relative to its folder. */
  constructor(
    private readonly bundle: string,
    private readonly workflowFile: string,
  ) {}

  /** The first frame of a stack in the workflow's own code. */
  position(stack: string | undefined): SourcePosition | undefined {
    if (!stack) return undefined;
    const map = this.sourceMap();
    if (!map) return undefined;
    for (const line of stack.split('\n')) {
      const at = line.lastIndexOf(`${BUNDLE_FILENAME}:`);
      if (at < 0) continue;
      const match = /^(\d+):(\d+)/.exec(line.slice(at + BUNDLE_FILENAME.length + 1));
      if (!match) continue;
      const entry = map.findEntry(Number(match[1]) - 1, Number(match[2]) - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number };
      if (!entry.originalSource || entry.originalSource.startsWith(RUNTIME_SOURCE) || entry.originalLine === undefined) continue;
      return { source: entry.originalSource, line: entry.originalLine + 1, column: (entry.originalColumn ?? 0) + 1 };
    }
    return undefined;
  }

  /** `file:line:col` of the first frame of a stack in the workflow's own code. */
  location(stack: string | undefined): string | undefined {
    const position = this.position(stack);
    return position && `${this.displayPath(position.source)}:${position.line}:${position.column}`;
  }

  /** The text of a source as the bundle embeds it (what the run executes, whatever became of the file since). */
  sourceContent(source: string): string | undefined {
    const payload = this.sourceMap()?.payload as { sources?: string[]; sourcesContent?: Array<string | null> } | undefined;
    const index = payload?.sources?.indexOf(source) ?? -1;
    return index < 0 ? undefined : (payload?.sourcesContent?.[index] ?? undefined);
  }

  /** A source of the map as a path shown to people: beside the workflow file as the run records it. */
  displayPath(source: string): string {
    return path.join(path.dirname(this.workflowFile), source);
  }

  private sourceMap(): SourceMap | undefined {
    if (this.map === undefined) {
      const match = /\/\/# sourceMappingURL=data:application\/json;(?:charset=utf-8;)?base64,([A-Za-z0-9+/=]+)\s*$/.exec(this.bundle);
      try {
        this.map = match ? new SourceMap(JSON.parse(Buffer.from(match[1], 'base64').toString('utf8'))) : null;
      } catch {
        this.map = null;
      }
    }
    return this.map ?? undefined;
  }
}
