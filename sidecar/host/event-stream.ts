import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { leanEvent } from '../../common/dashboard';
import type { RunEvent } from '../../common/events';

/** What the stream needs of the store: its durable events, in the order they are given out. */
export interface EventFeed {
  subscribe(listener: (event: RunEvent) => void): () => void;
  readonly lastNotifiedSeq: number;
}

/** A client this far behind (bytes not yet taken by its socket) is dropped; its EventSource reconnects. */
const MAX_BACKLOG_BYTES = 4 * 2 ** 20;
/** A comment line this often keeps idle connections open through anything that times them out. */
const KEEPALIVE_MS = 15_000;

/**
 * The run events as Server-Sent Events on a loopback port, for the runs dashboard: its page reads them straight
 * from the sidecar, not through the extension host and the workbench (where most of an event's latency went). The
 * events are lean (no arguments, outputs, inputs or payloads, as in the dashboard's messages). Any local process or
 * web page can reach a loopback port, so nothing is served without the token of the URL.
 *
 * Each connection begins with `event: hello` whose data is `{"after": seq}`: the last event given out before the
 * connection, which the client must have from elsewhere (the extension's messages) before it uses these.
 */
export class EventStream {
  private constructor(
    private readonly server: http.Server,
    private readonly clients: Set<http.ServerResponse>,
    /** The URL to read, token included. */
    readonly url: string,
  ) {}

  /** Listens on 127.0.0.1 on a free port. */
  static async open(source: EventFeed): Promise<EventStream> {
    const token = randomBytes(32).toString('hex');
    const expected = Buffer.from(token);
    const clients = new Set<http.ServerResponse>();
    const server = http.createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const given = Buffer.from(url.searchParams.get('token') ?? '');
      if (request.method !== 'GET' || url.pathname !== '/events' || given.length !== expected.length || !timingSafeEqual(given, expected)) {
        response.writeHead(404).end();
        return;
      }
      clients.add(response);
      serveEvents(source, request, response, () => clients.delete(response));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return new EventStream(server, clients, `http://127.0.0.1:${port}/events?token=${token}`);
  }

  /** Ends every connection and stops listening. */
  async close(): Promise<void> {
    for (const client of this.clients) client.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** One client: the hello, then every event given out from now on, those of one turn of the event loop in one message. */
function serveEvents(source: EventFeed, request: http.IncomingMessage, response: http.ServerResponse, done: () => void): void {
  const origin = request.headers.origin;
  response.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    // no-transform: a proxy on the way (code-server's port proxy, say) must not compress, and so hold back, the events.
    'Cache-Control': 'no-store, no-transform',
    'X-Accel-Buffering': 'no',
    // The token is the credential, not the origin: a webview's origin differs between VS Code's hosts.
    ...(origin && { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' }),
  });
  request.socket.setNoDelay(true);
  let pending: RunEvent[] = [];
  const flush = (): void => {
    const events = pending;
    pending = [];
    response.write(`data: ${JSON.stringify(events)}\n\n`);
    if (response.writableLength > MAX_BACKLOG_BYTES) response.destroy();
  };
  // Read and subscribed in one turn: every event given out later reaches this client.
  response.write(`event: hello\ndata: ${JSON.stringify({ after: source.lastNotifiedSeq })}\n\n`);
  const unsubscribe = source.subscribe((event) => {
    if (pending.length === 0) queueMicrotask(flush);
    pending.push(leanEvent(event));
  });
  const keepalive = setInterval(() => response.write(': keepalive\n\n'), KEEPALIVE_MS);
  keepalive.unref();
  response.on('close', () => {
    unsubscribe();
    clearInterval(keepalive);
    done();
  });
}
