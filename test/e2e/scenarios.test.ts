/**
 * User flows through the extension in a real VS Code (code-server, see test/support/vscode.ts): adding a server found
 * in the registry to .vscode/mcp.json, approving a step that waits, and a run that outlives a killed sidecar.
 * Screenshots and copies of the logs go to test-results/e2e/.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseJsonc, type ParseError } from 'jsonc-parser';
import type { RunEvent } from '../../common/events';
import { loadOfficialItems, startOfficialRegistry, type OfficialRegistryReplay } from '../support/registry-replay';
import { copyWorkspace, poll, ROOT, withVsCode, type TreeRow, type VsCode } from '../support/vscode';

const STATUS_ITEM = 'openconductor.openconductor.openconductor.status';
const CLI = path.join(ROOT, 'dist', 'openconductor.js');

/** The CLI on the workspace copy (asynchronous: an in-process replay must keep answering meanwhile). */
async function cli<T>(workspace: string, args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...args, '--json', '--workspace', workspace], { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 * 2 ** 20 });
  return JSON.parse(stdout) as T;
}

/** Runs a workflow file of the workspace through "OpenConductor: Run Workflow…"; returns the id of the run it started (from the log). */
async function runFromPalette(vscode: VsCode, file: string): Promise<string> {
  const started = () => [...vscode.extensionLog().matchAll(new RegExp(`started run (\\S+) of ${file.replace(/\./g, '\\.')}`, 'g'))].map((m) => m[1]);
  const before = started().length;
  await vscode.runCommand('OpenConductor: Run Workflow…');
  await vscode.quickPick(file, file.replace(/\.workflow\.(ya?ml|ts)$/, ''));
  return poll(async () => started()[before], `a new run of ${file} in the extension's log`, 30_000);
}

/** The Runs view's row of a workflow's run and its step rows (expanded), once `ready` accepts them. */
async function runRows(vscode: VsCode, workflow: string, ready: (run: TreeRow, steps: Map<string, TreeRow>) => boolean, what: string, ms = 60_000): Promise<{ run: TreeRow; steps: Map<string, TreeRow> }> {
  return poll(async () => {
    const rows = await vscode.treeRows('Runs');
    const index = rows.findIndex((r) => r.level === 1 && r.label === workflow);
    if (index < 0) return undefined;
    const run = rows[index];
    if (run.expanded === false) await vscode.expandRow('Runs', workflow);
    const steps = new Map<string, TreeRow>();
    for (const row of rows.slice(index + 1)) {
      if (row.level === 1) break;
      steps.set(row.label, row);
    }
    return ready(run, steps) ? { run, steps } : undefined;
  }, what, ms);
}

const describeRow = (r: TreeRow | undefined) => (r ? `${r.label} [${r.description}] (${r.icon})` : 'none');

// ---------------------------------------------------------------------------------------------------------------------

describe('e2e scenario: add a server from the registry to .vscode/mcp.json', function () {
  this.timeout(240_000);
  let official: OfficialRegistryReplay | undefined;
  let workspace = '';
  const vscode = withVsCode(async () => {
    official = await startOfficialRegistry();
    workspace = copyWorkspace('examples');
    const sources = [{ name: 'official', url: official.url }, { name: 'github', enabled: false }, { name: 'glama', enabled: false }];
    return { workspace, name: 'registry', env: { OPENCONDUCTOR_REGISTRY_SOURCES: JSON.stringify(sources) } };
  });
  after(async () => {
    await official?.close();
  });

  it('syncs the (replayed) official registry, finds Brave by search and adds it with its key as a password input', async () => {
    const original = fs.readFileSync(path.join(ROOT, 'examples', '.vscode', 'mcp.json'), 'utf8');
    const originalServers = (parseJsonc(original) as { servers: Record<string, unknown> }).servers;
    await vscode().waitForLog(/connected to host pid \d+/, 60_000);
    await vscode().openView('OpenConductor');

    // The sidecar syncs once on its own at start; then the registry publishes a server and the user syncs again.
    await vscode().waitForLog(/registry: official synced \(full, 789 records\)/, 60_000);
    assert.ok(official!.requests.length > 0, 'the sidecar synced from the replay, not from the network');
    const brave = loadOfficialItems().find((i) => i.server.name === 'io.github.brave/brave-search-mcp-server')!;
    official!.publish({ ...brave.server, name: 'io.github.example/e2e-weather', version: '1.0.0', description: 'Weather forecasts for e2e tests' });
    const t0 = Date.now();
    await vscode().runCommand('OpenConductor: Sync Registries');
    const summary = await vscode().waitForNotification(/servers in the catalog\./, 90_000);
    const synced = Date.now() - t0;
    const count = Number(/(\d+) servers in the catalog/.exec(summary)?.[1]);
    assert.ok(count > 400, `the catalog holds the replayed registry's servers: ${summary}`);
    assert.doesNotMatch(summary, /Failed/);
    // The Registry view follows the sync: the new version is counted (789 + 1). Checked at the end, so that a stale
    // view does not hide what the rest of the flow does.
    const registryRow = await poll(async () => {
      const row = (await vscode().treeRows('Registry')).find((r) => r.label === 'official');
      return row?.description === '790 · ok' ? row : undefined;
    }, 'the Registry view to show "official 790 · ok" after the sync', 15_000).catch(async () => (await vscode().treeRows('Registry')).find((r) => r.label === 'official'));
    await vscode().screenshot('registry-synced');

    await vscode().runCommand('OpenConductor: Search Registry…');
    const { page } = vscode();
    await page.locator('.quick-input-widget .quick-input-box input').fill('brave');
    const offered = await poll(async () => {
      const labels = await page.locator('.quick-input-widget .monaco-list-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label') ?? ''));
      // The picker first lists the whole catalog by trust; the answer to "brave" replaces it.
      return labels[0]?.includes('brave-search-mcp-server') ? labels : undefined;
    }, 'the search for "brave" to rank the Brave server first');
    assert.ok(offered.length >= 1, offered.join(' | '));
    await vscode().screenshot('registry-search-brave');
    await vscode().quickPick('io.github.brave/brave-search-mcp-server');
    await vscode().quickPick('Add to Workspace');
    const notice = await vscode().waitForNotification(/Added '.*' to \.vscode\/mcp\.json/);
    assert.match(notice, /Added 'brave-search-mcp-server' to \.vscode\/mcp\.json; VS Code asks for .*BRAVE_API_KEY/);

    const text = fs.readFileSync(path.join(workspace, '.vscode', 'mcp.json'), 'utf8');
    const errors: ParseError[] = [];
    const json = parseJsonc(text, errors) as { servers: Record<string, { command?: string; args?: string[]; env?: Record<string, string> }>; inputs?: Array<{ id: string; type: string; password?: boolean; description?: string }> };
    assert.deepEqual(errors, [], text);
    // What was there is kept as it was, comments included.
    assert.deepEqual(json.servers.memory, originalServers.memory);
    assert.deepEqual(json.servers.everything, originalServers.everything);
    for (const comment of original.match(/\/\/[^\n]*/g) ?? []) assert.ok(text.includes(comment), `the comment "${comment}" is kept:\n${text}`);
    // The new server: its package, and its key as an ${input:…} that VS Code asks for (hidden), never a value.
    const added = json.servers['brave-search-mcp-server'];
    assert.ok(added, `a brave-search-mcp-server entry:\n${text}`);
    assert.equal(added.command, 'npx');
    assert.match(added.args?.join(' ') ?? '', /@brave\/brave-search-mcp-server@\d+\.\d+\.\d+/);
    const reference = /^\$\{input:([^}]*BRAVE_API_KEY)\}$/.exec(added.env?.BRAVE_API_KEY ?? '');
    assert.ok(reference, `BRAVE_API_KEY is an input reference: ${JSON.stringify(added.env)}`);
    assert.deepEqual(Object.values(added.env ?? {}).filter((v) => !/^\$\{input:[^}]+\}$/.test(v)), [], 'no literal value in env');
    const input = json.inputs?.find((i) => i.id === reference[1]);
    assert.ok(input, `an inputs entry with id ${reference[1]}: ${JSON.stringify(json.inputs)}`);
    assert.equal(input.type, 'promptString');
    assert.equal(input.password, true);
    // The sidecar reads the new file: the Servers view lists it beside the others.
    const servers = await poll(async () => {
      const items = await vscode().treeItems('Servers');
      return items.includes('brave-search-mcp-server') ? items : undefined;
    }, 'the Servers view to list brave-search-mcp-server');
    for (const name of ['memory', 'everything']) assert.ok(servers.includes(name), `the Servers view still lists ${name}: ${servers.join(', ')}`);
    await vscode().screenshot('registry-added-brave');
    process.stderr.write(`[scenario] registry sync from the palette: ${synced} ms, ${count} servers\n`);
    assert.equal(registryRow?.description, '790 · ok', `after "${summary}" the Registry view's official row shows ${describeRow(registryRow)}`);
  });

  it('introspects a catalog server from its details panel: asks for its secret (hidden), starts it for real and lists its tools in the panel', async () => {
    // A server published to the replayed registry whose package is the real server-everything, needing a secret.
    const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/package.json'), 'utf8')) as { version: string }).version;
    const secret = 'e2e-secret-value-0417';
    const listed = async () => Number(/^(\d+)/.exec((await vscode().treeRows('Registry')).find((r) => r.label === 'official')?.description ?? '')?.[1]);
    const before = await listed();
    official!.publish({
      $schema: 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json',
      name: 'io.github.example/e2e-everything',
      description: 'Exercises every feature of the MCP protocol (e2e)',
      version,
      packages: [{ registryType: 'npm', identifier: '@modelcontextprotocol/server-everything', version, transport: { type: 'stdio' }, environmentVariables: [{ name: 'E2E_API_KEY', description: 'An API key for the e2e test', isRequired: true, isSecret: true }] }],
    });
    await vscode().runCommand('OpenConductor: Sync Registries');
    // The Registry view counts it once the sync is done (a toast of the earlier sync may still be on screen).
    await poll(async () => (await listed()) === before + 1 || undefined, `the Registry view to count ${before + 1} official records`, 90_000);
    await vscode().runCommand('OpenConductor: Search Registry…');
    const { page } = vscode();
    await page.locator('.quick-input-widget .quick-input-box input').fill('e2e-everything');
    await poll(async () => ((await page.locator('.quick-input-widget .monaco-list-row').first().getAttribute('aria-label')) ?? '').includes('e2e-everything') || undefined, 'the search to offer the published server');
    await vscode().quickPick('io.github.example/e2e-everything');
    await vscode().quickPick('Show Details');
    const frame = await vscode().webviewFrame('h1:has-text("io.github.example/e2e-everything")');
    assert.match((await frame.locator('.section-capabilities').textContent()) ?? '', /Tools are not known yet/);
    await frame.locator('vscode-button.introspect').click();
    // The secret is asked for in a password box, used for this start only.
    const box = page.locator('.quick-input-widget .quick-input-box input');
    await box.waitFor({ state: 'visible' });
    assert.equal(await box.getAttribute('type'), 'password');
    assert.match(await vscode().inputBox(secret), /An API key for the e2e test/);
    const notice = await vscode().waitForNotification(/io\.github\.example\/e2e-everything: \d+ tools, \d+ prompts, \d+ resources\./, 150_000);
    const tools = Number(/(\d+) tools/.exec(notice)?.[1]);
    assert.ok(tools >= 5, notice);
    // The open panel shows them: the tools the real server listed, and the button now offers to introspect again.
    await frame.locator('.section-capabilities h3', { hasText: `Tools (${tools})` }).waitFor();
    assert.match((await frame.locator('.section-capabilities').textContent()) ?? '', /\becho\b/);
    assert.equal((await frame.locator('vscode-button.introspect').innerText()).trim(), 'Introspect Again');
    await vscode().screenshot('registry-introspected');
    // The secret went to the server only: not into the log, the workspace or the catalog.
    assert.doesNotMatch(vscode().extensionLog(), new RegExp(secret));
    assert.doesNotMatch(fs.readFileSync(path.join(workspace, '.vscode', 'mcp.json'), 'utf8'), new RegExp(secret));
    const dataDir = path.join(workspace, '.openconductor');
    for (const file of fs.readdirSync(dataDir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile())) {
      assert.ok(!fs.readFileSync(path.join(file.parentPath, file.name)).includes(secret), `${file.name} holds the secret`);
    }
    await vscode().runCommand('View: Close All Editors');
  });

  it('lists the catalog by category, opens an entry\'s details panel from there, and adds it to the workspace and the user profile from the panel', async () => {
    const { page } = vscode();
    await vscode().openView('OpenConductor');
    // Room for the Registry's rows: the tree renders only the rows on screen.
    for (const title of ['Servers', 'Workflows', 'Runs']) {
      const header = page.locator('.part.sidebar .pane-header', { hasText: title }).first();
      if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
    }
    await vscode().expandRow('Registry', 'official');
    const categories = await poll(async () => {
      const rows = (await vscode().treeRows('Registry')).filter((r) => r.level === 2);
      return rows.length > 5 ? rows : undefined;
    }, 'the categories of the official source');
    const databases = categories.find((r) => r.label === 'Databases');
    assert.ok(databases && Number(databases.description) >= 10, categories.map(describeRow).join(' | '));
    assert.equal(databases.icon, 'codicon-database');
    assert.equal(categories.at(-1)?.label, 'Other', 'Other comes last');
    const counts = categories.slice(0, -1).map((r) => Number(r.description));
    assert.deepEqual(counts, [...counts].sort((a, b) => b - a), 'largest first');
    await vscode().expandRow('Registry', 'Databases');
    const entries = await poll(async () => {
      const rows = await vscode().treeRows('Registry');
      const at = rows.findIndex((r) => r.label === 'Databases');
      const under = rows.slice(at + 1).filter((r) => r.level === 3);
      return under.length >= 5 ? under : undefined;
    }, 'the database servers');
    const trust = entries.map((r) => Number(/^(\d+)/.exec(r.description)?.[1]));
    assert.deepEqual(trust, [...trust].sort((a, b) => b - a), `by trust: ${entries.map(describeRow).join(' | ')}`);
    await vscode().screenshot('registry-categories');

    const pane = await vscode().viewPane('Registry');
    await pane.locator('.monaco-list-row', { hasText: 'io.github.spences10/mcp-sqlite-tools' }).first().click();
    const frame = await vscode().webviewFrame('vscode-badge.category');
    assert.equal(await frame.locator('h1').innerText(), 'io.github.spences10/mcp-sqlite-tools');
    assert.equal(await frame.locator('vscode-badge.category').innerText(), 'Databases');
    assert.match(await frame.locator('vscode-badge.trust').innerText(), /^Trust \d+$/);
    assert.match(await frame.locator('.recipe .command code').first().innerText(), /^npx -y mcp-sqlite-tools@\d+\.\d+\.\d+$/);
    assert.ok((await frame.locator('.factors tr').count()) >= 2, 'trust factors');
    await vscode().screenshot('registry-details-panel');
    await frame.locator('vscode-button.add-workspace').click();
    await vscode().waitForNotification(/Added 'mcp-sqlite-tools' to \.vscode\/mcp\.json\./);
    const json = parseJsonc(fs.readFileSync(path.join(workspace, '.vscode', 'mcp.json'), 'utf8')) as { servers: Record<string, { command?: string; args?: string[] }> };
    assert.equal(json.servers['mcp-sqlite-tools']?.command, 'npx');
    assert.match(json.servers['mcp-sqlite-tools']?.args?.join(' ') ?? '', /^-y mcp-sqlite-tools@\d+\.\d+\.\d+$/);

    // A second entry gets a second panel; showing the first again reveals its panel: one tab per entry.
    await pane.locator('.monaco-list-row', { hasText: 'com.gibsonai/mcp' }).first().click();
    await vscode().webviewFrame('h1:has-text("com.gibsonai/mcp")');
    await pane.locator('.monaco-list-row', { hasText: 'io.github.spences10/mcp-sqlite-tools' }).first().click();
    const tabs = page.locator('.tabs-container .tab');
    await poll(async () => (await tabs.filter({ hasText: 'mcp-sqlite-tools' }).getAttribute('aria-selected')) === 'true', 'the first panel to be shown again');
    assert.deepEqual((await tabs.allInnerTexts()).map((t) => t.trim()).sort(), ['com.gibsonai/mcp', 'io.github.spences10/mcp-sqlite-tools']);

    // Add to User Profile hands the server to VS Code's own MCP install as its `<scheme>:mcp/install?{json}` link. The
    // desktop app installs it from there; code-server (a browser tab) hands its own scheme to the operating system and
    // says so in a modal dialog (which stays: this is the scenario's last step).
    await pane.locator('.monaco-list-row', { hasText: 'com.gibsonai/mcp' }).first().click();
    const gibson = await vscode().webviewFrame('h1:has-text("com.gibsonai/mcp")');
    await gibson.locator('vscode-button.add-profile').click();
    const line = await vscode().waitForLog(/handed mcp \(.*\) to VS Code's MCP install: /);
    const link = /MCP install: (\S+):mcp\/install\?(\S+)$/.exec(line);
    assert.ok(link, line);
    assert.deepEqual(JSON.parse(decodeURIComponent(link[2])), { name: 'mcp', type: 'http', url: 'https://mcp.gibsonai.com/', headers: {} });
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible' });
    assert.match(await dialog.innerText(), /We launched code-server on your computer/);
    await vscode().screenshot('registry-user-profile');
  });
});

// ---------------------------------------------------------------------------------------------------------------------

const APPROVAL_WORKFLOW = `# A decision before a write: the approver's comment is recorded in the memory graph.
name: approve-then-remember
steps:
  - id: review
    approval:
      message: Record the decision in the memory graph?
  - id: remember
    server: memory
    tool: create_entities
    with:
      entities:
        - name: e2e-decision
          entityType: decision
          observations: ["\${{ steps.review.output.comment }}"]
`;

const TIMER_WORKFLOW = `# Two calls around a durable timer: the run must survive its host dying during the wait.
name: survive-restart
steps:
  - id: first
    server: everything
    tool: echo
    with: { message: before the pause }
  - id: pause
    needs: first
    wait: 8s
  - id: second
    needs: pause
    server: everything
    tool: echo
    with: { message: after the pause }
`;

describe('e2e scenarios: runs that wait (approval, a killed sidecar)', function () {
  this.timeout(240_000);
  let workspace = '';
  const vscode = withVsCode(() => {
    workspace = copyWorkspace('examples');
    fs.writeFileSync(path.join(workspace, 'approve-then-remember.workflow.yaml'), APPROVAL_WORKFLOW);
    fs.writeFileSync(path.join(workspace, 'survive-restart.workflow.yaml'), TIMER_WORKFLOW);
    return { workspace, name: 'waiting-runs' };
  });

  it('approves a pending step from the palette with a comment, and the run completes with it', async () => {
    await vscode().waitForLog(/connected to host pid \d+/, 60_000);
    await vscode().openView('OpenConductor');
    const runId = await runFromPalette(vscode(), 'approve-then-remember.workflow.yaml');

    const waiting = await runRows(vscode(), 'approve-then-remember', (_run, steps) => steps.get('review')?.description === 'waiting for approval', 'the review step to wait for approval');
    assert.match(waiting.run.description, /^running/);
    assert.match(waiting.steps.get('review')!.icon, /codicon-watch/);
    assert.equal(waiting.steps.get('remember')?.description, 'pending');
    const bell = await poll(async () => {
      const label = await vscode().statusBarItem(STATUS_ITEM);
      return /bell-dot\s+1\b/.test(label) ? label : undefined;
    }, 'the status bar to show one approval waiting');
    assert.match(bell, /1 approval\(s\) waiting/);
    await vscode().screenshot('approval-waiting');

    await vscode().runCommand('OpenConductor: Approve Pending Step…');
    const picked = await vscode().quickPick(/review/);
    assert.match(picked, new RegExp(`run ${runId}`));
    const prompt = await vscode().inputBox('approved from the e2e test');
    assert.match(prompt, /Approve review/);
    await vscode().waitForNotification(/Approved review/);

    const done = await runRows(vscode(), 'approve-then-remember', (run, steps) => /^completed/.test(run.description) && steps.get('remember')?.description.startsWith('completed') === true, 'the run to show completed', 60_000);
    assert.match(done.run.icon, /codicon-pass/);
    assert.match(done.steps.get('review')!.description, /^completed/);
    const status = await poll(async () => {
      const label = await vscode().statusBarItem(STATUS_ITEM);
      return /0 approval\(s\) waiting/.test(label) ? label : undefined;
    }, 'the status bar to drop the approval');
    assert.doesNotMatch(status, /bell-dot/);
    // The decision reached the run: the approval's output carries the comment, and the memory server got it.
    const details = await cli<{ status: string; steps: Array<{ id: string; status: string; output?: unknown }> }>(workspace, ['runs', 'show', runId]);
    assert.equal(details.status, 'completed');
    assert.deepEqual(details.steps.find((s) => s.id === 'review')?.output, { approved: true, comment: 'approved from the e2e test', by: 'user' });
    assert.match(JSON.stringify(details.steps.find((s) => s.id === 'remember')?.output), /approved from the e2e test/);
    await vscode().screenshot('approval-completed');
  });

  it('follows a run live in the Runs Dashboard (a webview in the panel) and rejects its approval from the row', async () => {
    await vscode().waitForLog(/connected to host pid \d+/, 60_000);
    await vscode().runCommand('OpenConductor: Show Runs Dashboard');
    // The page reads the events straight from the sidecar, at the address VS Code gives for its port (here code-server's
    // port proxy), its CSP allowing that one origin.
    const frame = await vscode().webviewFrame('.dashboard[data-stream="direct"]', 60_000);
    const runId = await runFromPalette(vscode(), 'approve-then-remember.workflow.yaml');
    const review = frame.locator(`[data-run="${runId}"] [data-step="review"]`);
    await review.locator('[data-action="reject"]').waitFor({ timeout: 60_000 });
    assert.equal(await review.getAttribute('data-status'), 'waiting');
    assert.match(await frame.locator('[data-count="approvals"]').innerText(), /1 waiting for approval/);
    await vscode().screenshot('dashboard-waiting');

    await review.locator('[data-action="reject"]').click();
    assert.match(await vscode().inputBox('not today'), /Reject review/);
    await frame.locator(`[data-run="${runId}"] .run-row[data-status="failed"]`).waitFor({ timeout: 60_000 });
    assert.match(await frame.locator(`[data-run="${runId}"] .run-row`).innerText(), /Rejected/);
    const details = await cli<{ status: string; error?: { type: string } }>(workspace, ['runs', 'show', runId]);
    assert.equal(details.status, 'failed');
    assert.equal(details.error?.type, 'Rejected');
    await vscode().screenshot('dashboard-rejected');
  });

  it('finishes a run after its sidecar is killed during a timer: the extension restarts it and the run resumes', async () => {
    await vscode().openView('OpenConductor');
    const runId = await runFromPalette(vscode(), 'survive-restart.workflow.yaml');
    const startLines = vscode().extensionLog().match(/started the sidecar \(pid \d+\)/g) ?? [];
    const pid = Number(/\d+/.exec(startLines.at(-1) ?? '')?.[0]);
    assert.ok(pid > 0, 'the log names the sidecar pid');
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    assert.match(cmdline, /openconductor\.js sidecar --stdio/);
    assert.ok(cmdline.includes(workspace), cmdline);

    await runRows(vscode(), 'survive-restart', (_run, steps) => steps.get('pause')?.description === 'waiting for a timer', 'the pause step to wait for its timer', 60_000);
    await vscode().screenshot('restart-before-kill');
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');

    // The restart: the supervisor notices, waits 1 s, starts another sidecar and connects to it.
    await vscode().waitForLog(/the sidecar exited on SIGKILL; restarting in 1 s/, 15_000);
    const restarting = await poll(async () => {
      const label = await vscode().statusBarItem(STATUS_ITEM);
      return /restarting/.test(label) ? label : undefined;
    }, 'the status bar to show the restart', 5_000, 50).catch(() => undefined);
    const reconnected = await poll(async () => {
      const log = vscode().extensionLog();
      const after = log.slice(log.indexOf('the sidecar exited on SIGKILL'));
      const match = /connected to host pid (\d+)/.exec(after);
      return match ? Number(match[1]) : undefined;
    }, 'the extension to connect to a new sidecar', 30_000);
    const reconnectedAt = Date.now();
    assert.notEqual(reconnected, pid);
    assert.throws(() => process.kill(pid, 0), 'the killed sidecar is gone');

    const done = await runRows(vscode(), 'survive-restart', (run) => /^completed/.test(run.description), 'the run to show completed after the restart', 90_000);
    assert.deepEqual([...done.steps.keys()], ['first', 'pause', 'second']);
    for (const [id, row] of done.steps) assert.match(row.description, /^completed/, `${id}: ${describeRow(row)}`);
    assert.match(done.run.icon, /codicon-pass/);
    await vscode().screenshot('restart-run-completed');
    // The dashboard (open in the panel since the previous scenario) reloaded with the new sidecar's stream.
    const dashboard = await vscode().webviewFrame('.dashboard[data-stream="direct"]', 30_000);
    await dashboard.locator(`[data-run="${runId}"] .run-row[data-status="completed"]`).waitFor({ timeout: 30_000 });

    // The journal: the call before the kill ran once (not again after the restart), the timer fired once and not early.
    const events = await cli<RunEvent[]>(workspace, ['runs', 'history', runId]);
    const of = (type: string, step?: string) => events.filter((e) => e.type === type && (step === undefined || ('step' in e && e.step === step)));
    assert.equal(of('StepScheduled', 'first').length, 1, 'the first call ran once');
    assert.equal(of('StepCompleted', 'second').length, 1);
    const started = of('TimerStarted', 'pause') as Array<RunEvent & { type: 'TimerStarted' }>;
    const fired = of('TimerFired', 'pause');
    assert.equal(started.length, 1);
    assert.equal(fired.length, 1);
    assert.ok(started[0].time < killedAt && fired[0].time > killedAt, 'the kill fell inside the wait');
    assert.ok(fired[0].time >= started[0].fireAt, `the timer fired at ${fired[0].time}, not before ${started[0].fireAt}`);
    assert.equal(of('WorkflowCompleted').length, 1);
    process.stderr.write(`[scenario] sidecar ${pid} killed → host ${reconnected} connected in ${reconnectedAt - killedAt} ms${restarting ? ' (status bar showed the restart)' : ''}; timer fired ${fired[0].time - started[0].fireAt} ms after its deadline\n`);
  });
});

// ---------------------------------------------------------------------------------------------------------------------

const CODE_WORKFLOW = `// A code-first workflow: the installed extension compiles it with the esbuild-wasm it ships.
import { workflow } from 'openconductor/workflow';

export default workflow({ name: 'welcome-code' }, async (ctx) => {
  const note = await ctx.call<string>('everything', 'echo', { message: 'compiled in the extension' });
  await ctx.call('memory', 'create_entities', { entities: [{ name: 'e2e-code-first', entityType: 'test', observations: [note] }] });
  return { note };
});
`;

/** The command lines of the live processes of this machine. */
function commandLines(): string[] {
  return fs.readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      return [fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ')];
    } catch {
      return []; // gone meanwhile
    }
  });
}

describe('e2e scenario: a code-first workflow (*.workflow.ts) run from the palette', function () {
  this.timeout(240_000);
  let workspace = '';
  const vscode = withVsCode(() => {
    workspace = copyWorkspace('examples');
    fs.writeFileSync(path.join(workspace, 'welcome-code.workflow.ts'), CODE_WORKFLOW);
    return { workspace, name: 'code-first' };
  });

  it('compiles it with the esbuild-wasm the extension ships (nothing else to resolve there), and shows the run completed in the Runs view', async () => {
    await vscode().waitForLog(/connected to host pid \d+/, 60_000);
    await vscode().openView('OpenConductor');
    const runId = await runFromPalette(vscode(), 'welcome-code.workflow.ts');
    const done = await runRows(vscode(), 'welcome-code', (run) => /^completed/.test(run.description), 'the run to show completed', 120_000);
    assert.match(done.run.icon, /codicon-pass/);
    assert.deepEqual([...done.steps.keys()], ['everything.echo#1', 'memory.create_entities#2']);
    await vscode().screenshot('code-first-completed');

    const details = await cli<{ status: string; outputs?: unknown }>(workspace, ['runs', 'show', runId]);
    assert.equal(details.status, 'completed');
    assert.deepEqual(details.outputs, { note: 'Echo: compiled in the extension' });
    // The sidecar's esbuild service (alive as long as the sidecar): the installed extension's esbuild-wasm.
    const services = commandLines().filter((c) => c.includes(vscode().extensionsDir) && c.includes('--service='));
    assert.equal(services.length, 1, services.join('\n'));
    assert.ok(services[0].includes(path.join('dist', 'esbuild-wasm', 'bin', 'esbuild')), services[0]);
  });
});
