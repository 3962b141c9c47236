/**
 * Registry sync against local replays of the official registry, GitHub search and Glama, over the real recorded
 * data: full, incremental and resumed passes, and every way a source can fail without hurting the others.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SourceRecord } from '../../common/registry/model';
import type { SourceSettings } from '../../common/registry/sources';
import { CatalogDatabase } from '../../sidecar/registry/catalog-db';
import { syncSources, sourceHealth, type SyncOptions } from '../../sidecar/registry/sync';
import { HOSTILE_LONG_LENGTH, loadOfficialItems, startGitHubSearch, startGlama, startOfficialRegistry, type ReplayServer } from '../support/registry-replay';

const official = (url: string, extra: Partial<SourceSettings> = {}): SourceSettings => ({ name: 'official', kind: 'official', url, enabled: true, intervalMinutes: 60, ...extra });
const FAST: SyncOptions = { timeoutMs: 2000, maxRetryWaitMs: 2000, checkpointEveryMs: 0 };
const OFFICIAL_META = 'io.modelcontextprotocol.registry/official';

describe('registry sync', function () {
  this.timeout(60_000);
  let dir: string;
  let db: CatalogDatabase;
  const replays: ReplayServer[] = [];
  const start = async <T extends ReplayServer>(replay: Promise<T>): Promise<T> => {
    const r = await replay;
    replays.push(r);
    return r;
  };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-registry-'));
    db = await CatalogDatabase.open(path.join(dir, 'registry.db'));
  });
  afterEach(async () => {
    db.close();
    await Promise.all(replays.splice(0).map((r) => r.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const recordsOf = (source: string): SourceRecord[] => db.records().filter((r) => r.source === source);
  const serverRecords = (source = 'official') => recordsOf(source).flatMap((r) => (r.kind === 'official' || r.kind === 'registry' ? [r.server] : []));

  it('pulls every version of every server in a full pass, 100 at a time, including deleted ones', async () => {
    const registry = await start(startOfficialRegistry());
    const [result] = await syncSources(db, [official(registry.url)], FAST);
    assert.equal(result.ok, true, result.error?.message);
    assert.equal(result.full, true);
    assert.equal(result.records, 789);
    assert.equal(new Set(serverRecords().map((s) => s.name)).size, 461);
    assert.equal(registry.requests.length, 8, 'ceil(789 / 100) pages');
    for (const request of registry.requests) {
      assert.equal(request.query.limit, '100');
      assert.equal(request.query.include_deleted, 'true');
      assert.equal(request.query.updated_since, undefined);
    }
    assert.deepEqual(
      registry.requests.slice(1).map((r) => r.query.cursor),
      registry.requests.slice(0, -1).map((_, i) => {
        const sorted = loadOfficialItems().map((it) => `${it.server.name}:${it.server.version}`).sort();
        return sorted[(i + 1) * 100 - 1];
      }),
      'each cursor is the name:version of the last item of the page before',
    );
    const newest = loadOfficialItems().map((it) => it._meta[OFFICIAL_META].updatedAt).sort().pop();
    assert.equal(db.state('official').highWater, newest);
  });

  it('follows an exactly-full last page to the empty page after it', async () => {
    const registry = await start(startOfficialRegistry({ items: loadOfficialItems().slice(0, 700) }));
    const [result] = await syncSources(db, [official(registry.url)], FAST);
    assert.equal(result.ok, true);
    assert.equal(result.records, 700);
    assert.equal(registry.requests.length, 8, '7 full pages, each with a nextCursor, then an empty one');
    assert.equal(result.pages, 8);
  });

  it('asks only for what changed after the last pass, and records deprecations, deletions and new latest versions', async () => {
    const registry = await start(startOfficialRegistry());
    await syncSources(db, [official(registry.url)], FAST);
    const highWater = db.state('official').highWater!;
    const sample = loadOfficialItems().find((it) => it.server.name === 'io.github.containers/kubernetes-mcp-server' && it._meta[OFFICIAL_META].isLatest)!;
    const later = (s: number) => new Date(Date.parse(highWater) + s * 1000).toISOString();
    registry.setStatus('com.teamwork/mcp', loadOfficialItems().find((it) => it.server.name === 'com.teamwork/mcp')!.server.version, 'deprecated', 'Use com.teamwork/mcp-v2', later(1));
    registry.setStatus(sample.server.name, sample.server.version, 'deleted', undefined, later(2));
    registry.publish({ ...sample.server, version: '9.9.9' }, { at: later(3) });
    registry.requests.length = 0;

    const [result] = await syncSources(db, [official(registry.url)], FAST);
    assert.equal(result.ok, true);
    assert.equal(result.full, false);
    assert.equal(result.records, 3);
    assert.equal(registry.requests[0].query.updated_since, highWater);
    assert.equal(registry.requests[0].query.include_deleted, undefined, 'updated_since brings deleted entries by itself (and refuses include_deleted=false)');
    const servers = serverRecords();
    assert.equal(servers.length, 790);
    const teamwork = servers.filter((s) => s.name === 'com.teamwork/mcp' && s.status === 'deprecated');
    assert.equal(teamwork.length, 1);
    assert.equal(teamwork[0].statusMessage, 'Use com.teamwork/mcp-v2');
    assert.equal(servers.find((s) => s.name === sample.server.name && s.version === sample.server.version)?.status, 'deleted');
    const newest = servers.find((s) => s.name === sample.server.name && s.version === '9.9.9');
    assert.equal(newest?.isLatest, true);
    assert.equal(db.state('official').highWater, later(3));

    registry.requests.length = 0;
    const [again] = await syncSources(db, [official(registry.url)], FAST);
    assert.equal(again.records, 0, 'nothing changed since');
    assert.equal(registry.requests.length, 1);
  });

  it('a full pass removes what the source no longer lists; an incremental one cannot know and keeps it', async () => {
    const items = loadOfficialItems();
    let registry = await start(startOfficialRegistry({ items }));
    await syncSources(db, [official(registry.url)], FAST);
    await registry.close();
    registry = await start(startOfficialRegistry({ items: items.slice(10) }));
    const [incremental] = await syncSources(db, [official(registry.url)], FAST);
    assert.equal(incremental.full, false);
    assert.equal(serverRecords().length, 789);
    const [full] = await syncSources(db, [official(registry.url)], { ...FAST, full: true });
    assert.equal(full.full, true);
    assert.equal(full.removed, 10);
    assert.equal(serverRecords().length, 779);
  });

  it('a pass that fails midway keeps what it got and continues from its cursor, even after a restart', async () => {
    const registry = await start(startOfficialRegistry());
    registry.faults.delay(0, { times: 2 });
    registry.faults.status(500, { times: 3 });
    const [failed] = await syncSources(db, [official(registry.url)], FAST);
    assert.equal(failed.ok, false);
    assert.equal(failed.error?.kind, 'http');
    assert.match(failed.error!.message, /answered 500/);
    assert.equal(failed.records, 200);
    const health = sourceHealth(db, official(registry.url), db.counts());
    assert.equal(health.state, 'failing');
    assert.equal(health.resumable, true);
    assert.equal(health.records, 200);
    assert.equal(health.consecutiveFailures, 1);
    db.close();
    db = await CatalogDatabase.open(path.join(dir, 'registry.db'));
    const cursor = db.state('official').pass?.cursor;
    assert.ok(cursor, 'the cursor was checkpointed with the records');
    registry.requests.length = 0;
    const [resumed] = await syncSources(db, [official(registry.url)], FAST);
    assert.equal(resumed.ok, true);
    assert.equal(resumed.resumed, true);
    assert.equal(registry.requests[0].query.cursor, cursor);
    assert.equal(registry.requests.length, 6);
    assert.equal(resumed.removed, 0, 'the pages before the failure belong to the same pass');
    assert.equal(serverRecords().length, 789);
    assert.equal(sourceHealth(db, official(registry.url), db.counts()).state, 'ok');
  });

  it('retries a 5xx and waits out a short Retry-After; a long one fails the source at once and keeps its data', async () => {
    const registry = await start(startOfficialRegistry());
    registry.faults.status(503, { times: 1 });
    registry.faults.status(429, { retryAfter: 1, times: 1 });
    const began = Date.now();
    const [ok] = await syncSources(db, [official(registry.url)], FAST);
    assert.equal(ok.ok, true, ok.error?.message);
    assert.ok(Date.now() - began >= 1000, 'waited the second Retry-After asked for');
    assert.equal(serverRecords().length, 789);

    registry.faults.status(429, { retryAfter: 3600, times: 5 });
    registry.requests.length = 0;
    const [limited] = await syncSources(db, [official(registry.url)], { ...FAST, full: true });
    assert.equal(limited.ok, false);
    assert.equal(limited.error?.kind, 'rate-limited');
    assert.match(limited.error!.message, /retry after 3600 s/);
    assert.equal(registry.requests.length, 1, 'no retry when the wait is too long');
    assert.equal(serverRecords().length, 789, 'the last good data stays');
  });

  for (const [fault, kind, pattern] of [
    ['hang', 'timeout', /did not answer within 0.3 s/],
    ['malformed', 'malformed', /invalid JSON/],
    ['oversized', 'too-large', /more than/],
    ['wrongShape', 'malformed', /unexpected shape/],
  ] as const) {
    it(`a ${fault} answer fails only that source (${kind}); the others complete and its old data stays`, async () => {
      const registry = await start(startOfficialRegistry());
      const github = await start(startGitHubSearch());
      const glama = await start(startGlama());
      const sources: SourceSettings[] = [
        official(registry.url),
        { name: 'github', kind: 'github', url: github.url, topics: ['mcp-server', 'model-context-protocol'], enabled: true, intervalMinutes: 60 },
        { name: 'glama', kind: 'glama', url: glama.url, enabled: true, intervalMinutes: 60 },
      ];
      await syncSources(db, [sources[0]], FAST);
      if (fault === 'oversized') registry.faults.oversized(20 * 1024 * 1024, { times: 3 });
      else registry.faults[fault]({ times: 3 });
      const began = Date.now();
      const results = await syncSources(db, sources, { ...FAST, timeoutMs: 300, full: true });
      const byName = new Map(results.map((r) => [r.source, r]));
      assert.equal(byName.get('official')?.ok, false);
      assert.equal(byName.get('official')?.error?.kind, kind);
      assert.match(byName.get('official')!.error!.message, pattern);
      assert.equal(byName.get('github')?.ok, true, byName.get('github')?.error?.message);
      assert.equal(byName.get('glama')?.ok, true, byName.get('glama')?.error?.message);
      assert.equal(recordsOf('github').length, 338);
      assert.equal(recordsOf('glama').length, 220);
      assert.equal(serverRecords().length, 789);
      assert.ok(Date.now() - began < 10_000);
    });
  }

  it('keeps hostile text out of the catalog: no escape sequences, no control characters, no huge strings', async () => {
    const registry = await start(startOfficialRegistry());
    registry.faults.hostile({ times: 1 });
    const [result] = await syncSources(db, [official(registry.url)], FAST);
    assert.equal(result.ok, true, result.error?.message);
    const text = JSON.stringify(db.records());
    assert.doesNotMatch(text, /\\u001b|\\u0007|\\u0000|\\u202e/i);
    const longest = Math.max(...serverRecords().map((s) => s.description.length));
    assert.ok(longest < HOSTILE_LONG_LENGTH / 10, `descriptions are capped (longest ${longest})`);
    assert.ok(!serverRecords().some((s) => Object.prototype.hasOwnProperty.call(s, '__proto__')));
  });

  it('sends a sub-registry its bearer token from the environment, and says so when it is refused', async () => {
    const registry = await start(startOfficialRegistry({ token: 's3cret' }));
    const settings: SourceSettings = { name: 'acme', kind: 'registry', url: registry.url, tokenEnv: 'OC_TEST_ACME_TOKEN', enabled: true, intervalMinutes: 60 };
    delete process.env.OC_TEST_ACME_TOKEN;
    const [refused] = await syncSources(db, [settings], FAST);
    assert.equal(refused.ok, false);
    assert.equal(refused.error?.kind, 'auth');
    assert.match(refused.error!.message, /Check the source's token/);
    process.env.OC_TEST_ACME_TOKEN = 's3cret';
    try {
      const [ok] = await syncSources(db, [settings], FAST);
      assert.equal(ok.ok, true, ok.error?.message);
      assert.equal(recordsOf('acme').length, 789);
      assert.ok(recordsOf('acme').every((r) => r.kind === 'registry'));
      assert.equal(registry.requests.at(-1)?.headers.authorization, 'Bearer s3cret');
      const [fromEditor] = await syncSources(db, [settings], { ...FAST, tokens: { acme: 's3cret' } });
      assert.equal(fromEditor.ok, true);
    } finally {
      delete process.env.OC_TEST_ACME_TOKEN;
    }
    assert.ok(!fs.readFileSync(path.join(dir, 'registry.db')).includes('s3cret'), 'a token is never stored');
  });

  it('GitHub: one search per topic, merged by repository; the 1,000-result cap and the rate limit are reported', async () => {
    const github = await start(startGitHubSearch({ copies: 6, perMinuteWithout: 12 }));
    const settings: SourceSettings = { name: 'github', kind: 'github', url: github.url, topics: ['mcp-server', 'model-context-protocol'], enabled: true, intervalMinutes: 60 };
    const [result] = await syncSources(db, [settings], { ...FAST, maxRetryWaitMs: 0 });
    // 6 copies: 1,350 and 1,422 repositories per topic, 10 pages each reachable, 12 requests allowed a minute.
    assert.equal(result.ok, false);
    assert.equal(result.error?.kind, 'rate-limited');
    assert.equal(result.pages, 12);
    assert.ok(result.notes.some((n) => /topic:mcp-server has 1350 repositories; GitHub's search returns the first 1000/.test(n)), result.notes.join('\n'));
    assert.ok(github.requests.every((r) => r.query.per_page === '100' && r.query.sort === 'stars'));
    assert.ok(github.requests.every((r) => Number(r.query.page) <= 10), 'never asks beyond the cap');
    const health = sourceHealth(db, settings, db.counts());
    assert.equal(health.resumable, true);
    assert.equal(health.tokenConfigured, false);
  });
});
