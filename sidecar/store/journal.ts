import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * An append-only journal of checksummed, length-prefixed records, split into segments named by the sequence
 * number of their first record. Appends are group-committed: one durable write (O_DSYNC, the cost of an
 * fdatasync) covers every record appended while the previous one was in flight, so concurrent runs share it.
 *
 * Record layout: u32 LE payload length, u32 LE crc32 of the payload, payload.
 */
/** A record waiting to be written, with whoever waits for it and what the appender tagged it with. */
interface PendingRecord {
  header: Buffer;
  payload: Buffer;
  resolve: () => void;
  reject: (e: Error) => void;
  tag: unknown;
}

/** Where a record's payload lies: its segment (named by the number in its file name) and byte offset there. */
export interface RecordPosition {
  segment: number;
  offset: number;
}

/** What became of a batch: its records' tags (and, written, their positions), in the order they were written. */
export type BatchOutcome = { durable: unknown[]; positions: RecordPosition[] } | { failed: unknown[]; error: JournalWriteError };

export class Journal {
  private pending: PendingRecord[] = [];
  private flushScheduled = false;
  private lazyTimer: NodeJS.Timeout | undefined;
  private syncing = false;
  private broken: JournalWriteError | undefined;
  private idleWaiters: Array<() => void> = [];
  private size: number;
  private syncCount = 0;

  /**
   * Called with each batch's outcome before its appends settle: the store projects durable records here, in
   * one go, so that a batch costs one database transaction as well as one fdatasync.
   */
  onBatch: ((outcome: BatchOutcome) => void) | undefined;

  private constructor(
    readonly dir: string,
    private fd: number,
    private segment: string,
  ) {
    this.size = fs.fstatSync(fd).size;
  }

  /** Opens the newest segment for appending, or creates one starting at `firstSeq` when there is none. */
  static open(dir: string, firstSeq: number): Journal {
    fs.mkdirSync(dir, { recursive: true });
    const segments = listSegments(dir);
    const segment = segments.length > 0 ? segments[segments.length - 1].file : segmentName(firstSeq);
    const fd = openSegment(path.join(dir, segment));
    if (segments.length === 0) syncDirectory(dir);
    return new Journal(dir, fd, segment);
  }

  /** How many durable writes (each the cost of an fdatasync) have completed; with group commit, far fewer than appends. */
  get syncs(): number {
    return this.syncCount;
  }

  /**
   * Appends a record; resolves once it is on disk. `soon` lets the record wait a moment for company (a step's
   * start, say, which nothing waits on): it is synced with the next urgent record or after LAZY_FLUSH_MS.
   * `first` puts it before the records still waiting (a new run's first event: it orders nothing else), so that a
   * run starts promptly however busy the others are. `tag` comes back in onBatch.
   */
  append(payload: Buffer, urgency: 'now' | 'soon' = 'now', options: { first?: boolean; tag?: unknown } = {}): Promise<void> {
    // readJournal takes a zero length for the zeros a crash can leave at the end of a file: such a record could never be read back.
    if (payload.length === 0) return Promise.reject(new RangeError('a journal record cannot be empty'));
    if (this.broken) return Promise.reject(this.broken);
    const header = Buffer.allocUnsafe(8);
    header.writeUInt32LE(payload.length, 0);
    header.writeUInt32LE(crc32(payload), 4);
    return new Promise((resolve, reject) => {
      const record: PendingRecord = { header, payload, resolve, reject, tag: options.tag };
      if (options.first) this.pending.unshift(record);
      else this.pending.push(record);
      if (this.flushScheduled || this.syncing) return;
      if (urgency === 'now') {
        this.flushScheduled = true;
        if (this.lazyTimer) clearTimeout(this.lazyTimer);
        this.lazyTimer = undefined;
        // Waiting one microtask lets every append of the current tick share the write and the fdatasync.
        queueMicrotask(() => this.flush());
      } else {
        this.lazyTimer ??= setTimeout(() => {
          this.lazyTimer = undefined;
          if (!this.flushScheduled && !this.syncing) this.flush();
        }, LAZY_FLUSH_MS);
      }
    });
  }

  /** Whether every appended record is durable. */
  isIdle(): boolean {
    return !this.syncing && !this.flushScheduled && this.pending.length === 0;
  }

  /** Resolves when every appended record is durable. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    if (this.lazyTimer && !this.flushScheduled && !this.syncing) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = undefined;
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Starts a new segment whose first record will have sequence number `firstSeq`. Only when idle. */
  rotate(firstSeq: number): void {
    if (!this.isIdle()) throw new Error('the journal can only rotate when every record is durable');
    const segment = segmentName(firstSeq);
    if (segment === this.segment) return;
    const fd = openSegment(path.join(this.dir, segment));
    syncDirectory(this.dir);
    fs.closeSync(this.fd);
    this.fd = fd;
    this.segment = segment;
    this.size = 0;
  }

  /** Waits for pending records, then closes the file. */
  async close(): Promise<void> {
    await this.idle();
    fs.closeSync(this.fd);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return this.notifyIdle();
    // A batch is capped: the event loop settles one batch between writes, and a bounded batch bounds that pause,
    // so an urgent record (a run's start) waits for a few milliseconds of work, not for everything queued.
    const taken = this.pending.length <= MAX_BATCH_RECORDS ? this.pending : this.pending.slice(0, MAX_BATCH_RECORDS);
    this.pending = taken === this.pending ? [] : this.pending.slice(MAX_BATCH_RECORDS);
    const buffers: Buffer[] = [];
    const positions: RecordPosition[] = [];
    const segment = segmentNumber(this.segment);
    let offset = this.size;
    for (const r of taken) {
      buffers.push(r.header, r.payload);
      positions.push({ segment, offset: offset + 8 });
      offset += 8 + r.payload.length;
    }
    const batch = Buffer.concat(buffers);
    this.syncing = true;
    const done = (error: Error | null): void => {
      this.syncing = false;
      this.syncCount++;
      if (error) {
        this.writeFailed(error, taken);
      } else {
        this.size += batch.length;
        this.settle(taken, { durable: taken.map((r) => r.tag), positions });
      }
      if (this.pending.length > 0) this.flush();
      else this.notifyIdle();
    };
    // The file is opened with O_DSYNC: a write returns once its bytes are on disk, one system call per batch.
    if (taken.length <= INLINE_SYNC_MAX_RECORDS) {
      // A small batch means little else is going on: writing inline saves the thread-pool round trip.
      let failure: Error | null = null;
      try {
        writeAll(this.fd, batch);
      } catch (error) {
        failure = error as Error;
      }
      done(failure);
    } else {
      // A large batch means many runs are busy: write on the thread pool while the event loop prepares the next batch.
      writeAllAsync(this.fd, batch, done);
    }
  }

  /** Cuts a failed batch off the file; when even that fails, or the disk reports an I/O error, the journal accepts nothing more. */
  private writeFailed(error: Error, taken: PendingRecord[]): void {
    const failure = journalError(error);
    let truncated = false;
    try {
      if (fs.fstatSync(this.fd).size > this.size) fs.ftruncateSync(this.fd, this.size);
      truncated = true;
    } catch {
      // Reported below: the file's end is unknown.
    }
    if (!truncated || !RECOVERABLE.has(failure.code ?? '')) {
      this.broken = failure;
      const rest = this.pending;
      this.pending = [];
      this.settle(rest, { failed: rest.map((r) => r.tag), error: failure });
    }
    this.settle(taken, { failed: taken.map((r) => r.tag), error: failure });
  }

  private settle(records: PendingRecord[], outcome: BatchOutcome): void {
    let failure: Error | undefined = 'error' in outcome ? outcome.error : undefined;
    try {
      this.onBatch?.(outcome);
    } catch (error) {
      failure ??= error as Error;
    }
    for (const r of records) {
      if (failure) r.reject(failure);
      else r.resolve();
    }
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/** How long a `soon` record may wait for an urgent one to share its fdatasync. */
const LAZY_FLUSH_MS = 2;
/** How much of a segment one read brings in: many records' worth. */
const READ_WINDOW = 64 * 1024;
/** The most records one write takes: what a write releases is processed in one go, so this bounds that pause. */
export const MAX_BATCH_RECORDS = 32;
/** Batches up to this many records are synced on the event loop; larger ones on the thread pool. */
const INLINE_SYNC_MAX_RECORDS = 4;
/** Write errors after which cutting the batch off leaves a sound journal: out of space, over a size limit. */
const RECOVERABLE = new Set(['ENOSPC', 'EFBIG', 'EDQUOT']);

/** The journal could not make a record durable; `code` is the system error, e.g. ENOSPC. */
export class JournalWriteError extends Error {
  override name = 'JournalWriteError';
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

function journalError(error: unknown): JournalWriteError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code === 'ENOSPC' ? 'the disk is full' : (error as Error).message;
  return new JournalWriteError(`could not write the run journal: ${reason}`, code);
}

function writeAll(fd: number, buffer: Buffer): void {
  let offset = 0;
  while (offset < buffer.length) offset += fs.writeSync(fd, buffer, offset, buffer.length - offset);
}

function writeAllAsync(fd: number, buffer: Buffer, callback: (error: Error | null) => void, offset = 0): void {
  fs.write(fd, buffer, offset, buffer.length - offset, null, (error, written) => {
    if (error) callback(error);
    else if (offset + written < buffer.length) writeAllAsync(fd, buffer, callback, offset + written);
    else callback(null);
  });
}

/** Opens a segment for appending, with every write durable when it returns. */
function openSegment(file: string): number {
  const { O_WRONLY, O_CREAT, O_APPEND, O_DSYNC } = fs.constants;
  return fs.openSync(file, O_WRONLY | O_CREAT | O_APPEND | O_DSYNC, 0o644);
}

/** What reading the journal found. */
export interface JournalContents {
  records: Buffer[];
  /** Where each record lies, for reading it again later (the journal is also the archive of every run's history). */
  positions: RecordPosition[];
  /** A record cut short by a crash at the very end, dropped (and cut off the file when repairing). */
  tornTail?: { segment: string; offset: number; bytes: number };
}

/** The journal holds a bad record that is not at its end: the data cannot be trusted blindly. */
export class JournalCorruptError extends Error {
  override name = 'JournalCorruptError';
}

/**
 * Reads every record of every segment, in order. A bad record at the very end of the last segment is a torn
 * write from a crash: it is dropped, and with `repair` cut off the file. A bad record anywhere else is corruption.
 */
export function readJournal(dir: string, options: { repair: boolean; afterSeq?: number }): JournalContents {
  const segments = listSegments(dir);
  const contents: JournalContents = { records: [], positions: [] };
  segments.forEach((segment, i) => {
    // Segments begin at clean boundaries (rotation happens only when every record is written): one whose successor
    // starts at or before afterSeq + 1 holds nothing after afterSeq, and need not be read.
    const next = segments[i + 1];
    if (options.afterSeq !== undefined && next && next.firstSeq <= options.afterSeq + 1) return;
    const file = path.join(dir, segment.file);
    if (!fs.statSync(file).isFile()) throw new JournalCorruptError(`the run journal is corrupt: ${file} is not a regular file`);
    const data = fs.readFileSync(file);
    let offset = 0;
    while (offset < data.length) {
      const bad = recordProblem(data, offset);
      if (bad === undefined) {
        const length = data.readUInt32LE(offset);
        contents.records.push(data.subarray(offset + 8, offset + 8 + length));
        contents.positions.push({ segment: segment.firstSeq, offset: offset + 8 });
        offset += 8 + length;
        continue;
      }
      const isLast = i === segments.length - 1;
      if (!isLast || !isTornTail(data, offset)) {
        throw new JournalCorruptError(`the run journal is corrupt: ${bad} in ${file} at byte ${offset}`);
      }
      contents.tornTail = { segment: segment.file, offset, bytes: data.length - offset };
      if (options.repair) {
        fs.truncateSync(file, offset);
      }
      break;
    }
  });
  return contents;
}

function recordProblem(data: Buffer, offset: number): string | undefined {
  if (data.length - offset < 8) return 'a record header is cut short';
  const length = data.readUInt32LE(offset);
  if (length === 0) return 'a record has no payload';
  if (offset + 8 + length > data.length) return 'a record is cut short';
  if (crc32(data.subarray(offset + 8, offset + 8 + length)) !== data.readUInt32LE(offset + 4)) return 'a record fails its checksum';
  return undefined;
}

/** A bad record is a torn tail when nothing valid can follow it: it runs to the end of the file, or only zeros follow. */
function isTornTail(data: Buffer, offset: number): boolean {
  if (data.length - offset < 8) return true;
  const length = data.readUInt32LE(offset);
  if (length === 0) return data.subarray(offset).every((b) => b === 0);
  // A damaged length points past the end too: if an intact record still follows, this is corruption, and cutting
  // the "tail" off would delete acknowledged records.
  return offset + 8 + length >= data.length && !intactRecordAfter(data, offset + 1);
}

/** Whether an intact record starts anywhere after `from`. Cheap on JSON payloads: their bytes never make a short length. */
function intactRecordAfter(data: Buffer, from: number): boolean {
  for (let p = from; p + 8 < data.length; p++) if (recordProblem(data, p) === undefined) return true;
  return false;
}

interface Segment {
  file: string;
  firstSeq: number;
}

function listSegments(dir: string): Segment[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((file) => /^journal-(\d+)\.log$/.exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ file: m[0], firstSeq: Number(m[1]) }))
    .sort((a, b) => a.firstSeq - b.firstSeq);
}

function segmentNumber(file: string): number {
  return Number(/\d+/.exec(file)![0]);
}

/** The file of a segment, from its number. */
export function segmentName(firstSeq: number): string {
  return `journal-${String(firstSeq).padStart(16, '0')}.log`;
}

/** fsyncs a directory so that a created or renamed file in it survives a crash. */
export function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads records back from the journal's segments, by position: the journal doubles as the archive of every
 * run's history, so the database keeps only where each record lies. Each read checks the record's checksum.
 * Reads go through a window of the segment (a run's records lie near each other, and recovery reads them in
 * journal order), so most records cost no system call.
 */
export class SegmentReader {
  private readonly fds = new Map<number, number>();
  private window: { segment: number; start: number; bytes: Buffer } | undefined;

  constructor(private readonly dir: string) {}

  /** The payload at a position; a damaged or missing record is a JournalCorruptError naming the file and offset. */
  read(position: RecordPosition): Buffer {
    const cached = this.fromWindow(position);
    if (cached?.complete && crc32(cached.payload) === cached.crc) return cached.payload;
    // Not in the window, cut short by it, or damaged: read afresh.
    this.load(position, 0);
    let record = this.fromWindow(position);
    if (record && !record.complete) {
      this.load(position, record.length);
      record = this.fromWindow(position);
    }
    const file = this.file(position.segment);
    if (!record?.complete) throw new JournalCorruptError(`the run history is damaged: ${file} ends before byte ${position.offset + (record?.length ?? 0)}`);
    if (crc32(record.payload) !== record.crc) throw new JournalCorruptError(`the run history is damaged: the record at byte ${position.offset - 8} of ${file} fails its checksum`);
    return record.payload;
  }

  /** The record at a position as far as the window holds it: its header and its payload, whole or cut short. */
  private fromWindow(position: RecordPosition): { length: number; crc: number; payload: Buffer; complete: boolean } | undefined {
    const w = this.window;
    if (!w || w.segment !== position.segment) return undefined;
    const at = position.offset - 8 - w.start;
    if (at < 0 || at + 8 > w.bytes.length) return undefined;
    const length = w.bytes.readUInt32LE(at);
    const complete = at + 8 + length <= w.bytes.length;
    // A copy, so that what a caller keeps does not hold the whole window.
    const payload = complete ? Buffer.from(w.bytes.subarray(at + 8, at + 8 + length)) : Buffer.alloc(0);
    return { length, crc: w.bytes.readUInt32LE(at + 4), payload, complete };
  }

  /** Reads a window of the segment starting at a record's header, large enough for a payload of `length`. */
  private load(position: RecordPosition, length: number): void {
    let fd = this.fds.get(position.segment);
    if (fd === undefined) {
      try {
        fd = fs.openSync(this.file(position.segment), 'r');
      } catch (error) {
        throw new JournalCorruptError(`the run history is damaged: ${this.file(position.segment)} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
      this.fds.set(position.segment, fd);
    }
    const bytes = Buffer.allocUnsafe(Math.max(READ_WINDOW, length + 8));
    const read = fs.readSync(fd, bytes, 0, bytes.length, position.offset - 8);
    this.window = { segment: position.segment, start: position.offset - 8, bytes: bytes.subarray(0, read) };
  }

  private file(segment: number): string {
    return path.join(this.dir, segmentName(segment));
  }

  /** Drops what it read: the journal cut a failed write off, so bytes read from the end may be written over. */
  forget(): void {
    this.window = undefined;
  }

  /** Closes the files it opened. */
  close(): void {
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
    this.window = undefined;
  }
}
