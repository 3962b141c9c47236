/**
 * The database schema: every table is a projection of the journal, rebuilt from it if lost. Steps have no table
 * of their own: a run's steps are folded from its events when asked for (common/run-state.ts), so there is one
 * source of truth. The journal is also the archive of every run's history: the events table holds, per journal
 * record (one event, or a run's consecutive events written together), only where it lies (segment and offset)
 * and its run, by number. Rows stay a few dozen bytes, so the database (which sql.js keeps in memory and a
 * snapshot writes whole) grows slowly however long the history.
 */
export const SCHEMA_VERSION = 2;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  run INTEGER NOT NULL,
  segment INTEGER NOT NULL,
  offset INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run, seq);
CREATE TABLE IF NOT EXISTS definitions (hash TEXT PRIMARY KEY, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  num INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  workflow TEXT NOT NULL,
  file TEXT NOT NULL,
  status TEXT NOT NULL,
  definition_hash TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  inputs TEXT NOT NULL,
  outputs TEXT,
  error TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status);
CREATE TABLE IF NOT EXISTS breakers (server TEXT PRIMARY KEY, state TEXT NOT NULL, since INTEGER NOT NULL, reason TEXT NOT NULL);
`;
