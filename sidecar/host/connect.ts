import { createHash } from 'node:crypto';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createMessageConnection, type MessageConnection } from 'vscode-jsonrpc/node';

/** Where a data directory's host listens: a socket path short enough for every platform, derived from the directory. */
export function hostAddress(dataDir: string): string {
  const id = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  return process.platform === 'win32' ? `\\\\.\\pipe\\openconductor-${id}` : path.join(os.tmpdir(), `openconductor-${id}.sock`);
}

/** Connects to the host of a data directory, if one listens; undefined when none does. */
export async function connectToHost(dataDir: string): Promise<MessageConnection | undefined> {
  const address = hostAddress(dataDir);
  const socket = await new Promise<net.Socket | undefined>((resolve) => {
    const s = net.connect(address);
    s.once('connect', () => resolve(s));
    s.once('error', () => resolve(undefined));
  });
  if (!socket) return undefined;
  const connection = createMessageConnection(socket, socket);
  // Disposing a connection leaves its socket open, which would keep the process alive.
  connection.onDispose(() => socket.destroy());
  connection.listen();
  return connection;
}
