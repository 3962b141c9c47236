import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import { Requests, type HostInfo } from '../common/protocol';
import { connectToHost, messageConnection } from '../sidecar/host/connect';

/** What the editor shows of the sidecar. */
export type SidecarState = 'starting' | 'ready' | 'restarting' | 'stopped' | 'failed';

export interface SidecarOptions {
  /** The bundled CLI (dist/openconductor.js). */
  cli: string;
  workspaceFolder: string;
  dataDir: string;
  /** Extra environment (registry settings from VS Code's configuration). */
  env: Record<string, string>;
  /** Whether the workspace is untrusted now: the sidecar then starts restricted (no run, no server). */
  restricted: () => boolean;
  log: (line: string) => void;
}

const MAX_BACKOFF_MS = 30_000;
/** A sidecar up this long is healthy again: the next crash restarts it at once. */
const HEALTHY_AFTER_MS = 60_000;

/** How long something that needs the sidecar (a command, VS Code's question for MCP servers) waits for it to start. */
export const SIDECAR_WAIT_MS = 30_000;

/**
 * Keeps one connection to the workspace's host. If a host already serves the data directory (an `openconductor`
 * process in a terminal) the editor uses it over its socket; otherwise it starts `openconductor sidecar --stdio`
 * and talks JSON-RPC over its stdio. A sidecar that exits unexpectedly is restarted with backoff (1 s, 2 s, 4 s …
 * 30 s); a restarted sidecar resumes every unfinished run. Listeners registered here survive restarts.
 */
export class Sidecar {
  state: SidecarState = 'stopped';
  connection?: MessageConnection;
  private child?: ChildProcess;
  private stopping = false;
  private backoffMs = 1000;
  private startedAt = 0;
  /** When start() was last called: the log says how long connecting took (log lines are timestamped late, in batches). */
  private startCalledAt = 0;
  private restartTimer?: NodeJS.Timeout;
  private readonly stateListeners = new Set<(state: SidecarState) => void>();
  private readonly connectListeners = new Set<(connection: MessageConnection) => void>();
  private readonly notificationListeners = new Map<string, Set<(params: unknown) => void>>();

  constructor(private readonly options: SidecarOptions) {}

  /** Called with every state change. */
  onState(listener: (state: SidecarState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /**
   * Calls `listener` with every notification of this method, across restarts. vscode-jsonrpc keeps one handler per
   * method and connection, so every part of the extension listens through here, never on the connection itself.
   */
  onNotification<T>(method: string, listener: (params: T) => void): () => void {
    let listeners = this.notificationListeners.get(method);
    if (!listeners) {
      listeners = new Set();
      this.notificationListeners.set(method, listeners);
      if (this.connection) this.relay(this.connection, method);
    }
    listeners.add(listener as (params: unknown) => void);
    return () => listeners.delete(listener as (params: unknown) => void);
  }

  private relay(connection: MessageConnection, method: string): void {
    connection.onNotification(method, (params: unknown) => {
      for (const listener of this.notificationListeners.get(method) ?? []) listener(params);
    });
  }

  /** Resolves once the sidecar is ready (at once if it is); rejects after `ms`, or when a start fails. */
  whenReady(ms: number): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`the sidecar was not ready within ${ms / 1000} s; see OpenConductor: Show Log`)), ms);
      const off = this.onState((state) => {
        if (state === 'ready') done();
        else if (state === 'failed' || state === 'stopped') done(new Error(`the sidecar ${state}; see OpenConductor: Show Log`));
      });
      const done = (error?: Error) => {
        clearTimeout(timer);
        off();
        if (error) reject(error);
        else resolve();
      };
    });
  }

  /** Called with each new connection (after a start or a restart). */
  onConnect(listener: (connection: MessageConnection) => void): () => void {
    this.connectListeners.add(listener);
    if (this.connection && this.state === 'ready') listener(this.connection);
    return () => this.connectListeners.delete(listener);
  }

  /** Connects to the running host, or starts the sidecar; resolves once it answers. */
  async start(): Promise<HostInfo> {
    this.startCalledAt = Date.now();
    this.stopping = false;
    this.setState(this.state === 'restarting' ? 'restarting' : 'starting');
    const existing = await connectToHost(this.options.dataDir);
    const connection = existing ?? this.spawn();
    if (existing) {
      this.options.log(`using the host already serving ${this.options.dataDir}`);
      existing.onClose(() => this.lost('the host it used went away'));
    }
    this.connection = connection;
    for (const method of this.notificationListeners.keys()) this.relay(connection, method);
    const info = await connection.sendRequest(Requests.info, undefined);
    this.startedAt = Date.now();
    this.options.log(`connected to host pid ${info.pid} (${info.version}) ${this.startedAt - this.startCalledAt} ms after the start began, ${info.runs.length} run(s) executing`);
    this.setState('ready');
    for (const listener of this.connectListeners) listener(connection);
    return info;
  }

  /** Stops the sidecar this editor started (unfinished runs stay open for the next one). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    this.connection?.dispose();
    this.connection = undefined;
    if (child && child.exitCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    this.setState('stopped');
  }

  /** Stops and starts again (a command, or after the settings changed). */
  async restart(): Promise<void> {
    await this.stop();
    this.backoffMs = 1000;
    await this.start();
  }

  /** The sidecar's pid, when this editor started it. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private spawn(): MessageConnection {
    const args = [this.options.cli, 'sidecar', '--stdio', '--sync-registry', '--workspace', this.options.workspaceFolder, '--data-dir', this.options.dataDir, ...(this.options.restricted() ? ['--restricted'] : [])];
    // In VS Code the extension host runs on Electron: this makes its binary a plain Node.js.
    const child = spawn(process.execPath, args, { cwd: this.options.workspaceFolder, env: { ...process.env, ...this.options.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.options.log(`started the sidecar (pid ${child.pid}) ${Date.now() - this.startCalledAt} ms after the start began: ${path.basename(this.options.cli)} ${args.slice(1).join(' ')}`);
    let partial = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.options.log(line);
    });
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.lost(`the sidecar exited ${signal ? `on ${signal}` : `with code ${code}`}`);
    });
    const connection = messageConnection(child.stdout!, child.stdin!);
    connection.listen();
    return connection;
  }

  /** The connection is gone: restart unless stopping, sooner when the sidecar had been up a while. */
  private lost(why: string): void {
    this.connection?.dispose();
    this.connection = undefined;
    if (this.stopping) return;
    if (Date.now() - this.startedAt > HEALTHY_AFTER_MS) this.backoffMs = 1000;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    this.options.log(`${why}; restarting in ${wait / 1000} s (unfinished runs resume)`);
    this.setState('restarting');
    this.restartTimer = setTimeout(() => {
      this.start().catch((error: unknown) => {
        this.options.log(`restart failed: ${error instanceof Error ? error.message : String(error)}`);
        this.lost('the restart failed');
      });
    }, wait);
  }

  private setState(state: SidecarState): void {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }
}

