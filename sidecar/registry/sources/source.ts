import type { SourceRecord } from '../../../common/registry/model';
import type { SourceSettings } from '../../../common/registry/sources';
import { getJson, SourceError } from '../http';

/**
 * A source adapter pulls one source page by page. A sync is a pass: full (every record; what the pass did not
 * see is removed at its end) or incremental (only what changed since the last pass). A pass is resumable: after
 * each page the coordinator stores the page's records together with the cursor to continue from.
 */
export interface Pass {
  id: string;
  full: boolean;
  /** Where to continue (adapter-defined); absent at the start of the pass. */
  cursor?: string;
  /** Incremental passes: changes after this time (the previous pass's high-water mark). */
  since?: string;
  /** The latest `updatedAt` seen in this pass so far: the next incremental pass starts there. */
  highWater?: string;
  startedAt: string;
}

/** One page of a pass. */
export interface Page {
  records: SourceRecord[];
  /** Where the next page starts; absent on the pass's last page. */
  next?: string;
  highWater?: string;
  /** Entries left out, and why (a defect in the source's data). */
  skipped: string[];
  /** Facts worth reporting (e.g. a result cap). */
  notes: string[];
  /** Records the source says are gone (when it says so explicitly). */
  removed?: string[];
}

/** What an adapter is given. */
export interface PullContext {
  settings: SourceSettings;
  token?: string;
  signal: AbortSignal;
  now: () => Date;
  /** Per-request timeout (tests shorten it). */
  timeoutMs?: number;
  /** Longest rate-limit wait honoured inside a pass. */
  maxRetryWaitMs?: number;
}

export interface SourceAdapter {
  /** Whether a pass after a completed one can be incremental (else every pass is full). */
  readonly incremental: boolean;
  /** Pulls the page that starts at `pass.cursor`. */
  page(pass: Pass, context: PullContext): Promise<Page>;
}

/** Request options common to every adapter. */
function requestOptions(context: PullContext, headers: Record<string, string> = {}) {
  return {
    headers: { 'user-agent': 'openconductor-registry-sync', ...headers },
    signal: context.signal,
    ...(context.timeoutMs !== undefined && { timeoutMs: context.timeoutMs }),
    ...(context.maxRetryWaitMs !== undefined && { maxRetryWaitMs: context.maxRetryWaitMs }),
  };
}

/**
 * GETs one page and reads it with `read`, which checks its shape (asObject, asArray): an answer of the wrong shape
 * fails the source as malformed, saying what was wrong.
 */
export async function getPage<T>(url: URL, context: PullContext, headers: Record<string, string>, read: (body: Record<string, unknown>) => T): Promise<T> {
  const response = await getJson(url.toString(), requestOptions(context, headers));
  try {
    return read(asObject(response.body, 'the answer'));
  } catch (error) {
    throw new SourceError('malformed', `${url.host} answered with an unexpected shape: ${(error as Error).message}`, { url: url.toString() });
  }
}

/** A cursor that does not move would page forever: a broken server must not hold the sync. */
export function checkCursorMoves(next: string | undefined, pass: Pass, url: URL): void {
  if (next !== undefined && next === pass.cursor) throw new SourceError('malformed', `${url.host} returned the same cursor twice (${next})`, { url: url.toString() });
}

/** Checks that a value is a plain object, or says what the source sent instead. */
export function asObject(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what} is ${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value}, not an object`);
  return value as Record<string, unknown>;
}

/** Checks that a value is a list, or says what the source sent instead. */
export function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what} is ${value === null ? 'null' : typeof value}, not a list`);
  return value;
}
