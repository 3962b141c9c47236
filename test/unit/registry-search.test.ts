import assert from 'node:assert/strict';
import type { CatalogEntry, ServerVersion } from '../../common/registry/model';
import { CatalogSearch, type SearchHit } from '../../common/registry/search/catalog-search';
import { searchDocument } from '../../common/registry/search/documents';
import { contentHash, embedCatalog, embeddingKey, type EmbeddingProvider } from '../../common/registry/search/embeddings';
import { entryFacets } from '../../common/registry/search/filters';
import { trainLsa } from '../../common/registry/search/lsa';
import { terms } from '../../common/registry/search/tokens';
import { topK } from '../../common/registry/search/vectors';
import { realCatalog } from '../support/registry-catalog';

/** A small hand-built entry; `server` shapes its latest version. */
function entry(name: string, description: string, options: Partial<Omit<CatalogEntry, 'trust'>> & { server?: Partial<ServerVersion>; trust?: number } = {}): CatalogEntry {
  const { server, trust, ...rest } = options;
  const latest: ServerVersion = { name, version: '1.0.0', description, packages: [], remotes: [], status: 'active', isLatest: true, ...server };
  return {
    id: name,
    name,
    description,
    latest,
    versions: [latest],
    sources: [{ source: 'official', kind: 'official', key: `${name}@1.0.0`, name }],
    aliases: [],
    status: 'active',
    tools: [],
    ...rest,
    trust: { score: trust ?? 50, factors: [] },
  };
}

const npm = (identifier: string) => ({ registryType: 'npm', identifier, transport: { type: 'stdio' }, runtimeArguments: [], packageArguments: [], environmentVariables: [] });
const ids = (hits: Array<{ id: string }>) => hits.map((h) => h.id);

/** A shuffled copy, deterministic. */
function shuffled<T>(list: T[]): T[] {
  return list.map((v, i) => [(i * 7919) % 104729, v] as const).sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

describe('registry search', () => {
  describe('text processing', () => {
    it('splits identifiers at camelCase, not prose; drops stop words; folds plurals', () => {
      assert.deepEqual(terms('XcodeBuildMCP', true), ['xcodebuildmcp', 'xcode', 'build']);
      assert.deepEqual(terms('XcodeBuildMCP'), ['xcodebuildmcp']);
      assert.deepEqual(terms('Query the databases for your queries via MCP server'), ['query', 'database', 'query']);
      assert.deepEqual(terms('io.github.containers/kubernetes-mcp-server'), ['io', 'github', 'container', 'kubernete']);
    });

    it('names the publisher without top-level domain or code host, and the repository by owner and name', () => {
      const doc = searchDocument(entry('io.github.containers/kubernetes-mcp-server', 'k8s', { repository: { url: 'https://github.com/containers/kubernetes-mcp-server.git' } }));
      assert.equal(doc.name, 'kubernetes-mcp-server');
      assert.equal(doc.namespace, 'containers');
      assert.equal(doc.repository, 'containers kubernetes-mcp-server');
      assert.equal(searchDocument(entry('ai.smithery/brave', 'x')).namespace, 'smithery');
    });

    it('hashes content stably and differently for different texts', () => {
      assert.equal(contentHash('hello'), contentHash('hello'));
      assert.match(contentHash('hello'), /^[0-9a-f]{16}$/);
      assert.notEqual(contentHash('hello'), contentHash('hellp'));
      // FNV-1a 64 reference value.
      assert.equal(contentHash('a'), 'af63dc4c8601ec8c');
    });

    it('selects the top k scores, ties by index, skipping -Infinity and the floor', () => {
      const scores = Float32Array.from([0.5, -Infinity, 0.9, 0.5, 0.1, 0.7]);
      assert.deepEqual(topK(scores, 3), [2, 5, 0]);
      assert.deepEqual(topK(scores, 10, 0.4), [2, 5, 0, 3]);
    });
  });

  describe('hand-built catalog', () => {
    const catalog = [
      entry('io.github.acme/postgres-mcp', 'Query PostgreSQL databases with SQL', { trust: 80, server: { packages: [npm('@acme/postgres-mcp')] } }),
      entry('com.example/mysql', 'Run SQL queries against MySQL databases', { trust: 40, server: { packages: [{ ...npm('mysql-mcp'), registryType: 'pypi' }] } }),
      entry('com.example/slack', 'Send messages to Slack channels', { trust: 70, server: { remotes: [{ type: 'streamable-http', url: 'https://slack.example.com/mcp', headers: [] }] } }),
      entry('com.example/discord', 'Send messages to Discord channels', { trust: 60, server: { remotes: [{ type: 'sse', url: 'https://discord.example.com/sse', headers: [] }], packages: [npm('discord-mcp')] } }),
      entry('com.example/old-slack', 'Send messages to Slack (old)', { trust: 90, status: 'deleted' }),
      entry('com.example/legacy-db', 'Query SQL databases, deprecated', { trust: 30, status: 'deprecated' }),
      entry('com.other/weather', 'Weather forecasts', { trust: 20, sources: [{ source: 'glama', kind: 'glama', key: 'w', name: 'weather' }] }),
    ];
    const index = CatalogSearch.build(catalog);

    it('browses by trust when the query is empty, hiding deleted entries and flagging deprecated ones', () => {
      const hits = index.search('');
      assert.deepEqual(ids(hits), ['io.github.acme/postgres-mcp', 'com.example/slack', 'com.example/discord', 'com.example/mysql', 'com.example/legacy-db', 'com.other/weather']);
      assert.equal(hits.find((h) => h.id === 'com.example/legacy-db')!.status, 'deprecated');
      assert.deepEqual(ids(index.search('', { offset: 1, limit: 2 })), ['com.example/slack', 'com.example/discord']);
      assert.deepEqual(ids(index.search('', { filters: { status: ['deleted'] } })), ['com.example/old-slack']);
    });

    it('never returns a deleted entry by default, however well it matches', () => {
      assert.ok(!ids(index.search('old slack')).includes('com.example/old-slack'), '!ids(index.search(\'old slack\')).includes(\'com.example/old-slack\')');
      assert.ok(ids(index.search('old slack', { filters: { status: ['active', 'deleted'] } })).includes('com.example/old-slack'));
    });

    it('filters by transport (http = streamable-http or sse), package type, source, remote and trust', () => {
      assert.deepEqual(entryFacets(catalog[3]).transports.sort(), ['http', 'stdio']);
      assert.deepEqual(ids(index.search('send messages', { filters: { transport: ['http'] } })).sort(), ['com.example/discord', 'com.example/slack']);
      assert.deepEqual(ids(index.search('send messages', { filters: { transport: ['stdio'] } })), ['com.example/discord']);
      assert.deepEqual(ids(index.search('sql', { filters: { packageType: ['pypi'] } })), ['com.example/mysql']);
      assert.deepEqual(ids(index.search('sql', { filters: { packageType: ['npm', 'pypi'] } })).sort(), ['com.example/mysql', 'io.github.acme/postgres-mcp']);
      assert.deepEqual(ids(index.search('', { filters: { source: ['glama'] } })), ['com.other/weather']);
      assert.deepEqual(ids(index.search('', { filters: { hasRemote: false, minTrust: 50 } })), ['io.github.acme/postgres-mcp']);
      assert.deepEqual(ids(index.search('sql', { filters: { minTrust: 50 } })), ['io.github.acme/postgres-mcp']);
    });

    it('explains each hit: text and semantic parts, matched field:term pairs', () => {
      const [top] = index.search('postgres');
      assert.equal(top.id, 'io.github.acme/postgres-mcp');
      assert.equal(top.text, 1);
      assert.ok(top.matched.includes('name:postgre'), top.matched.join());
      assert.ok(top.semantic > 0 && top.semantic <= 1, 'top.semantic > 0 && top.semantic <= 1');
      const weights = { text: 0.6, semantic: 0.4, trust: 0.05 };
      assert.ok(Math.abs(top.score - (weights.text * top.text + weights.semantic * top.semantic + weights.trust * 0.8)) < 1e-6, 'Math.abs(top.score - (weights.text * top.text + weights.semantic * ...');
    });

    it('prefers entries matching every query term, and falls back to those matching some', () => {
      const hits = index.search('slack messages');
      assert.equal(hits[0].id, 'com.example/slack');
      assert.ok(ids(hits).includes('com.example/discord'), 'partial match kept');
      assert.ok(hits[0].text > 2 * hits.find((h) => h.id === 'com.example/discord')!.text, 'hits[0].text > 2 * hits.find((h) => h.id === \'com.example/discord\...');
    });

    it('finds servers by prefix of the last term and despite typos', () => {
      assert.equal(index.search('postg')[0].id, 'io.github.acme/postgres-mcp');
      assert.equal(index.search('discrod')[0].id, 'com.example/discord');
      assert.deepEqual(index.search('zzzzqqq'), []);
    });

    it('relates servers by capability, excluding the same server listed under another name', () => {
      const twins = [...catalog, entry('ai.mirror/postgres-copy', 'Query PostgreSQL databases with SQL', { aliases: ['io.github.acme/postgres-mcp'] })];
      const related = CatalogSearch.build(twins).related('io.github.acme/postgres-mcp', 3);
      assert.ok(!ids(related).includes('ai.mirror/postgres-copy'), '!ids(related).includes(\'ai.mirror/postgres-copy\')');
      assert.ok(!ids(related).includes('io.github.acme/postgres-mcp'), '!ids(related).includes(\'io.github.acme/postgres-mcp\')');
      assert.ok(ids(related).includes('com.example/mysql'), JSON.stringify(related));
      assert.deepEqual(CatalogSearch.build(twins).related('nope'), []);
    });

    it('recommends by co-usage first, capability similarity second', () => {
      const coUsage = new Map([['com.example/slack', new Map([['com.other/weather', 5], ['com.example/mysql', 1]])]]);
      const hits = index.recommend(['com.example/slack'], coUsage, 3);
      assert.equal(hits[0].id, 'com.other/weather');
      assert.equal(hits[0].coUsage, 5);
      assert.ok(!ids(hits).includes('com.example/slack'), '!ids(hits).includes(\'com.example/slack\')');
      assert.ok(!ids(hits).includes('com.example/old-slack'), 'deleted entries are not recommended');
      // Without co-usage, the most similar server comes first.
      assert.equal(index.recommend(['com.example/slack'], new Map(), 1)[0].id, 'com.example/discord');
    });
  });

  describe('external embeddings', () => {
    // A toy model: one dimension per topic word.
    const topics = ['sql', 'messages', 'weather'];
    const embedded: string[] = [];
    const provider: EmbeddingProvider = {
      id: 'toy',
      dimensions: topics.length,
      embed: async (texts) => {
        embedded.push(...texts);
        return texts.map((t) => Float32Array.from(topics, (w) => (t.toLowerCase().includes(w) ? 1 : 0.01)));
      },
    };
    const catalog = [
      entry('a/db', 'Run SQL queries'),
      entry('a/chat', 'Send messages'),
      entry('a/forecast', 'Weather forecasts'),
    ];

    it('embeds only what the cache lacks, keyed by id and content', async () => {
      const first = await embedCatalog(catalog, provider);
      assert.equal(embedded.length, 3);
      const changed = [catalog[0], catalog[1], { ...catalog[2], description: 'Weather and tides' }];
      const second = await embedCatalog(changed, provider, first.vectors);
      assert.deepEqual(embedded.slice(3), ['forecast\nWeather and tides']);
      assert.equal(second.vectors.get(embeddingKey(catalog[0])), first.vectors.get(embeddingKey(catalog[0])));
      assert.notEqual(embeddingKey(catalog[2]), embeddingKey(changed[2]));
    });

    it('ranks by the provider vectors given a query vector, by text alone without one, and round-trips', async () => {
      const index = CatalogSearch.build(catalog, { embeddings: await embedCatalog(catalog, provider) });
      assert.equal(index.semantic, 'toy');
      assert.equal(index.dimensions, 3);
      const [query] = await provider.embed(['weather']);
      // No word in common with the query text: found by the vector alone.
      const hits = index.search('climate', { queryVector: query });
      assert.equal(hits[0].id, 'a/forecast');
      assert.equal(hits[0].text, 0);
      assert.ok(hits[0].semantic > 0.9, 'hits[0].semantic > 0.9');
      assert.deepEqual(index.search('climate'), []);
      assert.ok(index.search('sql').every((h) => h.semantic === 0), 'index.search(\'sql\').every((h) => h.semantic === 0)');
      const restored = CatalogSearch.fromJSON(JSON.parse(JSON.stringify(index.toJSON())), catalog);
      assert.deepEqual(restored.search('climate', { queryVector: query }), hits);
    });
  });

  describe('real catalog', () => {
    let entries: CatalogEntry[];
    let index: CatalogSearch;
    const named = (name: string) => entries.find((e) => e.name === name)!.id;
    const names = (hits: SearchHit[] | Array<{ id: string }>) => hits.map((h) => entries.find((e) => e.id === h.id)!.name);

    before(() => {
      entries = realCatalog();
      index = CatalogSearch.build(entries);
    });

    it('ranks the server named for a product first', () => {
      assert.deepEqual(names(index.search('kubernetes', { limit: 3 })).slice(0, 1), ['io.github.containers/kubernetes-mcp-server']);
      assert.equal(names(index.search('brave search'))[0], 'io.github.brave/brave-search-mcp-server');
      assert.equal(names(index.search('github issues'))[0], 'io.github.github/github-mcp-server');
      assert.match(names(index.search('xcodebuild'))[0], /\/XcodeBuildMCP$/);
    });

    it('tolerates typos', () => {
      assert.ok(names(index.search('kubernets', { limit: 3 })).includes('io.github.containers/kubernetes-mcp-server'), 'names(index.search(\'kubernets\', { limit: 3 })).includes(\'io.gith...');
      assert.equal(names(index.search('filesytem'))[0], 'io.github.bytedance/mcp-server-filesystem');
      assert.deepEqual(names(index.search('postgress', { limit: 2 })).sort(), ['ai.waystation/postgres', 'io.github.martymarkenson/postgres-connector']);
      assert.equal(names(index.search('chrome devtols'))[0], 'io.github.ChromeDevTools/chrome-devtools-mcp');
    });

    it('answers a natural-language query with database servers, including ones not named for it', () => {
      const top = names(index.search('query a postgres database', { limit: 5 }));
      const databases = ['ai.waystation/postgres', 'io.github.martymarkenson/postgres-connector', 'ai.waystation/supabase', 'com.falkordb/QueryWeaver', 'io.github.spences10/mcp-sqlite-tools', 'com.gibsonai/mcp'];
      assert.equal(top[0], 'ai.waystation/postgres');
      assert.ok(top.filter((n) => databases.includes(n)).length >= 3, top.join());
      assert.ok(top.some((n) => databases.includes(n) && !/postgres/i.test(n)), top.join());
    });

    it('finds by meaning alone: semantic ranking with the full text switched off', () => {
      // "sql database" by LSA only: SQL and database servers, though most never say both words.
      const hits = index.search('sql database', { limit: 6, weights: { text: 0 } });
      assert.ok(hits.every((h) => h.semantic > 0), 'hits.every((h) => h.semantic > 0)');
      const sqlish = /sql|postgres|supabase|database|query|schema|airtable|gibson/i;
      assert.ok(names(hits).filter((n, i) => sqlish.test(n) || sqlish.test(entries.find((e) => e.id === hits[i].id)!.description)).length >= 5, names(hits).join());
    });

    it('lets similarity order what the full text cannot tell apart', () => {
      // Both match only "database"; the Postgres-based one is the more similar to the query.
      const hits = index.search('postgresql database', { limit: 20 });
      const at = (name: string) => names(hits).indexOf(name);
      const supabase = hits[at('ai.waystation/supabase')];
      const companies = hits[at('net.gepuro.mcp-company-lens-v1/company-lens-mcp-registry')];
      assert.ok(supabase && companies, names(hits).join());
      assert.ok(companies.text >= supabase.text, `text ${companies.text} < ${supabase.text}`);
      assert.ok(at('ai.waystation/supabase') < at('net.gepuro.mcp-company-lens-v1/company-lens-mcp-registry'), names(hits).join());
    });

    it('finds messaging servers for "send slack messages"', () => {
      const top = names(index.search('send slack messages', { limit: 5 }));
      assert.equal(top[0], 'ai.waystation/slack');
      assert.ok(top.includes('ai.smithery/smithery-ai-slack'), top.join());
    });

    it('applies filters before ranking', () => {
      const all = index.search('search', { limit: 50 });
      const pypi = index.search('search', { limit: 50, filters: { packageType: ['pypi'] } });
      assert.ok(pypi.length > 0 && pypi.length < all.length, 'pypi.length > 0 && pypi.length < all.length');
      for (const hit of pypi) assert.ok(entryFacets(entries.find((e) => e.id === hit.id)!).packageTypes.includes('pypi'), 'entryFacets(entries.find((e) => e.id === hit.id)!).packageTypes.inc...');
      const remote = index.search('search', { limit: 50, filters: { hasRemote: true, transport: ['http'] } });
      for (const hit of remote) assert.ok(entryFacets(entries.find((e) => e.id === hit.id)!).hasRemote, 'entryFacets(entries.find((e) => e.id === hit.id)!).hasRemote');
      assert.notDeepEqual(ids(remote.slice(0, 5)), ids(pypi.slice(0, 5)));
      // The kubernetes server lists no package nor endpoint; dot-ai (Kubernetes deployments) is an npm package.
      assert.equal(names(index.search('kubernetes'))[0], 'io.github.containers/kubernetes-mcp-server');
      assert.equal(names(index.search('kubernetes', { filters: { transport: ['stdio'] } }))[0], 'io.github.vfarcic/dot-ai');
      const trusted = index.search('data', { limit: 100, filters: { minTrust: 60 } });
      assert.ok(trusted.length > 0 && trusted.every((h) => entries.find((e) => e.id === h.id)!.trust.score >= 60), 'trusted.length > 0 && trusted.every((h) => entries.find((e) => e.id...');
    });

    it('hides a deleted server and flags a deprecated one', () => {
      const changed = entries.map((e) =>
        e.name === 'io.github.containers/kubernetes-mcp-server' ? { ...e, status: 'deleted' as const } : e.name === 'io.github.brave/brave-search-mcp-server' ? { ...e, status: 'deprecated' as const } : e,
      );
      const other = CatalogSearch.build(changed);
      assert.ok(!names(other.search('kubernetes')).includes('io.github.containers/kubernetes-mcp-server'), '!names(other.search(\'kubernetes\')).includes(\'io.github.container...');
      assert.ok(!names(other.related(named('io.github.vfarcic/dot-ai'), 400)).includes('io.github.containers/kubernetes-mcp-server'), '!names(other.related(named(\'io.github.vfarcic/dot-ai\'), 400)).inc...');
      const [brave] = other.search('brave search');
      assert.deepEqual([names([brave])[0], brave.status], ['io.github.brave/brave-search-mcp-server', 'deprecated']);
    });

    it('relates servers of the same domain', () => {
      const postgres = names(index.related(named('ai.waystation/postgres'), 3));
      assert.ok(postgres.includes('io.github.martymarkenson/postgres-connector'), postgres.join());
      assert.ok(postgres.includes('ai.waystation/supabase'), postgres.join());
      const slack = names(index.related(named('ai.waystation/slack'), 3));
      assert.ok(slack.includes('ai.smithery/smithery-ai-slack'), slack.join());
      assert.ok(!slack.includes('ai.waystation/slack'), '!slack.includes(\'ai.waystation/slack\')');
      const browser = names(index.related(named('io.github.browserbase/mcp-server-browserbase'), 5));
      assert.ok(browser.filter((n) => /browser/i.test(n)).length >= 2, browser.join());
    });

    it('builds the same index from the same entries in any order', () => {
      const again = CatalogSearch.build(shuffled(entries)).toJSON();
      const first = index.toJSON();
      assert.equal(again.vectors, first.vectors);
      assert.deepEqual(again.lsa, first.lsa);
      assert.equal(again.fingerprint, first.fingerprint);
    });

    it('learns an orthonormal term basis (V of the truncated SVD)', () => {
      const { lsa } = trainLsa(entries.slice(0, 200).map(searchDocument), { dimensions: 16 });
      const d = lsa.dimensions;
      assert.equal(d, 16);
      for (let a = 0; a < d; a++) {
        for (let b = a; b < d; b++) {
          let dot = 0;
          for (let j = 0; j < lsa.vocabulary.length; j++) dot += lsa.projection[j * d + a] * lsa.projection[j * d + b];
          assert.ok(Math.abs(dot - (a === b ? 1 : 0)) < 1e-4, `V column ${a}·${b} = ${dot}`);
        }
      }
    });

    it('saves and restores the index without rebuilding, for the same catalog only', () => {
      const json = JSON.stringify(index.toJSON());
      const restored = CatalogSearch.fromJSON(JSON.parse(json), shuffled(entries));
      for (const q of ['kubernetes', 'query a postgres database', 'filesytem', '']) assert.deepEqual(restored.search(q), index.search(q));
      assert.deepEqual(restored.related(named('ai.waystation/slack'), 5), index.related(named('ai.waystation/slack'), 5));
      const edited = entries.map((e, i) => (i === 7 ? { ...e, description: `${e.description} (edited)` } : e));
      assert.throws(() => CatalogSearch.fromJSON(JSON.parse(json), edited), /another catalog/);
    });
  });
});
