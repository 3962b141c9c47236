import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { Journal, JournalCorruptError, JournalWriteError, MAX_BATCH_RECORDS, readJournal, SegmentReader, type RecordPosition } from '../../sidecar/store/journal';

/** Real files in a fresh directory per test; no mocks. */
let dir: string;
const opened: Journal[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-journal-'));
});

afterEach(async () => {
  for (const journal of opened.splice(0)) {
    try {
      await journal.close();
    } catch {
      // Already closed by the test, or its fd was closed underneath it on purpose.
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(firstSeq = 1): Journal {
  const journal = Journal.open(dir, firstSeq);
  opened.push(journal);
  return journal;
}

/** Closes a journal the test opened, and forgets it. */
async function close(journal: Journal): Promise<void> {
  opened.splice(opened.indexOf(journal), 1);
  await journal.close();
}

function segmentName(firstSeq: number): string {
  return `journal-${String(firstSeq).padStart(16, '0')}.log`;
}

function segments(): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
}

function onlySegment(): string {
  const files = segments();
  assert.equal(files.length, 1, `expected one segment, found ${files.join(', ')}`);
  return path.join(dir, files[0]);
}

/** A record as it lies on disk: u32 LE length, u32 LE crc32, payload. */
function encoded(payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

function text(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

function assertRecords(actual: Buffer[], expected: Buffer[], message = 'record count'): void {
  assert.equal(actual.length, expected.length, message);
  actual.forEach((record, i) => assert.ok(record.equals(expected[i]), `record ${i} differs`));
}

/** Three records on disk, the journal closed; returns them. */
async function threeRecords(): Promise<Buffer[]> {
  const journal = open();
  const payloads = [text('{"seq":1,"type":"first"}'), text('{"seq":2,"type":"second"}'), text('{"seq":3,"type":"third"}')];
  for (const p of payloads) await journal.append(p);
  await close(journal);
  return payloads;
}

describe('journal', () => {
  describe('appending and reading back', () => {
    it('keeps every record, in order and byte-exact, across close and readJournal', async () => {
      const journal = open();
      // Arbitrary binary payloads of assorted sizes, including bytes that look like headers and long runs of zeros.
      const payloads = Array.from({ length: 200 }, (_, i) => (i % 10 === 3 ? Buffer.alloc(1 + i, 0) : randomBytes(1 + ((i * 37) % 3000))));
      payloads.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
      // Some awaited one at a time, the rest all at once.
      for (const p of payloads.slice(0, 20)) await journal.append(p);
      await Promise.all(payloads.slice(20).map((p) => journal.append(p)));
      await close(journal);

      const contents = readJournal(dir, { repair: false });
      assertRecords(contents.records, payloads);
      assert.equal(contents.tornTail, undefined);
      const expectedSize = payloads.reduce((n, p) => n + 8 + p.length, 0);
      assert.equal(fs.statSync(onlySegment()).size, expectedSize);
    });

    it('appends after the existing records when reopened', async () => {
      const first = await threeRecords();
      const journal = open(99);
      assert.deepEqual(segments(), [segmentName(1)], 'reopening continues the newest segment, it does not start one');
      const more = [text('fourth'), text('fifth')];
      await Promise.all(more.map((p) => journal.append(p)));
      await close(journal);
      assertRecords(readJournal(dir, { repair: false }).records, [...first, ...more]);
    });

    it('reads an empty or missing journal as no records', () => {
      assert.deepEqual(readJournal(path.join(dir, 'nothing-here'), { repair: true }), { records: [], positions: [] });
      assert.equal(fs.existsSync(path.join(dir, 'nothing-here')), false, 'reading creates nothing');
      open();
      assert.deepEqual(readJournal(dir, { repair: false }), { records: [], positions: [] });
    });

    it('refuses an empty record, which it could never read back', async () => {
      const journal = open();
      await journal.append(text('before'));
      await assert.rejects(journal.append(Buffer.alloc(0)), RangeError);
      await journal.append(text('after'));
      await close(journal);
      assertRecords(readJournal(dir, { repair: false }).records, [text('before'), text('after')]);
    });

    it('idle() resolves once every appended record is durable', async () => {
      const journal = open();
      await journal.idle();
      let durable = 0;
      for (let i = 0; i < 50; i++) void journal.append(text(`r${i}`)).then(() => durable++);
      await journal.idle();
      assert.equal(durable, 50);
      assert.equal(readJournal(dir, { repair: false }).records.length, 50);
    });
  });

  describe('group commit', () => {
    it('makes 500 appends of one tick durable in a few writes of at most MAX_BATCH_RECORDS records, in order', async () => {
      const journal = open();
      const payloads = Array.from({ length: 500 }, (_, i) => text(`{"seq":${i + 1},"type":"StepScheduled","pad":"${'x'.repeat(i % 50)}"}`));
      const firstWrite = payloads.slice(0, MAX_BATCH_RECORDS).reduce((n, p) => n + 8 + p.length, 0);
      let sizeAtFirstAck = -1;
      const acks = payloads.map((p) => journal.append(p));
      void acks[0].then(() => (sizeAtFirstAck = fs.statSync(onlySegment()).size));
      await Promise.all(acks);

      assert.ok(sizeAtFirstAck >= firstWrite, `the first acknowledgement came after a write of the first ${MAX_BATCH_RECORDS} records (${sizeAtFirstAck} of ${firstWrite} bytes)`);
      assert.equal(journal.syncs, Math.ceil(500 / MAX_BATCH_RECORDS), `500 appends took ${journal.syncs} fdatasync calls`);
      await close(journal);
      assertRecords(readJournal(dir, { repair: false }).records, payloads);
    });

    it('shares each fdatasync among concurrent writers that wait for their own records', async () => {
      const journal = open();
      const producers = 20;
      const perProducer = 25;
      await Promise.all(
        Array.from({ length: producers }, async (_, p) => {
          for (let i = 0; i < perProducer; i++) await journal.append(text(`${p}:${i}`));
        }),
      );
      // One at a time, 500 appends would need 500 syncs; each producer waits for its last record, so at best one round per append.
      assert.ok(journal.syncs <= perProducer + 1, `${producers * perProducer} appends took ${journal.syncs} fdatasync calls`);
      await close(journal);
      const records = readJournal(dir, { repair: false }).records.map((r) => r.toString());
      assert.equal(records.length, producers * perProducer);
      for (let p = 0; p < producers; p++) {
        const own = records.filter((r) => r.startsWith(`${p}:`));
        assert.deepEqual(
          own,
          Array.from({ length: perProducer }, (_, i) => `${p}:${i}`),
          `producer ${p}'s records are in its order`,
        );
      }
    });
  });

  describe('a torn tail', () => {
    const cases: Array<{ name: string; tear: (file: string, goodSize: number) => void }> = [
      {
        name: 'the last record cut in the middle of its payload',
        tear: (file, goodSize) => {
          fs.appendFileSync(file, encoded(text('{"seq":4,"type":"this write was cut short"}')));
          fs.truncateSync(file, goodSize + 8 + 10);
        },
      },
      {
        name: 'the last record cut in the middle of its header',
        tear: (file) => fs.appendFileSync(file, encoded(text('{"seq":4}')).subarray(0, 5)),
      },
      {
        name: 'a header claiming more bytes than the file holds',
        tear: (file) => {
          const header = Buffer.alloc(8);
          header.writeUInt32LE(1000, 0);
          header.writeUInt32LE(0xdeadbeef, 4);
          fs.appendFileSync(file, Buffer.concat([header, text('only a little')]));
        },
      },
      {
        name: 'zeros after the last record (the file grew but its data never landed)',
        tear: (file) => fs.appendFileSync(file, Buffer.alloc(4096)),
      },
      {
        name: 'a whole last record that fails its checksum',
        tear: (file) => {
          const record = encoded(text('{"seq":4,"type":"garbled"}'));
          record[12] ^= 0x20;
          fs.appendFileSync(file, record);
        },
      },
    ];

    for (const { name, tear } of cases) {
      it(`is dropped and reported, and cut off only when repairing: ${name}`, async () => {
        const good = await threeRecords();
        const file = onlySegment();
        const goodSize = fs.statSync(file).size;
        tear(file, goodSize);
        const tornSize = fs.statSync(file).size;
        assert.ok(tornSize > goodSize);

        const looked = readJournal(dir, { repair: false });
        assertRecords(looked.records, good);
        assert.deepEqual(looked.tornTail, { segment: path.basename(file), offset: goodSize, bytes: tornSize - goodSize });
        assert.equal(fs.statSync(file).size, tornSize, 'without repair the file is left alone');

        const repaired = readJournal(dir, { repair: true });
        assertRecords(repaired.records, good);
        assert.deepEqual(repaired.tornTail, looked.tornTail);
        assert.equal(fs.statSync(file).size, goodSize, 'repair cuts the file back to the last good record');

        const journal = open(4);
        await journal.append(text('{"seq":4,"type":"after repair"}'));
        await close(journal);
        const after = readJournal(dir, { repair: false });
        assertRecords(after.records, [...good, text('{"seq":4,"type":"after repair"}')]);
        assert.equal(after.tornTail, undefined);
      });
    }

    it('is reported in the newest segment only: a bad end of an older segment is corruption', async () => {
      const journal = open(1);
      await journal.append(text('one'));
      journal.rotate(2);
      await journal.append(text('two'));
      await close(journal);
      const older = path.join(dir, segmentName(1));
      fs.appendFileSync(older, encoded(text('cut')).subarray(0, 6));
      assert.throws(
        () => readJournal(dir, { repair: true }),
        (e: unknown) => e instanceof JournalCorruptError && e.message.includes(older) && e.message.includes('at byte 11'),
      );
      assert.equal(fs.statSync(older).size, 11 + 6, 'a corrupt journal is never repaired');
    });
  });

  describe('corruption', () => {
    it('of a record before the end throws JournalCorruptError naming the file and byte offset', async () => {
      await threeRecords();
      const file = onlySegment();
      const before = fs.readFileSync(file);
      const damaged = Buffer.from(before);
      damaged[8 + 3] ^= 0x01; // a byte in the payload of the first record
      fs.writeFileSync(file, damaged);

      for (const repair of [false, true]) {
        assert.throws(
          () => readJournal(dir, { repair }),
          (e: unknown) =>
            e instanceof JournalCorruptError && e.message.includes(file) && /at byte 0\b/.test(e.message) && e.message.includes('checksum'),
        );
      }
      assert.ok(fs.readFileSync(file).equals(damaged), 'a corrupt journal is left as it is, even when repairing');
    });

    it('names the offset of the bad record, not of the file start', async () => {
      const payloads = await threeRecords();
      const file = onlySegment();
      const secondAt = 8 + payloads[0].length;
      const damaged = fs.readFileSync(file);
      damaged[secondAt + 4] ^= 0xff; // the checksum of the second record
      fs.writeFileSync(file, damaged);
      assert.throws(
        () => readJournal(dir, { repair: false }),
        (e: unknown) => e instanceof JournalCorruptError && e.message.includes(`at byte ${secondAt}`),
      );
    });

    it('treats a damaged length that points past the end as corruption when intact records follow it', async () => {
      await threeRecords();
      const file = onlySegment();
      const damaged = fs.readFileSync(file);
      damaged[3] = 0x01; // the first record's length grows by 16 MiB: it now seems to run past the end of the file
      fs.writeFileSync(file, damaged);
      assert.throws(
        () => readJournal(dir, { repair: true }),
        (e: unknown) => e instanceof JournalCorruptError && /at byte 0\b/.test(e.message),
      );
      assert.ok(fs.readFileSync(file).equals(damaged), 'the acknowledged records after it are not cut off as a "torn tail"');
    });

    it('treats a zero-length header followed by data as corruption, not as a torn tail', async () => {
      await threeRecords();
      const file = onlySegment();
      const damaged = fs.readFileSync(file);
      damaged.fill(0, 0, 8); // the first record's header zeroed
      fs.writeFileSync(file, damaged);
      assert.throws(() => readJournal(dir, { repair: true }), JournalCorruptError);
    });
  });

  describe('segments', () => {
    it('rotate() starts a segment named by its first seq; reading after a seq skips the segments wholly before it', async () => {
      const journal = open(1);
      const seqs = [1, 2, 3, 4, 5, 6, 7];
      const record = (seq: number): Buffer => text(`{"seq":${seq}}`);
      for (const seq of [1, 2, 3]) await journal.append(record(seq));
      journal.rotate(4);
      for (const seq of [4, 5, 6]) await journal.append(record(seq));
      journal.rotate(7);
      journal.rotate(7); // same segment: nothing happens
      await journal.append(record(7));
      assert.deepEqual(segments(), [segmentName(1), segmentName(4), segmentName(7)]);
      assertRecords(readJournal(dir, { repair: false }).records, seqs.map(record));
      assertRecords(readJournal(dir, { repair: false, afterSeq: 3 }).records, [4, 5, 6, 7].map(record), 'the first segment holds nothing after 3');
      assertRecords(readJournal(dir, { repair: false, afterSeq: 4 }).records, [4, 5, 6, 7].map(record), 'seq 5 is in the second segment: it is read whole');
      assertRecords(readJournal(dir, { repair: false, afterSeq: 6 }).records, [record(7)]);
      await close(journal);
    });

    it('reads a record back by its position, checking its checksum', async () => {
      const journal = open(1);
      const positions: RecordPosition[] = [];
      journal.onBatch = (outcome) => {
        if ('positions' in outcome) positions.push(...outcome.positions);
      };
      await Promise.all(['one', 'two', 'three'].map((t) => journal.append(text(t))));
      journal.rotate(4);
      await journal.append(text('four'));
      await close(journal);
      assert.deepEqual(positions.map((p) => p.segment), [1, 1, 1, 4]);
      assert.deepEqual(readJournal(dir, { repair: false }).positions, positions, 'reading the journal finds the same positions');
      const reader = new SegmentReader(dir);
      assert.deepEqual(positions.map((p) => reader.read(p).toString()), ['one', 'two', 'three', 'four']);
      const file = path.join(dir, segmentName(1));
      const bytes = fs.readFileSync(file);
      bytes[positions[1].offset] ^= 0xff;
      fs.writeFileSync(file, bytes);
      assert.throws(() => reader.read(positions[1]), (e: unknown) => e instanceof JournalCorruptError && /fails its checksum/.test(e.message) && e.message.includes(file));
      reader.close();
    });

    /**
     * A journal of one record ('one') followed by what a failed write can leave before it is cut off (`left` bytes
     * of a record 'stale'), and a reader that has read 'one' and so holds the leftover in its window; then the
     * leftover is cut off, as the journal does, and `then` is appended where it was.
     */
    async function writtenOverLeftover(left: number, forget: boolean, then: string[]): Promise<{ reader: SegmentReader; first: RecordPosition; after: RecordPosition[]; cut: number }> {
      const journal = open();
      await journal.append(text('one'));
      await close(journal);
      const [first] = readJournal(dir, { repair: false }).positions;
      const file = onlySegment();
      const cut = fs.statSync(file).size;
      const header = Buffer.alloc(8);
      header.writeUInt32LE(5, 0);
      header.writeUInt32LE(crc32(Buffer.from('stale')), 4);
      fs.appendFileSync(file, Buffer.concat([header, Buffer.from('stale'.slice(0, left))]));
      const reader = new SegmentReader(dir);
      assert.equal(reader.read(first).toString(), 'one');
      fs.truncateSync(file, cut);
      if (forget) reader.forget(); // as the store does when the journal reports a failed write
      const reopened = open(2);
      for (const t of then) await reopened.append(text(t));
      await close(reopened);
      return { reader, first, after: readJournal(dir, { repair: false }).positions.slice(1), cut };
    }

    it('reads records appended after it last read, and ones written over part of a record a failed write left', async () => {
      const { reader, first, after, cut } = await writtenOverLeftover(3, false, ['second record', 'three']);
      assert.equal(after[0].offset, cut + 8, 'the new record lies where the leftover did');
      assert.deepEqual([...after, first].map((p) => reader.read(p).toString()), ['second record', 'three', 'one']);
      reader.close();
    });

    it('after forget(), reads what was written over a whole record a failed write left', async () => {
      const { reader, after, cut } = await writtenOverLeftover(5, true, ['fresh']);
      assert.equal(after[0].offset, cut + 8);
      assert.equal(reader.read(after[0]).toString(), 'fresh');
      reader.close();
    });

    it('opens the newest segment for appending, and names the first one by firstSeq', async () => {
      const journal = open(42);
      assert.deepEqual(segments(), [segmentName(42)]);
      await journal.append(text('a'));
      journal.rotate(43);
      await close(journal);
      const reopened = open(1);
      await reopened.append(text('b'));
      await close(reopened);
      assert.equal(fs.statSync(path.join(dir, segmentName(43))).size, 9);
      assertRecords(readJournal(dir, { repair: false }).records, [text('a'), text('b')]);
    });
  });

  describe('a failed append', () => {
    it('rejects with JournalWriteError and adds nothing when the file cannot be written', async () => {
      const journal = open();
      await journal.append(text('durable'));
      const file = onlySegment();
      const size = fs.statSync(file).size;
      // Close the journal's file underneath it: the next write fails with EBADF. Append in the same tick, so that
      // no other open can take the fd number first.
      fs.closeSync((journal as unknown as { fd: number }).fd);
      const failures = await Promise.allSettled([journal.append(text('lost 1')), journal.append(text('lost 2'))]);
      opened.splice(opened.indexOf(journal), 1); // its fd is gone: do not close it again

      for (const f of failures) {
        assert.equal(f.status, 'rejected');
        const error = (f as PromiseRejectedResult).reason as unknown;
        assert.ok(error instanceof JournalWriteError, `got ${String(error)}`);
        assert.equal(error.code, 'EBADF');
        assert.match(error.message, /could not write the run journal/);
      }
      assert.equal(fs.statSync(file).size, size);
      const contents = readJournal(dir, { repair: false });
      assertRecords(contents.records, [text('durable')]);
      assert.equal(contents.tornTail, undefined);
    });

    it('reports a full disk as ENOSPC ("the disk is full")', async function () {
      if (!fs.existsSync('/dev/full')) this.skip();
      // The segment is a link to /dev/full, where every write fails with ENOSPC.
      fs.symlinkSync('/dev/full', path.join(dir, segmentName(1)));
      const journal = open();
      await assert.rejects(
        journal.append(text('no room')),
        (e: unknown) => e instanceof JournalWriteError && e.code === 'ENOSPC' && /the disk is full/.test(e.message),
      );
      await journal.idle();
    });

    it('cuts a partly written batch back off the file, and later appends still work', function () {
      // A write that stops part way, as on a full disk: a child process under a 1 KiB file size limit (`ulimit -f 1`)
      // gets a short write, then EFBIG. Node ignores SIGXFSZ, so the process lives on to see the error.
      const child = `
        const fs = require('node:fs');
        const { Journal, readJournal } = require(process.env.JOURNAL_MODULE);
        (async () => {
          const dir = process.env.JOURNAL_DIR;
          const journal = Journal.open(dir, 1);
          const result = {};
          for (let i = 0; i < 3; i++) await journal.append(Buffer.alloc(300, 97 + i)); // 3 x 308 = 924 bytes
          const file = fs.readdirSync(dir).map((f) => dir + '/' + f)[0];
          result.sizeBefore = fs.statSync(file).size;
          try {
            await journal.append(Buffer.alloc(300, 100)); // would end at 1232 bytes: 100 of them fit
            result.fourth = 'resolved';
          } catch (e) {
            result.fourth = { name: e.name, code: e.code };
          }
          result.sizeAfterFailure = fs.statSync(file).size;
          await journal.append(Buffer.alloc(50, 101)); // 58 bytes: fits under the limit
          await journal.close();
          const contents = readJournal(dir, { repair: false });
          result.records = contents.records.map((r) => [r.length, r[0]]);
          result.tornTail = contents.tornTail ?? null;
          process.stdout.write(JSON.stringify(result));
        })().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
      `;
      const tsx = require.resolve('tsx/cjs');
      const run = spawnSync('bash', ['-c', 'ulimit -f 1 && exec "$0" --require "$1" -e "$2"', process.execPath, tsx, child], {
        env: { ...process.env, JOURNAL_MODULE: require.resolve('../../sidecar/store/journal'), JOURNAL_DIR: dir },
        encoding: 'utf8',
        timeout: 20_000,
      });
      assert.equal(run.status, 0, `child failed: ${run.stderr}`);
      const result = JSON.parse(run.stdout) as Record<string, unknown>;
      assert.equal(result.sizeBefore, 924);
      assert.deepEqual(result.fourth, { name: 'JournalWriteError', code: 'EFBIG' });
      assert.equal(result.sizeAfterFailure, 924, 'the 100 bytes that made it to the file were cut back off');
      assert.deepEqual(result.records, [
        [300, 97],
        [300, 98],
        [300, 99],
        [50, 101],
      ]);
      assert.equal(result.tornTail, null);
    });
  });
});
