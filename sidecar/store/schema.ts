/**
 * The database schema: every table is a projection of the journal, rebuilt from it if lost. Steps have no table
 * of their own: a run's steps are folded from its events when asked for (common/run-state.ts), so there is one
 * source of truth and each event costs one row.
 */
export const SCHEMA_VERSION = 1;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL,
  type TEXT NOT NULL,
  time INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, seq);
CREATE TABLE IF NOT EXISTS definitions (hash TEXT PRIMARY KEY, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
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
`;
