/**
 * The sidecar's event stream for the runs dashboard (Server-Sent Events on a loopback port), read over real HTTP from
 * a real host running real MCP servers.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { RunEvent } from '../../common/events';
import { hostPerTest } from '../support/host';
import { until } from '../support/wait';

/** One SSE connection: its frames as they come, parsed. */
function connect(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; frames: Array<{ event: string; data: string }>; closed: Promise<void>; close: () => void }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers }, (response) => {
      const frames: Array<{ event: string; data: string }> = [];
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const lines = buffer.slice(0, end).split('\n');
          buffer = buffer.slice(end + 2);
          const field = (name: string) => lines.filter((l) => l.startsWith(`${name}: `)).map((l) => l.slice(name.length + 2)).join('\n');
          if (lines.some((l) => l.startsWith('data: '))) frames.push({ event: field('event') || 'message', data: field('data') });
        }
      });
      const closed = new Promise<void>((done) => response.on('close', () => done()));
      resolve({ status: response.statusCode ?? 0, headers: response.headers, frames, closed, close: () => request.destroy() });
    });
    request.on('error', reject);
  });
}

describe('the sidecar\'s event stream (Server-Sent Events for the runs dashboard)', function () {
  this.timeout(60_000);
  const t = hostPerTest();

  it('serves only 127.0.0.1, only GET /events, only with its token', async () => {
    const { url } = await t.host.eventStream();
    const parsed = new URL(url);
    assert.equal(parsed.hostname, '127.0.0.1');
    assert.match(parsed.searchParams.get('token') ?? '', /^[0-9a-f]{64}$/);
    assert.deepEqual(await t.host.eventStream(), { url }, 'one stream for every client');
    const wrong = new URL(url);
    wrong.searchParams.set('token', 'f'.repeat(64));
    const none = new URL(url);
    none.search = '';
    const elsewhere = new URL(url);
    elsewhere.pathname = '/other';
    for (const denied of [wrong, none, elsewhere]) {
      const response = await connect(denied.toString());
      assert.equal(response.status, 404, denied.toString());
      assert.equal(response.headers['access-control-allow-origin'], undefined);
    }
    const post = await new Promise<number>((resolve, reject) => http.request(url, { method: 'POST' }, (r) => resolve(r.statusCode ?? 0)).on('error', reject).end());
    assert.equal(post, 404);
  });

  it('begins with the last event given out before it, then sends every later event, lean, in the order the host gave them out', async () => {
    const chain = `steps:
  - id: one
    server: everything
    tool: echo
    with: { message: data-not-status }
  - id: two
    needs: one
    server: everything
    tool: echo
    with: { message: data-not-status }
`;
    const { runId: before } = await t.host.start({ file: t.ws.workflow('before', chain) });
    await until(() => t.host.get(before).status === 'completed', 'the first run to complete', 30_000);
    const given: number[] = [];
    const stop = t.host.store.subscribe((event) => given.push(event.seq));
    const { url } = await t.host.eventStream();
    const stream = await connect(url, { Origin: 'vscode-webview://abc' });
    try {
      assert.equal(stream.status, 200);
      assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
      // A proxy on the way (code-server's port proxy) would otherwise compress, and so hold back, the events.
      assert.match(String(stream.headers['cache-control']), /\bno-transform\b/);
      assert.equal(stream.headers['access-control-allow-origin'], 'vscode-webview://abc');
      await until(() => stream.frames.length >= 1, 'the hello');
      assert.deepEqual(stream.frames[0], { event: 'hello', data: JSON.stringify({ after: t.host.history(before).at(-1)!.seq }) });

      const { runId } = await t.host.start({ file: t.ws.workflow('after', chain) });
      await until(() => t.host.get(runId).status === 'completed', 'the second run to complete', 30_000);
      const history = t.host.history(runId);
      const received = () => stream.frames.slice(1).flatMap((f) => JSON.parse(f.data) as RunEvent[]);
      await until(() => received().length >= history.length, 'every event of the second run');
      const events = received();
      assert.deepEqual(events.map((e) => e.seq), given, 'the order the host gave them out');
      assert.deepEqual(events.map((e) => e.seq).sort((a, b) => a - b), history.map((e) => e.seq));
      // Statuses and times, not data: no step output or arguments travel.
      const completed = events.filter((e) => e.type === 'StepCompleted');
      assert.equal(completed.length, 2);
      for (const e of completed) assert.ok(!('output' in e) && !('outputs' in e), JSON.stringify(e));
      for (const e of events.filter((x) => x.type === 'StepScheduled')) assert.equal((e as { arguments: unknown }).arguments, null);
      assert.ok(JSON.stringify(history).includes('data-not-status'), 'the history holds the data');
      assert.ok(!stream.frames.some((f) => f.data.includes('data-not-status')), 'the stream does not');
    } finally {
      stop();
      stream.close();
    }
  });

  it('ends its connections when the host closes', async () => {
    const { url } = await t.host.eventStream();
    const stream = await connect(url);
    await until(() => stream.frames.length >= 1, 'the hello');
    await t.host.close();
    await stream.closed;
    t.host = await t.ws.open();
  });
});
