import type { Template } from '../expressions';
import type { Range } from '../source';

/**
 * A value from the workflow file that may embed `${{ }}` expressions, kept as a tree so each part knows its range.
 * Objects and lists without expressions carry their plain value in `constant`, so evaluating them allocates nothing.
 * A template's `sourceMap` gives the document offset of each character of the string (see scalarSourceMap).
 */
export type ValueTemplate =
  | { kind: 'literal'; value: unknown; range: Range }
  | { kind: 'template'; template: Template; range: Range; sourceMap: number[] }
  | { kind: 'object'; entries: ObjectEntry[]; range: Range; constant?: { value: unknown } }
  | { kind: 'array'; items: ValueTemplate[]; range: Range; constant?: { value: unknown } };

/** One key of an object-valued template. */
export interface ObjectEntry {
  key: string;
  keyRange: Range;
  value: ValueTemplate;
}

/** A name with the range where the file writes it. */
export interface Named {
  name: string;
  range: Range;
}

export type InputType = 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'object';

/** A declared workflow input. */
export interface InputDefinition {
  name: string;
  range: Range;
  type: InputType;
  description?: string;
  default?: unknown;
  required: boolean;
  enum?: unknown[];
}

/** A server declared in the workflow's own `servers:` block, before its expressions are evaluated. */
export interface ServerDeclaration {
  name: string;
  range: Range;
  /** The declaration as written (same shape as a .vscode/mcp.json entry); string fields may hold templates. */
  definition: ValueTemplate;
}

/** What a step does: call a tool, wait for a person's approval, wait for a time, or wait for an external signal. */
export type StepKind = 'call' | 'approval' | 'wait' | 'signal';

/**
 * A step. Every kind shares id, needs, if and outputs; a `call` step names its server and tool (for the other
 * kinds `server` and `tool` have empty names) and may fan out, time out, retry and compensate.
 */
export interface StepDefinition {
  id: string;
  idRange: Range;
  range: Range;
  name?: string;
  kind: StepKind;
  server: Named;
  tool: Named;
  with?: ValueTemplate;
  needs: Named[];
  if?: ValueTemplate;
  foreach?: ValueTemplate;
  /** With foreach: how many calls at once, when the step sets it. */
  concurrency?: number;
  /** Per-attempt timeout in milliseconds (Temporal's start-to-close), when the step sets one. */
  timeoutMs?: number;
  /** Timeout of the whole step, every attempt and backoff included (Temporal's schedule-to-close). */
  stepTimeoutMs?: number;
  /** The retry policy, when the step (or the workflow's defaults) sets one; without it a call is tried once. */
  retry?: RetryPolicy;
  /** The call that undoes this step, run (in reverse order of completion) when the run fails or is cancelled. */
  compensate?: CompensationDefinition;
  approval?: ApprovalDefinition;
  wait?: WaitDefinition;
  signal?: SignalDefinition;
  outputs?: ValueTemplate;
}

/** Temporal's retry policy, in milliseconds. */
export interface RetryPolicy {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  /** 0 means unlimited, as in Temporal. */
  maximumAttempts: number;
  nonRetryableErrorTypes: string[];
}

/** Temporal's defaults for the fields a `retry:` block leaves out (maximumInterval: 100 × initialInterval). */
export const RETRY_DEFAULTS = { initialIntervalMs: 1000, backoffCoefficient: 2, maximumIntervalFactor: 100, maximumAttempts: 0 } as const;

/** A compensating call: `server` defaults to the step's own. Its expressions read `output` (the step's result), and `item`/`index` for foreach steps. */
export interface CompensationDefinition {
  server: Named;
  tool: Named;
  with?: ValueTemplate;
  range: Range;
}

/** Waits for a person to approve or reject. */
export interface ApprovalDefinition {
  message?: ValueTemplate;
  timeoutMs?: number;
  /** The decision taken when the timeout passes (default reject). */
  onTimeout: 'approve' | 'reject';
  /** On rejection, fail the step (default) or complete it with `approved: false` for later steps to test. */
  onReject: 'fail' | 'continue';
  range: Range;
}

/** Waits for a duration, or until a time (an ISO 8601 string, possibly computed). */
export interface WaitDefinition {
  durationMs?: number;
  until?: ValueTemplate;
  range: Range;
}

/** Waits for an external signal with a name; its payload becomes the step's output. */
export interface SignalDefinition {
  name: string;
  timeoutMs?: number;
  range: Range;
}

/** A circuit breaker's policy: it opens when, over the window, at least `minimumCalls` were made and the failure rate reached the threshold. */
export interface CircuitBreakerPolicy {
  /** Between 0 and 1. */
  failureRateThreshold: number;
  windowMs: number;
  minimumCalls: number;
  /** How long it stays open before letting trial calls through (half-open). */
  resetTimeoutMs: number;
  /** How many trial calls half-open lets through; all must succeed to close again. */
  halfOpenCalls: number;
}

export const CIRCUIT_BREAKER_DEFAULTS: CircuitBreakerPolicy = {
  failureRateThreshold: 0.5,
  windowMs: 60_000,
  minimumCalls: 10,
  resetTimeoutMs: 30_000,
  halfOpenCalls: 1,
};

/** Defaults for every step, and the circuit breaker of every server. */
export interface WorkflowDefaults {
  timeoutMs: number;
  stepTimeoutMs?: number;
  retry?: RetryPolicy;
  circuitBreaker: CircuitBreakerPolicy;
}

/** A parsed workflow. Every node keeps its source range, for diagnostics and the language server. */
export interface WorkflowDefinition {
  name: string;
  description?: string;
  inputs: InputDefinition[];
  servers: ServerDeclaration[];
  steps: StepDefinition[];
  outputs?: ValueTemplate;
  defaults: WorkflowDefaults;
  /** Circuit breaker policies of particular servers (any origin), by server name; the others use `defaults.circuitBreaker`. */
  circuitBreakers: Map<string, CircuitBreakerPolicy>;
}

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_CONCURRENCY = 4;
