import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Database, SqlValue } from 'sql.js';
import type { BreakerState, RunEvent, RunEventBody, RunStatus, ServerEvent, ServerEventBody } from '../../common/events';
import { runFromEvents } from '../../common/run-state';
import type { RunDetails, RunSummary } from '../../common/runs';
import { writeFileAtomic } from './atomic-file';
import { Journal, readJournal, SegmentReader, type BatchOutcome, type JournalContents, type RecordPosition } from './journal';
import { DirectoryLock } from './lock';
import { Projection } from './projection';
import { SCHEMA_SQL, SCHEMA_VERSION } from './schema';
import { loadSqlJs } from './sqljs';
import { Listeners } from '../../common/listeners';

export interface StoreOptions {
  dataDir: string;
  /** A writer holds the directory's lock and appends; a reader sees the state as of opening. */
  mode: 'writer' | 'reader';
  /** What the writer is doing, shown to a process that finds the directory locked. */
  command?: string;
  /** Take a snapshot once the journal has grown by this many bytes (default 64 MiB). */
  snapshotEveryBytes?: number;
}

/** What opening found and did. */
export interface RecoveryInfo {
  snapshotSeq: number;
  replayed: number;
  tornTail?: JournalContents['tornTail'];
  /** The newest snapshot failed its checksum and an older one was used. */
  snapshotFallback?: string;
}

interface Manifest {
  snapshots: Array<{ file: string; seq: number; sha256: string }>;
}

/**
 * The run store: an append-only journal (the truth) and a sql.js database of projections (for queries),
 * snapshotted atomically so the journal can be cut behind it. An event reaches the database and the
 * listeners only once its journal record is durable.
 */
export class Store {
  private readonly listeners = new Listeners<RunEvent>();
  private notifiedSeq = 0;
  private bytesSinceSnapshot = 0;
  private snapshotting: Promise<void> | undefined;
  private closed = false;
  /** Durable events waiting to be projected: done in one transaction, off the path that acknowledges appends. */
  private unprojected: Array<{ events: JournalEvent[]; position: RecordPosition }> = [];
  /** Reads run histories back from the journal, which archives them. */
  private readonly reader: SegmentReader;
  /** Pinned sources read so far: a version's source never changes, and every run resumed of it asks. */
  private readonly sources = new Map<string, string>();
  private projectionScheduled = false;
  /** Definition versions whose source is durable in this store. */
  private readonly definitions: Set<string>;

  private constructor(
    private readonly options: StoreOptions,
    private readonly db: Database,
    private readonly projection: Projection,
    private readonly journal: Journal | undefined,
    private readonly lock: DirectoryLock | undefined,
    private readonly manifest: Manifest,
    private lastSeq: number,
    readonly recovery: RecoveryInfo,
  ) {
    this.reader = new SegmentReader(path.join(options.dataDir, 'journal'));
    if (journal) journal.onBatch = (outcome) => this.onBatch(outcome);
    this.definitions = new Set(this.rows('SELECT hash FROM definitions', []).map((r) => String(r.hash)));
  }

  /** Opens a data directory: loads the newest valid snapshot and replays the journal after it. */
  static async open(options: StoreOptions): Promise<Store> {
    const SQL = await loadSqlJs();
    // A reader of a directory that does not exist yet sees an empty store and creates nothing.
    if (options.mode === 'writer') fs.mkdirSync(options.dataDir, { recursive: true });
    const lock = options.mode === 'writer' ? DirectoryLock.acquire(options.dataDir, options.command ?? 'openconductor') : undefined;
    try {
      const manifest = readManifest(options.dataDir);
      const { bytes, seq, fallback } = loadSnapshot(options.dataDir, manifest);
      // Forget the damaged snapshots newer than the one loaded, so the next snapshot keeps an intact older generation.
      manifest.snapshots = manifest.snapshots.filter((s) => s.seq <= seq);
      const db = new SQL.Database(bytes);
      if (bytes) checkFormat(db, options.dataDir);
      configure(db);
      db.exec(SCHEMA_SQL);
      db.run('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)', ['schema_version', String(SCHEMA_VERSION)]);
      const projection = new Projection(db);
      const journalDir = path.join(options.dataDir, 'journal');
      const contents = readJournal(journalDir, { repair: options.mode === 'writer', afterSeq: seq });
      let replayed = 0;
      let lastSeq = seq;
      db.exec('BEGIN');
      for (const [i, record] of contents.records.entries()) {
        const events = decodeRecord<JournalEvent>(record);
        // A record is written whole, and a snapshot is taken only when every record is durable: a record is all in
        // the snapshot (seq up to its seq), or all after. Records are not in seq order in the file (a run's first
        // event may jump the queue), so compare with the snapshot's seq, not with the previous record.
        if (events[0].seq <= seq) continue;
        projection.apply(events, contents.positions[i]);
        lastSeq = Math.max(lastSeq, events[events.length - 1].seq);
        replayed += events.length;
      }
      projection.flush();
      db.exec('COMMIT');
      const journal = options.mode === 'writer' ? Journal.open(journalDir, lastSeq + 1) : undefined;
      const recovery: RecoveryInfo = {
        snapshotSeq: seq,
        replayed,
        ...(contents.tornTail && { tornTail: contents.tornTail }),
        ...(fallback && { snapshotFallback: fallback }),
      };
      return new Store(options, db, projection, journal, lock, manifest, lastSeq, recovery);
    } catch (error) {
      lock?.release();
      throw error;
    }
  }

  /**
   * Appends an event to a run; resolves with the stored event once it is durable. With `soon` the record may
   * wait a moment to share its write (for events nothing waits on).
   */
  async append(runId: string, body: RunEventBody, urgency: 'now' | 'soon' = 'now'): Promise<RunEvent> {
    return (await this.appendAll(runId, [body], urgency))[0];
  }

  /**
   * Appends consecutive events of one run as one journal record: durable together, one write and one row
   * for all of them (a step's start and end when the call was quick), each still an event with its own seq.
   */
  async appendAll(runId: string, bodies: RunEventBody[], urgency: 'now' | 'soon' = 'now'): Promise<RunEvent[]> {
    if (!this.journal || this.closed) throw new Error('the store is read-only or closed');
    const time = Date.now();
    const events = bodies.map((body) => ({ ...body, runId, seq: ++this.lastSeq, time }) as RunEvent);
    const record = Buffer.from(JSON.stringify(events.length === 1 ? events[0] : events), 'utf8');
    this.bytesSinceSnapshot += record.length + 8;
    // A run's first event orders nothing before it: it may jump the queue, so that a start is prompt under load.
    await this.write(events, record, urgency, bodies[0].type === 'WorkflowStarted');
    return events;
  }

  /** Appends an event about a server (its circuit breaker changed); resolves once durable. */
  async appendServerEvent(body: ServerEventBody): Promise<ServerEvent> {
    if (!this.journal || this.closed) throw new Error('the store is read-only or closed');
    const event: ServerEvent = { ...body, seq: ++this.lastSeq, time: Date.now() };
    await this.write([event], Buffer.from(JSON.stringify(event), 'utf8'), 'soon');
    return event;
  }

  private async write(events: JournalEvent[], record: Buffer, urgency: 'now' | 'soon', first = false): Promise<void> {
    this.bytesSinceSnapshot += record.length + 8;
    await this.journal!.append(record, urgency, { first, tag: events });
    if (this.bytesSinceSnapshot > (this.options.snapshotEveryBytes ?? 64 * 1024 * 1024) && !this.snapshotting) {
      this.snapshotting = this.snapshot().finally(() => (this.snapshotting = undefined));
    }
  }

  /** A journal batch settled: tell the listeners and queue its events for projection, or drop them if it failed. */
  private onBatch(outcome: BatchOutcome): void {
    // The failed write was cut off the file, and the next one goes where it was: bytes read meanwhile are stale.
    if ('failed' in outcome) this.reader.forget();
    if (!('durable' in outcome) || outcome.durable.length === 0) return;
    const entries = (outcome.durable as JournalEvent[][]).map((events, i) => ({ events, position: outcome.positions[i] }));
    for (const entry of entries) this.unprojected.push(entry);
    if (!this.projectionScheduled) {
      this.projectionScheduled = true;
      // A transaction rewrites the pages it touched: gathering a few milliseconds of events into one costs less.
      setTimeout(() => this.project(false), PROJECTION_DELAY_MS);
    }
    for (const { events } of entries) {
      for (const event of events) {
        if (!isRunEvent(event)) continue;
        if (event.type === 'WorkflowStarted' && event.source !== undefined) this.definitions.add(event.definitionHash);
        this.notifiedSeq = event.seq;
        this.listeners.emit(event);
      }
    }
  }

  /**
   * Projects durable events into the database, in transactions. In the background it stops after a few
   * milliseconds and goes on later, so the event loop keeps answering; a query projects everything first
   * (`all`), so it never sees a stale state.
   */
  private project(all = true): void {
    this.projectionScheduled = false;
    if (this.unprojected.length === 0 || this.closed) return;
    const started = performance.now();
    let done = 0;
    this.db.exec('BEGIN');
    try {
      while (done < this.unprojected.length) {
        const { events, position } = this.unprojected[done++];
        this.projection.apply(events, position);
        if (!all && (done & 63) === 0 && performance.now() - started > PROJECTION_SLICE_MS) break;
      }
      this.projection.flush();
    } finally {
      this.db.exec('COMMIT');
    }
    this.unprojected = done === this.unprojected.length ? [] : this.unprojected.slice(done);
    if (this.unprojected.length > 0 && !this.projectionScheduled) {
      this.projectionScheduled = true;
      setImmediate(() => this.project(false));
    }
  }

  /**
   * The seq of the last event given to the listeners, 0 before the first. Listeners get events in durable order,
   * which is not always seq order (a new run's first event goes ahead of the other runs' waiting ones).
   */
  get lastNotifiedSeq(): number {
    return this.notifiedSeq;
  }

  /** Calls `listener` with every event once it is durable; returns the unsubscribe function. */
  subscribe(listener: (event: RunEvent) => void): () => void {
    return this.listeners.add(listener);
  }

  /** Writes the database atomically (write, fsync, rename) and cuts the journal behind it, keeping one older generation. */
  async snapshot(): Promise<void> {
    if (!this.journal) return;
    // Everything from here to the rotation runs without yielding, on a journal with nothing in flight: the
    // snapshot then holds exactly the events up to `lastSeq`, and every later one goes to the new segment.
    do await this.journal.idle();
    while (!this.journal.isIdle());
    const seq = this.lastSeq;
    this.project();
    this.db.run('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', ['last_seq', String(seq)]);
    const bytes = this.db.export();
    this.projection.reset();
    configure(this.db);
    const dir = path.join(this.options.dataDir, 'snapshots');
    fs.mkdirSync(dir, { recursive: true });
    const file = `state-${String(seq).padStart(16, '0')}.db`;
    writeFileAtomic(path.join(dir, file), bytes);
    const previous = this.manifest.snapshots.filter((s) => s.file !== file).slice(-1);
    this.manifest.snapshots = [...previous, { file, seq, sha256: sha256(bytes) }];
    writeFileAtomic(path.join(this.options.dataDir, 'manifest.json'), Buffer.from(JSON.stringify(this.manifest, null, 2)));
    // The journal is never cut: it archives every run's history (the database only points into it), and lets a
    // damaged newest snapshot be rebuilt from the older one. A new segment starts here, so that opening the store
    // reads only the segments after its snapshot.
    this.journal.rotate(seq + 1);
    const keep = new Set(this.manifest.snapshots.map((s) => s.file));
    for (const f of fs.readdirSync(dir)) if (!keep.has(f)) fs.rmSync(path.join(dir, f), { force: true });
    this.bytesSinceSnapshot = 0;
  }

  /**
   * Snapshots (for a writer, when anything changed), closes the journal and releases the lock. A snapshot that
   * cannot be written (a full disk) is skipped: it only saves replay time, the journal holds every event.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.journal) {
      await this.snapshotting?.catch(() => undefined);
      if (this.bytesSinceSnapshot > 0 || this.manifest.snapshots.length === 0) await this.snapshot().catch(() => undefined);
      await this.journal.close();
    }
    this.project();
    this.closed = true;
    this.db.close();
    this.reader.close();
    this.lock?.release();
  }

  /** The most recent runs first. */
  listRuns(options: { limit?: number; status?: RunStatus; workflow?: string } = {}): RunSummary[] {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (options.status) {
      where.push('status = ?');
      params.push(options.status);
    }
    if (options.workflow) {
      where.push('workflow = ?');
      params.push(options.workflow);
    }
    params.push(options.limit ?? 50);
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id DESC LIMIT ?`;
    return this.rows(sql, params).map(toRunSummary);
  }

  /** The ids of runs starting with `prefix`. */
  findRunIds(prefix: string): string[] {
    return this.rows('SELECT id FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT 10', [prefix, `${prefix}\uffff`]).map((r) => String(r.id));
  }

  /** A run with its steps and, for foreach steps, their calls: folded from its events. */
  getRun(id: string): RunDetails | undefined {
    return runFromEvents(this.events(id));
  }

  /** Whether the store holds the source of a definition version durably, so a new run can name it by hash alone. */
  knowsDefinition(hash: string): boolean {
    return this.definitions.has(hash);
  }

  /** The pinned source of a definition. */
  definitionSource(hash: string): string | undefined {
    let source = this.sources.get(hash);
    if (source === undefined) {
      const row = this.rows('SELECT source FROM definitions WHERE hash = ?', [hash])[0];
      if (row) this.sources.set(hash, (source = String(row.source)));
    }
    return source;
  }

  /** A run's status, without reading its history; undefined for a run the store does not know. */
  runStatus(id: string): RunStatus | undefined {
    const row = this.rows('SELECT status FROM runs WHERE id = ?', [id])[0];
    return row ? (String(row.status) as RunStatus) : undefined;
  }

  /** Every event of a run, in order. */
  events(runId: string): RunEvent[] {
    this.project();
    const run = this.projection.runNumber(runId);
    if (run === undefined) return [];
    return this.rows('SELECT segment, offset FROM events WHERE run = ? ORDER BY seq', [run]).flatMap((r) =>
      decodeRecord<RunEvent>(this.reader.read({ segment: Number(r.segment), offset: Number(r.offset) })),
    );
  }

  /** The histories of every run that has not ended, read in one pass over the journal (for recovery). */
  openRunHistories(): Map<string, RunEvent[]> {
    const histories = new Map<string, RunEvent[]>();
    const rows = this.rows("SELECT r.id, e.segment, e.offset FROM events e JOIN runs r ON r.num = e.run WHERE r.status = 'running' ORDER BY e.seq", []);
    for (const r of rows) {
      const id = String(r.id);
      let history = histories.get(id);
      if (!history) histories.set(id, (history = []));
      history.push(...decodeRecord<RunEvent>(this.reader.read({ segment: Number(r.segment), offset: Number(r.offset) })));
    }
    return histories;
  }

  /** The ids of the runs that have not ended, oldest first. */
  openRunIds(): string[] {
    return this.rows("SELECT id FROM runs WHERE status = 'running' ORDER BY num", []).map((r) => String(r.id));
  }

  /** A server's circuit breaker as last journaled, if it ever changed. */
  breaker(server: string): { state: BreakerState; since: number; reason: string } | undefined {
    const row = this.rows('SELECT state, since, reason FROM breakers WHERE server = ?', [server])[0];
    return row ? { state: String(row.state) as BreakerState, since: Number(row.since), reason: String(row.reason) } : undefined;
  }

  /** Every server's circuit breaker that ever changed state. */
  breakers(): Array<{ server: string; state: BreakerState; since: number; reason: string }> {
    return this.rows('SELECT server, state, since, reason FROM breakers ORDER BY server', []).map((r) => ({
      server: String(r.server),
      state: String(r.state) as BreakerState,
      since: Number(r.since),
      reason: String(r.reason),
    }));
  }

  private rows(sql: string, params: SqlValue[]): Array<Record<string, SqlValue>> {
    this.project();
    const statement = this.db.prepare(sql);
    try {
      statement.bind(params);
      const rows: Array<Record<string, SqlValue>> = [];
      while (statement.step()) rows.push(statement.getAsObject());
      return rows;
    } finally {
      statement.free();
    }
  }
}

/** sql.js keeps the database in memory and durability comes from the journal: SQLite's own rollback journal is only overhead. Export resets it. */
function configure(db: Database): void {
  db.exec('PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY;');
}

const decoder = new TextDecoder();
/** How long durable events may wait to be projected; queries project first, so none sees a stale state. */
const PROJECTION_DELAY_MS = 25;
/** How long one background projection slice may hold the event loop. */
const PROJECTION_SLICE_MS = 4;

/** What a journal record holds: events of a run, or an event about a server. */
export type JournalEvent = RunEvent | ServerEvent;

/** Whether a journaled event belongs to a run. */
export function isRunEvent(event: JournalEvent): event is RunEvent {
  return 'runId' in event;
}

/** The events of a journal record: one event, or a JSON array of a run's consecutive events. */
function decodeRecord<T extends JournalEvent>(record: Uint8Array): T[] {
  const value = JSON.parse(decoder.decode(record)) as T | T[];
  return Array.isArray(value) ? value : [value];
}

function parse(value: SqlValue): unknown {
  return value === null ? undefined : JSON.parse(String(value));
}

function optionalNumber(value: SqlValue): number | undefined {
  return value === null ? undefined : Number(value);
}

function toRunSummary(r: Record<string, SqlValue>): RunSummary {
  const endedAt = optionalNumber(r.ended_at);
  const error = parse(r.error);
  return {
    id: String(r.id),
    workflow: String(r.workflow),
    file: String(r.file),
    status: String(r.status) as RunStatus,
    definitionHash: String(r.definition_hash),
    startedAt: Number(r.started_at),
    ...(endedAt !== undefined && { endedAt }),
    ...(error !== undefined && { error: error as RunSummary['error'] }),
  };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function readManifest(dataDir: string): Manifest {
  const file = path.join(dataDir, 'manifest.json');
  if (!fs.existsSync(file)) return { snapshots: [] };
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
}

/** The store cannot be opened as it is on disk; the message says why and what is left. */
export class StoreOpenError extends Error {
  override name = 'StoreOpenError';
}

/** Refuses a snapshot written in another store format: reading it as this one would fail midway, or worse. */
function checkFormat(db: Database, dataDir: string): void {
  const hasMeta = db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").length > 0;
  const found = hasMeta ? db.exec("SELECT value FROM meta WHERE key = 'schema_version'")[0]?.values[0]?.[0] : undefined;
  if (String(found) === String(SCHEMA_VERSION)) return;
  db.close();
  throw new StoreOpenError(
    `the run store in ${dataDir} was written by another version of OpenConductor (store format ${found ?? 'unknown'}; this version reads format ${SCHEMA_VERSION}). ` +
      'Open it with that version, or move the folder aside to start with an empty store (or point --data-dir / openconductor.dataDirectory elsewhere).',
  );
}

/**
 * The newest snapshot whose checksum holds; a damaged one is never used. When none holds, the journal itself is the
 * last resort, if it still reaches back to the first event.
 */
function loadSnapshot(dataDir: string, manifest: Manifest): { bytes?: Uint8Array; seq: number; fallback?: string } {
  let fallback: string | undefined;
  for (const s of [...manifest.snapshots].reverse()) {
    const file = path.join(dataDir, 'snapshots', s.file);
    const bytes = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
    if (bytes && sha256(bytes) === s.sha256) return { bytes, seq: s.seq, ...(fallback && { fallback }) };
    fallback = `snapshot ${s.file} is ${bytes ? 'damaged (checksum mismatch)' : 'missing'}`;
  }
  if (!fallback) return { seq: 0 };
  if (firstJournalSeq(path.join(dataDir, 'journal')) <= 1) return { seq: 0, fallback };
  throw new StoreOpenError(`cannot open the run store in ${dataDir}: ${fallback}, and no older snapshot is intact`);
}

/** The sequence number the journal's oldest segment starts at (Infinity when there is none). */
function firstJournalSeq(dir: string): number {
  const names = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^journal-\d+\.log$/.test(f)) : [];
  return names.length ? Math.min(...names.map((f) => Number(/\d+/.exec(f)![0]))) : Infinity;
}
