import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * An append-only journal of checksummed, length-prefixed records, split into segments named by the sequence
 * number of their first record. Appends are group-committed: one fdatasync makes durable every record
 * appended while the previous one was in flight, so concurrent runs share its cost.
 *
 * Record layout: u32 LE payload length, u32 LE crc32 of the payload, payload.
 */
export class Journal {
  private pending: Buffer[] = [];
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private flushScheduled = false;
  private syncing = false;
  private idleWaiters: Array<() => void> = [];
  private size: number;

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
    const fd = fs.openSync(path.join(dir, segment), 'a');
    if (segments.length === 0) syncDirectory(dir);
    return new Journal(dir, fd, segment);
  }

  /** Appends a record; resolves once it is on disk. */
  append(payload: Buffer): Promise<void> {
    const header = Buffer.allocUnsafe(8);
    header.writeUInt32LE(payload.length, 0);
    header.writeUInt32LE(crc32(payload), 4);
    this.pending.push(header, payload);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.flushScheduled && !this.syncing) {
        this.flushScheduled = true;
        // Waiting one microtask lets every append of the current tick share the write and the fdatasync.
        queueMicrotask(() => this.flush());
      }
    });
  }

  /** Resolves when every appended record is durable. */
  idle(): Promise<void> {
    if (!this.syncing && !this.flushScheduled && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Starts a new segment whose first record will have sequence number `firstSeq`. Call only when idle. */
  rotate(firstSeq: number): void {
    const segment = segmentName(firstSeq);
    if (segment === this.segment) return;
    const fd = fs.openSync(path.join(this.dir, segment), 'a');
    syncDirectory(this.dir);
    fs.closeSync(this.fd);
    this.fd = fd;
    this.segment = segment;
    this.size = 0;
  }

  /** Deletes the segments that hold only records before `firstSeq`. */
  removeSegmentsBefore(firstSeq: number): void {
    const segments = listSegments(this.dir);
    for (let i = 0; i < segments.length - 1; i++) {
      if (segments[i + 1].firstSeq <= firstSeq && segments[i].file !== this.segment) {
        fs.rmSync(path.join(this.dir, segments[i].file), { force: true });
      }
    }
  }

  /** Waits for pending records, then closes the file. */
  async close(): Promise<void> {
    await this.idle();
    fs.closeSync(this.fd);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return this.notifyIdle();
    const batch = Buffer.concat(this.pending);
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    try {
      writeAll(this.fd, batch);
    } catch (error) {
      // Leave no partial record behind: cut the file back to where this batch began.
      try {
        fs.ftruncateSync(this.fd, this.size);
      } catch {
        // The records stay unacknowledged either way; a torn tail is dropped on the next open.
      }
      const failure = journalError(error);
      for (const w of waiters) w.reject(failure);
      return this.notifyIdle();
    }
    this.size += batch.length;
    this.syncing = true;
    fs.fdatasync(this.fd, (error) => {
      this.syncing = false;
      if (error) {
        const failure = journalError(error);
        for (const w of waiters) w.reject(failure);
      } else {
        for (const w of waiters) w.resolve();
      }
      if (this.pending.length > 0) this.flush();
      else this.notifyIdle();
    });
  }

  private notifyIdle(): void {
    if (this.syncing || this.flushScheduled || this.pending.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

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

/** What reading the journal found. */
export interface JournalContents {
  records: Buffer[];
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
export function readJournal(dir: string, options: { repair: boolean }): JournalContents {
  const segments = listSegments(dir);
  const contents: JournalContents = { records: [] };
  segments.forEach((segment, i) => {
    const file = path.join(dir, segment.file);
    const data = fs.readFileSync(file);
    let offset = 0;
    while (offset < data.length) {
      const bad = recordProblem(data, offset);
      if (bad === undefined) {
        const length = data.readUInt32LE(offset);
        contents.records.push(data.subarray(offset + 8, offset + 8 + length));
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
  return offset + 8 + length >= data.length;
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

function segmentName(firstSeq: number): string {
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
