import * as fs from 'node:fs';
import type { Database } from 'sql.js';
import type { Capabilities, SourceHealth, SourceRecord } from '../../common/registry/model';
import { writeFileAtomic } from '../store/atomic-file';
import { loadSqlJs } from '../store/sqljs';
import type { Pass } from './sources/source';

/** What is kept per source between syncs. */
export interface SourceState {
  /** A pass in progress (stopped by a failure or a crash): the next sync continues it. */
  pass?: Pass;
  /** The latest `updatedAt` of the last completed pass: the next incremental pass asks for what changed after it. */
  highWater?: string;
  health?: Omit<SourceHealth, 'name' | 'kind' | 'url' | 'enabled' | 'records' | 'tokenConfigured' | 'nextSyncAt'>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS records (source TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL, pass TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (source, key));
CREATE TABLE IF NOT EXISTS sources (name TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS capabilities (entry TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/**
 * The catalog's database (`registry.db` in the data directory): every source's records as normalised, each
 * source's sync state, and introspected capabilities. It is kept apart from the run store so that run snapshots
 * do not carry the catalog. Written atomically at checkpoints; a pass's records and its cursor are always saved
 * together, so a crash resumes the pass where the last checkpoint left it.
 */
export class CatalogDatabase {
  private dirty = false;
  /** Bumped on every change: the catalog is rebuilt when it moves. */
  revision = 0;

  private constructor(
    private readonly file: string,
    private readonly db: Database,
    /** Set when the file on disk could not be read and was set aside. */
    readonly recovered?: string,
  ) {}

  /** Opens the database file, or starts an empty one; a damaged file is moved aside, never overwritten unread. */
  static async open(file: string): Promise<CatalogDatabase> {
    const SQL = await loadSqlJs();
    let recovered: string | undefined;
    if (fs.existsSync(file)) {
      try {
        const db = new SQL.Database(fs.readFileSync(file));
        db.exec(SCHEMA);
        return new CatalogDatabase(file, db);
      } catch (error) {
        const aside = `${file}.damaged-${Date.now()}`;
        fs.renameSync(file, aside);
        recovered = `${file} could not be read (${(error as Error).message}); it was moved to ${aside} and the catalog starts empty`;
      }
    }
    const db = new SQL.Database();
    db.exec(SCHEMA);
    return new CatalogDatabase(file, db, recovered);
  }

  /** Every record of every source. */
  records(): SourceRecord[] {
    const out: SourceRecord[] = [];
    const statement = this.db.prepare('SELECT json FROM records');
    try {
      while (statement.step()) out.push(JSON.parse(statement.get()[0] as string) as SourceRecord);
    } finally {
      statement.free();
    }
    return out;
  }

  /** How many records each source has. */
  counts(): Map<string, number> {
    const result = this.db.exec('SELECT source, COUNT(*) FROM records GROUP BY source');
    return new Map((result[0]?.values ?? []).map(([source, count]) => [source as string, count as number]));
  }

  /** Stores a page of records, marking them seen by the pass. */
  upsert(records: SourceRecord[], pass: string): void {
    if (records.length === 0) return;
    const statement = this.db.prepare('INSERT OR REPLACE INTO records (source, key, kind, pass, json) VALUES (?, ?, ?, ?, ?)');
    try {
      for (const r of records) statement.run([r.source, r.key, r.kind, pass, JSON.stringify(r)]);
    } finally {
      statement.free();
    }
    this.changed();
  }

  /** Removes a source's records that a completed full pass did not see; returns how many. */
  removeUnseen(source: string, pass: string): number {
    this.db.run('DELETE FROM records WHERE source = ? AND pass != ?', [source, pass]);
    const removed = this.db.getRowsModified();
    if (removed > 0) this.changed();
    return removed;
  }

  state(source: string): SourceState {
    const result = this.db.exec('SELECT state FROM sources WHERE name = ?', [source]);
    const text = result[0]?.values[0]?.[0];
    return typeof text === 'string' ? (JSON.parse(text) as SourceState) : {};
  }

  setState(source: string, state: SourceState): void {
    this.db.run('INSERT OR REPLACE INTO sources (name, state) VALUES (?, ?)', [source, JSON.stringify(state)]);
    this.dirty = true;
  }

  capabilities(): Map<string, Capabilities> {
    const result = this.db.exec('SELECT entry, json FROM capabilities');
    return new Map((result[0]?.values ?? []).map(([entry, json]) => [entry as string, JSON.parse(json as string) as Capabilities]));
  }

  setCapabilities(entry: string, capabilities: Capabilities): void {
    this.db.run('INSERT OR REPLACE INTO capabilities (entry, json) VALUES (?, ?)', [entry, JSON.stringify(capabilities)]);
    this.changed();
  }

  /** Writes the database to disk atomically, if anything changed since the last checkpoint. */
  checkpoint(): void {
    if (!this.dirty) return;
    writeFileAtomic(this.file, this.db.export());
    this.dirty = false;
  }

  /** Checkpoints and frees the database. */
  close(): void {
    try {
      this.checkpoint();
    } finally {
      this.db.close();
    }
  }

  private changed(): void {
    this.dirty = true;
    this.revision++;
  }
}
