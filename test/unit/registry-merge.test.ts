import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeRecords } from '../../common/registry/merge';
import type { CatalogEntry, DirectoryFacts, RepositoryFacts, ServerVersion, SourceRecord } from '../../common/registry/model';
import { normalizeListItem } from '../../common/registry/normalize';

/** Reads a registry fixture from the project's copy, else from the shared originals. */
function fixture(file: string): any {
  const local = join(__dirname, '..', 'fixtures', 'registry', file);
  return JSON.parse(readFileSync(existsSync(local) ? local : join('/work/shared/fixtures/registry', file), 'utf8'));
}

const NOW = new Date('2025-10-01T00:00:00Z');
const FETCHED = '2025-09-30T00:00:00Z';

function registryRecord(server: ServerVersion, kind: 'official' | 'registry' = 'official', source = 'official'): SourceRecord {
  return { source, kind, key: `${server.name}@${server.version}`, fetchedAt: FETCHED, server };
}

/** The 789 real versions, as the official source adapter would hand them over. */
function officialRecords(): SourceRecord[] {
  return fixture('derived/production_servers.v0.1-envelope.json').servers.map((item: unknown) => registryRecord(normalizeListItem(item).server!));
}

function server(fields: Partial<ServerVersion> & { name: string }): ServerVersion {
  return { version: '1.0.0', description: 'd', packages: [], remotes: [], status: 'active', isLatest: true, ...fields };
}

function facts(fullName: string, extra: Partial<RepositoryFacts> = {}): RepositoryFacts {
  return { fullName, url: `https://github.com/${fullName}`, stars: 10, archived: false, topics: [], ...extra };
}

function directory(id: string, name: string, repositoryUrl?: string, extra: Partial<DirectoryFacts> = {}): DirectoryFacts {
  return { id, name, tools: [{ name: 'search' }], attributes: [], environmentVariables: [], ...(repositoryUrl ? { repositoryUrl } : {}), ...extra };
}

function entryNamed(entries: CatalogEntry[], name: string): CatalogEntry {
  const entry = entries.find((e) => e.name === name || e.aliases.includes(name));
  assert.ok(entry, `no entry lists ${name}`);
  return entry;
}

describe('registry merge', () => {
  describe('the real official registry (789 versions)', () => {
    const records = officialRecords();
    const entries = mergeRecords(records, { now: NOW });

    it('folds 789 versions of 461 names into 439 entries', () => {
      assert.equal(records.length, 789);
      assert.equal(new Set(records.map((r) => (r as { server: ServerVersion }).server.name)).size, 461);
      assert.equal(entries.length, 439);
      assert.equal(entries.reduce((n, e) => n + e.versions.length, 0), 789, 'every version kept');
      assert.equal(new Set(entries.map((e) => e.id)).size, 439, 'ids are unique');
    });

    it('merges 22 names into 21 other entries, each for a stated reason', () => {
      const merged = Object.fromEntries(entries.filter((e) => e.aliases.length > 0).map((e) => [e.name, e.aliases]));
      assert.deepEqual(merged, {
        // Same repository, different namespaces (Smithery republishes; companies add a domain name).
        'com.blockscout/mcp-server': ['ai.smithery/blockscout-mcp-server'],
        'com.docfork/docfork-mcp': ['ai.smithery/docfork-mcp'],
        'com.driflyte/driflyte-mcp-server': ['ai.smithery/serkan-ozal-driflyte-mcp-server'],
        'dev.promplate/hmr': ['io.github.promplate/hmr'],
        'io.github.brave/brave-search-mcp-server': ['ai.smithery/brave'],
        'io.github.browserbase/mcp-server-browserbase': ['ai.smithery/browserbasehq-mcp-browserbase'],
        'io.github.humanjesse/textarttools-mcp': ['com.textarttools/textarttools-mcp'],
        'io.github.jjlabsio/korea-stock-mcp': ['ai.smithery/jjlabsio-korea-stock-mcp'],
        'io.github.kkjdaniel/bgg-mcp': ['ai.smithery/kkjdaniel-bgg-mcp'],
        'io.github.mfukushim/map-traveler-mcp': ['ai.smithery/mfukushim-map-traveler-mcp'],
        'io.github.Nekzus/npm-sentinel-mcp': ['ai.smithery/Nekzus-npm-sentinel-mcp'],
        'io.github.rfdez/pvpc-mcp-server': ['ai.smithery/rfdez-pvpc-mcp-server'],
        'io.github.yuna0x0/anilist-mcp': ['ai.smithery/yuna0x0-anilist-mcp'],
        'io.github.yuna0x0/hackmd-mcp': ['ai.smithery/yuna0x0-hackmd-mcp'],
        // Same repository and same package.
        'io.github.augmnt/augments-mcp-server': ['dev.augments/mcp'],
        'io.github.cameroncooke/XcodeBuildMCP': ['com.xcodebuildmcp/XcodeBuildMCP'],
        'io.github.opencontext-team/mcp-server': ['io.github.GabrielaHdzMicrosoft/mcp-server'],
        // Same NuGet package under three names (the repository alone would not do: one namespace lists two names there).
        'com.joelverhagen.mcp/Knapcode.SampleMcpServer': ['io.github.joelverhagen/Knapcode.SampleMcpServer', 'io.github.joelverhagen/Knapcode.SampleMcpServer/aot'],
        // Same package, renamed within one namespace or published by two accounts (no repository given).
        'io.github.MR901/mcp-plots': ['io.github.MR901/plots-mcp'],
        'io.github.pkolawa/krs-poland-mcp-server': ['io.github.pkolawa/mcp-krs-poland'],
        'io.github.srikrishna235/scrimba-teaching-mcp': ['io.github.Skills03/scrimba-teaching'],
      });
    });

    it('prefers the verified namespace as the canonical name and lists every source name', () => {
      const brave = entryNamed(entries, 'ai.smithery/brave');
      assert.equal(brave.name, 'io.github.brave/brave-search-mcp-server');
      assert.equal(brave.id, 'io.github.brave/brave-search-mcp-server');
      assert.deepEqual(brave.sources.map((s) => s.name).sort(), ['ai.smithery/brave', 'io.github.brave/brave-search-mcp-server']);
      assert.equal(brave.latest!.name, 'io.github.brave/brave-search-mcp-server');
      assert.ok(brave.latest!.isLatest);
      assert.equal(entryNamed(entries, 'ai.smithery/Nekzus-npm-sentinel-mcp').name, 'io.github.Nekzus/npm-sentinel-mcp');
      assert.equal(entryNamed(entries, 'ai.smithery/blockscout-mcp-server').name, 'com.blockscout/mcp-server');
      // Neither name is the owner's (serkan-ozal): the publisher that does not republish others wins.
      assert.equal(entryNamed(entries, 'ai.smithery/serkan-ozal-driflyte-mcp-server').name, 'com.driflyte/driflyte-mcp-server');
    });

    it('keeps servers that only share a repository apart when one publisher lists several there', () => {
      const waystation = entries.filter((e) => e.name.startsWith('ai.waystation/'));
      assert.equal(waystation.length, 12);
      for (const name of ['com.mintmcp/gcal', 'com.mintmcp/gmail', 'com.mintmcp/outlook-calendar', 'com.mintmcp/outlook-email']) {
        assert.deepEqual(entryNamed(entries, name).aliases, [], name);
      }
      for (const name of ['io.github.b1ff/atlassian-dc-mcp-bitbucket', 'io.github.b1ff/atlassian-dc-mcp-confluence', 'io.github.b1ff/atlassian-dc-mcp-jira']) {
        assert.equal(entryNamed(entries, name).name, name);
      }
      // Smithery deployments of one repository under two names are two endpoints.
      for (const [a, b] of [
        ['ai.smithery/arjunkmrm-clock', 'ai.smithery/arjunkmrm-watch2'],
        ['ai.smithery/arjunkmrm-ahoy', 'ai.smithery/arjunkmrm-ahoy2'],
        ['ai.smithery/BigVik193-reddit-ads-mcp', 'ai.smithery/BigVik193-reddit-ads-mcp-test'],
        ['ai.smithery/bergeramit-bergeramit-hw3-tech', 'ai.smithery/bergeramit-bergeramit-hw3-tech-1'],
      ]) {
        assert.notEqual(entryNamed(entries, a!).id, entryNamed(entries, b!).id, `${a} vs ${b}`);
      }
    });

    it('keeps servers in different subfolders of one repository apart', () => {
      const monorepos = [
        ['ai.smithery/smithery-ai-cookbook-python-quickstart', 'ai.smithery/smithery-ai-cookbook-ts-smithery-cli'],
        ['io.github.bytedance/mcp-server-browser', 'io.github.bytedance/mcp-server-filesystem', 'io.github.bytedance/mcp-server-search', 'io.github.bytedance/mcp-server-commands'],
        ['ai.smithery/smithery-ai-github', 'ai.smithery/smithery-ai-slack', 'ai.smithery/smithery-notion', 'ai.smithery/smithery-ai-national-weather-service'],
        ['com.biodnd/agent-fin', 'com.biodnd/agent-ip', 'com.biodnd/agent-press'],
      ];
      for (const names of monorepos) {
        assert.equal(new Set(names.map((name) => entryNamed(entries, name).id)).size, names.length, names.join(', '));
      }
    });

    it('keeps every version newest first and follows the registry for latest', () => {
      const teamwork = entryNamed(entries, 'com.teamwork/mcp');
      assert.deepEqual(teamwork.versions.map((v) => v.version).slice(0, 3), ['1.5.6', '1.5.5', '1.5.4']);
      assert.equal(teamwork.latest!.version, '1.5.6');
      for (const entry of entries) {
        const times = entry.versions.map((v) => Date.parse(v.publishedAt!));
        assert.deepEqual(times, times.slice().sort((a, b) => b - a), entry.name);
        assert.ok(entry.latest?.isLatest, entry.name);
      }
    });

    it('is stable: the same ids whatever order the records arrive in', () => {
      const shuffled = records.slice().reverse();
      const again = mergeRecords(shuffled, { now: NOW });
      assert.deepEqual(
        again.map((e) => [e.id, e.name, e.aliases, e.latest?.version]),
        entries.map((e) => [e.id, e.name, e.aliases, e.latest?.version]),
      );
    });
  });

  describe('rules on constructed records', () => {
    it('a repository root does not swallow the servers in its subfolders', () => {
      const repo = 'https://github.com/modelcontextprotocol/servers';
      const entries = mergeRecords(
        [
          registryRecord(server({ name: 'io.github.modelcontextprotocol/servers', repository: { url: repo } })),
          registryRecord(server({ name: 'io.github.modelcontextprotocol/everything', repository: { url: repo, subfolder: 'src/everything' } })),
          registryRecord(server({ name: 'com.example/everything-copy', repository: { url: `${repo}/tree/main/src/everything` } })),
          registryRecord(server({ name: 'io.github.modelcontextprotocol/git', repository: { url: repo, subfolder: 'src/git' } })),
        ],
        { now: NOW },
      );
      assert.deepEqual(entries.map((e) => [e.name, e.aliases]), [
        ['io.github.modelcontextprotocol/everything', ['com.example/everything-copy']],
        ['io.github.modelcontextprotocol/git', []],
        ['io.github.modelcontextprotocol/servers', []],
      ]);
    });

    it('loopback, placeholder and launcher identities merge nothing; a real endpoint does', () => {
      const local = (name: string) => server({ name, remotes: [{ type: 'streamable-http', url: 'http://localhost:3000/mcp', headers: [] }] });
      const port = (name: string) => server({ name, remotes: [{ type: 'sse', url: 'http://127.0.0.1:{port}/sse', headers: [] }] });
      const remote = (name: string) =>
        server({ name, packages: [{ registryType: 'npm', identifier: 'mcp-remote', version: '1', transport: { type: 'stdio' }, runtimeArguments: [], packageArguments: [], environmentVariables: [] }] });
      const hosted = (name: string) => server({ name, remotes: [{ type: 'streamable-http', url: 'https://mcp.acme.dev/mcp/', headers: [] }] });
      const entries = mergeRecords(
        [local('com.a/x'), local('com.b/y'), port('com.c/x'), port('com.d/y'), remote('com.e/x'), remote('com.f/y'), hosted('com.acme/mcp'), hosted('ai.smithery/acme')].map((s) => registryRecord(s)),
        { now: NOW },
      );
      assert.equal(entries.length, 7);
      assert.equal(entryNamed(entries, 'ai.smithery/acme').id, entryNamed(entries, 'com.acme/mcp').id);
    });

    it('a package shared by many namespaces is a launcher, not an identity', () => {
      const pkg = { registryType: 'pypi', identifier: 'generic-bridge', version: '1', transport: { type: 'stdio' }, runtimeArguments: [], packageArguments: [], environmentVariables: [] };
      const names = ['com.a/x', 'com.b/x', 'com.c/x', 'com.d/x'];
      assert.equal(mergeRecords(names.map((name) => registryRecord(server({ name, packages: [pkg] }))), { now: NOW }).length, 4);
      assert.equal(mergeRecords(names.slice(0, 2).map((name) => registryRecord(server({ name, packages: [pkg] }))), { now: NOW }).length, 1);
    });

    it('latest: the official claim wins; without claims, the most recently published', () => {
      const v1 = server({ name: 'com.example/x', version: '1.0.0', isLatest: true, publishedAt: '2025-01-01T00:00:00Z' });
      const v2 = server({ name: 'com.example/x', version: '2.0.0', isLatest: true, publishedAt: '2025-02-01T00:00:00Z' });
      const [claimed] = mergeRecords([registryRecord(v2, 'registry', 'mirror'), registryRecord(v1)], { now: NOW });
      assert.equal(claimed!.latest!.version, '1.0.0');
      assert.deepEqual(claimed!.sources.map((s) => s.source), ['mirror', 'official']);
      const [unclaimed] = mergeRecords([registryRecord({ ...v1, isLatest: false }), registryRecord({ ...v2, isLatest: false })], { now: NOW });
      assert.equal(unclaimed!.latest!.version, '2.0.0');
      const [noDates] = mergeRecords(
        ['1.2.0', '1.10.0', '1.10.0-beta.1'].map((version) => registryRecord(server({ name: 'com.example/y', version, isLatest: false }))),
        { now: NOW },
      );
      assert.deepEqual(noDates!.versions.map((v) => v.version), ['1.10.0', '1.10.0-beta.1', '1.2.0']);
      assert.equal(noDates!.latest!.version, '1.10.0');
    });

    it('status: deprecated follows the latest, deleted needs every version deleted', () => {
      const deprecated = server({ name: 'com.example/x', version: '2.0.0', status: 'deprecated', statusMessage: 'Use com.example/y.', publishedAt: '2025-02-01T00:00:00Z' });
      const old = server({ name: 'com.example/x', version: '1.0.0', isLatest: false, status: 'deleted', publishedAt: '2025-01-01T00:00:00Z' });
      const [entry] = mergeRecords([registryRecord(deprecated), registryRecord(old)], { now: NOW });
      assert.equal(entry!.status, 'deprecated');
      assert.equal(entry!.statusMessage, 'Use com.example/y.');
      const [gone] = mergeRecords([registryRecord({ ...deprecated, status: 'deleted' }), registryRecord(old)], { now: NOW });
      assert.equal(gone!.status, 'deleted');
      assert.equal(gone!.trust.score, 0);
    });

    it('GitHub facts attach by repository; an unlisted repository becomes its own entry', () => {
      const listed = server({ name: 'io.github.brave/brave-search-mcp-server', repository: { url: 'https://github.com/brave/brave-search-mcp-server' } });
      const inMonorepo = server({ name: 'io.github.acme/one', repository: { url: 'https://github.com/acme/tools', subfolder: 'one' } });
      const github = (fullName: string, extra?: Partial<RepositoryFacts>): SourceRecord => ({ source: 'github', kind: 'github', key: fullName, fetchedAt: FETCHED, repository: facts(fullName, extra) });
      const entries = mergeRecords(
        [registryRecord(listed), registryRecord(inMonorepo), github('Brave/brave-search-mcp-server', { stars: 500 }), github('acme/tools'), github('someone/unlisted-mcp', { description: 'Unlisted.' })],
        { now: NOW },
      );
      assert.equal(entries.length, 3);
      assert.equal(entryNamed(entries, 'io.github.brave/brave-search-mcp-server').repositoryFacts!.stars, 500);
      assert.equal(entryNamed(entries, 'io.github.acme/one').repositoryFacts!.fullName, 'acme/tools', 'facts about a repository hold for its subfolders');
      const own = entryNamed(entries, 'someone/unlisted-mcp');
      assert.deepEqual([own.id, own.description, own.versions.length, own.latest], ['repo:github.com/someone/unlisted-mcp', 'Unlisted.', 0, undefined]);
      assert.deepEqual(own.sources.map((s) => s.kind), ['github']);
    });

    it('Glama records attach by exact repository (name breaks ties), else become entries', () => {
      const glama = (id: string, name: string, url?: string): SourceRecord => ({ source: 'glama', kind: 'glama', key: id, fetchedAt: FETCHED, directory: directory(id, name, url) });
      const entries = mergeRecords(
        [
          registryRecord(server({ name: 'io.github.brave/brave-search-mcp-server', repository: { url: 'https://github.com/brave/brave-search-mcp-server' } })),
          registryRecord(server({ name: 'ai.waystation/gmail', repository: { url: 'https://github.com/waystation-ai/mcp' } })),
          registryRecord(server({ name: 'ai.waystation/slack', repository: { url: 'https://github.com/waystation-ai/mcp' } })),
          glama('g1', 'brave-search', 'https://github.com/brave/brave-search-mcp-server.git'),
          glama('g2', 'slack', 'https://github.com/waystation-ai/mcp'),
          glama('g3', 'jira', 'https://github.com/waystation-ai/mcp'),
          glama('g4', 'standalone', 'https://github.com/x/standalone'),
          glama('g5', 'no-repo'),
        ],
        { now: NOW },
      );
      assert.equal(entryNamed(entries, 'io.github.brave/brave-search-mcp-server').directory!.id, 'g1');
      assert.deepEqual(entryNamed(entries, 'io.github.brave/brave-search-mcp-server').tools, [{ name: 'search' }]);
      assert.equal(entryNamed(entries, 'ai.waystation/slack').directory!.id, 'g2');
      assert.equal(entryNamed(entries, 'ai.waystation/gmail').directory, undefined);
      assert.deepEqual(entries.filter((e) => e.versions.length === 0).map((e) => e.id), ['glama:g3', 'glama:g4', 'glama:g5']);
    });
  });
});
