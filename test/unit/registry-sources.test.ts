import assert from 'node:assert/strict';
import { DEFAULT_SOURCES, resolveSources } from '../../common/registry/sources';

describe('registry source settings', () => {
  it('starts from the official registry, GitHub and Glama', () => {
    const { sources, problems } = resolveSources(undefined);
    assert.deepEqual(problems, []);
    assert.deepEqual(sources.map((s) => [s.name, s.kind, s.enabled]), [
      ['official', 'official', true],
      ['github', 'github', true],
      ['glama', 'glama', true],
    ]);
    assert.equal(sources[0].url, 'https://registry.modelcontextprotocol.io');
  });

  it('changes a default by name and adds sub-registries', () => {
    const { sources, problems } = resolveSources([
      { name: 'glama', enabled: false },
      { name: 'github', topics: ['mcp-server'] },
      { name: 'acme', kind: 'registry', url: 'https://mcp.acme.internal/', tokenEnv: 'ACME_TOKEN', intervalMinutes: 15 },
    ]);
    assert.deepEqual(problems, []);
    const byName = new Map(sources.map((s) => [s.name, s]));
    assert.equal(byName.get('glama')?.enabled, false);
    assert.equal(byName.get('glama')?.url, DEFAULT_SOURCES[2].url);
    assert.deepEqual(byName.get('github')?.topics, ['mcp-server']);
    assert.equal(byName.get('github')?.tokenEnv, 'GITHUB_TOKEN');
    assert.deepEqual(byName.get('acme'), { name: 'acme', kind: 'registry', url: 'https://mcp.acme.internal', tokenEnv: 'ACME_TOKEN', enabled: true, intervalMinutes: 15 });
  });

  it('reports each bad entry with the property at fault, and keeps the good ones', () => {
    const { sources, problems } = resolveSources([
      { name: 'Bad Name', kind: 'registry', url: 'https://x' },
      { name: 'nokind', url: 'https://x' },
      { name: 'creds', kind: 'registry', url: 'https://user:pass@x' },
      { name: 'tok', kind: 'registry', url: 'https://x', tokenEnv: 'not a var' },
      { name: 'often', kind: 'registry', url: 'https://x', intervalMinutes: 1 },
      'a string',
      { name: 'fine', kind: 'registry', url: 'https://fine.example' },
    ]);
    assert.deepEqual(
      problems.map((p) => [p.index, p.property]),
      [
        [0, 'name'],
        [1, 'kind'],
        [2, 'url'],
        [3, 'tokenEnv'],
        [4, 'intervalMinutes'],
        [5, undefined],
      ],
    );
    assert.match(problems[2].message, /must not hold credentials/);
    assert.deepEqual(sources.map((s) => s.name), ['official', 'github', 'glama', 'fine']);
    assert.deepEqual(resolveSources({}).problems, [{ index: -1, message: 'must be a list of sources' }]);
  });
});
