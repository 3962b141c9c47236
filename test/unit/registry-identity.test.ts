import assert from 'node:assert/strict';
import {
  isLocalOrPlaceholderUrl,
  isVerifiedNamespace,
  namespaceOf,
  normalizeRepositoryUrl,
  packageKey,
  remoteKey,
  repositoryRoot,
} from '../../common/registry/identity';

describe('registry identity', () => {
  describe('normalizeRepositoryUrl', () => {
    const cases: Array<[string, string | undefined, string | undefined]> = [
      // Real URLs from the registry data.
      ['https://github.com/brave/brave-search-mcp-server', undefined, 'github.com/brave/brave-search-mcp-server'],
      ['https://github.com/Nekzus/npm-sentinel-mcp', undefined, 'github.com/nekzus/npm-sentinel-mcp'],
      ['https://github.com/domdomegg/airtable-mcp-server.git', undefined, 'github.com/domdomegg/airtable-mcp-server'],
      ['https://github.com/joelverhagen/Knapcode.SampleMcpServer.git', undefined, 'github.com/joelverhagen/knapcode.samplemcpserver'],
      ['https://github.com/redpanda-data/docs-site', 'netlify', 'github.com/redpanda-data/docs-site#netlify'],
      ['https://github.com/smithery-ai/smithery-cookbook', 'servers/python/quickstart', 'github.com/smithery-ai/smithery-cookbook#servers/python/quickstart'],
      ['https://github.com/modelcontextprotocol/servers/tree/main/src/everything', undefined, 'github.com/modelcontextprotocol/servers#src/everything'],
      ['https://github.com/modelcontextprotocol/servers/blob/main/src/git/README.md', undefined, 'github.com/modelcontextprotocol/servers#src/git/readme.md'],
      // Other spellings of the same repository.
      ['git@github.com:Owner/Repo.git', undefined, 'github.com/owner/repo'],
      ['ssh://git@github.com/owner/repo.git', undefined, 'github.com/owner/repo'],
      ['git+https://github.com/owner/repo.git', undefined, 'github.com/owner/repo'],
      ['https://www.GitHub.com/owner/repo/', undefined, 'github.com/owner/repo'],
      ['github.com/owner/repo', undefined, 'github.com/owner/repo'],
      ['https://github.com/owner/repo/issues', undefined, 'github.com/owner/repo'],
      ['https://github.com/owner/repo', './src//x/', 'github.com/owner/repo#src/x'],
      ['https://github.com/owner/repo', '../../etc', 'github.com/owner/repo#etc'],
      ['https://gitlab.com/group/sub/proj/-/tree/main/pkg', undefined, 'gitlab.com/group/sub/proj#pkg'],
      ['https://gitlab.com/group/sub/proj.git', undefined, 'gitlab.com/group/sub/proj'],
      ['https://git.example.org/team/tool.git', undefined, 'git.example.org/team/tool'],
      ['', undefined, undefined],
      ['not a url at all', undefined, undefined],
    ];
    for (const [url, subfolder, expected] of cases) {
      it(`${JSON.stringify(url)}${subfolder ? ` + ${subfolder}` : ''} → ${expected}`, () => {
        assert.equal(normalizeRepositoryUrl(url, subfolder), expected);
      });
    }

    it('keeps a monorepo root apart from its subfolders', () => {
      const root = normalizeRepositoryUrl('https://github.com/modelcontextprotocol/servers');
      const everything = normalizeRepositoryUrl('https://github.com/modelcontextprotocol/servers', 'src/everything');
      assert.notEqual(root, everything);
      assert.equal(repositoryRoot(everything!), root);
    });
  });

  describe('packageKey', () => {
    const cases: Array<[string, string, string | undefined, string | undefined]> = [
      ['npm', '@brave/brave-search-mcp-server', undefined, 'npm:@brave/brave-search-mcp-server'],
      ['npm', 'XcodeBuildMCP', undefined, 'npm:xcodebuildmcp'],
      ['npm', '@florentine-ai/mcp@latest', undefined, 'npm:@florentine-ai/mcp'],
      ['pypi', 'augments-mcp-server', 'https://pypi.org', 'pypi:augments-mcp-server'],
      ['pypi', 'Mcp_Plots.Extra', undefined, 'pypi:mcp-plots-extra'],
      ['pypi', 'time-mcp-pypi==1.0.6', undefined, 'pypi:time-mcp-pypi'],
      ['oci', 'docker.io/domdomegg/airtable-mcp-server:1.7.2', undefined, 'oci:docker.io/domdomegg/airtable-mcp-server'],
      ['oci', 'teamwork/mcp', 'https://docker.io', 'oci:docker.io/teamwork/mcp'],
      ['oci', 'ghcr.io/github/github-mcp-server@sha256:' + 'a'.repeat(64), undefined, 'oci:ghcr.io/github/github-mcp-server'],
      ['oci', 'github/github-mcp-server', 'https://ghcr.io', 'oci:ghcr.io/github/github-mcp-server'],
      ['oci', 'redis:7', undefined, 'oci:docker.io/library/redis'],
      ['oci', 'index.docker.io/library/redis', undefined, 'oci:docker.io/library/redis'],
      ['oci', 'localhost:5000/tool:1', undefined, 'oci:localhost:5000/tool'],
      ['nuget', 'Knapcode.SampleMcpServer', 'https://api.nuget.org', 'nuget:knapcode.samplemcpserver'],
      [
        'mcpb',
        'https://github.com/domdomegg/airtable-mcp-server/releases/download/v1.7.2/airtable-mcp-server.mcpb',
        undefined,
        'mcpb:https://github.com/domdomegg/airtable-mcp-server/releases/download/v1.7.2/airtable-mcp-server.mcpb',
      ],
      ['unknown', 'Azure/azure-mcp', undefined, undefined],
      ['npm', '   ', undefined, undefined],
    ];
    for (const [registryType, identifier, registryBaseUrl, expected] of cases) {
      it(`${registryType} ${identifier} → ${expected}`, () => {
        assert.equal(packageKey({ registryType, identifier, ...(registryBaseUrl ? { registryBaseUrl } : {}) }), expected);
      });
    }
  });

  describe('remoteKey and placeholders', () => {
    it('normalises scheme, host and path, dropping query, fragment, default port and trailing slash', () => {
      assert.equal(remoteKey('https://server.smithery.ai/@Nekzus/npm-sentinel-mcp/mcp'), 'https://server.smithery.ai/@Nekzus/npm-sentinel-mcp/mcp');
      assert.equal(remoteKey('https://MCP.Notion.com:443/mcp/?token=x#y'), 'https://mcp.notion.com/mcp');
      assert.equal(remoteKey('https://mcp.zenable.app/'), 'https://mcp.zenable.app');
      assert.equal(remoteKey('http://127.0.0.1:3015/mcp'), 'http://127.0.0.1:3015/mcp');
      assert.equal(remoteKey('ftp://example.org/x'), undefined);
      assert.equal(remoteKey('nope'), undefined);
    });

    it('flags loopback, private, example and placeholder URLs, which identify nothing', () => {
      for (const url of ['http://localhost:3000/mcp', 'http://127.0.0.1:{port}/sse', 'http://127.0.0.1:8080/mcp', 'https://example.com:8080/sse', 'http://192.168.1.2/mcp', 'https://{tenant}.example.org/mcp', 'http://[::1]:9000/mcp']) {
        assert.equal(isLocalOrPlaceholderUrl(url), true, url);
      }
      for (const url of ['https://mcp.ai.teamwork.com', 'https://server.smithery.ai/brave/mcp', 'https://kevincogan.github.io/mcp']) {
        assert.equal(isLocalOrPlaceholderUrl(url), false, url);
      }
    });
  });

  describe('namespaces', () => {
    it('verifies io.github.<owner> and reverse-DNS namespaces against the repository owner', () => {
      const repo = (url: string) => normalizeRepositoryUrl(url);
      assert.equal(namespaceOf('io.github.Nekzus/npm-sentinel-mcp'), 'io.github.nekzus');
      assert.equal(isVerifiedNamespace('io.github.Nekzus/npm-sentinel-mcp', repo('https://github.com/Nekzus/npm-sentinel-mcp')), true);
      assert.equal(isVerifiedNamespace('com.blockscout/mcp-server', repo('https://github.com/blockscout/mcp-server')), true);
      assert.equal(isVerifiedNamespace('com.joelverhagen.mcp/Knapcode.SampleMcpServer', repo('https://github.com/joelverhagen/Knapcode.SampleMcpServer.git')), true);
      assert.equal(isVerifiedNamespace('ai.smithery/brave', repo('https://github.com/brave/brave-search-mcp-server')), false);
      assert.equal(isVerifiedNamespace('com.xcodebuildmcp/XcodeBuildMCP', repo('https://github.com/cameroncooke/XcodeBuildMCP')), false);
      assert.equal(isVerifiedNamespace('io.github.jkakar/cookwith-mcp', repo('https://github.com/blaideinc/cookwith-mcp')), false);
      assert.equal(isVerifiedNamespace('io.github.a/x', repo('https://gitlab.com/a/x')), false);
      assert.equal(isVerifiedNamespace('io.github.a/x', undefined), false);
    });
  });
});
