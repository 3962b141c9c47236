/**
 * The database schema: every table is a projection of the journal, rebuilt from it if lost. Steps have no table
 * of their own: a run's steps are folded from its events when asked for (common/run-state.ts), so there is one
 * source of truth. The events table holds one row per journal record (one event, or a run's consecutive events
 * written together), keyed by its first seq: the record as is (a UTF-8 JSON blob), its run named by number,
 * the cheapest row sql.js can write, the one thing on the hot path.
 */
export const SCHEMA_VERSION = 1;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  run INTEGER NOT NULL,
  data BLOB NOT NULL
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
