import { setTimeout as sleep } from 'node:timers/promises';
import { cleanText } from '../../common/registry/text';

/**
 * HTTP for registry sources. A registry is remote and untrusted: every request has a timeout, every body a size
 * cap, every answer is checked before it is used, and every failure becomes a SourceError that says what happened
 * in words, so one bad source is reported and never takes the sync down.
 */

/** What went wrong with a source's answer. */
export type SourceErrorKind = 'timeout' | 'network' | 'http' | 'auth' | 'rate-limited' | 'malformed' | 'too-large' | 'cancelled';

export class SourceError extends Error {
  override name = 'SourceError';
  constructor(
    readonly kind: SourceErrorKind,
    message: string,
    readonly details: { status?: number; retryAfterMs?: number; url?: string } = {},
  ) {
    super(message);
  }

  /** Worth another try now (not an answer that will be the same next time). */
  get transient(): boolean {
    return this.kind === 'timeout' || this.kind === 'network' || (this.kind === 'http' && (this.details.status ?? 0) >= 500);
  }
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** Per attempt (default 15 s). */
  timeoutMs?: number;
  /** Largest body accepted (default 16 MiB): a hostile or broken server cannot exhaust memory. */
  maxBytes?: number;
  /** Attempts for transient failures and short 429s (default 3). */
  attempts?: number;
  /** Longest Retry-After honoured by waiting; a longer one fails the request as rate-limited (default 30 s). */
  maxRetryWaitMs?: number;
  signal?: AbortSignal;
}

/** A parsed JSON answer with the headers a caller may need (rate-limit counters). */
export interface JsonResponse {
  body: unknown;
  headers: Headers;
  status: number;
}

const DEFAULTS = { timeoutMs: 15_000, maxBytes: 16 * 1024 * 1024, attempts: 3, maxRetryWaitMs: 30_000 };

/** GETs a JSON document, retrying transient failures with backoff and honouring Retry-After. */
export function getJson(url: string, options: RequestOptions = {}): Promise<JsonResponse> {
  return requestJson(url, undefined, options);
}

/** POSTs a JSON body and reads a JSON answer, with the same limits and retries as getJson. */
export function postJson(url: string, body: unknown, options: RequestOptions = {}): Promise<JsonResponse> {
  return requestJson(url, JSON.stringify(body), options);
}

async function requestJson(url: string, body: string | undefined, options: RequestOptions): Promise<JsonResponse> {
  const settings = { ...DEFAULTS, ...options };
  for (let attempt = 1; ; attempt++) {
    try {
      return await requestOnce(url, body, settings);
    } catch (error) {
      const failure = error instanceof SourceError ? error : new SourceError('network', describeNetworkError(error), { url });
      if (attempt >= settings.attempts || settings.signal?.aborted) throw failure;
      const wait = retryWait(failure, attempt, settings.maxRetryWaitMs);
      if (wait === undefined) throw failure;
      await sleep(wait, undefined, settings.signal ? { signal: settings.signal } : undefined).catch(() => undefined);
    }
  }
}

/** How long to wait before another attempt, or undefined when another attempt is pointless. */
function retryWait(failure: SourceError, attempt: number, maxRetryWaitMs: number): number | undefined {
  if (failure.kind === 'rate-limited') {
    const wait = failure.details.retryAfterMs ?? 1000 * 2 ** attempt;
    return wait <= maxRetryWaitMs ? wait : undefined;
  }
  if (!failure.transient) return undefined;
  return Math.min(250 * 2 ** (attempt - 1), 4000);
}

async function requestOnce(url: string, body: string | undefined, settings: typeof DEFAULTS & RequestOptions): Promise<JsonResponse> {
  const timeout = AbortSignal.timeout(settings.timeoutMs);
  const signal = settings.signal ? AbortSignal.any([settings.signal, timeout]) : timeout;
  let response: Response;
  try {
    const init: RequestInit = { headers: { accept: 'application/json', ...(body !== undefined && { 'content-type': 'application/json' }), ...settings.headers }, signal, redirect: 'follow' };
    if (body !== undefined) Object.assign(init, { method: 'POST', body });
    response = await fetch(url, init);
  } catch (error) {
    throw abortOr(error, settings, url);
  }
  let text: string;
  try {
    text = await readCapped(response, settings.maxBytes, url);
  } catch (error) {
    throw error instanceof SourceError ? error : abortOr(error, settings, url);
  }
  if (!response.ok) throw statusError(response, text, url);
  try {
    return { body: JSON.parse(text), headers: response.headers, status: response.status };
  } catch {
    throw new SourceError('malformed', `${hostOf(url)} answered with invalid JSON (${text.length} bytes starting ${JSON.stringify(text.slice(0, 40))})`, { url });
  }
}

function abortOr(error: unknown, settings: RequestOptions & typeof DEFAULTS, url: string): SourceError {
  if (settings.signal?.aborted) return new SourceError('cancelled', 'the sync was cancelled', { url });
  const name = (error as Error)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return new SourceError('timeout', `${hostOf(url)} did not answer within ${settings.timeoutMs / 1000} s`, { url });
  return new SourceError('network', describeNetworkError(error), { url });
}

/** Reads a body, refusing it once it exceeds the cap (the Content-Length header is not trusted alone). */
async function readCapped(response: Response, maxBytes: number, url: string): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  const tooLarge = () => new SourceError('too-large', `${hostOf(url)} sent more than ${formatBytes(maxBytes)}; the answer was refused`, { url });
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      await response.body.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A non-2xx answer as a SourceError, with the problem JSON's detail when the server sent one. */
function statusError(response: Response, text: string, url: string): SourceError {
  const status = response.status;
  const detail = problemDetail(text);
  const where = `${hostOf(url)} answered ${status}${response.statusText ? ` ${response.statusText}` : ''}`;
  const retryAfterMs = parseRetryAfter(response.headers);
  if (status === 429 || (status === 403 && response.headers.get('x-ratelimit-remaining') === '0')) {
    return new SourceError('rate-limited', `${where}: rate limit reached${retryAfterMs !== undefined ? `, retry after ${Math.ceil(retryAfterMs / 1000)} s` : ''}${detail ? ` (${detail})` : ''}`, {
      status,
      url,
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    });
  }
  if (status === 401 || status === 403) return new SourceError('auth', `${where}: ${detail || 'not authorised'}. Check the source's token.`, { status, url });
  return new SourceError('http', `${where}${detail ? `: ${detail}` : ''}`, { status, url });
}

/** Retry-After (seconds or an HTTP date), else GitHub's x-ratelimit-reset (epoch seconds). */
export function parseRetryAfter(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get('retry-after');
  if (value) {
    const seconds = Number(value);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const reset = Number(headers.get('x-ratelimit-reset'));
  if (headers.get('x-ratelimit-remaining') === '0' && Number.isFinite(reset) && reset > 0) return Math.max(0, reset * 1000 - now);
  return undefined;
}

/** The human part of an RFC 9457 problem document (the registry's error format) or of GitHub's `{message}`. */
function problemDetail(text: string): string {
  try {
    const body = JSON.parse(text) as { detail?: unknown; title?: unknown; message?: unknown; errors?: Array<{ message?: unknown }>; error?: { message?: unknown } };
    const parts = [body.detail ?? body.message ?? body.error?.message ?? body.title, ...(Array.isArray(body.errors) ? body.errors.map((e) => e?.message) : [])];
    return cleanText(parts.filter((p): p is string => typeof p === 'string' && p.length > 0).join('; '), 300, false) ?? '';
  } catch {
    return '';
  }
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ? `${cause.code}${cause.message ? `: ${cause.message}` : ''}` : error instanceof Error ? error.message : String(error);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(0)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}
