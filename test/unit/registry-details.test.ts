import assert from 'node:assert/strict';
import { entryCategory } from '../../common/registry/categories';
import { detailsView, parseDetailsRequest } from '../../common/registry/details-messages';
import { externalUrl } from '../../common/registry/text';
import { installRecipes } from '../../common/registry/install';
import type { CatalogEntry } from '../../common/registry/model';
import type { RegistryEntryDetails } from '../../common/registry/protocol';
import { realCatalog } from '../support/registry-catalog';
import { HOSTILE_STRINGS } from '../support/registry-replay';

/** What `registry show` answers for an entry (without the workspace parts). */
function details(entry: CatalogEntry): RegistryEntryDetails {
  const version = entry.latest ?? entry.versions[0];
  return { entry, category: entryCategory(entry), recipes: version ? installRecipes(version) : [], related: [], usedWith: [], usedIn: [] };
}

describe('registry details panel: view and messages', () => {
  const entries = realCatalog();
  const named = (name: string) => entries.find((e) => e.name === name)!;

  describe('externalUrl', () => {
    it('lets http and https through, normalised', () => {
      assert.equal(externalUrl('https://github.com/brave/brave-search-mcp-server'), 'https://github.com/brave/brave-search-mcp-server');
      assert.equal(externalUrl('HTTP://Example.com'), 'http://example.com/');
    });

    it('refuses every other scheme, credentials, relative and oversized URLs', () => {
      for (const url of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', ' javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'file:///etc/passwd', 'vscode:extension/x', 'command:workbench.action.terminal.new', '//evil.example', '/relative', 'https://user:pass@evil.example', `https://example.com/${'a'.repeat(3000)}`, '', undefined]) {
        assert.equal(externalUrl(url), undefined, String(url));
      }
    });
  });

  describe('detailsView', () => {
    it('shapes a real entry: category, trust factors, a runnable recipe with its secret input, versions with the latest marked', () => {
      const brave = named('io.github.brave/brave-search-mcp-server');
      const view = detailsView(details(brave), true);
      assert.deepEqual(view.category, { id: 'search', label: 'Search' });
      assert.equal(view.trust.score, brave.trust.score);
      assert.deepEqual(view.trust.factors.map((f) => f.reason), brave.trust.factors.map((f) => f.reason));
      assert.ok(view.aliases.includes('ai.smithery/brave'));
      const npm = view.recipes.find((r) => r.runnable && r.commandLine.startsWith('npx '));
      assert.ok(npm && npm.runnable, JSON.stringify(view.recipes));
      assert.match(npm.commandLine, /@brave\/brave-search-mcp-server@\d+\.\d+\.\d+/);
      assert.ok(npm.inputs.some((i) => /BRAVE_API_KEY/.test(i.id) && i.secret));
      assert.equal(view.versions.filter((v) => v.latest).length, 1);
      assert.equal(view.versions[0].latest, true, 'newest first');
      assert.equal(view.versionCount, brave.versions.length);
      assert.equal(view.repository?.url, 'https://github.com/brave/brave-search-mcp-server');
      assert.equal(view.canAdd, true);
      assert.equal(view.addBlocked, undefined);
    });

    it('offers no Add in an untrusted workspace, nor for an entry with nothing runnable, and says why', () => {
      const brave = named('io.github.brave/brave-search-mcp-server');
      const untrusted = detailsView(details(brave), false);
      assert.equal(untrusted.canAdd, false);
      assert.match(untrusted.addBlocked ?? '', /not trusted/);
      const nothing = detailsView({ ...details(brave), recipes: [] }, true);
      assert.equal(nothing.canAdd, false);
      assert.match(nothing.addBlocked ?? '', /No package or remote/);
    });

    it('keeps only http(s) links as links: hostile URLs become text, hostile text stays as given', () => {
      const brave = named('io.github.brave/brave-search-mcp-server');
      const hostile: CatalogEntry = {
        ...brave,
        description: HOSTILE_STRINGS.join('\n'),
        repository: { url: 'javascript:alert(document.domain)', source: 'github' },
        latest: { ...brave.latest!, websiteUrl: 'data:text/html,<script>alert(1)</script>' },
        sources: brave.sources.map((s) => ({ ...s, url: 'vscode:extension/evil.evil' })),
      };
      const view = detailsView(details(hostile), true);
      assert.deepEqual(view.repository, { text: 'javascript:alert(document.domain)' });
      assert.deepEqual(view.website, { text: 'data:text/html,<script>alert(1)</script>' });
      assert.ok(view.sources.every((s) => s.link && s.link.url === undefined));
      assert.equal(view.description, HOSTILE_STRINGS.join('\n'), 'shaped, not rewritten: the webview renders it as text');
    });

    it('shows tools from a directory listing, or from introspection with prompts and resources', () => {
      const brave = named('io.github.brave/brave-search-mcp-server');
      assert.equal(detailsView(details(brave), true).capabilities, undefined, 'none known in the official data');
      const listed = detailsView(details({ ...brave, tools: [{ name: 'brave_web_search', description: 'Web search' }] }), true);
      assert.deepEqual(listed.capabilities, { from: 'directory', tools: [{ name: 'brave_web_search', description: 'Web search' }], prompts: [], resources: [] });
      const capabilities = { tools: [{ name: 'a' }], prompts: [{ name: 'p' }], resources: [{ name: 'r' }], introspectedAt: '2025-10-01T00:00:00Z' };
      const introspected = detailsView(details({ ...brave, capabilities }), true);
      assert.deepEqual(introspected.capabilities, { from: 'introspection', introspectedAt: '2025-10-01T00:00:00Z', tools: [{ name: 'a' }], prompts: [{ name: 'p' }], resources: [{ name: 'r' }] });
    });
  });

  describe('parseDetailsRequest', () => {
    it('accepts the messages the panel sends', () => {
      for (const message of [{ type: 'ready' }, { type: 'addToWorkspace' }, { type: 'addToUserProfile' }, { type: 'introspect' }, { type: 'copy', text: 'npx -y x' }]) assert.deepEqual(parseDetailsRequest(message), message);
      assert.deepEqual(parseDetailsRequest({ type: 'openLink', url: 'https://example.com/a' }), { type: 'openLink', url: 'https://example.com/a' });
    });

    it('drops extra fields, and refuses unknown types, non-http links and oversized or non-text copies', () => {
      assert.deepEqual(parseDetailsRequest({ type: 'addToWorkspace', name: 'something-else', command: 'rm -rf' }), { type: 'addToWorkspace' });
      for (const message of [null, 'ready', 42, [], {}, { type: 'runCommand', command: 'x' }, { type: 'openLink', url: 'javascript:alert(1)' }, { type: 'openLink', url: 'command:workbench.action.terminal.new' }, { type: 'openLink' }, { type: 'copy', text: 'x'.repeat(20_000) }, { type: 'copy', text: { toString: 'x' } }, { type: '__proto__' }]) {
        assert.equal(parseDetailsRequest(message), undefined, JSON.stringify(message));
      }
    });
  });
});
