import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeRecords } from '../../common/registry/merge';
import type { CatalogEntry, RepositoryFacts, ServerVersion, SourceRecord } from '../../common/registry/model';
import { normalizeListItem } from '../../common/registry/normalize';
import { scoreTrust } from '../../common/registry/trust';

/** Reads a registry fixture from the project's copy, else from the shared originals. */
function fixture(file: string): any {
  const local = join(__dirname, '..', 'fixtures', 'registry', file);
  return JSON.parse(readFileSync(existsSync(local) ? local : join('/work/shared/fixtures/registry', file), 'utf8'));
}

const NOW = new Date('2025-10-01T00:00:00Z');

function server(fields: Partial<ServerVersion> = {}): ServerVersion {
  return { name: 'io.github.acme/tool', version: '1.0.0', description: 'd', packages: [], remotes: [], status: 'active', isLatest: true, ...fields };
}

function entry(fields: Partial<Omit<CatalogEntry, 'trust'>> = {}): Omit<CatalogEntry, 'trust'> {
  const latest = fields.latest ?? server({ repository: { url: 'https://github.com/acme/tool' } });
  return {
    id: 'io.github.acme/tool',
    name: 'io.github.acme/tool',
    description: 'd',
    latest,
    versions: [latest],
    sources: [{ source: 'official', kind: 'official', key: 'k', name: 'io.github.acme/tool' }],
    aliases: [],
    ...(latest.repository ? { repository: latest.repository } : {}),
    status: 'active',
    tools: [],
    ...fields,
  };
}

function facts(extra: Partial<RepositoryFacts>): RepositoryFacts {
  return { fullName: 'acme/tool', url: 'https://github.com/acme/tool', stars: 0, archived: false, topics: [], ...extra };
}

const npm = { registryType: 'npm', identifier: '@acme/tool', version: '1.0.0', transport: { type: 'stdio' }, runtimeArguments: [], packageArguments: [], environmentVariables: [] };

function ids(trust: { factors: Array<{ id: string; points: number }> }): string[] {
  return trust.factors.map((f) => `${f.id} ${f.points > 0 ? '+' : ''}${f.points}`);
}

describe('registry trust', () => {
  it('scores a well-kept official server high, with a reason for every point', () => {
    const trust = scoreTrust(
      entry({
        latest: server({ repository: { url: 'https://github.com/acme/tool' }, packages: [npm] }),
        repositoryFacts: facts({ stars: 1200, license: 'MIT', pushedAt: '2025-09-20T00:00:00Z' }),
      }),
      NOW,
    );
    assert.deepEqual(ids(trust), ['official +25', 'verified-namespace +20', 'repository +10', 'recently-active +10', 'stars +15', 'license +5', 'package-public +8']);
    assert.equal(trust.score, 93);
    for (const factor of trust.factors) assert.ok(factor.reason.length > 10, factor.id);
  });

  it('penalises archived, stale, plain-http and deprecated servers', () => {
    const trust = scoreTrust(
      entry({
        latest: server({ repository: { url: 'https://github.com/acme/tool' }, remotes: [{ type: 'sse', url: 'http://mcp.acme.dev/sse', headers: [] }] }),
        repositoryFacts: facts({ archived: true, stars: 9, pushedAt: '2023-01-01T00:00:00Z' }),
        status: 'deprecated',
        statusMessage: 'Moved to acme/tool2.',
      }),
      NOW,
    );
    assert.deepEqual(ids(trust), ['official +25', 'verified-namespace +20', 'repository +10', 'archived -30', 'stale -10', 'stars +5', 'remote-http -10', 'deprecated -20']);
    assert.equal(trust.score, 0);
    assert.equal(trust.factors.at(-1)!.reason, 'Deprecated: Moved to acme/tool2.');
  });

  it('invents nothing: without GitHub facts there is no activity, stars or license factor', () => {
    const trust = scoreTrust(entry({ sources: [{ source: 'mirror', kind: 'registry', key: 'k', name: 'io.github.acme/tool' }] }), NOW);
    assert.deepEqual(ids(trust), ['verified-namespace +20', 'repository +10', 'nothing-to-run -5']);
  });

  it('counts a repository only at a web address: a javascript: one is no repository', () => {
    const hostile = server({ repository: { url: 'javascript:alert(1)', source: 'github' } });
    const trust = scoreTrust(entry({ latest: hostile, repository: hostile.repository }), NOW);
    assert.ok(!ids(trust).includes('repository +10'), ids(trust).join());
    assert.equal(trust.factors.find((f) => f.id === 'no-repository')?.reason, 'The source repository given is not a web address.');
  });

  it('a deleted entry scores 0; a checksummed MCPB and https remotes count', () => {
    assert.equal(scoreTrust(entry({ status: 'deleted' }), NOW).score, 0);
    const mcpb = { ...npm, registryType: 'mcpb', identifier: 'https://github.com/acme/tool/releases/download/v1/tool.mcpb', fileSha256: 'a'.repeat(64) };
    const trust = scoreTrust(
      entry({ latest: server({ repository: { url: 'https://github.com/acme/tool' }, packages: [mcpb], remotes: [{ type: 'streamable-http', url: 'https://mcp.acme.dev/mcp', headers: [] }] }) }),
      NOW,
    );
    assert.deepEqual(ids(trust).slice(-2), ['package-checksummed +10', 'remote-https +5']);
  });

  it('is deterministic and ranks real entries sensibly', () => {
    const records: SourceRecord[] = fixture('derived/production_servers.v0.1-envelope.json').servers.map((item: unknown) => {
      const s = normalizeListItem(item).server!;
      return { source: 'official', kind: 'official', key: `${s.name}@${s.version}`, fetchedAt: '2025-09-30T00:00:00Z', server: s };
    });
    const entries = mergeRecords(records, { now: NOW });
    const byName = (name: string) => entries.find((e) => e.name === name)!;
    const brave = byName('io.github.brave/brave-search-mcp-server');
    assert.deepEqual(ids(brave.trust), ['official +25', 'verified-namespace +20', 'repository +10', 'package-public +8']);
    assert.deepEqual(scoreTrust(brave, NOW), brave.trust);
    // A republished copy under someone else's domain, no repository: the registry only vouches for the domain.
    const smitheryOnly = byName('ai.smithery/arjunkmrm-bobo');
    assert.deepEqual(ids(smitheryOnly.trust), ['official +25', 'domain-namespace +8', 'no-repository -10', 'remote-https +5']);
    const scores = entries.map((e) => e.trust.score);
    assert.ok(Math.min(...scores) >= 0 && Math.max(...scores) <= 100);
  });
});
