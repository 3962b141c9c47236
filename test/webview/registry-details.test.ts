/**
 * The registry details panel's page in real chromium, under the extension's CSP, shown the details `registry show`
 * gives for entries synced from replays of the official registry, GitHub and Glama (real recorded data, with one
 * entry deprecated and one published by a hostile registry).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { detailsView, type DetailsRequest, type DetailsUpdate } from '../../common/registry/details-messages';
import type { RegistryEntryDetails } from '../../common/registry/protocol';
import { Registry } from '../../sidecar/registry/registry';
import { readRegistrySettings } from '../../sidecar/registry/settings';
import { launchChromium } from '../support/chromium';
import { HOSTILE_STRINGS, loadOfficialItems, startGitHubSearch, startGlama, startOfficialRegistry, type ReplayServer } from '../support/registry-replay';
import { openWebviewApp, type WebviewApp } from '../support/webview-page';

const BRAVE = 'io.github.brave/brave-search-mcp-server';
const POSTGRES = 'ai.waystation/postgres';
const HOSTILE = 'io.github.evil-example/hostile-mcp';
const RESULTS = path.join(__dirname, '..', '..', 'test-results', 'webview');

/** The official data with the postgres server deprecated, and a server whose every text tries to become markup. */
function officialItems() {
  const items = loadOfficialItems();
  for (const item of items.filter((i) => i.server.name === POSTGRES)) {
    Object.assign(item._meta['io.modelcontextprotocol.registry/official'], { status: 'deprecated', statusMessage: 'Use the Postgres server of its vendor instead' });
  }
  const brave = items.find((i) => i.server.name === BRAVE && i._meta['io.modelcontextprotocol.registry/official'].isLatest)!;
  const hostile = structuredClone(brave);
  Object.assign(hostile.server, {
    name: HOSTILE,
    title: '<img src=x onerror="window.__pwned=1">',
    description: `${HOSTILE_STRINGS.join(' ')} <a href="javascript:window.__pwned=2">click me</a>`,
    websiteUrl: 'javascript:window.__pwned=3',
    repository: { url: 'javascript:window.__pwned=4', source: 'github' },
    // Its own package: the same one would make it Brave under another name (the catalog merges those).
    packages: (hostile.server.packages as Array<Record<string, unknown>>).map((p) => ({ ...p, identifier: '@evil-example/hostile-mcp' })),
    remotes: [],
  });
  return [...items, hostile];
}

describe('registry details webview', function () {
  this.timeout(120_000);
  let replays: ReplayServer[];
  let dir: string;
  let registry: Registry;
  let browser: Browser;
  let app: WebviewApp;
  let consoleErrors: string[];
  const shown: Record<string, RegistryEntryDetails> = {};

  before(async () => {
    replays = [await startOfficialRegistry({ items: officialItems() }), await startGitHubSearch({ perMinuteWithout: 1000 }), await startGlama()];
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-details-'));
    const sources = [{ name: 'official', url: replays[0].url }, { name: 'github', url: replays[1].url }, { name: 'glama', url: replays[2].url }];
    const settings = readRegistrySettings(dir, { OPENCONDUCTOR_REGISTRY_SOURCES: JSON.stringify(sources) });
    registry = await Registry.open({ dataDir: path.join(dir, '.openconductor'), workspaceFolder: dir, clientVersion: 'test', settings });
    const report = await registry.sync({});
    assert.ok(report.results.every((r) => r.ok), JSON.stringify(report.results));
    for (const name of [BRAVE, POSTGRES, HOSTILE]) shown[name] = await registry.show(name);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await registry?.close();
    await Promise.all(replays.map((r) => r.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    app = await openWebviewApp('registry-details', browser);
    consoleErrors = [];
    app.page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    app.page.on('pageerror', (e) => consoleErrors.push(e.message));
  });
  afterEach(async () => {
    await app.close();
  });

  const show = async (name: string, trusted = true) => {
    const update: DetailsUpdate = { type: 'show', view: detailsView(shown[name], trusted) };
    await app.send(update);
    await app.page.locator('h1').waitFor();
    return update.view;
  };
  const posted = async () => (await app.posted()) as DetailsRequest[];
  const postedCount = (n: number) => app.page.waitForFunction((count) => (globalThis as unknown as { __posted: unknown[] }).__posted.length >= count, n);
  const text = (selector: string) => app.page.locator(selector).allInnerTexts();

  it('asks for its view, then shows a real entry: category, trust and its factors, install command, sources, versions, links', async () => {
    await postedCount(1);
    assert.deepEqual(await posted(), [{ type: 'ready' }]);
    const view = await show(BRAVE);
    assert.equal(await app.page.locator('h1').innerText(), view.title ?? view.name);
    assert.deepEqual(await text('.name'), view.title ? [BRAVE] : [], 'the name under a title, not twice');
    assert.equal(await app.page.locator('vscode-badge.category').innerText(), 'Search');
    assert.equal(await app.page.locator('vscode-badge.trust').innerText(), `Trust ${shown[BRAVE].entry.trust.score}`);
    const factors = await text('.factors tr');
    assert.equal(factors.length, shown[BRAVE].entry.trust.factors.length);
    for (const factor of shown[BRAVE].entry.trust.factors) assert.ok(factors.some((row) => row.includes(factor.reason)), `${factor.reason} in ${factors.join(' | ')}`);
    assert.deepEqual((await text('.sources .source')).sort(), shown[BRAVE].entry.sources.map((s) => s.source).sort());
    assert.ok(shown[BRAVE].entry.sources.some((s) => s.source === 'github') && shown[BRAVE].entry.sources.some((s) => s.source === 'glama'));

    const command = await app.page.locator('.recipe .command code').first().innerText();
    assert.match(command, /^npx -y @brave\/brave-search-mcp-server@\d+\.\d+\.\d+$/);
    assert.match((await text('.recipe .input')).join('\n'), /BRAVE_API_KEY.*\(secret\)/);
    await app.page.locator('.recipe .command vscode-button.copy').first().click();
    const versions = await text('.versions li');
    assert.equal(versions.length, Math.min(view.versionCount, 30));
    assert.equal(await app.page.locator('.versions vscode-badge.latest').count(), 1);
    await app.page.locator('.links button.link', { hasText: 'Repository' }).click();
    await app.page.locator('vscode-button.add-workspace').click();
    await app.page.locator('vscode-button.add-profile').click();
    await app.page.locator('vscode-button.introspect').click();
    await postedCount(6);
    assert.deepEqual((await posted()).slice(1), [
      { type: 'copy', text: command },
      { type: 'openLink', url: 'https://github.com/brave/brave-search-mcp-server' },
      { type: 'addToWorkspace' },
      { type: 'addToUserProfile' },
      { type: 'introspect' },
    ]);

    // The components are live under the CSP: upgraded, with their shadow styles adopted.
    const styled = await app.page.locator('vscode-button.add-workspace').evaluate((e) => (e.shadowRoot?.adoptedStyleSheets.length ?? 0) > 0 && e.ownerDocument.defaultView!.getComputedStyle(e).display !== 'inline');
    assert.equal(styled, true);
    fs.mkdirSync(RESULTS, { recursive: true });
    await app.page.screenshot({ path: path.join(RESULTS, 'registry-details-brave.png'), fullPage: true });
    assert.deepEqual(await app.violations(), []);
    assert.deepEqual(consoleErrors, []);
  });

  it('keeps a hostile registry\'s markup and javascript: links inert text', async () => {
    const view = await show(HOSTILE);
    assert.equal(await app.page.locator('h1').innerText(), '<img src=x onerror="window.__pwned=1">');
    const description = await app.page.locator('p.description').innerText();
    assert.ok(description.includes('<a href="javascript:window.__pwned=2">click me</a>'), description);
    assert.ok(description.includes('<script>alert(document.cookie)</script>'), description);
    assert.equal(await app.page.locator('main img, main script, main a, main iframe').count(), 0, 'no element came from the text');
    // The javascript: website and repository are shown as text, not as links anyone can click.
    assert.deepEqual(view.website, { text: 'javascript:window.__pwned=3' });
    assert.deepEqual((await text('.links .unsafe-link')).sort(), ['Repository', 'Website']);
    assert.equal(await app.page.locator('.links button.link').count(), 0);
    await app.page.locator('.links .unsafe-link').first().click();
    assert.equal(await app.page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined);
    assert.deepEqual(await posted(), [{ type: 'ready' }], 'nothing was asked of the extension');
    fs.mkdirSync(RESULTS, { recursive: true });
    await app.page.screenshot({ path: path.join(RESULTS, 'registry-details-hostile.png'), fullPage: true });
    assert.deepEqual(await app.violations(), []);
    assert.deepEqual(consoleErrors, []);
  });

  it('warns of a deprecated entry with the registry\'s message, and offers no Add or Introspect in an untrusted workspace', async () => {
    await show(POSTGRES, false);
    assert.equal(await app.page.locator('[role=alert]').innerText(), 'Deprecated: Use the Postgres server of its vendor instead');
    assert.equal(await app.page.locator('vscode-badge.category').innerText(), 'Databases');
    assert.equal(await app.page.locator('.actions vscode-button').count(), 0);
    assert.equal(await app.page.locator('vscode-button.introspect').count(), 0, 'nothing starts a server from an untrusted workspace');
    assert.match(await app.page.locator('.add-blocked').innerText(), /not trusted/);
    assert.deepEqual(await app.violations(), []);
  });
});
