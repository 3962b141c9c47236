/**
 * Introspection starts a catalog server for real (from its npm package, with npx, in a temporary folder) and
 * lists what it offers. The server comes from a private sub-registry replay; the package is the real
 * @modelcontextprotocol/server-everything.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Capabilities } from '../../common/registry/model';
import type { RegistryEntryDetails } from '../../common/registry/protocol';
import { cli, ROOT } from '../support/cli';
import { startOfficialRegistry, type OfficialRegistryReplay } from '../support/registry-replay';

const EVERYTHING_VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/package.json'), 'utf8')) as { version: string }).version;

describe('openconductor registry introspect', function () {
  this.timeout(180_000);
  let registry: OfficialRegistryReplay;
  let dir: string;
  const env = () => ({ OPENCONDUCTOR_REGISTRY_SOURCES: JSON.stringify([{ name: 'acme', kind: 'registry', url: registry.url, tokenEnv: 'ACME_TOKEN' }, { name: 'official', enabled: false }, { name: 'github', enabled: false }, { name: 'glama', enabled: false }]), ACME_TOKEN: 't0ken' });
  const run = (args: string[]) => cli(['registry', ...args], { cwd: dir, env: env(), timeoutMs: 150_000 });

  before(async () => {
    const now = new Date().toISOString();
    registry = await startOfficialRegistry({
      token: 't0ken',
      items: [
        {
          server: {
            $schema: 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json',
            name: 'com.acme/everything',
            description: 'Exercises every feature of the MCP protocol',
            version: EVERYTHING_VERSION,
            packages: [
              {
                registryType: 'npm',
                identifier: '@modelcontextprotocol/server-everything',
                version: EVERYTHING_VERSION,
                transport: { type: 'stdio' },
                environmentVariables: [{ name: 'ACME_API_KEY', description: 'Your Acme API key', isRequired: true, isSecret: true }],
              },
            ],
          },
          _meta: { 'io.modelcontextprotocol.registry/official': { status: 'active', publishedAt: now, updatedAt: now, isLatest: true } },
        },
      ],
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-introspect-'));
    const sync = await run(['sync']);
    assert.equal(sync.code, 0, sync.stdout + sync.stderr);
  });
  after(async () => {
    await registry.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('says which required inputs are missing, and starts nothing', async () => {
    const result = await run(['introspect', 'com.acme/everything']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /npm @modelcontextprotocol\/server-everything.* needs ACME_API_KEY \(secret\): Your Acme API key\. Give them with --input/);
  });

  it('starts the server in a temporary folder, lists its tools, prompts and resources, and remembers them', async () => {
    const result = await run(['introspect', 'com.acme/everything', '--input', 'ACME_API_KEY=k', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const capabilities = JSON.parse(result.stdout) as Capabilities;
    const tools = capabilities.tools.map((t) => t.name);
    assert.ok(tools.includes('echo'), tools.join(', '));
    assert.ok(capabilities.prompts.length > 0);
    assert.ok(capabilities.resources.length > 0);
    assert.match(capabilities.serverInfo?.name ?? '', /everything/i);
    const show = await run(['show', 'com.acme/everything', '--json']);
    const details = JSON.parse(show.stdout) as RegistryEntryDetails;
    assert.deepEqual(details.entry.capabilities?.tools.map((t) => t.name), tools);
    const search = await run(['search', 'echo', '--json']);
    assert.ok((JSON.parse(search.stdout) as { hits: Array<{ name: string; matched: string[] }> }).hits.some((h) => h.name === 'com.acme/everything'), 'tool names are searchable once introspected');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f !== '.openconductor'), [], 'nothing was written to the workspace');
  });
});
