import type { ChildProcess } from 'node:child_process';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import spawn from 'cross-spawn';
import { mcpSdk } from './sdk';

/** How a server process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A line a server wrote to stdout that is not a JSON-RPC message. */
export class NonProtocolOutputError extends Error {
  override name = 'NonProtocolOutputError';
  constructor(readonly line: string) {
    super(`wrote non-protocol output to stdout: ${JSON.stringify(line.length > 200 ? `${line.slice(0, 200)}…` : line)}`);
  }
}

export interface StdioLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

const MAX_LINE = 64 * 1024 * 1024;

/**
 * An MCP stdio client transport. Unlike the SDK's, it reports how the process exited and which stdout lines
 * were not protocol messages, and it stops the server's whole process group (npx starts a child of its own).
 */
export class StdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  exit?: ExitInfo;
  private child?: ChildProcess;
  private buffer = '';

  constructor(
    private readonly launch: StdioLaunch,
    private readonly onStderr: (chunk: string) => void,
  ) {}

  /** The server's process id, once started. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawns the server; rejects when the command cannot be run at all. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.launch.command, this.launch.args, {
        env: this.launch.env,
        cwd: this.launch.cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: process.platform !== 'win32',
        windowsHide: true,
      });
      this.child = child;
      let spawned = false;
      child.once('spawn', () => {
        spawned = true;
        resolve();
      });
      child.once('error', (error) => {
        if (!spawned) reject(error);
        else this.onerror?.(error);
      });
      child.once('close', (code, signal) => {
        this.exit = { code, signal };
        this.child = undefined;
        this.onclose?.();
      });
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => this.receive(chunk));
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => this.onStderr(chunk));
      child.stdin!.on('error', (error) => this.onerror?.(error));
    });
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline).replace(/\r$/, '');
      this.buffer = this.buffer.slice(newline + 1);
      if (line.trim() === '') continue;
      let message: JSONRPCMessage;
      try {
        message = mcpSdk().deserializeMessage(line);
      } catch {
        this.onerror?.(new NonProtocolOutputError(line));
        continue;
      }
      this.onmessage?.(message);
    }
    if (this.buffer.length > MAX_LINE) {
      this.buffer = '';
      this.onerror?.(new NonProtocolOutputError('(a line longer than 64 MiB without a newline)'));
    }
  }

  /** Writes one message to the server's stdin. */
  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed) return Promise.reject(new Error('the server process is not running'));
    return new Promise((resolve) => {
      if (stdin.write(mcpSdk().serializeMessage(message))) resolve();
      else stdin.once('drain', resolve);
    });
  }

  /** Closes stdin and waits for the server to exit; escalates to SIGTERM, then SIGKILL, for the whole process group. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.stdin?.end();
    if (await within(exited, 1000)) return;
    this.signal(child, 'SIGTERM');
    if (await within(exited, 1000)) return;
    this.signal(child, 'SIGKILL');
    await within(exited, 1000);
  }

  /** Kills the process group at once; for process exit, when nothing can be awaited. */
  kill(): void {
    if (this.child) this.signal(this.child, 'SIGKILL');
  }

  private signal(child: ChildProcess, signal: NodeJS.Signals): void {
    try {
      if (process.platform !== 'win32' && child.pid) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

function within(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
