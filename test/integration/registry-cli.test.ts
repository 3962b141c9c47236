/**
 * `openconductor registry …` end to end: the built CLI against replays of the official registry, GitHub and Glama
 * (real recorded data), in this process's own host and through a running sidecar.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import type { RegistryEntryDetails, RegistrySearchResult } from '../../common/registry/protocol';
import type { SourceHealth } from '../../common/registry/model';
import { cli } from '../support/cli';
import { startGitHubSearch, startGlama, startOfficialRegistry, type ReplayServer, type OfficialRegistryReplay } from '../support/registry-replay';
import { killHard, startSidecar } from '../support/sidecar';
import { until } from '../support/wait';

describe('openconductor registry (CLI)', function () {
  this.timeout(120_000);
  let official: OfficialRegistryReplay;
  let replays: ReplayServer[];
  let dir: string;
  let env: Record<string, string>;

  const run = (args: string[], extra: Record<string, string> = {}) => cli(['registry', ...args], { cwd: dir, env: { ...env, ...extra } });
  const json = async <T>(args: string[]): Promise<T> => {
    const result = await run([...args, '--json']);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as T;
  };

  before(async () => {
    official = await startOfficialRegistry();
    // Every test syncs GitHub: its real limit (10 searches a minute without a token) is tested in registry-sync.
    replays = [official, await startGitHubSearch({ perMinuteWithout: 1000 }), await startGlama()];
    env = {
      OPENCONDUCTOR_REGISTRY_SOURCES: JSON.stringify([
        { name: 'official', url: replays[0].url },
        { name: 'github', url: replays[1].url },
        { name: 'glama', url: replays[2].url },
      ]),
    };
  });
  after(async () => {
    await Promise.all(replays.map((r) => r.close()));
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-registry-cli-'));
  });
  afterEach(() => {
    official.faults.clear();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('syncs every source, then searches, shows and reports the sources', async () => {
    const sync = await run(['sync']);
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stdout, /^official\s+ok\s+full\s+789/m);
    assert.match(sync.stdout, /^github\s+ok\s+full/m);
    assert.match(sync.stdout, /^glama\s+ok\s+full\s+220/m);
    assert.match(sync.stderr, /official\s+789 records\s+done/, 'progress goes to stderr');

    const sources = await json<SourceHealth[]>(['sources']);
    assert.deepEqual(
      sources.map((s) => [s.name, s.state, s.records]),
      [
        ['official', 'ok', 789],
        ['github', 'ok', 338],
        ['glama', 'ok', 220],
      ],
    );

    const search = await json<RegistrySearchResult>(['search', 'brave', 'search']);
    const first = search.hits[0];
    assert.equal(first.name, 'io.github.brave/brave-search-mcp-server');
    assert.deepEqual(first.sources.sort(), ['github', 'glama', 'official']);
    assert.ok(!search.hits.some((h) => h.name === 'ai.smithery/brave'), 'the Smithery republication is the same server, not another hit');

    const http = await json<RegistrySearchResult>(['search', 'database', '--transport', 'http', '--min-trust', '20']);
    assert.ok(http.hits.length > 0);
    assert.ok(http.hits.every((h) => h.transports.includes('http') && h.trust >= 20));

    // By category: the counts come with every answer, and the filter keeps exactly that many.
    const databases = await json<RegistrySearchResult>(['search', '--category', 'databases', '--limit', '200']);
    assert.ok(databases.hits.length >= 10 && databases.hits.every((h) => h.category === 'databases'), databases.hits.map((h) => `${h.name}:${h.category}`).join());
    assert.equal(databases.hits.length, databases.categories.databases);
    assert.ok(databases.hits.some((h) => h.name === 'ai.waystation/postgres'));
    const postgres = await json<RegistrySearchResult>(['search', 'postgres', '--category', 'search']);
    assert.ok(postgres.hits.every((h) => h.category === 'search'));
    const bad = await run(['search', '--category', 'weather']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--category takes databases, search, .*other, not "weather"/);

    const show = await run(['show', 'ai.smithery/brave']);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^io\.github\.brave\/brave-search-mcp-server/);
    assert.match(show.stdout, /also listed as .*ai\.smithery\/brave/);
    assert.match(show.stdout, /^Search$/m, 'its category');
    assert.match(show.stdout, /^Trust \d+\/100$/m);
    assert.match(show.stdout, /npx -y @brave\/brave-search-mcp-server@2\.0\.\d+/);
    assert.match(show.stdout, /needs .*BRAVE_API_KEY.*\(secret\)/);

    const missing = await run(['show', 'io.github.nobody/kubernetes']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no server named 'io\.github\.nobody\/kubernetes' in the catalog\. Did you mean .*kubernetes/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /, 'no stack trace');
  });

  it('a failing source is reported, exits 1, and keeps its last good data; the others sync', async () => {
    const first = await run(['sync']);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    official.faults.status(502, { times: 9 });
    const sync = await run(['sync', '--full']);
    assert.equal(sync.code, 1);
    assert.match(sync.stdout, /^official\s+failed\s+full\s+0\s.*answered 502.*last good data is kept/m);
    assert.match(sync.stdout, /^glama\s+ok/m);
    const sources = await json<SourceHealth[]>(['sources']);
    const officialHealth = sources.find((s) => s.name === 'official')!;
    assert.equal(officialHealth.state, 'failing');
    assert.equal(officialHealth.records, 789);
    const search = await json<RegistrySearchResult>(['search', 'kubernetes']);
    assert.ok(search.hits.some((h) => h.name === 'io.github.containers/kubernetes-mcp-server'));
  });

  it('adds a server to .vscode/mcp.json: comments kept, the secret as a password input, never in the file', async () => {
    assert.equal((await run(['sync', '--source', 'official'])).code, 0);
    const file = path.join(dir, '.vscode', 'mcp.json');
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, '{\n  // our servers\n  "servers": {\n    "mcp": { "command": "echo" } // keep me\n  }\n}\n');
    const added = await run(['add', 'com.teamwork/mcp']);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /Added 'mcp-2' \(oci/);
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /\/\/ our servers/);
    assert.match(text, /\/\/ keep me/);
    const config = parseJsonc(text) as { servers: Record<string, { command: string; args: string[]; env?: Record<string, string> }>; inputs: Array<{ id: string; password?: boolean }> };
    const server = config.servers['mcp-2'];
    assert.equal(server.command, 'docker');
    assert.deepEqual(server.args.slice(0, 3), ['run', '-i', '--rm']);
    assert.ok(server.args.some((a) => /^docker\.io\/teamwork\/mcp:v1\.5\.\d+$|^teamwork\/mcp:v1\.5\.\d+$/.test(a)), server.args.join(' '));
    assert.equal(server.env?.TW_MCP_BEARER_TOKEN, '${input:mcp-2.TW_MCP_BEARER_TOKEN}');
    const token = config.inputs.find((i) => i.id === 'mcp-2.TW_MCP_BEARER_TOKEN');
    assert.equal(token?.password, true);
    const servers = await cli(['servers', 'list', '--json'], { cwd: dir });
    assert.equal(servers.code, 0, servers.stderr);
    assert.ok((JSON.parse(servers.stdout) as Array<{ name: string }>).some((s) => s.name === 'mcp-2'), 'the written entry is a valid mcp.json server');
  });

  it('shows which servers the workspace uses together, from its workflows', async () => {
    assert.equal((await run(['sync', '--source', 'official'])).code, 0);
    fs.mkdirSync(path.join(dir, '.vscode'));
    fs.writeFileSync(
      path.join(dir, '.vscode', 'mcp.json'),
      JSON.stringify({ servers: { brave: { command: 'npx', args: ['-y', '@brave/brave-search-mcp-server'] }, chrome: { command: 'npx', args: ['chrome-devtools-mcp@latest'] } } }),
    );
    fs.writeFileSync(
      path.join(dir, 'research.workflow.yaml'),
      'name: research\nsteps:\n  - id: find\n    server: brave\n    tool: brave_web_search\n    with: { query: mcp }\n  - id: open\n    server: chrome\n    tool: navigate_page\n    with: { url: "https://example.com" }\n',
    );
    const details = await json<RegistryEntryDetails>(['show', 'io.github.brave/brave-search-mcp-server']);
    assert.deepEqual(details.usedIn, ['research.workflow.yaml']);
    assert.deepEqual(
      details.usedWith.map((u) => [u.name, u.workflows]),
      [['io.github.ChromeDevTools/chrome-devtools-mcp', 1]],
    );
    assert.ok(details.related.length > 0 && details.related.every((r) => r.id !== details.entry.id));
  });

  it('works through a running sidecar that syncs on its own schedule, with progress pushed over its socket', async () => {
    Object.assign(process.env, env);
    const log: string[] = [];
    const sidecar = startSidecar(dir, log, ['--sync-registry']);
    try {
      await sidecar.ready;
      await until(() => ['official', 'github', 'glama'].every((s) => log.join('').includes(`registry: ${s} synced (full`)), 'the sidecar synced every source on its own', 30_000);
      const sources = await json<SourceHealth[]>(['sources']);
      assert.ok(sources.every((s) => s.state === 'ok' && Date.parse(s.nextSyncAt!) > Date.now()), JSON.stringify(sources));
      const sync = await run(['sync', '--source', 'glama']);
      assert.equal(sync.code, 0, sync.stderr);
      assert.match(sync.stderr, /glama\s+220 records\s+done/);
      const search = await json<RegistrySearchResult>(['search', 'github']);
      assert.ok(search.hits.length > 0);
      assert.ok(search.catalog > 400, `the whole catalog is searched (${search.catalog} entries)`);
    } finally {
      delete process.env.OPENCONDUCTOR_REGISTRY_SOURCES;
      await killHard(sidecar.child);
    }
  });

  it('orchestrates a starter workflow from catalog servers, says what is missing, and never overwrites a file', async () => {
    assert.equal((await run(['sync', '--source', 'official'])).code, 0);
    const result = await cli(['orchestrate', 'research', '--with', 'io.github.brave/brave-search-mcp-server,nope'], { cwd: dir, env });
    assert.equal(result.code, 1, 'a server was not found');
    assert.match(result.stdout, /^Wrote research\.workflow\.yaml\.$/m);
    assert.match(result.stdout, /io\.github\.brave\/brave-search-mcp-server: from the catalog: io\.github\.brave\/brave-search-mcp-server \(npm @brave\/brave-search-mcp-server@2\.0\.\d+, trust \d+\)/);
    assert.match(result.stdout, /nope: not found/);
    assert.match(result.stdout, /set BRAVE_API_KEY in the environment/);
    const text = fs.readFileSync(path.join(dir, 'research.workflow.yaml'), 'utf8');
    assert.match(text, /BRAVE_API_KEY: \$\{env:BRAVE_API_KEY\}/);
    const validate = await cli(['validate', 'research.workflow.yaml'], { cwd: dir });
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
    const again = await cli(['orchestrate', 'research', '--with', 'nope'], { cwd: dir, env });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /research\.workflow\.yaml exists already; choose another name \(nothing was written\)/);
    assert.equal(fs.readFileSync(path.join(dir, 'research.workflow.yaml'), 'utf8'), text);
  });

  it('reports bad registry settings at file:line:col and uses the rest', async () => {
    fs.mkdirSync(path.join(dir, '.vscode'));
    fs.writeFileSync(path.join(dir, '.vscode', 'settings.json'), '{\n  "openconductor.registry.sources": [\n    { "name": "acme", "kind": "registry", "url": "ftp://acme" }\n  ]\n}\n');
    const sync = await run(['sync', '--source', 'glama']);
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stderr, /warning: \.vscode\/settings\.json:3:50: openconductor\.registry\.sources\[0\]: url must be an http\(s\) URL/);
    const unknown = await run(['sync', '--source', 'acme']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no registry source named 'acme'\. Sources: official, github, glama/);
  });
});
