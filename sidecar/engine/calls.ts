import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { INFRASTRUCTURE_FAILURES, type ErrorInfo } from '../../common/events';
import { checkArguments } from '../../common/workflow/tool-arguments';
import type { CallOptions } from '../mcp/connection';
import { errorInfo, StepFailure } from '../mcp/errors';
import { toolErrorMessage, toolOutput } from '../mcp/result';

/** What the engine needs of a server: its tools, and calls. The MCP pool's connections are one; tests and benchmarks bring in-process ones. */
export interface ToolConnection {
  listTools(): Promise<Tool[]>;
  callTool(tool: string, args: Record<string, unknown>, options: CallOptions): Promise<CallToolResult>;
}

/** A server's circuit breaker, as a call sees it. */
export interface BreakerGate {
  admit(): { allowed: boolean; retryAt?: number };
  record(failed: boolean): void;
}

export const IDEMPOTENCY_KEY_META = 'dev.openconductor/idempotencyKey';

/** One attempt of one call. */
export interface Attempt {
  connection: ToolConnection;
  breaker: BreakerGate;
  server: string;
  tool: string;
  args: Record<string, unknown>;
  timeoutMs: number;
  signal: AbortSignal;
  /** Sent in `_meta`: the same for every attempt of a call, so a server can tell a retry from a new call. */
  idempotencyKey: string;
  onProgress?: (progress: number, total?: number, message?: string) => void;
  /** Where the call is written, for error messages. */
  location?: string;
}

export type AttemptOutcome =
  | { ok: true; output: unknown }
  /** `notBefore`: no retry before then (an open breaker); `argumentPath`: the argument an InvalidArguments error is about. */
  | { ok: false; error: ErrorInfo; notBefore?: number; argumentPath?: string[] };

/**
 * Makes one attempt: through the server's circuit breaker, against its live tool list and the tool's inputSchema,
 * with the attempt's timeout and the run's cancellation. Never throws: every failure is an outcome with a typed error.
 */
export async function attemptCall(attempt: Attempt): Promise<AttemptOutcome> {
  const where = { server: attempt.server, tool: attempt.tool, ...(attempt.location && { location: attempt.location }) };
  const gate = attempt.breaker.admit();
  if (!gate.allowed) {
    return {
      ok: false,
      error: { type: 'CircuitOpen', message: `the circuit breaker of server '${attempt.server}' is open: calls fail at once until it lets a trial through.`, ...where },
      ...(gate.retryAt !== undefined && { notBefore: gate.retryAt }),
    };
  }
  let infrastructureFailure = false;
  try {
    const tools = await attempt.connection.listTools();
    const tool = tools.find((t) => t.name === attempt.tool);
    if (!tool) {
      throw new StepFailure('UnknownTool', `server '${attempt.server}' has no tool '${attempt.tool}'. Its tools: ${tools.map((t) => t.name).join(', ') || '(none)'}.`, where);
    }
    const problems = checkArguments({ name: tool.name, inputSchema: tool.inputSchema as Record<string, unknown> }, attempt.args, true);
    if (problems.length > 0) {
      return { ok: false, error: { type: 'InvalidArguments', message: problems.map((p) => p.message).join(' '), ...where }, argumentPath: problems[0].path };
    }
    const result = await attempt.connection.callTool(attempt.tool, attempt.args, {
      timeoutMs: attempt.timeoutMs,
      signal: attempt.signal,
      meta: { [IDEMPOTENCY_KEY_META]: attempt.idempotencyKey },
      ...(attempt.onProgress && { onProgress: attempt.onProgress }),
    });
    if (result.isError) {
      throw new StepFailure('ToolError', `tool '${attempt.tool}' on server '${attempt.server}' reported an error: ${toolErrorMessage(result)}`, where);
    }
    return { ok: true, output: toolOutput(result) };
  } catch (error) {
    const info = { ...where, ...errorInfo(error) };
    infrastructureFailure = INFRASTRUCTURE_FAILURES.includes(info.type);
    return { ok: false, error: info };
  } finally {
    attempt.breaker.record(infrastructureFailure);
  }
}
