import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseEnv } from 'node:util';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ServerDefinition, StdioServerDefinition } from '../../common/servers';
import { formatDuration } from '../../common/workflow/duration';
import { StepFailure } from './errors';
import { loadMcpSdk, mcpSdk } from './sdk';
import { NonProtocolOutputError, StdioTransport } from './stdio-transport';

/** A server to connect to: its name, its definition, and where it was defined (for messages). */
export interface ServerSpec {
  name: string;
  definition: ServerDefinition;
  origin?: string;
}

export interface ConnectionOptions {
  /** Where a stdio server runs unless its definition says otherwise: the workspace folder. */
  cwd: string;
  /** Folder for the servers' stderr logs. */
  logDir?: string;
  clientVersion: string;
  defaultStartupTimeoutMs: number;
}

export type ServerState = 'stopped' | 'starting' | 'running' | 'crashed' | 'error';

/** A server's state as views show it. */
export interface ServerStatus {
  name: string;
  state: ServerState;
  pid?: number;
  lastError?: string;
  calls: number;
  failures: number;
  /** Recent call latency (an exponential moving average), once a call completed. */
  latencyMs?: number;
}

export interface CallOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Sent as the request's `_meta`, e.g. an idempotency key. */
  meta?: Record<string, unknown>;
  onProgress?: (progress: number, total?: number, message?: string) => void;
}

const STDERR_TAIL_LINES = 40;
const LOG_ROTATE_BYTES = 1024 * 1024;

/**
 * One MCP server: started on first use, kept for later calls, restarted on the next use after it crashed.
 * Its stderr goes to a log file and a short in-memory tail that error messages quote.
 */
export class ServerConnection {
  state: ServerState = 'stopped';
  calls = 0;
  failures = 0;
  lastError?: string;
  latencyMs?: number;
  private client?: Client;
  private transport?: Transport;
  private starting?: Promise<Client>;
  private tools?: Tool[];
  private readonly stderrTail: string[] = [];
  private stderrPartial = '';
  private log?: fs.WriteStream;
  private closing = false;

  constructor(
    readonly spec: ServerSpec,
    private readonly options: ConnectionOptions,
    private readonly onChange: (connection: ServerConnection) => void,
  ) {}

  /** The current status. */
  status(): ServerStatus {
    const pid = this.transport instanceof StdioTransport ? this.transport.pid : undefined;
    return {
      name: this.spec.name,
      state: this.state,
      ...(pid !== undefined && { pid }),
      ...(this.lastError !== undefined && { lastError: this.lastError }),
      calls: this.calls,
      failures: this.failures,
      ...(this.latencyMs !== undefined && { latencyMs: Math.round(this.latencyMs * 10) / 10 }),
    };
  }

  /** The tools listed so far, without starting the server. */
  knownTools(): Tool[] | undefined {
    return this.tools;
  }

  /** The server's tools (listed once, refreshed when the server says they changed). */
  async listTools(): Promise<Tool[]> {
    const client = await this.connect();
    if (!this.tools) {
      const tools: Tool[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : {}, { timeout: this.startupTimeoutMs() });
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor);
      this.tools = tools;
    }
    return this.tools;
  }

  /** What the server offers: its tools, and its prompts and resources when it declares them (for registry introspection). */
  async describe(): Promise<{ tools: Tool[]; prompts: Array<{ name: string; description?: string }>; resources: Array<{ name: string; uri: string; description?: string }>; serverInfo?: { name: string; version: string } }> {
    const tools = await this.listTools();
    const client = await this.connect();
    const declared = client.getServerCapabilities() ?? {};
    const timeout = { timeout: this.startupTimeoutMs() };
    const prompts = declared.prompts ? (await client.listPrompts({}, timeout)).prompts : [];
    const resources = declared.resources ? (await client.listResources({}, timeout)).resources : [];
    const serverInfo = client.getServerVersion();
    return { tools, prompts, resources, ...(serverInfo && { serverInfo: { name: serverInfo.name, version: serverInfo.version } }) };
  }

  /** Calls a tool; failures become StepFailures naming the server, the tool and the cause. */
  async callTool(tool: string, args: Record<string, unknown>, options: CallOptions): Promise<CallToolResult> {
    const client = await this.connect();
    this.calls++;
    // The SDK adds an abort listener to the signal of every request and never removes it: give it a signal of
    // this call's own, linked to the caller's for the call's lifetime only, or a run's signal would collect them all.
    const own = options.signal ? new AbortController() : undefined;
    const relay = (): void => own!.abort(options.signal!.reason);
    if (options.signal?.aborted) relay();
    else options.signal?.addEventListener('abort', relay, { once: true });
    const started = performance.now();
    try {
      const result = await client.callTool(
        { name: tool, arguments: args, ...(options.meta && { _meta: options.meta }) },
        undefined,
        {
          timeout: options.timeoutMs,
          ...(own && { signal: own.signal }),
          ...(options.onProgress && { onprogress: (p: { progress: number; total?: number; message?: string }) => options.onProgress!(p.progress, p.total, p.message) }),
        },
      );
      if (result.isError) this.failures++;
      // Weighted to recent calls: a server that slows down shows it within a few calls.
      const took = performance.now() - started;
      this.latencyMs = this.latencyMs === undefined ? took : this.latencyMs * 0.8 + took * 0.2;
      return result as CallToolResult;
    } catch (error) {
      this.failures++;
      throw this.callFailure(tool, error, options);
    } finally {
      options.signal?.removeEventListener('abort', relay);
    }
  }

  /** Stops the server. */
  async close(): Promise<void> {
    this.closing = true;
    const client = this.client;
    this.client = undefined;
    this.starting = undefined;
    await client?.close().catch(() => undefined);
    await this.transport?.close().catch(() => undefined);
    this.transport = undefined;
    this.log?.end();
    this.log = undefined;
    this.setState('stopped');
    this.closing = false;
  }

  /** Kills a stdio server's process group at once (process exit). */
  kill(): void {
    if (this.transport instanceof StdioTransport) this.transport.kill();
  }

  private connect(): Promise<Client> {
    if (this.client && this.state === 'running') return Promise.resolve(this.client);
    this.starting ??= this.start().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private startupTimeoutMs(): number {
    return this.spec.definition.startupTimeoutMs ?? this.options.defaultStartupTimeoutMs;
  }

  private async start(): Promise<Client> {
    this.setState('starting');
    this.openLog();
    await loadMcpSdk();
    const definition = this.spec.definition;
    const nonProtocol: string[] = [];
    const transport = definition.type === 'stdio' ? this.stdioTransport(definition) : this.httpTransport(definition);
    transport.onerror = (error) => {
      if (error instanceof NonProtocolOutputError) {
        nonProtocol.push(error.line);
        this.writeLog(`[openconductor] non-protocol output on stdout: ${error.line}\n`);
      }
    };
    transport.onclose = () => this.onTransportClosed(transport);
    const client = new (mcpSdk().Client)(
      { name: 'openconductor', version: this.options.clientVersion },
      { capabilities: {}, listChanged: { tools: { onChanged: (error, tools) => (this.tools = error || !tools ? undefined : tools) } } },
    );
    this.transport = transport;
    try {
      await client.connect(transport, { timeout: this.startupTimeoutMs() });
    } catch (error) {
      const failure = this.startFailure(error, transport, nonProtocol);
      this.lastError = failure.message;
      this.transport = undefined;
      await transport.close().catch(() => undefined);
      this.setState('error');
      throw failure;
    }
    this.client = client;
    this.tools = undefined;
    this.lastError = undefined;
    this.setState('running');
    return client;
  }

  private stdioTransport(definition: StdioServerDefinition): StdioTransport {
    const cwd = definition.cwd ? path.resolve(this.options.cwd, definition.cwd) : this.options.cwd;
    const env: Record<string, string> = { ...mcpSdk().getDefaultEnvironment() };
    if (definition.envFile) {
      const file = path.resolve(this.options.cwd, definition.envFile);
      try {
        Object.assign(env, parseEnv(fs.readFileSync(file, 'utf8')));
      } catch (error) {
        throw new StepFailure('ServerStartFailed', `server '${this.spec.name}' could not start: cannot read its envFile ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, { server: this.spec.name });
      }
    }
    for (const [key, value] of Object.entries(definition.env)) {
      if (value === null) delete env[key];
      else env[key] = value;
    }
    return new StdioTransport({ command: definition.command, args: definition.args, env, cwd }, (chunk) => this.onStderr(chunk));
  }

  private httpTransport(definition: Extract<ServerDefinition, { type: 'http' | 'sse' }>): Transport {
    const url = new URL(definition.url);
    const requestInit = { headers: definition.headers };
    const { SSEClientTransport, StreamableHTTPClientTransport } = mcpSdk();
    return definition.type === 'sse' ? new SSEClientTransport(url, { requestInit }) : new StreamableHTTPClientTransport(url, { requestInit });
  }

  private onTransportClosed(transport: Transport): void {
    if (transport !== this.transport || this.closing) return;
    this.client = undefined;
    this.transport = undefined;
    if (this.state === 'running') {
      this.lastError = this.exitDescription(transport);
      this.writeLog(`[openconductor] ${this.lastError}\n`);
      this.setState('crashed');
    }
  }

  private exitDescription(transport: Transport): string {
    const exit = transport instanceof StdioTransport ? transport.exit : undefined;
    if (!exit) return `server '${this.spec.name}' closed the connection`;
    return `server '${this.spec.name}' exited ${exit.signal ? `on signal ${exit.signal}` : `with code ${exit.code}`}`;
  }

  private startFailure(error: unknown, transport: Transport, nonProtocol: string[]): StepFailure {
    const name = this.spec.name;
    const where = this.spec.origin ? ` (defined in ${this.spec.origin})` : '';
    const details = { server: name };
    const code = (error as NodeJS.ErrnoException).code;
    const definition = this.spec.definition;
    if (definition.type === 'stdio' && (code === 'ENOENT' || code === 'EACCES')) {
      const problem = code === 'ENOENT' ? 'was not found' : 'is not executable';
      return new StepFailure('ServerStartFailed', `server '${name}' could not start: command '${definition.command}' ${problem}. Check its 'command'${where}, or install it.`, details);
    }
    if (nonProtocol.length > 0) {
      return new StepFailure(
        'ServerStartFailed',
        `server '${name}' wrote non-protocol output to stdout: ${JSON.stringify(nonProtocol[0].slice(0, 200))}. An MCP stdio server must write only JSON-RPC messages to stdout (logs belong on stderr); check its command and arguments${where}.${this.stderrSuffix()}`,
        details,
      );
    }
    if (transport instanceof StdioTransport && transport.exit) {
      return new StepFailure('ServerStartFailed', `${this.exitDescription(transport)} before it finished starting${where}.${this.stderrSuffix()}`, details);
    }
    const { McpError, ErrorCode } = mcpSdk();
    if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
      return new StepFailure('ServerStartFailed', `server '${name}' did not finish starting within ${formatDuration(this.startupTimeoutMs())}${where}; raise its startupTimeout if it is slow.${this.stderrSuffix()}`, details);
    }
    if (definition.type !== 'stdio') {
      return new StepFailure('ServerStartFailed', `could not connect to server '${name}' at ${definition.url}: ${networkReason(error)}${where}.`, details);
    }
    return new StepFailure('ServerStartFailed', `server '${name}' could not start: ${(error as Error).message}${where}.${this.stderrSuffix()}`, details);
  }

  private callFailure(tool: string, error: unknown, options: CallOptions): StepFailure {
    const details = { server: this.spec.name, tool };
    if (error instanceof StepFailure) return error;
    if (options.signal?.aborted) return new StepFailure('Cancelled', `the call to '${tool}' on server '${this.spec.name}' was cancelled.`, details);
    const { McpError, ErrorCode } = mcpSdk();
    if (error instanceof McpError) {
      if (error.code === ErrorCode.RequestTimeout) {
        return new StepFailure('Timeout', `tool '${tool}' on server '${this.spec.name}' did not answer within ${formatDuration(options.timeoutMs)}; the call was cancelled.`, details);
      }
      if (error.code === ErrorCode.ConnectionClosed) {
        const exit = this.lastError ?? `server '${this.spec.name}' closed the connection`;
        return new StepFailure('ServerCrashed', `${exit} during the call to '${tool}'; it will be restarted on its next use.${this.stderrSuffix()}`, details);
      }
      if (error.code === ErrorCode.InvalidParams) {
        return new StepFailure('InvalidArguments', `server '${this.spec.name}' rejected the arguments of '${tool}': ${error.message}`, details);
      }
      return new StepFailure('ProtocolError', `server '${this.spec.name}' answered the call to '${tool}' with an error: ${error.message}`, details);
    }
    return new StepFailure('ProtocolError', `the call to '${tool}' on server '${this.spec.name}' failed: ${(error as Error).message}`, details);
  }

  private stderrSuffix(): string {
    const tail = this.stderrTail.slice(-8).filter((l) => l.trim() !== '');
    return tail.length === 0 ? '' : `\n  its stderr ended with:\n${tail.map((l) => `    ${l}`).join('\n')}`;
  }

  private onStderr(chunk: string): void {
    this.writeLog(chunk);
    const lines = (this.stderrPartial + chunk).split('\n');
    this.stderrPartial = lines.pop() ?? '';
    this.stderrTail.push(...lines);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.splice(0, this.stderrTail.length - STDERR_TAIL_LINES);
  }

  private openLog(): void {
    this.stderrTail.length = 0;
    this.stderrPartial = '';
    if (!this.options.logDir || this.log) return;
    fs.mkdirSync(this.options.logDir, { recursive: true });
    const file = path.join(this.options.logDir, `${this.spec.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.log`);
    try {
      if (fs.statSync(file).size > LOG_ROTATE_BYTES) fs.renameSync(file, `${file}.1`);
    } catch {
      // No log yet.
    }
    this.log = fs.createWriteStream(file, { flags: 'a' });
    this.log.on('error', () => (this.log = undefined));
    this.writeLog(`[openconductor] ${new Date().toISOString()} starting server '${this.spec.name}'\n`);
  }

  private writeLog(text: string): void {
    this.log?.write(text);
  }

  private setState(state: ServerState): void {
    this.state = state;
    this.onChange(this);
  }
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause;
  const code = cause?.code ?? (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND') return 'host not found';
  if (code === 'ETIMEDOUT') return 'connection timed out';
  return (error as Error).message;
}
