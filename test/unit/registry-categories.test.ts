import assert from 'node:assert/strict';
import { CATEGORIES, categoriesByCount, categorize, categoryLabel, entryCategory, type CategoryId } from '../../common/registry/categories';
import type { CatalogEntry } from '../../common/registry/model';
import { CatalogSearch } from '../../common/registry/search/catalog-search';
import { searchDocument, type SearchDocument } from '../../common/registry/search/documents';
import { realCatalog } from '../support/registry-catalog';
import { HOSTILE_LONG_LENGTH, HOSTILE_STRINGS } from '../support/registry-replay';

/** A search document with only the given fields set. */
function doc(fields: Partial<SearchDocument>): SearchDocument {
  return { name: '', namespace: '', title: '', aliases: '', description: '', tools: '', toolDescriptions: '', repository: '', ...fields };
}

describe('registry categories', () => {
  const entries = realCatalog();
  const byName = (name: string): CatalogEntry => {
    const found = entries.find((e) => e.name === name);
    assert.ok(found, `${name} is in the fixture`);
    return found;
  };

  describe('on the real official registry', () => {
    const expected: Array<[string, CategoryId]> = [
      ['ai.waystation/postgres', 'databases'],
      ['io.github.martymarkenson/postgres-connector', 'databases'],
      ['io.github.spences10/mcp-sqlite-tools', 'databases'],
      ['com.supabase/mcp', 'databases'],
      ['io.github.brave/brave-search-mcp-server', 'search'],
      ['io.github.bytedance/mcp-server-search', 'search'],
      ['io.github.bytedance/mcp-server-filesystem', 'files-storage'],
      ['ai.waystation/slack', 'communication'],
      ['ai.smithery/smithery-ai-slack', 'communication'],
      ['io.github.github/github-mcp-server', 'developer-tools'],
      ['io.github.containers/kubernetes-mcp-server', 'cloud-infrastructure'],
      ['com.letta/memory-mcp', 'knowledge-memory'],
      ['io.github.iworkist/btcmcp', 'finance'],
      ['io.github.andrasfe/vulnicheck', 'security'],
      ['com.notion/mcp', 'productivity'],
      ['io.github.nesquikm/rubber-duck', 'ai-llm'],
    ];
    for (const [name, category] of expected) {
      it(`puts ${name} in ${categoryLabel(category)}`, () => {
        assert.equal(entryCategory(byName(name)), category);
      });
    }

    it('gives every entry one category of the taxonomy, most of them something more telling than Other', () => {
      const counts = new Map<CategoryId, number>();
      for (const entry of entries) {
        const category = entryCategory(entry);
        counts.set(category, (counts.get(category) ?? 0) + 1);
      }
      assert.ok([...counts.keys()].every((c) => CATEGORIES.some((k) => k.id === c)));
      assert.equal(counts.size, CATEGORIES.length, `every category is used: ${JSON.stringify(Object.fromEntries(counts))}`);
      assert.ok((counts.get('other') ?? 0) < entries.length / 4, `Other: ${counts.get('other')} of ${entries.length}`);
    });

    it('ignores what only publishers share: the namespace (ai.smithery) and the words of the protocol', () => {
      const clock = byName('ai.smithery/arjunkmrm-clock');
      assert.match(clock.description, /timezones/);
      assert.equal(entryCategory(clock), 'other');
      assert.equal(categorize(doc({ description: 'A Model Context Protocol server for AI assistants and agents' })), 'other');
    });
  });

  describe('word rules', () => {
    it('matches whole words, never substrings', () => {
      assert.equal(categorize(doc({ description: 'Keeps a scrapbook of restocked sqlitecream recipes' })), 'other');
      assert.equal(categorize(doc({ description: 'Run SQL against SQLite' })), 'databases');
    });

    it('splits identifiers at camelCase and dashes in names, and folds plurals', () => {
      assert.equal(categorize(doc({ name: 'PostgresConnector' })), 'databases');
      assert.equal(categorize(doc({ name: 'mcp-slack-bridge' })), 'communication');
      assert.equal(categorize(doc({ description: 'Prices of stocks' })), 'finance');
    });

    it('matches phrases as adjacent words', () => {
      assert.equal(categorize(doc({ description: 'Files in Google Drive' })), 'files-storage');
      assert.equal(categorize(doc({ description: 'A knowledge graph' })), 'knowledge-memory');
    });

    it('weighs the name over the description', () => {
      assert.equal(categorize(doc({ name: 'redis', description: 'Send chat messages and notifications' })), 'databases');
    });
  });

  describe('hostile text', () => {
    it('stays text: a postgres server with script, markup, escapes and a huge string appended is still a database', () => {
      const postgres = byName('ai.waystation/postgres');
      const poisoned: CatalogEntry = { ...postgres, description: `${postgres.description} ${HOSTILE_STRINGS.join(' ')} ${'A'.repeat(HOSTILE_LONG_LENGTH)}`, title: HOSTILE_STRINGS[1] };
      const started = performance.now();
      assert.equal(entryCategory(poisoned), 'databases');
      assert.ok(performance.now() - started < 500, 'a long string costs no more than its words');
    });

    it('gives hostile text alone a category of the taxonomy, never an exception or an id of its own', () => {
      for (const text of HOSTILE_STRINGS) {
        const category = categorize(doc({ name: text, title: text, description: text, tools: text }));
        assert.ok(CATEGORIES.some((c) => c.id === category), `${JSON.stringify(text)} → ${category}`);
      }
      assert.equal(categorize(doc({ description: '__proto__ constructor toString hasOwnProperty' })), 'other');
    });
  });

  describe('in the search index', () => {
    const index = CatalogSearch.build(entries);

    it('filters by category, alone or with a query, and keeps the order by trust', () => {
      const databases = index.search('', { filters: { category: ['databases'] }, limit: 200 });
      assert.ok(databases.length >= 10, `${databases.length} databases`);
      for (const hit of databases) assert.equal(entryCategory(entries.find((e) => e.id === hit.id)!), 'databases', hit.id);
      const scores = databases.map((h) => h.score);
      assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'by trust');
      assert.ok(databases.some((h) => h.id.includes('postgres')));

      const postgresInSearch = index.search('postgres', { filters: { category: ['search'] } });
      assert.ok(postgresInSearch.every((h) => index.category(h.id) === 'search'), postgresInSearch.map((h) => h.id).join());
      const either = index.search('', { filters: { category: ['databases', 'search'] }, limit: 200 });
      assert.equal(either.length, databases.length + index.search('', { filters: { category: ['search'] }, limit: 200 }).length);
    });

    it('counts the filtered entries by category, whatever the query', () => {
      const counts = index.categoryCounts();
      const visible = index.search('', { limit: 10_000 }).length;
      assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), visible);
      assert.equal(counts.databases, index.search('', { filters: { category: ['databases'] }, limit: 10_000 }).length);
      const officialOnly = index.categoryCounts({ source: ['nowhere'] });
      assert.deepEqual(officialOnly, {});
      const ordered = categoriesByCount(counts);
      assert.equal(ordered.at(-1)?.[0], 'other', 'Other last');
      assert.deepEqual(ordered.slice(0, -1).map(([, n]) => n), ordered.slice(0, -1).map(([, n]) => n).sort((a, b) => b - a), 'largest first');
    });

    it('keeps the categories in the saved index, and rejects an index saved without them', () => {
      const json = JSON.parse(JSON.stringify(index.toJSON()));
      const restored = CatalogSearch.fromJSON(json, entries);
      for (const entry of entries.slice(0, 50)) assert.equal(restored.category(entry.id), index.category(entry.id));
      assert.equal(index.category(byName('ai.waystation/postgres').id), categorize(searchDocument(byName('ai.waystation/postgres'))));
      assert.throws(() => CatalogSearch.fromJSON({ ...json, version: 1, categories: undefined }, entries), /another catalog/);
    });
  });
});
