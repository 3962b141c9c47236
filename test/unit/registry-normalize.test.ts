import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeListItem, normalizeServer, type Normalized } from '../../common/registry/normalize';

/** Reads a registry fixture from the project's copy, else from the shared originals. */
function fixture(file: string): any {
  const local = join(__dirname, '..', 'fixtures', 'registry', file);
  return JSON.parse(readFileSync(existsSync(local) ? local : join('/work/shared/fixtures/registry', file), 'utf8'));
}

/** Problem counts with indices and quoted values folded, e.g. `packages[].version: missing`. */
function problemCounts(results: Normalized[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const result of results) {
    for (const problem of result.problems) {
      const key = problem.replace(/\[\d+\]/g, '[]').replace(/".*"/, '"…"');
      counts[key] = (counts[key] ?? 0) + 1;
    }
  }
  return counts;
}

describe('registry normalize', () => {
  describe('real data, every shape', () => {
    it('normalises all 789 production entries (2025-09-16 flat shape) with the known defects reported', () => {
      const results: Normalized[] = fixture('production_servers.json').servers.map((item: unknown) => normalizeListItem(item));
      assert.equal(results.length, 789);
      assert.equal(results.filter((r: Normalized) => r.server).length, 789);
      assert.equal(new Set(results.map((r: Normalized) => r.server!.name)).size, 461);
      assert.deepEqual(problemCounts(results), {
        'repository: empty; ignored': 132,
        'version: missing': 4,
        'packages[].environmentVariables[]: no name; dropped': 3,
        'status: unknown status "…"; treated as active': 1,
      });
      assert.equal(results.filter((r: Normalized) => r.server!.isLatest).length, 461);
    });

    it('reads the same metadata from the v0.1 envelope as from the flat shape', () => {
      const flat = fixture('production_servers.json').servers.map((item: unknown) => normalizeListItem(item).server!);
      const envelope = fixture('derived/production_servers.v0.1-envelope.json').servers.map((item: unknown) => normalizeListItem(item).server!);
      assert.equal(envelope.length, 789);
      const key = (s: { name: string; version: string }) => `${s.name}@${s.version}`;
      const byKey = new Map(flat.map((s: any) => [key(s), s]));
      for (const server of envelope) {
        const other: any = byKey.get(key(server));
        assert.ok(other, key(server));
        assert.equal(server.isLatest, other.isLatest, key(server));
        assert.equal(server.publishedAt, other.publishedAt, key(server));
        assert.deepEqual(server.packages, other.packages, key(server));
      }
    });

    it('normalises the 2025-09-29 seed (no $schema, no _meta)', () => {
      const results: Normalized[] = fixture('seed.json').map((item: unknown) => normalizeServer(item));
      assert.equal(results.length, 358);
      assert.equal(results.filter((r: Normalized) => r.server).length, 358);
      assert.deepEqual(problemCounts(results), { 'description: missing': 65 });
      const first = results[0].server!;
      assert.equal(first.status, 'active');
      assert.equal(first.isLatest, false, 'no metadata: nothing claims latest');
      assert.equal(first.schema, undefined);
    });

    it('normalises the 2025-05-16 legacy snake_case seed; only the 7 blank records are unusable', () => {
      const results: Normalized[] = fixture('seed_2025_05_16.json').map((item: unknown) => normalizeServer(item));
      assert.equal(results.length, 471);
      assert.equal(results.filter((r: Normalized) => r.server).length, 464);
      assert.deepEqual(problemCounts(results), {
        'packages[].registryType: unknown registry type "…"': 302,
        'description: missing': 72,
        'packages[].version: missing': 14,
        'name: missing; entry unusable': 7,
        'remotes[].type: missing; streamable-http assumed': 1,
      });
      const magic = results.find((r: Normalized) => r.server?.name === 'io.github.21st-dev/magic-mcp')!.server!;
      assert.equal(magic.schema, 'legacy');
      assert.equal(magic.version, '0.0.1-seed');
      assert.equal(magic.publishedAt, '2025-05-16T18:56:49Z');
      assert.equal(magic.isLatest, true);
      assert.deepEqual(magic.packages[0], {
        registryType: 'npm',
        identifier: '@21st-dev/magic',
        version: '0.0.46',
        transport: { type: 'stdio' },
        runtimeArguments: [],
        packageArguments: [],
        environmentVariables: [{ name: 'API_KEY', description: '${input:apiKey}', isRequired: false, isSecret: false }],
      });
      const cloudflare = results.find((r: Normalized) => r.server?.name === 'io.github.cloudflare/mcp-server-cloudflare')!.server!;
      assert.deepEqual(cloudflare.remotes[0], { type: 'sse', url: 'https://observability.mcp.cloudflare.com/sse', headers: [] });
      const arg = cloudflare.packages[0]!.packageArguments[0]!;
      assert.equal(arg.type, 'positional');
      assert.equal(arg.isRequired, true);
      assert.equal(arg.valueHint, 'https://observability.mcp.cloudflare.com/sse');
      const docker = results.flatMap((r: Normalized) => r.server?.packages ?? []).filter((p: any) => p.registryType === 'oci');
      assert.equal(docker.length, 26, "legacy `docker` is today's `oci`");
    });

    it('normalises the 2025-12-11 seed with icons, mcpb checksums and runtime hints', () => {
      const results: Normalized[] = fixture('latest/seed.json').map((item: unknown) => normalizeServer(item));
      assert.equal(results.filter((r: Normalized) => r.server && r.problems.length === 0).length, 4);
      const airtable = results[0].server!;
      assert.deepEqual(airtable.icons, [{ src: 'https://airtable.com/images/favicon/favicon-32x32.png', mimeType: 'image/png', sizes: ['32x32'] }]);
      assert.deepEqual(
        airtable.packages.map((p) => [p.registryType, p.runtimeHint, p.fileSha256?.slice(0, 8)]),
        [['npm', 'npx', undefined], ['oci', 'docker', undefined], ['mcpb', undefined, '8220de07']],
      );
      assert.equal(airtable.packages[2]!.version, undefined);
    });

    it('reads 2025-07-09 entries, the "beta" status and unknown $schema values', () => {
      const servers = fixture('production_servers.json').servers;
      const redpanda = normalizeListItem(servers.find((s: any) => s.name === 'com.redpanda/docs-mcp'));
      assert.deepEqual(redpanda.problems, []);
      assert.equal(redpanda.server!.repository!.subfolder, 'netlify');
      const egnyte = normalizeListItem(servers.find((s: any) => s.name === 'io.github.ptyagiegnyte/egnyte-mcp-server'));
      assert.equal(egnyte.server!.status, 'active');
      assert.deepEqual(egnyte.problems, ['status: unknown status "beta"; treated as active']);
      const mcpRun = normalizeListItem(servers.find((s: any) => s.$schema === 'https://schemas.mcp.run/server.json'));
      assert.equal(mcpRun.server!.schema, 'https://schemas.mcp.run/server.json');
      assert.equal(mcpRun.server!.repository, undefined);
      const clippy = normalizeListItem(servers.find((s: any) => s.name === 'io.github.neilberkman/clippy'));
      assert.equal(clippy.server!.version, '');
      assert.ok(clippy.problems.includes('version: missing'));
    });

    it('keeps `value` + `variables` and `{port}` placeholders as given', () => {
      const servers = fixture('production_servers.json').servers;
      const knapcode = normalizeListItem(servers.find((s: any) => s.name === 'io.github.joelverhagen/Knapcode.SampleMcpServer')).server!;
      assert.deepEqual(knapcode.packages[0]!.environmentVariables, [
        {
          name: 'WEATHER_CHOICES',
          value: '{weather_choices}',
          isRequired: false,
          isSecret: false,
          variables: { weather_choices: { description: 'Comma separated list of weather descriptions to randomly select.', isRequired: true, isSecret: false } },
        },
      ]);
      const local = servers.map((s: any) => normalizeListItem(s).server!).flatMap((s: any) => s.packages).find((p: any) => p.transport.url?.includes('{port}'));
      assert.equal(local.transport.url, 'http://127.0.0.1:{port}/sse');
    });
  });

  describe('defects and hostile input', () => {
    it('never throws, and an entry without a name yields no server', () => {
      for (const raw of [undefined, null, 42, 'x', [], {}, { name: '' }, { name: 7 }, { name: {} }]) {
        const result = normalizeServer(raw);
        assert.equal(result.server, undefined);
        assert.ok(result.problems.length > 0);
      }
    });

    it('repairs shapes: missing transport, remotes with transport_type, transport as a string', () => {
      const { server, problems } = normalizeServer({
        name: 'io.github.a/b',
        version: '1.0.0',
        description: 'x',
        packages: [
          { registry_type: 'NPM', identifier: 'b' },
          { registryType: 'pypi', identifier: 'b', version: '1', transport: 'streamable-http' },
        ],
        remotes: [{ transport_type: 'sse', url: 'https://b.example.org/sse' }, { transport: { type: 'streamable-http' }, url: 'https://b.example.org/mcp' }],
      });
      assert.deepEqual(server!.packages.map((p) => [p.registryType, p.transport.type]), [['npm', 'stdio'], ['pypi', 'streamable-http']]);
      assert.deepEqual(server!.remotes.map((r) => r.type), ['sse', 'streamable-http']);
      assert.deepEqual(problems, ['packages[0].version: missing']);
    });

    it('takes status from registry metadata: deprecated with its message, deleted, missing → active', () => {
      const base = { name: 'com.example/x', version: '1.0.0', description: 'x' };
      const deprecated = normalizeListItem({
        server: base,
        _meta: { 'io.modelcontextprotocol.registry/official': { status: 'deprecated', statusMessage: 'use com.example/y', isLatest: true, publishedAt: '2025-10-01T00:00:00Z' } },
      }).server!;
      assert.deepEqual([deprecated.status, deprecated.statusMessage, deprecated.isLatest], ['deprecated', 'use com.example/y', true]);
      assert.equal(normalizeServer(base, { status: 'deleted' }).server!.status, 'deleted');
      assert.equal(normalizeServer(base).server!.status, 'active');
      const old = normalizeServer({ ...base, _meta: { 'io.modelcontextprotocol.registry': { is_latest: true, published_at: '2025-07-01T00:00:00Z' } } }).server!;
      assert.deepEqual([old.isLatest, old.publishedAt], [true, '2025-07-01T00:00:00Z']);
      const bad = normalizeServer(base, { publishedAt: 'yesterday' });
      assert.equal(bad.server!.publishedAt, undefined);
      assert.deepEqual(bad.problems, ['publishedAt: not a timestamp ("yesterday"); dropped']);
    });

    it('strips ANSI escapes and control characters, truncates long text, drops non-string garbage', () => {
      const { server, problems } = normalizeServer({
        name: 'io.github.evil/\u001b[31mred\u001b[0m',
        version: { major: 1 },
        description: 'line one\r\nline two\u0007\u001b]0;pwned\u0007 \u202eevil' + 'x'.repeat(5000),
        title: ['not', 'text'],
        repository: { url: 'https://github.com/evil/x\u0000', source: 'github' },
        packages: [{ registryType: 'npm', identifier: 'ok', version: '1.0.0', fileSha256: 'nothex', environmentVariables: [{ name: 'A', description: 123 }] }],
      });
      assert.equal(server!.name, 'io.github.evil/red');
      assert.equal(server!.version, '');
      assert.ok(server!.description.startsWith('line one\nline two evilxxx'));
      assert.equal(server!.description.length, 2000);
      assert.equal(server!.title, undefined);
      assert.equal(server!.repository!.url, 'https://github.com/evil/x');
      assert.equal(server!.packages[0]!.fileSha256, undefined);
      assert.equal(server!.packages[0]!.environmentVariables[0]!.description, '123');
      assert.deepEqual(problems, [
        'version: expected text, got object; dropped',
        'version: missing',
        'description: longer than 2000 characters; truncated',
        'packages[0].fileSha256: not a SHA-256 hex digest; dropped',
        'title: expected text, got an array; dropped',
      ]);
    });
  });
});
