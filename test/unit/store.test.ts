import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunEvent, RunEventBody } from '../../common/events';
import type { RunDetails } from '../../common/runs';
import { readJournal } from '../../sidecar/store/journal';
import { DataDirectoryBusyError } from '../../sidecar/store/lock';
import { loadSqlJs } from '../../sidecar/store/sqljs';
import { Store, type StoreOptions } from '../../sidecar/store/store';

/** Real files in a fresh directory per test, real sql.js; the only reach into the store's insides is to simulate a crash. */
let root: string;
let dataDir: string;
const live = new Set<Store>();
const children = new Set<ChildProcess>();

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-store-'));
  dataDir = path.join(root, 'data');
});

afterEach(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  for (const store of live) await store.close().catch(() => undefined);
  live.clear();
  fs.rmSync(root, { recursive: true, force: true });
});

async function open(mode: StoreOptions['mode'] = 'writer', options: Partial<StoreOptions> = {}): Promise<Store> {
  const store = await Store.open({ dataDir, mode, ...options });
  live.add(store);
  return store;
}

async function close(store: Store): Promise<void> {
  live.delete(store);
  await store.close();
}

/**
 * What a killed writer leaves behind: its files exactly as they are (no snapshot, no cleanup) and a lock that must be
 * taken over. The journal's descriptor and the database are freed only so the test does not leak them; every append
 * has resolved by then, so nothing is pending that could still reach the file.
 */
async function crash(store: Store): Promise<void> {
  live.delete(store);
  const insides = store as unknown as { journal: { fd: number }; db: { close(): void }; snapshotting?: Promise<void>; closed: boolean };
  // Let an automatic snapshot in flight finish first, so that each test crashes at a point it knows.
  await insides.snapshotting;
  // A dead process runs no more timers: the projection it had scheduled must not touch the closed database.
  insides.closed = true;
  fs.closeSync(insides.journal.fd);
  insides.db.close();
  fs.rmSync(path.join(dataDir, 'lock'));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
/** What the store keeps of an event: its JSON. */
const stored = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function started(workflow: string, steps: string[], inputs: Record<string, unknown> = {}): RunEventBody {
  const source = `name: ${workflow}\nsteps: [${steps.join(', ')}]\n`;
  return { type: 'WorkflowStarted', workflow, file: `/ws/${workflow}.workflow.yaml`, definitionHash: sha256(source), source, inputs, steps };
}

/** Appends one event after another, as a run does. */
async function appendAll(store: Store, runId: string, bodies: RunEventBody[]): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for (const body of bodies) events.push(await store.append(runId, body));
  return events;
}

/** A plain step, then a foreach step over three items (one retried, completing out of order), then the run's end. */
function fullRun(): RunEventBody[] {
  const item = (index: number, attempt = 1): RunEventBody => ({
    type: 'StepScheduled',
    step: 'each',
    index,
    server: 'github',
    tool: 'get_repo',
    arguments: { repo: 'abc'[index] },
    attempt,
  });
  const done = (index: number): RunEventBody => ({ type: 'StepCompleted', step: 'each', index, output: { name: 'abc'[index], stars: index * 10 }, durationMs: 5 });
  return [
    started('report', ['fetch', 'each'], { org: 'acme', limit: 3 }),
    { type: 'StepScheduled', step: 'fetch', server: 'github', tool: 'list_repos', arguments: { org: 'acme' }, attempt: 1 },
    { type: 'StepCompleted', step: 'fetch', output: { repos: ['a', 'b', 'c'] }, outputs: { count: 3 }, durationMs: 12 },
    { type: 'StepFannedOut', step: 'each', count: 3 },
    item(0),
    item(1),
    item(2),
    done(2),
    item(1, 2),
    done(0),
    done(1),
    { type: 'StepCompleted', step: 'each', outputs: { names: ['a', 'b', 'c'] }, durationMs: 40 },
    { type: 'WorkflowCompleted', outputs: { summary: 'a, b, c' }, durationMs: 60 },
  ];
}

/** What getRun must give for fullRun(), from the times the store gave its events. */
function expectedFullRun(runId: string, e: RunEvent[]): RunDetails {
  const body = e[0] as Extract<RunEvent, { type: 'WorkflowStarted' }>;
  return {
    id: runId,
    workflow: 'report',
    file: '/ws/report.workflow.yaml',
    status: 'completed',
    definitionHash: body.definitionHash,
    startedAt: e[0].time,
    endedAt: e[12].time,
    language: 'yaml',
    inputs: { org: 'acme', limit: 3 },
    outputs: { summary: 'a, b, c' },
    signals: [],
    lastSeq: e[12].seq,
    steps: [
      {
        id: 'fetch',
        status: 'completed',
        server: 'github',
        tool: 'list_repos',
        attempts: 1,
        failedAttempts: 0,
        request: { server: 'github', tool: 'list_repos', arguments: { org: 'acme' }, attempt: 1 },
        inFlight: false,
        completedSeq: e[2].seq,
        itemsDone: 0,
        startedAt: e[1].time,
        endedAt: e[2].time,
        output: { repos: ['a', 'b', 'c'] },
        outputs: { count: 3 },
      },
      {
        id: 'each',
        status: 'completed',
        server: 'github',
        tool: 'get_repo',
        attempts: 2,
        failedAttempts: 0,
        items: 3,
        itemsDone: 3,
        inFlight: false,
        completedSeq: e[11].seq,
        startedAt: e[3].time,
        endedAt: e[11].time,
        // The list of the items' outputs, in index order, though they completed out of order.
        output: [
          { name: 'a', stars: 0 },
          { name: 'b', stars: 10 },
          { name: 'c', stars: 20 },
        ],
        outputs: { names: ['a', 'b', 'c'] },
        itemDetails: [item(0, 1, 4, 9), item(1, 2, 5, 10), item(2, 1, 6, 7)],
      },
    ],
  };

  function item(index: number, attempts: number, scheduled: number, completed: number): RunDetails['steps'][number]['itemDetails'] extends Array<infer T> | undefined ? T : never {
    return {
      index,
      status: 'completed',
      attempts,
      failedAttempts: 0,
      request: { server: 'github', tool: 'get_repo', arguments: { repo: 'abc'[index] }, attempt: attempts },
      inFlight: false,
      completedSeq: e[completed].seq,
      startedAt: e[scheduled].time,
      endedAt: e[completed].time,
      output: { name: 'abc'[index], stars: index * 10 },
    };
  }
}

/** Everything a client can ask the store about these runs. */
function state(store: Store, runIds: string[]): unknown {
  return {
    runs: store.listRuns({ limit: 1000 }).filter((r) => runIds.includes(r.id)),
    details: runIds.map((id) => store.getRun(id)),
    events: runIds.map((id) => store.events(id)),
  };
}

function allSeqs(store: Store, runIds: string[]): number[] {
  return runIds.flatMap((id) => store.events(id).map((e) => e.seq)).sort((a, b) => a - b);
}

function assertContiguous(seqs: number[], count: number): void {
  assert.deepEqual(
    seqs,
    Array.from({ length: count }, (_, i) => i + 1),
    'every event once, with seq numbers 1..n',
  );
}

function journalDir(): string {
  return path.join(dataDir, 'journal');
}

function journalSegments(): string[] {
  return fs.existsSync(journalDir()) ? fs.readdirSync(journalDir()).sort() : [];
}

function newestSegment(): string {
  const segments = journalSegments();
  return path.join(journalDir(), segments[segments.length - 1]);
}

interface ManifestFile {
  snapshots: Array<{ file: string; seq: number; sha256: string }>;
}

function manifest(): ManifestFile {
  return JSON.parse(fs.readFileSync(path.join(dataDir, 'manifest.json'), 'utf8')) as ManifestFile;
}

function snapshotFile(name: string): string {
  return path.join(dataDir, 'snapshots', name);
}

function snapshotName(seq: number): string {
  return `state-${String(seq).padStart(16, '0')}.db`;
}

/** Every snapshot in the manifest holds exactly the events 1..its seq: no fewer (replay would skip them), no more. */
async function assertSnapshotsHoldTheirSeq(): Promise<void> {
  const SQL = await loadSqlJs();
  // From here on synchronous, so that no other snapshot can replace files while they are read.
  for (const s of manifest().snapshots) {
    const db = new SQL.Database(fs.readFileSync(snapshotFile(s.file)));
    try {
      const [count, max] = db.exec('SELECT count(*), max(seq) FROM events')[0].values[0];
      assert.deepEqual([count, max], [s.seq, s.seq], `${s.file} holds ${count} events up to seq ${max}`);
    } finally {
      db.close();
    }
  }
}

/** Overwrites a few bytes in the middle of a file. */
function damage(file: string): void {
  const bytes = fs.readFileSync(file);
  const at = Math.floor(bytes.length / 2);
  for (let i = at; i < at + 16; i++) bytes[i] ^= 0xa5;
  fs.writeFileSync(file, bytes);
}

/** path → sha256 of every file under a directory. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else out[path.relative(dir, full)] = sha256(fs.readFileSync(full));
    }
  };
  walk(dir);
  return out;
}

describe('run store', () => {
  describe('projections', () => {
    it('projects a full run: statuses, attempts, items, outputs in index order, run outputs', async () => {
      const store = await open();
      const bodies = fullRun();
      const events = await appendAll(store, 'run-1', bodies.slice(0, 8));

      const midway = store.getRun('run-1')!;
      assert.equal(midway.status, 'running');
      assert.equal(midway.endedAt, undefined);
      assert.deepEqual(
        midway.steps.map((s) => [s.id, s.status, s.items, s.itemsDone]),
        [
          ['fetch', 'completed', undefined, 0],
          ['each', 'running', 3, 1],
        ],
      );

      events.push(...(await appendAll(store, 'run-1', bodies.slice(8))));
      assert.deepEqual(
        events.map((e) => e.seq),
        Array.from({ length: 13 }, (_, i) => i + 1),
      );
      assert.deepEqual(store.getRun('run-1'), expectedFullRun('run-1', events));
      assert.equal(store.getRun('no-such-run'), undefined);
      assert.equal(store.definitionSource((bodies[0] as { definitionHash: string }).definitionHash), (bodies[0] as { source: string }).source);
    });

    it('returns the events of a run, in order, with their data', async () => {
      const store = await open();
      const bodies = fullRun();
      // Two runs interleaved: each run's events come back alone and in order.
      const [a, b] = await Promise.all([appendAll(store, 'run-a', bodies), appendAll(store, 'run-b', bodies.slice(0, 5))]);
      assert.deepEqual(store.events('run-a'), stored(a));
      assert.deepEqual(store.events('run-b'), stored(b));
      assert.deepEqual(
        store.events('run-a').map((e) => e.type),
        bodies.map((e) => e.type),
      );
      const scheduled = store.events('run-a')[4] as Extract<RunEvent, { type: 'StepScheduled' }>;
      assert.deepEqual([scheduled.step, scheduled.index, scheduled.arguments, scheduled.attempt], ['each', 0, { repo: 'a' }, 1]);
      assert.deepEqual(store.events('no-such-run'), []);
    });

    it('lists runs newest first, filtered by status and workflow', async () => {
      const store = await open();
      await appendAll(store, 'run-b1', [started('build', ['s']), { type: 'WorkflowCompleted', outputs: {}, durationMs: 1 }]);
      await sleep(5);
      await appendAll(store, 'run-d1', [started('deploy', ['s']), { type: 'WorkflowFailed', error: { type: 'Timeout', message: 'took too long' }, durationMs: 1 }]);
      await sleep(5);
      await appendAll(store, 'run-b2', [started('build', ['s'])]);

      const ids = (options?: Parameters<Store['listRuns']>[0]): string[] => store.listRuns(options).map((r) => r.id);
      assert.deepEqual(ids(), ['run-b2', 'run-d1', 'run-b1']);
      assert.deepEqual(ids({ status: 'completed' }), ['run-b1']);
      assert.deepEqual(ids({ status: 'running' }), ['run-b2']);
      assert.deepEqual(ids({ workflow: 'build' }), ['run-b2', 'run-b1']);
      assert.deepEqual(ids({ workflow: 'build', status: 'failed' }), []);
      assert.deepEqual(ids({ workflow: 'deploy', status: 'failed' }), ['run-d1']);
      assert.deepEqual(ids({ limit: 2 }), ['run-b2', 'run-d1']);

      const [failed] = store.listRuns({ status: 'failed' });
      assert.equal(failed.workflow, 'deploy');
      assert.deepEqual(failed.error, { type: 'Timeout', message: 'took too long' });
      assert.ok(failed.endedAt! >= failed.startedAt);
      assert.equal('endedAt' in store.listRuns({ status: 'running' })[0], false);
    });

    it('finds run ids by prefix, literally and at most ten', async () => {
      const store = await open();
      const ids = ['run-a_1', 'run-ab1', 'run-b', 'other', ...Array.from({ length: 12 }, (_, i) => `many-${String(i).padStart(2, '0')}`)];
      await Promise.all(ids.map((id) => store.append(id, started('w', []))));
      assert.deepEqual(store.findRunIds('run-a'), ['run-a_1', 'run-ab1']);
      assert.deepEqual(store.findRunIds('run-a_'), ['run-a_1'], '_ is not a wildcard');
      assert.deepEqual(store.findRunIds('run-b'), ['run-b']);
      assert.deepEqual(store.findRunIds('other'), ['other']);
      assert.deepEqual(store.findRunIds('nope'), []);
      assert.deepEqual(store.findRunIds('many-'), Array.from({ length: 10 }, (_, i) => `many-${String(i).padStart(2, '0')}`));
    });

    it('projects failed, skipped and never-started steps, a failed foreach item, and a failed run', async () => {
      const store = await open();
      const toolError = { type: 'ToolError' as const, message: 'tool lint reported an error: 3 problems', step: 'lint', server: 'linter', tool: 'lint', location: 'ci.workflow.yaml:4:11' };
      const timeout = { type: 'Timeout' as const, message: 'the call timed out after 30000 ms', server: 'slack', tool: 'post' };
      const e = await appendAll(store, 'run-f', [
        started('ci', ['lint', 'test', 'publish', 'notify']),
        { type: 'StepScheduled', step: 'lint', server: 'linter', tool: 'lint', arguments: {}, attempt: 1 },
        { type: 'StepFailed', step: 'lint', error: toolError, attempt: 1, durationMs: 3 },
        { type: 'StepSkipped', step: 'test', reason: 'its if condition was false' },
        { type: 'StepFannedOut', step: 'notify', count: 2 },
        { type: 'StepScheduled', step: 'notify', index: 0, server: 'slack', tool: 'post', arguments: { to: '#a' }, attempt: 1 },
        { type: 'StepScheduled', step: 'notify', index: 1, server: 'slack', tool: 'post', arguments: { to: '#b' }, attempt: 1 },
        { type: 'StepCompleted', step: 'notify', index: 0, output: 'sent', durationMs: 2 },
        { type: 'StepFailed', step: 'notify', index: 1, error: timeout, attempt: 1, durationMs: 30000 },
        { type: 'WorkflowFailed', error: toolError, durationMs: 31000 },
      ]);
      const run = store.getRun('run-f')!;
      assert.equal(run.status, 'failed');
      assert.equal(run.endedAt, e[9].time);
      assert.deepEqual(run.error, toolError);
      assert.equal('outputs' in run, false);
      const [lint, test, publish, notify] = run.steps;
      const request = (server: string, tool: string, args: unknown) => ({ server, tool, arguments: args, attempt: 1 });
      assert.deepEqual(lint, {
        id: 'lint',
        status: 'failed',
        server: 'linter',
        tool: 'lint',
        attempts: 1,
        failedAttempts: 0,
        request: request('linter', 'lint', {}),
        inFlight: false,
        itemsDone: 0,
        startedAt: e[1].time,
        endedAt: e[2].time,
        error: toolError,
      });
      assert.deepEqual(test, { id: 'test', status: 'skipped', attempts: 0, failedAttempts: 0, itemsDone: 0, endedAt: e[3].time, reason: 'its if condition was false' });
      assert.deepEqual(publish, { id: 'publish', status: 'pending', attempts: 0, failedAttempts: 0, itemsDone: 0 });
      assert.deepEqual(notify, {
        id: 'notify',
        status: 'failed',
        server: 'slack',
        tool: 'post',
        attempts: 1,
        failedAttempts: 0,
        items: 2,
        itemsDone: 1,
        startedAt: e[4].time,
        endedAt: e[8].time,
        error: timeout,
        itemDetails: [
          { index: 0, status: 'completed', attempts: 1, failedAttempts: 0, request: request('slack', 'post', { to: '#a' }), inFlight: false, completedSeq: e[7].seq, startedAt: e[5].time, endedAt: e[7].time, output: 'sent' },
          { index: 1, status: 'failed', attempts: 1, failedAttempts: 0, request: request('slack', 'post', { to: '#b' }), inFlight: false, startedAt: e[6].time, endedAt: e[8].time, error: timeout },
        ],
      });
    });

    it('projects a cancelled run with a Cancelled error', async () => {
      const store = await open();
      const e = await appendAll(store, 'run-c', [
        started('slow', ['wait']),
        { type: 'StepScheduled', step: 'wait', server: 'clock', tool: 'sleep', arguments: { s: 60 }, attempt: 1 },
        { type: 'StepFailed', step: 'wait', error: { type: 'Cancelled', message: 'cancelled: stopped by the user' }, attempt: 1, durationMs: 5 },
        { type: 'WorkflowCancelled', reason: 'stopped by the user', durationMs: 6 },
      ]);
      const run = store.getRun('run-c')!;
      assert.equal(run.status, 'cancelled');
      assert.equal(run.endedAt, e[3].time);
      assert.deepEqual(run.error, { type: 'Cancelled', message: 'stopped by the user' });
      assert.deepEqual(store.listRuns({ status: 'cancelled' }).map((r) => r.id), ['run-c']);
      assert.equal(run.steps[0].status, 'failed');
    });

    it('gives the same projection live and on replay, even for an explicitly undefined output', async () => {
      const store = await open();
      const bodies = fullRun();
      // The foreach step's own StepCompleted with the key present but undefined: its JSON in the journal has no key.
      bodies[11] = { type: 'StepCompleted', step: 'each', output: undefined, outputs: { names: ['a', 'b', 'c'] }, durationMs: 40 };
      const events = await appendAll(store, 'run-1', bodies);
      const liveState = state(store, ['run-1']);
      assert.deepEqual(store.getRun('run-1'), expectedFullRun('run-1', events));
      await crash(store);
      const replayed = await open();
      assert.equal(replayed.recovery.replayed, 13);
      assert.deepEqual(state(replayed, ['run-1']), liveState);
    });
  });

  describe('subscribers', () => {
    it('get each event only once it is durable, in seq order', async () => {
      const store = await open();
      const seen: RunEvent[] = [];
      const unsubscribe = store.subscribe((event) => {
        // The event is in the journal on disk by the time a listener hears of it, and already in the database.
        const onDisk = readJournal(journalDir(), { repair: false }).records.map((r) => (JSON.parse(r.toString()) as RunEvent).seq);
        assert.ok(onDisk.includes(event.seq), `event ${event.seq} was delivered before it was on disk`);
        assert.ok(store.events(event.runId).some((e) => e.seq === event.seq), `event ${event.seq} was delivered before it was projected`);
        seen.push(event);
      });

      const first = store.append('run-1', started('w', ['a']));
      assert.equal(seen.length, 0, 'not delivered while the append is in flight');
      await first;
      assert.equal(seen.length, 1);
      await store.append('run-2', started('w', ['a']));
      await store.append('run-3', started('w', ['a']));

      // Many appends at once, from three runs: delivered in seq order, each once.
      const appended = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          store.append(`run-${(i % 3) + 1}`, { type: 'StepScheduled', step: 'a', server: 's', tool: 't', arguments: { i }, attempt: 1 }),
        ),
      );
      assert.deepEqual(
        seen.map((e) => e.seq),
        Array.from({ length: 63 }, (_, i) => i + 1),
      );
      assert.deepEqual(seen.slice(3), appended);

      unsubscribe();
      await store.append('run-1', { type: 'StepSkipped', step: 'a', reason: 'x' });
      assert.equal(seen.length, 63, 'an unsubscribed listener hears nothing more');
    });

    it('never hear of an event that did not become durable, and neither does the database', async function () {
      if (!fs.existsSync('/dev/full')) this.skip();
      const store = await open();
      await store.append('run-1', started('w', ['a']));
      const seen: RunEvent[] = [];
      store.subscribe((event) => seen.push(event));
      const before = state(store, ['run-1']);

      // Point the journal at /dev/full for one append: a full disk.
      const journal = (store as unknown as { journal: { fd: number } }).journal;
      const realFd = journal.fd;
      const fullFd = fs.openSync('/dev/full', 'a');
      journal.fd = fullFd;
      try {
        await assert.rejects(store.append('run-1', { type: 'StepSkipped', step: 'a', reason: 'x' }), { name: 'JournalWriteError', code: 'ENOSPC' });
      } finally {
        journal.fd = realFd;
        fs.closeSync(fullFd);
      }
      assert.deepEqual(seen, []);
      assert.deepEqual(state(store, ['run-1']), before);

      // The store goes on; the event that failed is nowhere, after a restart either.
      const later = await store.append('run-1', { type: 'StepSkipped', step: 'a', reason: 'y' });
      assert.deepEqual(seen, [later]);
      await crash(store);
      const reopened = await open();
      assert.deepEqual(
        reopened.events('run-1').map((e) => [e.type, (e as { reason?: string }).reason]),
        [
          ['WorkflowStarted', undefined],
          ['StepSkipped', 'y'],
        ],
      );
    });
  });

  describe('recovery', () => {
    it('reopens a closed store from its snapshot alone, with the same state', async () => {
      const store = await open();
      await Promise.all([appendAll(store, 'run-1', fullRun()), appendAll(store, 'run-2', fullRun().slice(0, 6))]);
      const before = state(store, ['run-1', 'run-2']);
      await close(store);

      const reopened = await open();
      assert.deepEqual(reopened.recovery, { snapshotSeq: 19, replayed: 0 });
      assert.deepEqual(state(reopened, ['run-1', 'run-2']), before);
      assert.equal((await reopened.append('run-2', { type: 'StepSkipped', step: 'fetch', reason: 'x' })).seq, 20);
    });

    it('recovers every event of a writer killed without closing from the journal, none lost or doubled', async () => {
      const store = await open();
      const runs = ['run-1', 'run-2', 'run-3'];
      // Sequential and concurrent appends mixed, as several runs make them.
      await Promise.all(runs.map((id) => appendAll(store, id, fullRun())));
      const count = 3 * 13;
      const before = state(store, runs);
      await crash(store);
      assert.equal(fs.existsSync(path.join(dataDir, 'manifest.json')), false, 'nothing was snapshotted');

      const reopened = await open();
      assert.deepEqual(reopened.recovery, { snapshotSeq: 0, replayed: count });
      assertContiguous(allSeqs(reopened, runs), count);
      assert.deepEqual(state(reopened, runs), before);
      assert.equal((await reopened.append('run-1', { type: 'StepSkipped', step: 'x', reason: 'r' })).seq, count + 1);
    });

    it('gives the histories of the open runs in one pass after a crash, and each run\'s status without its history', async () => {
      const store = await open();
      const bodies = fullRun();
      const [a, , c] = await Promise.all([appendAll(store, 'run-a', bodies.slice(0, 6)), appendAll(store, 'run-b', bodies), appendAll(store, 'run-c', bodies.slice(0, 3))]);
      await crash(store);
      const reopened = await open();
      const histories = reopened.openRunHistories();
      assert.deepEqual([...histories.keys()], ['run-a', 'run-c'], 'the open runs, oldest first; run-b ended');
      assert.deepEqual(histories.get('run-a'), stored(a));
      assert.deepEqual(histories.get('run-c'), stored(c));
      assert.deepEqual(histories.get('run-a'), reopened.events('run-a'), 'the same as reading one run');
      assert.equal(reopened.runStatus('run-a'), 'running');
      assert.equal(reopened.runStatus('run-b'), 'completed');
      assert.equal(reopened.runStatus('no-such-run'), undefined);
    });

    it('replays only the journal after the last snapshot', async () => {
      const store = await open();
      await appendAll(store, 'run-1', fullRun());
      await store.snapshot();
      await appendAll(store, 'run-2', fullRun().slice(0, 4));
      const before = state(store, ['run-1', 'run-2']);
      await crash(store);

      const reopened = await open();
      assert.deepEqual(reopened.recovery, { snapshotSeq: 13, replayed: 4 });
      assertContiguous(allSeqs(reopened, ['run-1', 'run-2']), 17);
      assert.deepEqual(state(reopened, ['run-1', 'run-2']), before);
    });

    it('recovers a writer process killed with SIGKILL, after refusing a second writer while it lived', async () => {
      const command = 'openconductor run child.workflow.yaml';
      const child = await startChildWriter(command, 25);
      const lock = fs.readFileSync(path.join(dataDir, 'lock'), 'utf8');

      await assert.rejects(open('writer', { command: 'openconductor run other.workflow.yaml' }), (e: unknown) => {
        assert.ok(e instanceof DataDirectoryBusyError, `got ${String(e)}`);
        assert.deepEqual(e.holder, { pid: child.pid, command });
        assert.match(e.message, new RegExp(`pid ${child.pid}: ${command}`));
        assert.ok(e.message.includes(dataDir));
        return true;
      });
      assert.equal(fs.readFileSync(path.join(dataDir, 'lock'), 'utf8'), lock, "the live writer's lock is untouched");

      // A reader needs no lock: it sees what the writer made durable.
      const reader = await open('reader');
      assert.equal(reader.events('child-run').length, 25);
      await close(reader);

      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const store = await open('writer', { command: 'openconductor run after.workflow.yaml' });
      assert.deepEqual(store.recovery, { snapshotSeq: 0, replayed: 25 });
      assertContiguous(allSeqs(store, ['child-run']), 25);
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dataDir, 'lock'), 'utf8')), { pid: process.pid, command: 'openconductor run after.workflow.yaml' });
    });

    it('drops a torn journal tail at reopen, reports it, and appends after the last good record', async () => {
      const store = await open();
      await appendAll(store, 'run-1', fullRun());
      await crash(store);
      const segment = newestSegment();
      const goodSize = fs.statSync(segment).size;
      // A record the crash cut short: its header promises 200 bytes, 30 made it.
      const header = Buffer.alloc(8);
      header.writeUInt32LE(200, 0);
      const torn = Buffer.concat([header, Buffer.from('{"type":"StepScheduled","runI')]);
      fs.appendFileSync(segment, torn);
      const tornTail = { segment: path.basename(segment), offset: goodSize, bytes: torn.length };

      const reader = await open('reader');
      assert.deepEqual(reader.recovery.tornTail, tornTail);
      assert.equal(fs.statSync(segment).size, goodSize + torn.length, 'a reader repairs nothing');
      await close(reader);

      const reopened = await open();
      assert.deepEqual(reopened.recovery, { snapshotSeq: 0, replayed: 13, tornTail });
      assert.equal(fs.statSync(segment).size, goodSize, 'the writer cut the torn tail off');
      assertContiguous(allSeqs(reopened, ['run-1']), 13);
      await reopened.append('run-2', started('w', []));
      await crash(reopened);

      const again = await open();
      assert.deepEqual(again.recovery, { snapshotSeq: 0, replayed: 14 });
      assertContiguous(allSeqs(again, ['run-1', 'run-2']), 14);
    });

    it('drops a last record cut in half, and gives its seq to the next event', async () => {
      const store = await open();
      await appendAll(store, 'run-1', fullRun());
      await crash(store);
      const segment = newestSegment();
      fs.truncateSync(segment, fs.statSync(segment).size - 20);

      const reopened = await open();
      assert.equal(reopened.recovery.replayed, 12);
      assert.ok(reopened.recovery.tornTail);
      assert.equal(reopened.getRun('run-1')!.status, 'running', 'WorkflowCompleted was the torn record');
      assert.equal((await reopened.append('run-1', { type: 'WorkflowCompleted', outputs: {}, durationMs: 1 })).seq, 13);
      await crash(reopened);
      const again = await open();
      assertContiguous(allSeqs(again, ['run-1']), 13);
    });
  });

  it('refuses, with what to do, a snapshot written in another store format, and changes nothing', async () => {
    const store = await open();
    await appendAll(store, 'run-1', fullRun());
    await close(store);
    // Rewrite the snapshot as an older version would have stamped it, with a checksum that holds.
    const [entry] = manifest().snapshots;
    const SQL = await loadSqlJs();
    const db = new SQL.Database(fs.readFileSync(snapshotFile(entry.file)));
    db.run("UPDATE meta SET value = '1' WHERE key = 'schema_version'");
    const bytes = Buffer.from(db.export());
    db.close();
    fs.writeFileSync(snapshotFile(entry.file), bytes);
    const rewritten = { snapshots: [{ ...entry, sha256: createHash('sha256').update(bytes).digest('hex') }] };
    fs.writeFileSync(path.join(dataDir, 'manifest.json'), JSON.stringify(rewritten));
    const before = fingerprint(dataDir);

    await assert.rejects(open(), (error: Error) => {
      assert.equal(error.name, 'StoreOpenError');
      assert.match(error.message, /written by another version of OpenConductor \(store format 1; this version reads format \d+\)/);
      assert.match(error.message, /move the folder aside/);
      return true;
    });
    assert.deepEqual(fingerprint(dataDir), before, 'the refused store is left as it was (lock released)');
  });

  describe('damaged snapshots', () => {
    /** Two snapshots: the older at seq 13 (run-1), the newer at seq 20 (run-2 too), taken by close(). */
    async function twoSnapshots(): Promise<unknown> {
      const store = await open();
      await appendAll(store, 'run-1', fullRun());
      await store.snapshot();
      await appendAll(store, 'run-2', fullRun().slice(0, 7));
      const before = state(store, ['run-1', 'run-2']);
      await close(store);
      assert.deepEqual(
        manifest().snapshots.map((s) => s.seq),
        [13, 20],
      );
      return before;
    }

    it('falls back to the older snapshot and the journal when the newest fails its checksum', async () => {
      const before = await twoSnapshots();
      damage(snapshotFile(snapshotName(20)));

      const reopened = await open();
      assert.equal(reopened.recovery.snapshotSeq, 13);
      assert.equal(reopened.recovery.replayed, 7);
      assert.match(reopened.recovery.snapshotFallback ?? '', /state-0+20\.db is damaged \(checksum mismatch\)/);
      assert.deepEqual(state(reopened, ['run-1', 'run-2']), before);
      assertContiguous(allSeqs(reopened, ['run-1', 'run-2']), 20);
    });

    it('falls back when the newest snapshot is missing', async () => {
      const before = await twoSnapshots();
      fs.rmSync(snapshotFile(snapshotName(20)));
      const reader = await open('reader');
      assert.match(reader.recovery.snapshotFallback ?? '', /state-0+20\.db is missing/);
      assert.deepEqual(state(reader, ['run-1', 'run-2']), before);
    });

    it('after a fallback, keeps the intact older snapshot as the spare, not the damaged one', async () => {
      const before = await twoSnapshots();
      damage(snapshotFile(snapshotName(20)));
      const reopened = await open();
      assert.ok(reopened.recovery.snapshotFallback);
      await reopened.append('run-3', started('w', []));
      await close(reopened); // snapshot at 21

      assert.deepEqual(
        manifest().snapshots.map((s) => s.seq),
        [13, 21],
      );
      assert.deepEqual(fs.readdirSync(path.join(dataDir, 'snapshots')).sort(), [snapshotName(13), snapshotName(21)]);
      // The newest goes bad too: the spare and the journal behind it still hold everything.
      damage(snapshotFile(snapshotName(21)));
      const again = await open();
      assert.equal(again.recovery.snapshotSeq, 13);
      assert.equal(again.recovery.replayed, 8);
      assert.deepEqual(state(again, ['run-1', 'run-2']), before);
      assertContiguous(allSeqs(again, ['run-1', 'run-2', 'run-3']), 21);
    });

    it('rebuilds from the whole journal when no snapshot is intact: the journal archives every event', async () => {
      const before = await twoSnapshots();
      damage(snapshotFile(snapshotName(20)));
      damage(snapshotFile(snapshotName(13)));
      const store = await open();
      assert.deepEqual(store.recovery, { snapshotSeq: 0, replayed: 20, snapshotFallback: `snapshot ${snapshotName(13)} is damaged (checksum mismatch)` });
      assert.deepEqual(state(store, ['run-1', 'run-2']), before);
    });

    it('refuses to open, with a clear error, when no snapshot is intact and the journal lost its beginning', async () => {
      await twoSnapshots();
      damage(snapshotFile(snapshotName(20)));
      damage(snapshotFile(snapshotName(13)));
      fs.rmSync(path.join(journalDir(), 'journal-0000000000000001.log'));
      const files = fingerprint(dataDir);

      for (const mode of ['writer', 'reader'] as const) {
        await assert.rejects(open(mode), (e: unknown) => {
          assert.ok(e instanceof Error);
          assert.match(e.message, /cannot open the run store in .*: snapshot state-0+13\.db is damaged \(checksum mismatch\), and no older snapshot is intact/);
          assert.ok(e.message.includes(dataDir));
          return true;
        });
      }
      assert.equal(fs.existsSync(path.join(dataDir, 'lock')), false, 'the failed writer let go of the lock');
      assert.deepEqual(fingerprint(dataDir), files, 'nothing was changed or repaired');
    });
  });

  describe('readers', () => {
    it('see a live writer’s events up to the moment they open, without the lock and without touching a file', async () => {
      const writer = await open('writer', { command: 'openconductor sidecar' });
      await appendAll(writer, 'run-1', fullRun());
      await writer.snapshot();
      await appendAll(writer, 'run-2', fullRun().slice(0, 5));
      // A torn write at the end, as if the writer were in the middle of one.
      fs.appendFileSync(newestSegment(), Buffer.from([9, 0, 0, 0, 1, 2]));
      const expected = state(writer, ['run-1', 'run-2']);
      const files = fingerprint(dataDir);

      const reader = await open('reader');
      assert.deepEqual(reader.recovery, {
        snapshotSeq: 13,
        replayed: 5,
        tornTail: { segment: path.basename(newestSegment()), offset: fs.statSync(newestSegment()).size - 6, bytes: 6 },
      });
      assert.deepEqual(state(reader, ['run-1', 'run-2']), expected);
      await assert.rejects(reader.append('run-2', started('w', [])), /read-only/);
      await reader.snapshot();
      await close(reader);
      assert.deepEqual(fingerprint(dataDir), files, 'the reader changed no file, the lock included');

      // Cut the simulated torn write off again before the writer goes on (it appends after its own last record).
      fs.truncateSync(newestSegment(), fs.statSync(newestSegment()).size - 6);
    });

    it('see the state as of opening, not what the writer appends afterwards', async () => {
      const writer = await open();
      await appendAll(writer, 'run-1', fullRun().slice(0, 3));
      const reader = await open('reader');
      await appendAll(writer, 'run-1', fullRun().slice(3));
      assert.equal(reader.events('run-1').length, 3);
      assert.equal(reader.getRun('run-1')!.status, 'running');
      assert.equal(writer.getRun('run-1')!.status, 'completed');
    });

    it('on a directory that does not exist see an empty store and create nothing', async () => {
      const before = fs.readdirSync(root);
      const reader = await open('reader');
      assert.deepEqual(reader.recovery, { snapshotSeq: 0, replayed: 0 });
      assert.deepEqual(reader.listRuns(), []);
      assert.equal(reader.getRun('x'), undefined);
      assert.deepEqual(reader.findRunIds(''), []);
      await close(reader);
      assert.equal(fs.existsSync(dataDir), false);
      assert.deepEqual(fs.readdirSync(root), before);
    });
  });

  describe('the writer lock', () => {
    it('refuses a second writer in the same process, naming the pid and command', async () => {
      const first = await open('writer', { command: 'openconductor sidecar' });
      await assert.rejects(open('writer', { command: 'openconductor run x.workflow.yaml' }), (e: unknown) => {
        assert.ok(e instanceof DataDirectoryBusyError, `got ${String(e)}`);
        assert.deepEqual(e.holder, { pid: process.pid, command: 'openconductor sidecar' });
        assert.match(e.message, new RegExp(`pid ${process.pid}: openconductor sidecar`));
        return true;
      });
      await close(first);
      const second = await open('writer', { command: 'openconductor run x.workflow.yaml' });
      assert.ok(second);
    });

    it('takes over a stale lock whose process is gone', async () => {
      fs.mkdirSync(dataDir, { recursive: true });
      const gonePid = 2 ** 22 + 12345; // above any pid_max: no such process
      fs.writeFileSync(path.join(dataDir, 'lock'), JSON.stringify({ pid: gonePid, command: 'openconductor run old.workflow.yaml' }));
      const store = await open('writer', { command: 'openconductor sidecar' });
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dataDir, 'lock'), 'utf8')), { pid: process.pid, command: 'openconductor sidecar' });
      await close(store);
      assert.equal(fs.existsSync(path.join(dataDir, 'lock')), false, 'close() lets go of the lock');
    });

    it('takes over a lock naming this pid that this process does not hold (left by an earlier process with the same pid)', async () => {
      fs.mkdirSync(dataDir, { recursive: true });
      fs.writeFileSync(path.join(dataDir, 'lock'), JSON.stringify({ pid: process.pid, command: 'openconductor sidecar (previous container)' }));
      const store = await open('writer', { command: 'openconductor sidecar' });
      assert.equal((JSON.parse(fs.readFileSync(path.join(dataDir, 'lock'), 'utf8')) as { command: string }).command, 'openconductor sidecar');
      await close(store);
    });
  });

  describe('snapshots', () => {
    it('rotate the journal and keep it whole (the archive of every history), with two generations of snapshots', async () => {
      const store = await open();
      await appendAll(store, 'run-1', fullRun()); // 1..13
      await store.snapshot();
      assert.deepEqual(journalSegments(), ['journal-0000000000000001.log', 'journal-0000000000000014.log']);

      await appendAll(store, 'run-2', fullRun().slice(0, 7)); // 14..20
      await store.snapshot();
      await appendAll(store, 'run-3', fullRun().slice(0, 3)); // 21..23
      await store.snapshot();
      assert.deepEqual(journalSegments(), ['journal-0000000000000001.log', 'journal-0000000000000014.log', 'journal-0000000000000021.log', 'journal-0000000000000024.log']);
      assert.deepEqual(
        readJournal(journalDir(), { repair: false, afterSeq: 20 }).records.map((r) => (JSON.parse(r.toString()) as RunEvent).seq),
        [21, 22, 23],
        'opening reads only the segments after the snapshot',
      );

      assert.deepEqual(fs.readdirSync(path.join(dataDir, 'snapshots')).sort(), [snapshotName(20), snapshotName(23)]);
      const { snapshots } = manifest();
      assert.deepEqual(
        snapshots.map((s) => [s.file, s.seq]),
        [
          [snapshotName(20), 20],
          [snapshotName(23), 23],
        ],
      );
      for (const s of snapshots) assert.equal(sha256(fs.readFileSync(snapshotFile(s.file))), s.sha256, `${s.file} matches its checksum`);
      await assertSnapshotsHoldTheirSeq();
      assert.deepEqual(
        fs.readdirSync(dataDir).filter((f) => f.endsWith('.tmp')),
        [],
      );

      const before = state(store, ['run-1', 'run-2', 'run-3']);
      await crash(store);
      const reopened = await open();
      assert.deepEqual(reopened.recovery, { snapshotSeq: 23, replayed: 0 });
      assert.deepEqual(state(reopened, ['run-1', 'run-2', 'run-3']), before);
    });

    it('does not lose an event appended while a snapshot is being taken', async () => {
      const store = await open();
      await store.append('run-1', started('w', ['a', 'b']));
      // The snapshot starts, then an append arrives before it has written anything.
      const snapshot = store.snapshot();
      const appended = store.append('run-1', { type: 'StepSkipped', step: 'a', reason: 'raced the snapshot' });
      await Promise.all([snapshot, appended]);
      assert.equal((await appended).seq, 2);
      await crash(store);

      const reopened = await open();
      assertContiguous(allSeqs(reopened, ['run-1']), 2);
      assert.equal(reopened.getRun('run-1')!.steps[0].status, 'skipped');
    });

    it('lose nothing under concurrent appends, listeners that append, and automatic snapshots', async () => {
      const store = await open('writer', { snapshotEveryBytes: 2000 });
      let chained = 0;
      const work: Array<Promise<unknown>> = [];
      // Like the engine, an event can lead straight to the next append; and a snapshot can start between two events
      // of one group commit, while later events of that group are yet to reach their listeners.
      store.subscribe((event) => {
        if (event.type === 'StepFannedOut') work.push(store.snapshot().then(assertSnapshotsHoldTheirSeq));
        if (event.type === 'StepCompleted' && chained < 40) {
          chained++;
          work.push(store.append(event.runId, { type: 'StepSkipped', step: `after-${event.seq}`, reason: 'chained' }));
        }
      });
      for (let i = 0; i < 20; i++) {
        work.push(appendAll(store, `run-${i}`, fullRun()));
        if (i % 6 === 0) work.push(store.snapshot().then(assertSnapshotsHoldTheirSeq));
      }
      while (work.length > 0) await Promise.all(work.splice(0));
      const runs = Array.from({ length: 20 }, (_, i) => `run-${i}`);
      const count = 20 * 13 + chained;
      assertContiguous(allSeqs(store, runs), count);
      assert.ok(manifest().snapshots.length === 2);
      await appendAll(store, 'run-0', [{ type: 'StepSkipped', step: 'last', reason: 'x' }]);
      const before = state(store, runs);
      await crash(store);

      const reopened = await open();
      assertContiguous(allSeqs(reopened, runs), count + 1);
      assert.deepEqual(state(reopened, runs), before);
    });

    it('are taken automatically once the journal has grown past snapshotEveryBytes', async () => {
      const store = await open('writer', { snapshotEveryBytes: 3000 });
      for (let i = 0; i < 10; i++) await appendAll(store, `run-${i}`, fullRun());
      await store.snapshot(); // lets an automatic snapshot in flight finish
      const seqs = manifest().snapshots.map((s) => s.seq);
      assert.equal(seqs.length, 2);
      assert.equal(seqs[1], 130);
      assert.ok(seqs[0] > 0 && seqs[0] < 130, `an automatic snapshot was taken before the explicit one: ${seqs.join(', ')}`);
    });
  });
});

/** A writer in another process: opens the store, makes `count` events durable, says "ready", then waits to be killed. */
async function startChildWriter(command: string, count: number): Promise<ChildProcess & { pid: number }> {
  const script = `
    const { Store } = require(process.env.STORE_MODULE);
    (async () => {
      const store = await Store.open({ dataDir: process.env.DATA_DIR, mode: 'writer', command: process.env.COMMAND });
      await store.append('child-run', { type: 'WorkflowStarted', workflow: 'child', file: 'child.workflow.yaml', definitionHash: 'h', source: 's', inputs: {}, steps: ['s'] });
      const more = [];
      for (let i = 1; i < Number(process.env.COUNT); i++) {
        more.push(store.append('child-run', { type: 'StepScheduled', step: 's', server: 'x', tool: 't', arguments: { i }, attempt: i }));
      }
      await Promise.all(more);
      process.stdout.write('ready\\n');
      setInterval(() => {}, 1000);
    })().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
  `;
  const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script], {
    env: { ...process.env, STORE_MODULE: require.resolve('../../sidecar/store/store'), DATA_DIR: dataDir, COMMAND: command, COUNT: String(count) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the child writer did not get ready: ${stderr}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the child writer exited with ${code}: ${stderr}`));
    });
  });
  assert.ok(child.pid !== undefined);
  return child as ChildProcess & { pid: number };
}
