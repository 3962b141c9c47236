/**
 * The runs dashboard's page in real chromium, under the extension's CSP, fed the events of real runs (an in-process
 * host over real MCP servers) exactly as the extension forwards them.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import type { DashboardMessage } from '../../common/dashboard';
import type { Host } from '../../sidecar/host/host';
import { launchChromium } from '../support/chromium';
import { TestWorkspace, TWO_ECHOES } from '../support/host';
import { openWebviewApp, RESULTS_DIR, type WebviewApp } from '../support/webview-page';
import { until } from '../support/wait';

describe('runs dashboard webview', function () {
  this.timeout(90_000);
  let browser: Browser;
  let ws: TestWorkspace;
  let host: Host;
  let app: WebviewApp;
  let stop: () => void;

  before(async () => (browser = await launchChromium()));
  after(async () => browser.close());
  beforeEach(async () => {
    ws = new TestWorkspace();
    host = await ws.open();
    app = await openWebviewApp('dashboard', browser);
    const send = (message: DashboardMessage) => void app.send(message);
    send({ type: 'snapshot', runs: [], details: [], trusted: true, sidecar: 'ready', lastEvent: 0 });
    stop = host.store.subscribe((event) => send({ type: 'events', events: [event] }));
  });
  afterEach(async () => {
    stop();
    await app.close();
    await host.close();
    ws.remove();
  });

  const status = (selector: string) => app.page.locator(selector).first().getAttribute('data-status');

  it('follows a run live: its gate waits, the approve button asks the extension, the steps complete', async () => {
    const file = ws.workflow(
      'gated',
      `steps:
  - id: prepare
    server: everything
    tool: echo
    with: { message: one }
  - id: gate
    needs: prepare
    approval: { message: ship it? }
  - id: finish
    needs: gate
    server: everything
    tool: echo
    with: { message: two }
`,
    );
    const ready = await app.posted();
    assert.deepEqual(ready[0], { type: 'ready' });

    const { runId } = await host.start({ file });
    const gate = app.page.locator(`[data-run="${runId}"] [data-step="gate"]`);
    await gate.locator('[data-action="approve"]').waitFor();
    await app.page.screenshot({ path: path.join(RESULTS_DIR, 'dashboard-waiting.png') });
    assert.equal(await gate.getAttribute('data-status'), 'waiting');
    assert.match((await gate.textContent()) ?? '', /waiting for approval: ship it\?/);
    assert.equal(await status(`[data-run="${runId}"] [data-step="prepare"]`), 'completed');
    assert.match((await app.page.locator('[data-count="approvals"]').textContent()) ?? '', /1 waiting for approval/);

    await gate.locator('[data-action="approve"]').click();
    assert.deepEqual((await app.posted()).at(-1), { type: 'approve', runId, step: 'gate' });
    // What the extension does with that message: the sidecar's decide.
    await host.decide(runId, 'gate', true);
    await app.page.locator(`[data-run="${runId}"] .run-row[data-status="completed"]`).waitFor();

    const truth = host.get(runId);
    for (const step of truth.steps) assert.equal(await status(`[data-run="${runId}"] [data-step="${step.id}"]`), step.status, step.id);
    assert.match((await app.page.locator(`[data-run="${runId}"] .run-row`).textContent()) ?? '', /3\/3/);
    assert.deepEqual(await app.violations(), []);
    await app.page.screenshot({ path: path.join(RESULTS_DIR, 'dashboard-completed.png') });

    // The keyboard: arrows move between the run and its steps, Enter closes the run.
    const runRow = app.page.locator(`[data-run="${runId}"] .run-row`);
    await runRow.focus();
    await app.page.keyboard.press('ArrowDown');
    assert.equal(await app.page.evaluate("document.activeElement?.getAttribute('data-step')"), 'prepare');
    await app.page.keyboard.press('End');
    assert.equal(await app.page.evaluate("document.activeElement?.getAttribute('data-step')"), 'finish');
    await app.page.keyboard.press('Home');
    await app.page.keyboard.press('Enter');
    assert.equal(await runRow.getAttribute('aria-expanded'), 'false');
    assert.equal(await app.page.locator(`[data-run="${runId}"] [data-step]`).count(), 0);
  });

  it('shows hostile workflow and error text as text, and filters runs', async () => {
    const hostile = '<img src=x onerror="document.title=\'pwned\'">';
    const file = ws.workflow(
      'hostile',
      `steps:
  - id: call
    server: everything
    tool: "${hostile.replace(/"/g, '\\"')}"
`,
    );
    const { runId } = await host.start({ file });
    await until(() => host.get(runId).status !== 'running', 'the run to fail', 30_000);
    const row = app.page.locator(`[data-run="${runId}"] .run-row[data-status="failed"]`);
    await row.waitFor();
    assert.match((await app.page.locator(`[data-run="${runId}"]`).textContent()) ?? '', /<img src=x onerror=/);
    assert.equal(await app.page.locator('img').count(), 0, 'no element was made from the text');
    assert.notEqual(await app.page.title(), 'pwned');
    assert.match((await app.page.locator('[data-count="failed"]').textContent()) ?? '', /1 failed/);

    await app.page.getByLabel('Filter runs').fill('no-such-run');
    await app.page.getByText('No run matches the filter.').waitFor();
    await app.page.getByLabel('Filter runs').fill('hostile');
    await row.waitFor();
    assert.deepEqual(await app.violations(), []);
  });

  it('asks for the steps of a finished run when it is opened, and renders the details it gets', async () => {
    const file = ws.workflow('quick', `steps:\n  - id: only\n    server: everything\n    tool: echo\n    with: { message: hi }\n`);
    const { runId } = await host.start({ file });
    await until(() => host.get(runId).status === 'completed', 'the run to complete', 30_000);
    // A page opened afterwards gets the list only (no details), as after a reload.
    const fresh = await openWebviewApp('dashboard', browser);
    try {
      const summary = host.list({ limit: 10 });
      await fresh.send({ type: 'snapshot', runs: summary, details: [], trusted: false, sidecar: 'ready', lastEvent: host.store.lastNotifiedSeq } satisfies DashboardMessage);
      const runRow = fresh.page.locator(`[data-run="${runId}"] .run-row`);
      await runRow.click();
      assert.deepEqual((await fresh.posted()).at(-1), { type: 'details', runId });
      await fresh.send({ type: 'run', run: host.get(runId) } satisfies DashboardMessage);
      assert.equal(await fresh.page.locator(`[data-run="${runId}"] [data-step="only"]`).getAttribute('data-status'), 'completed');
      // Untrusted: browsing only, no re-run or run buttons.
      assert.equal(await fresh.page.locator('[data-action="rerun"]').count(), 0);
      assert.equal(await fresh.page.getByRole('button', { name: 'Run Workflow…' }).count(), 0);
    } finally {
      await fresh.close();
    }
  });

  describe('reading the events straight from the sidecar', () => {
    const chain = TWO_ECHOES;
    /** A page given the stream as the extension gives it (its origin in the CSP), and no relayed events. */
    const directPage = async (lastEvent: number) => {
      const { url } = await host.eventStream();
      const page = await openWebviewApp('dashboard', browser, [new URL(url).origin]);
      await page.send({ type: 'snapshot', runs: [], details: [], trusted: true, sidecar: 'ready', lastEvent, stream: url } satisfies DashboardMessage);
      return page;
    };

    it('follows a run with no event relayed by the extension, under a CSP that allows the stream\'s origin only', async () => {
      const page = await directPage(host.store.lastNotifiedSeq);
      try {
        await page.page.locator('.dashboard[data-stream="direct"]').waitFor();
        const { runId } = await host.start({ file: ws.workflow('direct', chain) });
        await page.page.locator(`[data-run="${runId}"] .run-row[data-status="completed"]`).waitFor();
        for (const step of host.get(runId).steps) assert.equal(await page.page.locator(`[data-run="${runId}"] [data-step="${step.id}"]`).getAttribute('data-status'), step.status);
        assert.deepEqual(await page.violations(), []);
      } finally {
        await page.close();
      }
    });

    it('folds nothing it read directly until the relayed events reach where its connection began; then each event once', async () => {
      // Events the page has not had from the extension yet: the stream's hello names the last of them.
      const { runId: before } = await host.start({ file: ws.workflow('before', chain) });
      await until(() => host.get(before).status === 'completed', 'the first run to complete', 30_000);
      const earlier = host.history(before);
      const page = await directPage(0);
      try {
        const { runId } = await host.start({ file: ws.workflow('after', chain) });
        await until(() => host.get(runId).status === 'completed', 'the second run to complete', 30_000);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(await page.page.locator(`[data-run="${runId}"]`).count(), 0, 'direct events folded before the relayed ones caught up');
        assert.equal(await page.page.locator('.dashboard').getAttribute('data-stream'), 'relayed');
        // The extension relays what it had not: the first run's events (the gate opens at the last), then the second's.
        await page.send({ type: 'events', events: earlier } satisfies DashboardMessage);
        const later = host.history(runId);
        await page.send({ type: 'events', events: later.slice(0, 2) } satisfies DashboardMessage);
        await page.page.locator(`[data-run="${before}"] .run-row[data-status="completed"]`).waitFor();
        // The rest of the second run comes through both: folded once each, it ends as the host says.
        await page.send({ type: 'events', events: later.slice(2) } satisfies DashboardMessage);
        await page.page.locator(`[data-run="${runId}"] .run-row[data-status="completed"]`).waitFor();
        assert.match((await page.page.locator(`[data-run="${runId}"] .run-row`).textContent()) ?? '', /2\/2/);
        // From now on the direct events alone keep the page current.
        await page.page.locator('.dashboard[data-stream="direct"]').waitFor();
        const { runId: third } = await host.start({ file: ws.workflow('third', chain) });
        await page.page.locator(`[data-run="${third}"] .run-row[data-status="completed"]`).waitFor();
        assert.deepEqual(await page.violations(), []);
      } finally {
        await page.close();
      }
    });
  });
});
