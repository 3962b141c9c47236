/**
 * The extension in a real VS Code: code-server 4.100.3 (VS Code 1.100.3 for the web) driven in chromium.
 * Needs code-server (scripts/setup-vscode-test.sh, run by the harness if missing) and a build (`npm run build`).
 * Screenshots and copies of the logs go to test-results/e2e/.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { copyWorkspace, poll, withVsCode } from '../support/vscode';

const VIEWS = ['Registry', 'Servers', 'Workflows', 'Runs'];

describe('e2e: the extension in VS Code (trusted workspace)', function () {
  this.timeout(180_000);
  const vscode = withVsCode(() => ({ workspace: copyWorkspace('examples'), trusted: true, name: 'trusted' }));

  it('opens the workspace folder in the workbench', async () => {
    const { page } = vscode();
    await vscode().openView('Explorer');
    const files = await poll(async () => {
      const items = await vscode().treeItems('examples');
      return items.includes('team-graph.workflow.yaml') ? items : undefined;
    }, 'the Explorer to list team-graph.workflow.yaml');
    assert.ok(files.includes('.vscode'), `Explorer rows: ${files.join(', ')}`);
    assert.match(await page.title(), /examples/);
    await vscode().screenshot('workbench-explorer');
  });

  it('shows the four OpenConductor views in its activity bar container', async () => {
    await vscode().openView('OpenConductor');
    const titles = await poll(async () => {
      const shown = await vscode().viewTitles();
      return VIEWS.every((v) => shown.some((s) => s.toLowerCase() === v.toLowerCase())) ? shown : undefined;
    }, `the views ${VIEWS.join(', ')}`);
    assert.deepEqual(
      titles.map((t) => t.toLowerCase()),
      VIEWS.map((v) => v.toLowerCase()),
    );
    await vscode().screenshot('openconductor-views');
  });

  it('lists the workspace\'s workflow files in the Workflows view (the extension runs in the extension host)', async () => {
    await vscode().openView('OpenConductor');
    const expected = ['conditional.workflow.yaml', 'fan-out.workflow.yaml', 'team-graph.workflow.yaml', 'team-onboarding.workflow.ts'];
    const rows = await poll(async () => {
      const items = await vscode().treeItems('Workflows');
      return expected.every((file) => items.includes(file)) ? items : undefined;
    }, `the Workflows view to list ${expected.join(', ')}`, 60_000);
    assert.deepEqual([...rows].sort(), expected);
    await vscode().screenshot('openconductor-workflows');
  });
  it('activates cleanly, starts its sidecar, and shows the registry sources and the servers of mcp.json and the workflows', async () => {
    await vscode().waitForLog(/connected to host pid \d+/, 60_000);
    await vscode().openView('OpenConductor');
    const sources = await poll(async () => {
      const items = await vscode().treeItems('Registry');
      return ['official', 'github', 'glama'].every((s) => items.includes(s)) ? items : undefined;
    }, 'the Registry view to list its sources');
    assert.deepEqual(sources.slice(0, 3), ['official', 'github', 'glama']);
    const servers = await poll(async () => {
      const items = await vscode().treeItems('Servers');
      return ['memory', 'everything', 'files'].every((s) => items.includes(s)) ? items : undefined;
    }, 'the Servers view to list memory, everything (.vscode/mcp.json) and files (team-graph.workflow.yaml)');
    assert.deepEqual([...servers].sort(), ['everything', 'files', 'memory']);
    const host = vscode().logFiles().extensionHost;
    assert.ok(host, 'the extension host log exists');
    assert.doesNotMatch(fs.readFileSync(host, 'utf8'), /Activating extension openconductor\.openconductor failed/);
  });

  it('runs a workflow from the command palette against real MCP servers and shows it completed in the Runs view', async () => {
    const { page } = vscode();
    await vscode().runCommand('OpenConductor: Run Workflow…');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 30_000 });
    await input.fill('team-graph');
    await poll(async () => ((await page.locator('.quick-input-widget .monaco-list-row.focused').getAttribute('aria-label', { timeout: 1000 })) ?? '').includes('team-graph.workflow.yaml'), 'the workflow picker to offer team-graph.workflow.yaml');
    await page.keyboard.press('Enter');
    await vscode().waitForLog(/started run \S+ of team-graph\.workflow\.yaml/, 30_000);
    await vscode().openView('OpenConductor');
    const row = await poll(async () => {
      const pane = await vscode().viewPane('Runs');
      const text = await pane.locator('.monaco-list-row', { hasText: 'team-graph' }).first().innerText({ timeout: 1000 });
      return /completed/.test(text) ? text : undefined;
    }, 'the team-graph run to show completed in the Runs view', 120_000);
    assert.match(row, /team-graph/);
    await vscode().screenshot('run-completed');
  });
});

describe('e2e: the extension in VS Code (restricted mode)', function () {
  this.timeout(180_000);
  const vscode = withVsCode(() => ({ workspace: copyWorkspace('examples'), trusted: false, name: 'untrusted' }));

  it('tells in the Runs view that the workspace is not trusted', async () => {
    await vscode().openView('OpenConductor');
    const text = await poll(async () => {
      const welcome = await vscode().welcomeText('Runs');
      return welcome.includes('This workspace is not trusted') ? welcome : undefined;
    }, 'the untrusted welcome text in the Runs view');
    assert.match(text, /runs no workflow and starts no server/);
    // Browsing still works: a restricted sidecar serves the registry.
    await vscode().waitForLog(/restricted \(an untrusted workspace\)/, 60_000);
    await poll(async () => {
      const items = await vscode().treeItems('Registry');
      return ['official', 'github', 'glama'].every((s) => items.includes(s)) || undefined;
    }, 'the Registry view to list its sources');
    await vscode().screenshot('restricted-mode-runs');
  });
});
