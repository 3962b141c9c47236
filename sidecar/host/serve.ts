import * as fs from 'node:fs';
import * as net from 'node:net';
import { ResponseError, type MessageConnection, type NotificationType } from 'vscode-jsonrpc/node';
import { Notifications, Requests, type HostErrorData } from '../../common/protocol';
import { DataDirectoryBusyError } from '../store/lock';
import { RegistryError } from '../registry/errors';
import { hostAddress, messageConnection } from './connect';
import { HostError, type Host } from './host';

/** Serves a host's JSON-RPC surface on one connection: requests answered, every event and progress report pushed until it closes. */
export function serve(host: Host, connection: MessageConnection): () => void {
  const handle =
    <P, R>(fn: (params: P) => R | Promise<R>) =>
    async (params: P): Promise<R | ResponseError<HostErrorData>> => {
      try {
        return await fn(params);
      } catch (error) {
        if (error instanceof HostError) return new ResponseError(1, error.message, error.data);
        if (error instanceof DataDirectoryBusyError) return new ResponseError(1, error.message, { kind: 'refused' });
        if (error instanceof RegistryError) return new ResponseError(1, error.message, { kind: error.kind });
        return new ResponseError(2, error instanceof Error ? error.message : String(error), { kind: 'internal' });
      }
    };
  connection.onRequest(Requests.info, handle(() => host.info()));
  connection.onRequest(Requests.start, handle((p) => host.start(p)));
  connection.onRequest(Requests.resume, handle((p) => host.resume(p.runId)));
  connection.onRequest(Requests.cancel, handle((p) => host.cancel(p.runId, p.reason ?? 'cancelled on request')));
  connection.onRequest(Requests.decide, handle((p) => host.decide(p.runId, p.step, p.approved, p.comment)));
  connection.onRequest(Requests.signal, handle((p) => host.signal(p.runId, p.name, p.payload ?? null)));
  connection.onRequest(Requests.wait, handle((p) => host.wait(p.runId, p.untilWaiting ?? false)));
  connection.onRequest(Requests.list, handle((p) => host.list(p)));
  connection.onRequest(Requests.get, handle((p) => host.get(p.runId)));
  connection.onRequest(Requests.history, handle((p) => host.history(p.runId)));
  connection.onRequest(Requests.breakers, handle(() => host.store.breakers()));
  connection.onRequest(Requests.servers, handle(() => host.servers()));
  connection.onRequest(Requests.serverTools, handle((p) => host.serverTools(p)));
  connection.onRequest(Requests.callTool, handle((p) => host.callTool(p, p.tool, p.arguments ?? {})));
  connection.onRequest(Requests.stopServer, handle((p) => host.stopServer(p.name)));
  connection.onRequest(Requests.orchestrate, handle((p) => host.orchestrate(p.line)));
  connection.onRequest(Requests.registrySync, handle((p) => host.registry.sync(p)));
  connection.onRequest(Requests.registrySearch, handle((p) => host.registry.search(p)));
  connection.onRequest(Requests.registryShow, handle((p) => host.registry.show(p.name)));
  connection.onRequest(Requests.registrySources, handle((p) => host.registry.sources(p.tokens)));
  connection.onRequest(Requests.registryIntrospect, handle((p) => host.introspect(p)));
  connection.onRequest(Requests.eventStream, handle(() => host.eventStream()));
  // A client that went away must cost nothing: vscode-jsonrpc throws at once on a closed or disposed connection.
  const push = <P>(type: NotificationType<P>, params: P): void => {
    try {
      void connection.sendNotification(type, params).catch(() => undefined);
    } catch {
      // Its listeners go with its close or dispose, just below.
    }
  };
  const stops = [
    host.store.subscribe((event) => push(Notifications.event, event)),
    host.engine.onProgress((notice) => push(Notifications.progress, notice)),
    host.pool.onStatus((status) => push(Notifications.serverStatus, status)),
    // Every sync's progress goes to every client: a view follows the sidecar's scheduled syncs as well as its own.
    host.registry.onProgress((progress) => push(Notifications.registryProgress, progress)),
  ];
  const stop = (): void => {
    for (const off of stops) off();
  };
  connection.onClose(stop);
  connection.onDispose(stop);
  return stop;
}

/** Listens on the data directory's local socket, so that other CLI processes reach this host; returns the closer. */
export async function listen(host: Host): Promise<() => Promise<void>> {
  const address = hostAddress(host.workspace.dataDir);
  // This process holds the directory's lock, so a socket left at the address is a dead host's.
  if (process.platform !== 'win32') fs.rmSync(address, { force: true });
  const connections = new Set<{ connection: MessageConnection; stop: () => void; socket: net.Socket }>();
  const server = net.createServer((socket) => {
    const connection = messageConnection(socket, socket);
    const entry = { connection, stop: serve(host, connection), socket };
    connections.add(entry);
    connection.onClose(() => connections.delete(entry));
    connection.onDispose(() => connections.delete(entry));
    socket.on('error', () => connection.dispose());
    connection.listen();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address, () => resolve());
  });
  return async () => {
    for (const { connection, stop, socket } of connections) {
      stop();
      connection.dispose();
      socket.destroy();
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (process.platform !== 'win32') fs.rmSync(address, { force: true });
  };
}
