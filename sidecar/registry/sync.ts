import { randomBytes } from 'node:crypto';
import type { RegistrySyncProgress } from '../../common/protocol';
import type { SourceHealth } from '../../common/registry/model';
import type { SourceSettings } from '../../common/registry/sources';
import type { CatalogDatabase, SourceState } from './catalog-db';
import { SourceError } from './http';
import { githubSearch } from './sources/github';
import { glamaDirectory } from './sources/glama';
import { later, officialRegistry } from './sources/official';
import type { Pass, SourceAdapter } from './sources/source';

/** A sync's progress, reported after every page (records: seen by this pass so far). */
export type SyncProgress = RegistrySyncProgress;

/** How one source's sync ended. */
export interface SourceSyncResult {
  source: string;
  ok: boolean;
  full: boolean;
  /** Continued a pass an earlier sync left midway. */
  resumed: boolean;
  records: number;
  pages: number;
  removed: number;
  skipped: number;
  notes: string[];
  durationMs: number;
  error?: { kind: string; message: string };
}

export interface SyncOptions {
  /** Start full passes even where an incremental one is possible. */
  full?: boolean;
  /** Tokens by source name (from the editor's SecretStorage); else each source's `tokenEnv`. */
  tokens?: Record<string, string>;
  signal?: AbortSignal;
  onProgress?: (progress: SyncProgress) => void;
  now?: () => Date;
  timeoutMs?: number;
  maxRetryWaitMs?: number;
  /** Checkpoint at most this often during passes (default 2 s): each checkpoint writes the whole database. */
  checkpointEveryMs?: number;
}

const ADAPTERS: Record<SourceSettings['kind'], SourceAdapter> = { official: officialRegistry, registry: officialRegistry, github: githubSearch, glama: glamaDirectory };

/** The token a source uses, if any: given by the caller, else from its environment variable. */
export function tokenFor(settings: SourceSettings, tokens: Record<string, string> = {}): string | undefined {
  return tokens[settings.name] ?? (settings.tokenEnv ? process.env[settings.tokenEnv] || undefined : undefined);
}

/**
 * Syncs sources concurrently into the catalog database. A source that fails keeps its last good records, records
 * its failure in its health and leaves its pass resumable; the other sources carry on.
 */
export async function syncSources(db: CatalogDatabase, sources: SourceSettings[], options: SyncOptions = {}): Promise<SourceSyncResult[]> {
  let lastCheckpoint = Date.now();
  const checkpoint = (force: boolean) => {
    if (!force && Date.now() - lastCheckpoint < (options.checkpointEveryMs ?? 2000)) return;
    db.checkpoint();
    lastCheckpoint = Date.now();
  };
  return Promise.all(sources.map((settings) => syncOne(db, settings, options, checkpoint)));
}

async function syncOne(db: CatalogDatabase, settings: SourceSettings, options: SyncOptions, checkpoint: (force: boolean) => void): Promise<SourceSyncResult> {
  const adapter = ADAPTERS[settings.kind];
  const now = options.now ?? (() => new Date());
  const started = Date.now();
  const state = db.state(settings.name);
  const resumed = !!state.pass && !(options.full && !state.pass.full);
  let pass: Pass = resumed ? state.pass! : newPass(adapter, state, options.full ?? false, now());
  const token = tokenFor(settings, options.tokens);
  const context = {
    settings,
    ...(token && { token }),
    signal: options.signal ?? new AbortController().signal,
    now,
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    ...(options.maxRetryWaitMs !== undefined && { maxRetryWaitMs: options.maxRetryWaitMs }),
  };
  const tally = { records: 0, pages: 0, skipped: 0, skippedExamples: [] as string[], notes: [] as string[] };
  const progress = (phase: SyncProgress['phase'], message?: string) =>
    options.onProgress?.({ source: settings.name, phase, records: tally.records, pages: tally.pages, full: pass.full, ...(message && { message }) });
  progress('started', resumed ? `continuing the ${pass.full ? 'full' : 'incremental'} pass stopped at ${pass.cursor ?? 'its start'}` : undefined);
  try {
    for (;;) {
      const page = await adapter.page(pass, context);
      db.upsert(page.records, pass.id);
      tally.records += page.records.length;
      tally.pages++;
      tally.skipped += page.skipped.length;
      tally.skippedExamples.push(...page.skipped.slice(0, 5 - tally.skippedExamples.length));
      tally.notes.push(...page.notes);
      const highWater = page.highWater && later(page.highWater, pass.highWater) ? page.highWater : pass.highWater;
      pass = { ...pass, ...(highWater && { highWater }) };
      if (page.next === undefined) break;
      pass.cursor = page.next;
      db.setState(settings.name, { ...state, pass });
      checkpoint(false);
      progress('page');
    }
    const removed = pass.full ? db.removeUnseen(settings.name, pass.id) : 0;
    const at = now().toISOString();
    const highWater = pass.highWater ?? state.highWater;
    db.setState(settings.name, {
      ...(highWater && adapter.incremental && { highWater }),
      health: { state: 'ok', lastAttemptAt: at, lastSuccessAt: at, lastDurationMs: Date.now() - started, consecutiveFailures: 0, notes: tally.notes, skipped: tally.skipped, skippedExamples: tally.skippedExamples, resumable: false },
    });
    checkpoint(true);
    progress('done', removed > 0 ? `${removed} no longer listed, removed` : undefined);
    return { source: settings.name, ok: true, full: pass.full, resumed, records: tally.records, pages: tally.pages, removed, skipped: tally.skipped, notes: tally.notes, durationMs: Date.now() - started };
  } catch (error) {
    const failure = error instanceof SourceError ? { kind: error.kind, message: error.message } : { kind: 'internal', message: error instanceof Error ? error.message : String(error) };
    const previous = state.health;
    const at = now().toISOString();
    db.setState(settings.name, {
      ...state,
      pass,
      health: {
        state: 'failing',
        lastAttemptAt: at,
        ...(previous?.lastSuccessAt && { lastSuccessAt: previous.lastSuccessAt }),
        lastDurationMs: Date.now() - started,
        lastError: { ...failure, at },
        consecutiveFailures: (previous?.consecutiveFailures ?? 0) + 1,
        notes: tally.notes,
        skipped: tally.skipped,
        skippedExamples: tally.skippedExamples,
        resumable: true,
      },
    });
    checkpoint(true);
    progress('failed', failure.message);
    return { source: settings.name, ok: false, full: pass.full, resumed, records: tally.records, pages: tally.pages, removed: 0, skipped: tally.skipped, notes: tally.notes, durationMs: Date.now() - started, error: failure };
  }
}

function newPass(adapter: SourceAdapter, state: SourceState, full: boolean, now: Date): Pass {
  const id = `${now.getTime().toString(36)}-${randomBytes(4).toString('hex')}`;
  const incremental = adapter.incremental && !full && state.highWater !== undefined;
  return incremental ? { id, full: false, since: state.highWater!, highWater: state.highWater!, startedAt: now.toISOString() } : { id, full: true, startedAt: now.toISOString() };
}

/** A source's health as `registry sources` shows it. */
export function sourceHealth(db: CatalogDatabase, settings: SourceSettings, counts: Map<string, number>, tokens?: Record<string, string>): SourceHealth {
  const state = db.state(settings.name);
  const health = state.health;
  const next = nextSyncAt(settings, state);
  return {
    name: settings.name,
    kind: settings.kind,
    url: settings.url,
    enabled: settings.enabled,
    state: health?.state === 'failing' ? 'failing' : state.pass ? 'partial' : (health?.state ?? 'never'),
    records: counts.get(settings.name) ?? 0,
    consecutiveFailures: health?.consecutiveFailures ?? 0,
    notes: health?.notes ?? [],
    skipped: health?.skipped ?? 0,
    skippedExamples: health?.skippedExamples ?? [],
    resumable: !!state.pass,
    tokenConfigured: tokenFor(settings, tokens) !== undefined,
    ...(health?.lastAttemptAt && { lastAttemptAt: health.lastAttemptAt }),
    ...(health?.lastSuccessAt && { lastSuccessAt: health.lastSuccessAt }),
    ...(health?.lastDurationMs !== undefined && { lastDurationMs: health.lastDurationMs }),
    ...(health?.lastError && { lastError: health.lastError }),
    ...(settings.enabled && next && { nextSyncAt: next.toISOString() }),
  };
}

/**
 * When the sidecar should sync a source on its own: its interval after the last attempt; after failures, sooner
 * (a minute, doubling) but never later than the interval.
 */
export function nextSyncAt(settings: SourceSettings, state: SourceState): Date | undefined {
  const last = state.health?.lastAttemptAt;
  if (!last) return new Date(0);
  const failures = state.health?.consecutiveFailures ?? 0;
  const minutes = failures > 0 ? Math.min(settings.intervalMinutes, 2 ** (failures - 1)) : settings.intervalMinutes;
  return new Date(Date.parse(last) + minutes * 60_000);
}
