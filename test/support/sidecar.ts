import { spawn, type ChildProcess } from 'node:child_process';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import type { RunEvent } from '../../common/events';
import { Notifications } from '../../common/protocol';
import { connectToHost } from '../../sidecar/host/connect';
import { CLI } from './cli';

/** A sidecar process (the built CLI) over a workspace, ready once it has resumed the unfinished runs. */
export function startSidecar(dir: string, log: string[] = [], args: string[] = []): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, [CLI, 'sidecar', '--workspace', dir, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const ready = new Promise<void>((resolve, reject) => {
    let text = '';
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      log.push(d.toString());
      if (/resumed \d+ unfinished run|\] restricted \(/.test(text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`sidecar exited (${code}) before it was ready:\n${text}`)));
  });
  return { child, ready };
}

/** Connects to the sidecar of a data directory; every event notification received (each one durable) goes to `acknowledged`. */
export async function connectSidecar(dataDir: string, acknowledged?: Map<number, RunEvent>): Promise<MessageConnection> {
  for (let i = 0; i < 50; i++) {
    const connection = await connectToHost(dataDir);
    if (connection) {
      if (acknowledged) connection.onNotification(Notifications.event, (event) => acknowledged.set(event.seq, event));
      return connection;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('could not connect to the sidecar');
}

/** SIGKILLs a process and resolves once it is gone. */
export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Stops a sidecar the polite way (SIGTERM) and resolves once it has exited. */
export function stopSidecar(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
