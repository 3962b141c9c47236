/**
 * The registry replays must behave like the real services (official registry v0.1, GitHub
 * search, Glama), since the sync client's tests trust them. These tests pin that fidelity.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import {
  HOSTILE_LONG_LENGTH,
  HOSTILE_STRINGS,
  loadGitHubRepos,
  loadGlamaServers,
  loadOfficialItems,
  startGitHubSearch,
  startGlama,
  startOfficialRegistry,
  syntheticOfficialItems,
  type GitHubRepo,
  type GlamaServer,
  type OfficialRegistryReplay,
  type ReplayServer,
  type ServerJson,
  type V01Item,
} from '../support/registry-replay';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'registry');
const OFFICIAL = 'io.modelcontextprotocol.registry/official';

interface ServerList {
  servers: V01Item[];
  metadata: { nextCursor?: string; count: number };
}
interface Problem {
  title: string;
  status: number;
  detail: string;
  errors?: { message: string; location?: string; value?: unknown }[];
}
interface GitHubPage {
  total_count: number;
  incomplete_results: boolean;
  items: GitHubRepo[];
}
interface GlamaPage {
  pageInfo: { startCursor: string | null; endCursor: string | null; hasNextPage: boolean; hasPreviousPage: boolean };
  servers: GlamaServer[];
}

/** GETs `url` and parses its JSON body as `T`. */
async function get<T>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: T }> {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as T };
}

const key = (item: V01Item) => `${item.server.name}:${item.server.version}`;
const meta = (item: V01Item) => item._meta[OFFICIAL];
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sortedKeys = (items: V01Item[]) => [...items].sort((a, b) => byText(a.server.name, b.server.name) || byText(a.server.version, b.server.version)).map(key);

/** Follows nextCursor from `query` until it is absent; returns every page. */
async function pages(registry: ReplayServer, query: string): Promise<ServerList[]> {
  const out: ServerList[] = [];
  let cursor: string | undefined;
  do {
    const url = `${registry.url}/v0.1/servers?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const { status, body } = await get<ServerList>(url);
    assert.equal(status, 200);
    out.push(body);
    cursor = body.metadata.nextCursor;
  } while (cursor);
  return out;
}

describe('registry replay: official registry v0.1', () => {
  let registry: OfficialRegistryReplay;
  beforeEach(async () => (registry = await startOfficialRegistry()));
  afterEach(() => registry.close());

  it('pages through all 789 real versions once each, in (name, version) text order', async () => {
    const all = await pages(registry, 'limit=100');
    assert.deepEqual(all.map((p) => p.metadata.count), [100, 100, 100, 100, 100, 100, 100, 89]);
    assert.equal(all.at(-1)!.metadata.nextCursor, undefined, 'a short page ends the list');
    const seen = all.flatMap((p) => p.servers).map(key);
    assert.deepEqual(seen, sortedKeys(loadOfficialItems()));
    assert.equal(new Set(seen).size, 789);
    assert.equal(all[0]!.metadata.nextCursor, seen[99], 'the cursor is the last item\'s name:version');

    const first = await get<ServerList>(`${registry.url}/v0.1/servers`);
    assert.equal(first.body.servers.length, 30, 'limit defaults to 30');
  });

  it('follows an exactly full last page with an empty one', async () => {
    await registry.close();
    registry = await startOfficialRegistry({ items: loadOfficialItems().slice(0, 300) });
    const all = await pages(registry, 'limit=100');
    assert.deepEqual(all.map((p) => p.metadata.count), [100, 100, 100, 0]);
    assert.ok(all[2]!.metadata.nextCursor, 'a full page always carries a cursor');
    assert.deepEqual(all[3], { servers: [], metadata: { count: 0 } });
  });

  it('searches names only, case-insensitively, with ILIKE wildcards', async () => {
    const { body } = await get<ServerList>(`${registry.url}/v0.1/servers?search=GITHUB.DOMDOMEGG&limit=100`);
    assert.deepEqual(body.servers.map(key), [
      'io.github.domdomegg/airtable-mcp-server:1.7.2',
      'io.github.domdomegg/airtable-mcp-server:1.7.3',
      'io.github.domdomegg/time-mcp-nuget:1.0.8',
      'io.github.domdomegg/time-mcp-pypi:1.0.6',
    ]);
    const words = await get<ServerList>(`${registry.url}/v0.1/servers?search=AnkiConnect`);
    assert.equal(words.body.servers.length, 0, 'descriptions are not searched');
    const wild = await get<ServerList>(`${registry.url}/v0.1/servers?search=time_mcp_nuget`);
    assert.deepEqual(wild.body.servers.map(key), ['io.github.domdomegg/time-mcp-nuget:1.0.8'], '_ matches any one character, as in Postgres');
  });

  it('filters version=latest on isLatest and other values on the exact version', async () => {
    const latest = (await pages(registry, 'limit=100&version=latest')).flatMap((p) => p.servers);
    assert.equal(latest.length, 461);
    assert.ok(latest.every((item) => meta(item).isLatest));
    const exact = await get<ServerList>(`${registry.url}/v0.1/servers?version=1.7.2&search=airtable`);
    assert.deepEqual(exact.body.servers.map(key), ['io.github.domdomegg/airtable-mcp-server:1.7.2']);
  });

  it('hides deleted versions unless include_deleted, and shows deprecated ones with their message', async () => {
    registry.setStatus('io.github.domdomegg/time-mcp-pypi', '1.0.6', 'deleted', 'malware', '2025-10-01T00:00:00Z');
    registry.setStatus('io.github.domdomegg/time-mcp-nuget', '1.0.8', 'deprecated', 'use time-mcp-pypi', '2025-10-01T00:00:00Z');
    const hidden = await get<ServerList>(`${registry.url}/v0.1/servers?search=domdomegg/time`);
    assert.deepEqual(hidden.body.servers.map(key), ['io.github.domdomegg/time-mcp-nuget:1.0.8']);
    assert.equal(meta(hidden.body.servers[0]!).status, 'deprecated');
    assert.equal(meta(hidden.body.servers[0]!).statusMessage, 'use time-mcp-pypi');
    const shown = await get<ServerList>(`${registry.url}/v0.1/servers?search=domdomegg/time&include_deleted=true`);
    assert.equal(shown.body.servers.length, 2);
    const gone = await get<Problem>(`${registry.url}/v0.1/servers/io.github.domdomegg%2Ftime-mcp-pypi/versions/latest`);
    assert.equal(gone.status, 404);
    const kept = await get<V01Item>(`${registry.url}/v0.1/servers/io.github.domdomegg%2Ftime-mcp-pypi/versions/latest?include_deleted=true`);
    assert.equal(meta(kept.body).status, 'deleted');
  });

  it('updated_since is a strict > on updatedAt (to the nanosecond) and includes deleted versions', async () => {
    registry.setStatus('io.github.domdomegg/time-mcp-pypi', '1.0.6', 'deleted', undefined, '2025-10-01T00:00:00.000000500Z');
    registry.setStatus('io.github.domdomegg/time-mcp-nuget', '1.0.8', 'deprecated', undefined, '2025-10-01T00:00:00.000000700Z');
    const since = async (t: string) => (await get<ServerList>(`${registry.url}/v0.1/servers?updated_since=${encodeURIComponent(t)}`)).body.servers.map(key);
    assert.deepEqual(await since('2025-10-01T00:00:00.0000005Z'), ['io.github.domdomegg/time-mcp-nuget:1.0.8'], 'equal is not after');
    assert.deepEqual(await since('2025-10-01T02:00:00.000000499+02:00'), ['io.github.domdomegg/time-mcp-nuget:1.0.8', 'io.github.domdomegg/time-mcp-pypi:1.0.6']);
    assert.deepEqual(await since('2025-10-01T00:00:01Z'), []);
    assert.equal((await since('2025-09-30T16:26:24.948927521Z')).length, 3, 'the last real update, and the two new ones');

    const conflict = await get<Problem>(`${registry.url}/v0.1/servers?updated_since=2025-10-01T00:00:00Z&include_deleted=false`);
    assert.equal(conflict.status, 400);
    for (const bad of ['2025-10-01', '2025-10-01 00:00:00Z', '2025-02-30T00:00:00Z', '2025-10-01T00:00:00', 'yesterday']) {
      const res = await get<Problem>(`${registry.url}/v0.1/servers?updated_since=${encodeURIComponent(bad)}`);
      assert.equal(res.status, 400, bad);
      assert.match(res.body.detail, /Invalid updated_since format/);
      assert.match(res.headers.get('content-type')!, /application\/problem\+json/);
    }
  });

  it('rejects limits outside 1..100 with huma\'s 422 problem', async () => {
    const over = await get<Problem>(`${registry.url}/v0.1/servers?limit=101`);
    assert.equal(over.status, 422);
    assert.equal(over.body.title, 'Unprocessable Entity');
    assert.deepEqual(over.body.errors, [{ message: 'expected number <= 100', location: 'query.limit', value: 101 }]);
    assert.equal((await get<Problem>(`${registry.url}/v0.1/servers?limit=0`)).body.errors![0]!.message, 'expected number >= 1');
    assert.equal((await get<Problem>(`${registry.url}/v0.1/servers?limit=ten`)).body.errors![0]!.message, 'invalid integer');
    assert.equal((await get<Problem>(`${registry.url}/v0.1/servers?include_deleted=maybe`)).status, 422);
  });

  it('serves versions of a %2F-encoded name, newest first, and 404 problems for unknown ones', async () => {
    const versions = await get<ServerList>(`${registry.url}/v0.1/servers/io.github.domdomegg%2Fairtable-mcp-server/versions`);
    assert.deepEqual(versions.body.servers.map((item) => item.server.version), ['1.7.3', '1.7.2']);
    assert.equal(versions.body.metadata.count, 2);
    const exact = await get<V01Item>(`${registry.url}/v0.1/servers/io.github.domdomegg%2Fairtable-mcp-server/versions/1.7.2`);
    assert.equal(meta(exact.body).isLatest, false);
    const latest = await get<V01Item>(`${registry.url}/v0.1/servers/io.github.domdomegg%2Fairtable-mcp-server/versions/latest`);
    assert.equal(latest.body.server.version, '1.7.3');

    const unknown = await get<Problem>(`${registry.url}/v0.1/servers/io.example%2Fnope/versions`);
    assert.equal(unknown.status, 404);
    assert.deepEqual({ title: unknown.body.title, status: unknown.body.status, detail: unknown.body.detail }, { title: 'Not Found', status: 404, detail: 'Server not found' });
    const raw = await fetch(`${registry.url}/v0.1/servers/io.github.domdomegg/airtable-mcp-server/versions`);
    assert.equal(raw.status, 404, 'an unencoded slash matches no route');
    assert.equal(await raw.text(), '404 page not found\n');
  });

  it('publish makes a new latest without touching the old version\'s updatedAt (unless asked to)', async () => {
    const [, v173] = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'latest', 'seed.json'), 'utf8')) as ServerJson[];
    registry.publish({ ...v173!, version: '1.8.0' }, { at: '2025-10-02T00:00:00Z' });
    const since = `${registry.url}/v0.1/servers?updated_since=2025-10-01T00:00:00Z`;
    assert.deepEqual((await get<ServerList>(since)).body.servers.map(key), ['io.github.domdomegg/airtable-mcp-server:1.8.0']);
    const versions = await get<ServerList>(`${registry.url}/v0.1/servers/io.github.domdomegg%2Fairtable-mcp-server/versions`);
    assert.deepEqual(versions.body.servers.map((item) => [item.server.version, meta(item).isLatest]), [['1.8.0', true], ['1.7.3', false], ['1.7.2', false]]);

    registry.publish({ ...v173!, version: '1.9.0' }, { at: '2025-10-03T00:00:00Z', touchPrevious: true });
    const touched = await get<ServerList>(`${registry.url}/v0.1/servers?updated_since=2025-10-02T00:00:00Z`);
    assert.deepEqual(touched.body.servers.map((item) => [item.server.version, meta(item).isLatest]), [['1.8.0', false], ['1.9.0', true]]);

    registry.upsert({ server: { ...v173!, version: '2.0.0-rc.1' }, _meta: { [OFFICIAL]: { status: 'active', publishedAt: '2025-10-04T00:00:00Z', updatedAt: '2025-10-04T00:00:00Z', isLatest: false } } });
    assert.equal((await get<ServerList>(`${registry.url}/v0.1/servers?search=domdomegg/airtable`)).body.servers.length, 5);
  });

  it('as a private sub-registry, answers 401 without the bearer token', async () => {
    await registry.close();
    registry = await startOfficialRegistry({ token: 's3cret' });
    const denied = await get<Problem>(`${registry.url}/v0.1/servers`);
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await get<Problem>(`${registry.url}/v0.1/servers`, { authorization: 'Bearer wrong' })).status, 401);
    const ok = await get<ServerList>(`${registry.url}/v0.1/servers?updated_since=2025-09-30T00:00:00Z`, { authorization: 'Bearer s3cret' });
    assert.equal(ok.status, 200);
    const last = registry.requests.at(-1)!;
    assert.equal(last.headers.authorization, 'Bearer s3cret');
    assert.equal(last.query.updated_since, '2025-09-30T00:00:00Z');
  });

  it('rate-limits per minute with 429 and Retry-After when asked to', async () => {
    await registry.close();
    registry = await startOfficialRegistry({ perMinute: 2 });
    assert.equal((await get<ServerList>(`${registry.url}/v0.1/servers`)).status, 200);
    assert.equal((await get<ServerList>(`${registry.url}/v0.1/servers`)).status, 200);
    const limited = await get<Problem>(`${registry.url}/v0.1/servers`);
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  });

  it('makes 50,000 distinct synthetic servers that keep the real shapes, and pages them', async function () {
    this.timeout(60_000);
    const items = syntheticOfficialItems(50_000);
    assert.equal(new Set(items.map(key)).size, 50_000);
    const copy = items.find((item) => item.server.name === 'io.github.domdomegg/airtable-mcp-server-copy3' && item.server.version === '1.7.3')!;
    assert.equal((copy.server.repository as { url: string }).url, 'https://github.com/domdomegg/airtable-mcp-server-copy3.git');
    const emptyRepo = items.filter((item) => (item.server.repository as { url?: string } | undefined)?.url === '').length;
    assert.ok(emptyRepo > 0, 'empty repository URLs, a real defect, survive');
    const latestPerName = new Map<string, number>();
    for (const item of items) latestPerName.set(item.server.name, (latestPerName.get(item.server.name) ?? 0) + Number(meta(item).isLatest));
    assert.ok([...latestPerName.values()].every((n) => n === 1), 'every server has exactly one latest version');

    await registry.close();
    registry = await startOfficialRegistry({ items });
    const all = await pages(registry, 'limit=100');
    assert.equal(all.length, 500 + 1, 'an exactly full last page, then an empty one');
    assert.deepEqual(all.flatMap((p) => p.servers).map(key), sortedKeys(items));
  });
});

describe('registry replay: GitHub repository search', () => {
  let github: ReplayServer;
  afterEach(() => github.close());

  const search = (q: string, extra = '', headers: Record<string, string> = {}) =>
    get<GitHubPage>(`${github.url}/search/repositories?q=${encodeURIComponent(q)}&sort=stars&order=desc${extra}`, headers);

  it('answers topic queries that overlap but differ, by stars, at most 100 a page', async () => {
    github = await startGitHubSearch({ perMinuteWithout: 100 });
    const server = await search('topic:mcp-server', '&per_page=500');
    const protocol = await search('topic:model-context-protocol', '&per_page=100');
    assert.equal(server.body.items.length, 100, 'per_page is capped at 100');
    assert.equal(server.body.incomplete_results, false);
    const stars = server.body.items.map((r) => r.stargazers_count);
    assert.deepEqual(stars, [...stars].sort((a, b) => b - a));
    const all = loadGitHubRepos();
    const a = new Set(all.filter((r) => r.topics.includes('mcp-server')).map((r) => r.full_name));
    const b = new Set(all.filter((r) => r.topics.includes('model-context-protocol')).map((r) => r.full_name));
    assert.equal(server.body.total_count, a.size);
    assert.equal(protocol.body.total_count, b.size);
    const both = [...a].filter((name) => b.has(name)).length;
    assert.ok(both > 0 && both < a.size && both < b.size, 'the queries overlap but differ');
    assert.equal((await search('topic:mcp-server topic:model-context-protocol')).body.total_count, both, 'qualifiers AND together');
    assert.match(server.headers.get('link')!, /rel="next".*rel="last"/);

    const repos = new Set(all.map((r) => r.html_url.toLowerCase()));
    const official = new Set(loadOfficialItems().map((i) => (i.server.repository as { url?: string } | undefined)?.url?.toLowerCase().replace(/\.git$/, '')).filter((u) => u));
    assert.deepEqual(repos, official, 'one item per distinct repository of the official data');
    assert.ok(all.some((r) => r.archived) && all.some((r) => r.license === null) && all.some((r) => r.license?.spdx_id === 'NOASSERTION'));
  });

  it('reaches only the first 1,000 results', async () => {
    github = await startGitHubSearch({ copies: 5, perMinuteWithout: 100 });
    const first = await search('topic:mcp-server', '&per_page=100&page=10');
    assert.ok(first.body.total_count > 1000, `total_count ${first.body.total_count}`);
    assert.equal(first.body.items.length, 100);
    assert.doesNotMatch(first.headers.get('link')!, /rel="next"/, 'page 10 is the last reachable');
    const beyond = await search('topic:mcp-server', '&per_page=100&page=11');
    assert.equal(beyond.status, 422);
    assert.equal((beyond.body as unknown as { message: string }).message, 'Only the first 1000 search results are available');
  });

  it('meters search requests per minute: fewer without a token, 403 with reset headers once spent', async () => {
    github = await startGitHubSearch({ token: 'ghp_test', perMinuteWithout: 2, perMinuteWithToken: 3 });
    const anonymous = [await search('topic:mcp'), await search('topic:mcp'), await search('topic:mcp')];
    assert.deepEqual(anonymous.map((r) => r.status), [200, 200, 403]);
    assert.deepEqual(anonymous.map((r) => r.headers.get('x-ratelimit-remaining')), ['1', '0', '0']);
    const spent = anonymous[2]!;
    assert.equal(spent.headers.get('x-ratelimit-resource'), 'search');
    assert.equal(spent.headers.get('x-ratelimit-limit'), '2');
    assert.ok(Number(spent.headers.get('x-ratelimit-reset')) > Date.now() / 1000);
    assert.ok(Number(spent.headers.get('retry-after')) >= 1);
    assert.match((spent.body as unknown as { message: string }).message, /^API rate limit exceeded/);

    const authed = { authorization: 'Bearer ghp_test' };
    const withToken = [await search('topic:mcp', '', authed), await search('topic:mcp', '', { authorization: 'token ghp_test' }), await search('topic:mcp', '', authed), await search('topic:mcp', '', authed)];
    assert.deepEqual(withToken.map((r) => r.status), [200, 200, 200, 403], 'a token has its own, larger budget');
    assert.equal((await search('topic:mcp', '', { authorization: 'Bearer nope' })).status, 401);
    assert.equal(github.requests.at(-1)!.headers.authorization, 'Bearer nope');
  });
});

describe('registry replay: Glama directory', () => {
  let glama: ReplayServer;
  beforeEach(async () => (glama = await startGlama()));
  afterEach(() => glama.close());

  it('pages through every server with cursors and pageInfo', async () => {
    const ids: string[] = [];
    let after: string | null = null;
    let pageCount = 0;
    for (;;) {
      const url = `${glama.url}/v1/servers?first=100${after ? `&after=${encodeURIComponent(after)}` : ''}`;
      const body: GlamaPage = (await get<GlamaPage>(url)).body;
      pageCount++;
      assert.equal(body.pageInfo.hasPreviousPage, after !== null);
      ids.push(...body.servers.map((s) => s.id));
      if (!body.pageInfo.hasNextPage) break;
      after = body.pageInfo.endCursor;
    }
    assert.equal(pageCount, 3);
    assert.deepEqual(ids, loadGlamaServers().map((s) => s.id));
    assert.equal((await get<GlamaPage>(`${glama.url}/v1/servers`)).body.servers.length, 10, 'first defaults to 10');
    assert.equal((await get<unknown>(`${glama.url}/v1/servers?first=101`)).status, 400);
    assert.equal((await get<unknown>(`${glama.url}/v1/servers?after=bogus`)).status, 400);
  });

  it('searches, and serves single servers by id and by namespace/slug', async () => {
    const found = await get<GlamaPage>(`${glama.url}/v1/servers?query=${encodeURIComponent('anki')}`);
    assert.ok(found.body.servers.length > 0 && found.body.servers.every((s) => `${s.name} ${s.description}`.toLowerCase().includes('anki')));
    const one = loadGlamaServers()[5]!;
    assert.deepEqual((await get<GlamaServer>(`${glama.url}/v1/servers/${one.id}`)).body, one);
    assert.deepEqual((await get<GlamaServer>(`${glama.url}/v1/servers/${one.namespace}/${one.slug}`)).body, one);
    const missing = await get<{ error: { code: string } }>(`${glama.url}/v1/servers/zzzzzzzzzz`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');
  });

  it('serves entries valid against Glama\'s McpServer schema, mostly sharing the official repositories', () => {
    // Ajv takes OpenAPI's `nullable` only beside a `type`; spell the others as JSON Schema.
    const spec = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'glama-mcp-api.json'), 'utf8'), (_, value: unknown) => {
      if (value === null || typeof value !== 'object' || !('nullable' in value) || 'type' in value) return value;
      const { nullable: _nullable, ...rest } = value as Record<string, unknown>;
      return { anyOf: [rest, { type: 'null' }] };
    }) as { components: object };
    const ajv = new Ajv({ strict: false, validateFormats: false });
    ajv.addSchema({ $id: 'glama', components: spec.components });
    const validate = ajv.getSchema('glama#/components/schemas/McpServer')!;
    assert.equal(validate({ id: 'not-an-id' }), false, 'the schema does reject');
    for (const server of loadGlamaServers()) assert.ok(validate(server), `${server.id}: ${ajv.errorsText(validate.errors)}`);

    const official = new Set(loadOfficialItems().map((i) => (i.server.repository as { url?: string } | undefined)?.url?.toLowerCase().replace(/\.git$/, '')));
    const shared = loadGlamaServers().filter((s) => s.repository && official.has(s.repository.url.toLowerCase()));
    assert.equal(shared.length, 200);
    assert.equal(loadGlamaServers().length - shared.length, 20);
  });
});

describe('registry replay: faults', () => {
  let registry: OfficialRegistryReplay;
  beforeEach(async () => (registry = await startOfficialRegistry()));
  afterEach(() => registry.close());

  it('answers injected statuses for the next N requests, with Retry-After and a body in the service\'s shape', async () => {
    registry.faults.status(503, { times: 2 });
    registry.faults.status(429, { retryAfter: 7 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${registry.url}/v0.1/servers`)).status);
    assert.deepEqual(statuses, [503, 503, 429, 200]);
    assert.deepEqual(registry.requests.map((r) => r.fault), ['status', 'status', 'status', undefined]);

    registry.faults.status(429, { retryAfter: 7 });
    const limited = await get<Problem>(`${registry.url}/v0.1/servers`);
    assert.equal(limited.headers.get('retry-after'), '7');
    assert.equal(limited.body.status, 429);
    registry.faults.status(502, { body: { custom: true } });
    assert.deepEqual((await get<unknown>(`${registry.url}/v0.1/servers`)).body, { custom: true });
  });

  it('scopes a fault to a path pattern, and clear() drops queued faults', async () => {
    registry.faults.status(500, { path: /cursor=/, times: Infinity });
    const first = await get<ServerList>(`${registry.url}/v0.1/servers?limit=5`);
    assert.equal(first.status, 200);
    const next = await fetch(`${registry.url}/v0.1/servers?limit=5&cursor=${encodeURIComponent(first.body.metadata.nextCursor!)}`);
    assert.equal(next.status, 500);
    registry.faults.clear();
    assert.equal((await fetch(`${registry.url}/v0.1/servers?limit=5&cursor=x`)).status, 200);
  });

  it('hangs without keeping the process alive after close', async () => {
    registry.faults.hang();
    await assert.rejects(fetch(`${registry.url}/v0.1/servers`, { signal: AbortSignal.timeout(200) }), /aborted|timeout/i);
    registry.faults.hang();
    const pending = fetch(`${registry.url}/v0.1/servers`).catch((error: unknown) => error);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await registry.close();
    assert.ok(Date.now() - started < 1000, 'close does not wait for the hung request');
    assert.ok((await pending) instanceof Error, 'the hung client sees its connection drop');
    registry = await startOfficialRegistry(); // for afterEach
  });

  it('delays, then answers normally', async () => {
    registry.faults.delay(300);
    const started = Date.now();
    const res = await get<ServerList>(`${registry.url}/v0.1/servers`);
    assert.ok(Date.now() - started >= 290);
    assert.equal(res.body.servers.length, 30);
  });

  it('sends malformed JSON with status 200', async () => {
    registry.faults.malformed();
    const res = await fetch(`${registry.url}/v0.1/servers`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(text.startsWith('{"servers":['));
    assert.throws(() => JSON.parse(text), SyntaxError);
  });

  it('streams an oversized body of exactly the given size', async () => {
    registry.faults.oversized(5 * 1024 * 1024);
    const res = await fetch(`${registry.url}/v0.1/servers`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), null, 'streamed, no declared length');
    let bytes = 0;
    let head = '';
    for await (const chunk of res.body!) {
      if (bytes === 0) head = Buffer.from(chunk).subarray(0, 40).toString();
      bytes += chunk.length;
    }
    assert.equal(bytes, 5 * 1024 * 1024);
    assert.ok(head.startsWith('{"servers":[{"server":{'), head);
  });

  it('sends hostile strings in a valid page whose paging still works', async () => {
    registry.faults.hostile();
    const res = await fetch(`${registry.url}/v0.1/servers?limit=3`);
    const text = await res.text();
    const body = JSON.parse(text) as ServerList;
    assert.equal(body.metadata.nextCursor, key(loadOfficialItems()[2]!), 'metadata is untouched');
    assert.deepEqual(body.servers.map(key), loadOfficialItems().slice(0, 3).map(key), 'identity fields are untouched');
    for (const payload of HOSTILE_STRINGS) assert.ok(text.includes(JSON.stringify(payload).slice(1, -1)), payload);
    assert.ok(text.includes('A'.repeat(HOSTILE_LONG_LENGTH)));
    assert.ok(Object.hasOwn(body.servers[0]!, '__proto__'), 'an own __proto__ key, as JSON.parse yields it');
    const original = loadOfficialItems()[1]!.server.description as string;
    const poisoned = body.servers[1]!.server.description as string;
    assert.ok(poisoned.startsWith(`${original} `) && HOSTILE_STRINGS.some((payload) => poisoned.endsWith(payload)), poisoned);
  });

  it('sends JSON of the wrong shape, a different variant each time', async () => {
    registry.faults.wrongShape({ times: 3 });
    const bodies = [];
    for (let i = 0; i < 3; i++) bodies.push((await get<unknown>(`${registry.url}/v0.1/servers`)).body);
    assert.equal(new Set(bodies.map((b) => JSON.stringify(b))).size, 3);
    assert.ok(bodies.every((b) => !Array.isArray((b as { servers?: unknown }).servers)));
  });

  it('applies to GitHub and Glama in their own shapes', async () => {
    const github = await startGitHubSearch();
    const glama = await startGlama();
    try {
      github.faults.status(503);
      assert.deepEqual(Object.keys((await get<object>(`${github.url}/search/repositories?q=topic:mcp`)).body).sort(), ['documentation_url', 'message', 'status']);
      glama.faults.status(500);
      assert.equal((await get<{ error: { code: string } }>(`${glama.url}/v1/servers`)).body.error.code, 'internal_server_error');

      github.faults.hostile();
      const repos = await get<GitHubPage>(`${github.url}/search/repositories?q=topic:mcp&per_page=5`);
      assert.equal(repos.body.items.length, 5);
      assert.ok(repos.body.items.every((r) => r.html_url.startsWith(`https://github.com/${r.full_name} `)), 'URLs carry payloads, full_name stays');
      glama.faults.hostile();
      const servers = await get<GlamaPage>(`${glama.url}/v1/servers?first=5`);
      assert.equal(servers.body.pageInfo.hasNextPage, true);
      const originals = loadGlamaServers();
      assert.ok(servers.body.servers.every((s, i) => s.id === originals[i]!.id && s.description.startsWith(`${originals[i]!.description} `)));

      github.faults.wrongShape();
      assert.equal((await get<{ items: unknown }>(`${github.url}/search/repositories?q=topic:mcp`)).body.items, null);
      glama.faults.oversized(100_000);
      const big = await fetch(`${glama.url}/v1/servers`);
      assert.equal((await big.arrayBuffer()).byteLength, 100_000);
    } finally {
      await Promise.all([github.close(), glama.close()]);
    }
  });
});
