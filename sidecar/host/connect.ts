import { createHash } from 'node:crypto';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';

/** Where a data directory's host listens: a socket path short enough for every platform, derived from the directory. */
export function hostAddress(dataDir: string): string {
  const id = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  return process.platform === 'win32' ? `\\\\.\\pipe\\openconductor-${id}` : path.join(os.tmpdir(), `openconductor-${id}.sock`);
}

/**
 * A JSON-RPC connection over a pair of streams. vscode-jsonrpc re-arms a 10 s timer for as long as a message stays
 * incomplete, and nothing clears it when the stream ends: a peer killed mid-message would keep this process alive
 * forever. The timer only reports the wait, so it is turned off.
 */
export function messageConnection(readable: NodeJS.ReadableStream, writable: NodeJS.WritableStream): MessageConnection {
  const reader = new StreamMessageReader(readable);
  reader.partialMessageTimeout = 0;
  return createMessageConnection(reader, new StreamMessageWriter(writable));
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
  const connection = messageConnection(socket, socket);
  // Disposing a connection leaves its socket open, which would keep the process alive.
  connection.onDispose(() => socket.destroy());
  connection.listen();
  return connection;
}
