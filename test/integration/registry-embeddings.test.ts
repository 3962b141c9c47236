/**
 * Semantic search through an OpenAI-compatible embeddings endpoint (a local server implementing `POST /embeddings`
 * with hashed bag-of-words vectors), its cache, and the fall back to LSA when it fails.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Registry } from '../../sidecar/registry/registry';
import { readRegistrySettings } from '../../sidecar/registry/settings';
import { startOfficialRegistry, type OfficialRegistryReplay } from '../support/registry-replay';

const DIMENSIONS = 64;

/** A bag-of-words vector with each word hashed to a dimension: texts sharing words point the same way. */
function embed(text: string): number[] {
  const vector = new Array<number>(DIMENSIONS).fill(0);
  for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    let h = 0;
    for (const c of word) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    vector[h % DIMENSIONS] += 1;
  }
  return vector;
}

describe('registry search with an embeddings endpoint', function () {
  this.timeout(60_000);
  let registry: OfficialRegistryReplay;
  let server: http.Server;
  let url: string;
  const requests: Array<{ authorization?: string; inputs: string[]; model: string }> = [];
  let failing = false;
  let dir: string;

  before(async () => {
    registry = await startOfficialRegistry();
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const { input, model } = JSON.parse(body) as { input: string[]; model: string };
        requests.push({ authorization: req.headers.authorization, inputs: input, model });
        if (failing || req.url !== '/v1/embeddings') {
          res.writeHead(failing ? 503 : 404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'the model is overloaded' } }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', model, data: input.map((text, index) => ({ object: 'embedding', index, embedding: embed(text) })) }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  after(async () => {
    await registry.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-embeddings-'));
    fs.mkdirSync(path.join(dir, '.vscode'));
    fs.writeFileSync(path.join(dir, '.vscode', 'settings.json'), JSON.stringify({ 'openconductor.registry.embeddings': { url, model: 'hash-64', tokenEnv: 'OC_TEST_EMBEDDINGS_KEY' } }));
    requests.length = 0;
    failing = false;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const open = async () => {
    const settings = readRegistrySettings(dir, { OPENCONDUCTOR_REGISTRY_SOURCES: JSON.stringify([{ name: 'official', url: registry.url }, { name: 'github', enabled: false }, { name: 'glama', enabled: false }]) });
    assert.deepEqual(settings.problems, []);
    const opened = await Registry.open({ dataDir: path.join(dir, '.openconductor'), workspaceFolder: dir, clientVersion: 'test', settings });
    await opened.sync({});
    return opened;
  };

  it('ranks with the endpoint\'s vectors, embeds the catalog once, and sends the token from the editor', async () => {
    const catalog = await open();
    try {
      const first = await catalog.search({ query: 'kubernetes', embeddingsToken: 'sk-test' });
      assert.equal(first.semantic, `${url}#hash-64`);
      assert.deepEqual(first.notices, []);
      assert.equal(first.hits[0]?.name, 'io.github.containers/kubernetes-mcp-server', JSON.stringify(first.hits.slice(0, 3).map((h) => [h.name, h.text, h.semantic])));
      assert.ok(first.hits.some((h) => h.semantic > 0), 'semantic similarity came from the endpoint');
      const embedded = requests.reduce((n, r) => n + r.inputs.length, 0);
      assert.equal(embedded, first.catalog + 1, 'every entry once, then the query');
      assert.ok(requests.every((r) => r.authorization === 'Bearer sk-test' && r.model === 'hash-64'));

      requests.length = 0;
      await catalog.search({ query: 'slack', embeddingsToken: 'sk-test' });
      assert.deepEqual(requests.map((r) => r.inputs), [['slack']], 'the catalog vectors are cached');
    } finally {
      await catalog.close();
    }
    const reopened = await Registry.open({ dataDir: path.join(dir, '.openconductor'), workspaceFolder: dir, clientVersion: 'test' });
    try {
      requests.length = 0;
      await reopened.search({ query: 'slack' });
      assert.deepEqual(requests.map((r) => r.inputs.length), [1], 'the cache survives the process');
    } finally {
      await reopened.close();
    }
  });

  it('falls back to the local LSA vectors when the endpoint fails, and says so', async () => {
    const catalog = await open();
    try {
      failing = true;
      const result = await catalog.search({ query: 'query a postgres database' });
      assert.equal(result.semantic, 'lsa');
      assert.equal(result.notices.length, 1);
      assert.match(result.notices[0], /the embeddings endpoint .* failed \(.*503.*the model is overloaded\); semantic ranking used the local LSA vectors instead/);
      assert.ok(result.hits.length > 0);
    } finally {
      await catalog.close();
    }
  });
});
