/**
 * A real VS Code for end-to-end tests: code-server 4.100.3 (VS Code 1.100.3 for the web, a real Node extension host)
 * installed by scripts/setup-vscode-test.sh into .vscode-test/, the extension installed from its .vsix into a fresh
 * extensions folder, and the workbench driven in Debian's chromium through playwright-core.
 *
 *   const vscode = await startVsCode({ workspace: copyWorkspace('examples') });
 *   await vscode.openView('OpenConductor');
 *   ...
 *   await vscode.close();   // kills the browser and every process code-server started (workbench server,
 *                           // extension host, file watcher, and whatever the extension spawned)
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type { Browser, Frame, Locator, Page } from 'playwright-core';
import { launchChromium } from './chromium';


export const CODE_SERVER_VERSION = '4.100.3';
/** The repository: two levels above test/support, or one above .bench-build (benchmarks run from an esbuild bundle there). */
export const ROOT = findRoot(__dirname);
function findRoot(from: string): string {
  for (let dir = from; ; dir = resolve(dir, '..')) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'openconductor') return dir;
    } catch {
      // not here
    }
    if (resolve(dir, '..') === dir) return resolve(from, '..', '..');
  }
}
export const VSCODE_TEST_DIR = process.env.VSCODE_TEST_DIR ? resolve(process.env.VSCODE_TEST_DIR) : join(ROOT, '.vscode-test');
export const CODE_SERVER_DIR = join(VSCODE_TEST_DIR, 'code-server');
export const CODE_SERVER_BIN = join(CODE_SERVER_DIR, 'node_modules', '.bin', 'code-server');
export const VSIX = process.env.OPENCONDUCTOR_VSIX ? resolve(process.env.OPENCONDUCTOR_VSIX) : join(VSCODE_TEST_DIR, 'openconductor.vsix');
export const RESULTS_DIR = join(ROOT, 'test-results', 'e2e');
/** The extension's id (publisher.name), as code-server names its folder and its log folder. */
export const EXTENSION_ID = 'openconductor.openconductor';

/** Time limits. Generous: CI machines are slow and code-server compiles nothing but loads a lot. */
export const TIMEOUTS = {
  /** scripts/setup-vscode-test.sh on a clean machine (apt-get + npm + native builds: ~2-3 min). */
  setup: 15 * 60_000,
  install: 120_000,
  serverListening: 60_000,
  workbench: 90_000,
  ui: 30_000,
};

export interface StartOptions {
  /** The folder to open (use {@link copyWorkspace} so the test works on its own copy). */
  workspace: string;
  /** false: no --disable-workspace-trust, and the trust dialog is answered "No" (restricted mode). Default true. */
  trusted?: boolean;
  /** Added to code-server's environment, which the extension host (and so the extension) inherits. */
  env?: Record<string, string>;
  /** User settings (User/settings.json), over the harness's quiet defaults. */
  settings?: Record<string, unknown>;
  /** Names the artifacts (screenshots, copied logs). Default: "vscode". */
  name?: string;
  /** Called with the page before it loads the workbench (e.g. `page.addInitScript` to observe the DOM from the start). */
  beforeLoad?: (page: Page) => Promise<void>;
  /** More .vsix files to install beside the extension (the in-host test suite). */
  extraVsix?: string[];
}

/** When the harness saw the workbench come up (Date.now() of this process). */
export interface StartTimings {
  /** Just before the page navigated to the workbench. */
  navigation: number;
  /** The activity bar (the last part the workbench lays out) became visible. */
  workbench: number;
}

/** A row of a tree view as shown: its label, its description, its icon (codicon classes) and its place in the tree. */
export interface TreeRow {
  label: string;
  description: string;
  /** The row's aria-label (label and description, as a screen reader hears it). */
  ariaLabel: string;
  /** The icon's codicon classes, e.g. "codicon-pass" or "codicon-sync codicon-modifier-spin". */
  icon: string;
  /** 1 for a top-level row. */
  level: number;
  /** undefined for a leaf. */
  expanded?: boolean;
}

/** Where a started VS Code lives: its page and browser, its address and its folders. */
interface Instance {
  page: Page;
  browser: Browser;
  url: string;
  port: number;
  workspace: string;
  userDataDir: string;
  extensionsDir: string;
  timings: StartTimings;
}

export interface VsCode extends Instance {
  /** Runs a command by its palette title (e.g. "OpenConductor: Refresh") through F1. */
  runCommand(title: string): Promise<void>;
  /** Shows the view container with this title in the activity bar (does not toggle it closed when already shown). */
  openView(containerTitle: string): Promise<void>;
  /** Titles of the view panes shown in the side bar, top to bottom. */
  viewTitles(): Promise<string[]>;
  /** The pane of a view in the side bar, by its title; expanded if collapsed. */
  viewPane(viewTitle: string): Promise<Locator>;
  /** Labels of the visible rows of a view's tree (waits until `min` rows show, default 0). */
  treeItems(viewTitle: string, min?: number): Promise<string[]>;
  /** The visible rows of a view's tree, with descriptions and icons. */
  treeRows(viewTitle: string): Promise<TreeRow[]>;
  /** Expands the first row of a view whose label matches (waits for it to show). */
  expandRow(viewTitle: string, label: string | RegExp): Promise<void>;
  /**
   * Picks an item in the quick pick now open (a palette command's picker): types `filter` first when given, waits
   * until a row whose aria-label matches `item` shows, and clicks it. Returns that row's aria-label.
   */
  quickPick(item: string | RegExp, filter?: string): Promise<string>;
  /** Answers the input box now open (showInputBox) with `value` and Enter. Returns its prompt. */
  inputBox(value: string): Promise<string>;
  /** Waits for a notification toast whose message matches; returns the message. */
  waitForNotification(pattern: RegExp, ms?: number): Promise<string>;
  /** The aria-label of a status bar item by its id (`<extension id>.<item id>`), '' when not shown. */
  statusBarItem(id: string): Promise<string>;
  /** The whole text of the extension's "OpenConductor" log ('' before it is written). */
  extensionLog(): string;
  /** The welcome content (viewsWelcome) a view shows, as text; '' when none. */
  welcomeText(viewTitle: string): Promise<string>;
  /** Messages of the notification toasts now on screen. */
  notifications(): Promise<string[]>;
  /** The frame of a webview whose page holds `selector` (VS Code nests each webview's page in two iframes). */
  webviewFrame(selector: string, ms?: number): Promise<Frame>;
  /** Saves a screenshot to test-results/e2e/<name>.png and returns its path. */
  screenshot(name: string): Promise<string>;
  /** Log files under the user-data-dir's logs/ (extension host, the extension's "OpenConductor" channel, server). */
  logFiles(): { extensionHost?: string; extension?: string; server?: string; all: string[] };
  /** Waits until the extension's "OpenConductor" log has a line matching `pattern`; returns that line. */
  waitForLog(pattern: RegExp, ms?: number): Promise<string>;
  /** The last `lines` of the extension's log channel and of the extension host's log, for failure messages. */
  logTail(lines?: number): string;
  /** Screenshot + log tails to stderr; call from afterEach when the test failed. */
  reportFailure(testTitle: string): Promise<void>;
  /** Closes the browser, kills every process code-server started and checks none is left; removes the temp dirs. */
  close(): Promise<void>;
}

const QUIET_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'chat.commandCenter.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'security.workspace.trust.startupPrompt': 'always',
  'security.workspace.trust.emptyWindow': false,
};

const log = (message: string) => process.stderr.write(`[vscode-e2e] ${message}\n`);

// ---------------------------------------------------------------------------------------------------------------------
// Setup: code-server and the .vsix

let setupDone = false;
let setupError: Error | undefined;
/**
 * Makes sure code-server is installed: runs scripts/setup-vscode-test.sh (a no-op once installed). Throws with the
 * script's output when it cannot install it: the e2e tests fail, they are never skipped.
 */
export function ensureCodeServer(): string {
  if (setupDone) return CODE_SERVER_BIN;
  if (setupError) throw setupError; // once per run: a failed install is not retried by every suite
  const script = join(ROOT, 'scripts', 'setup-vscode-test.sh');
  const started = Date.now();
  try {
    execFileSync('bash', [script], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: TIMEOUTS.setup, env: { ...process.env, VSCODE_TEST_DIR } });
  } catch (error) {
    setupError = new Error(`could not install code-server ${CODE_SERVER_VERSION} with ${relative(ROOT, script)} (see its output above): ${(error as Error).message}`);
    throw setupError;
  }
  if (!existsSync(CODE_SERVER_BIN)) throw new Error(`${relative(ROOT, script)} ran but ${CODE_SERVER_BIN} is missing`);
  if (Date.now() - started > 2000) log(`code-server set up in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  setupDone = true;
  return CODE_SERVER_BIN;
}

/**
 * Packages the in-host test extension (test/in-host: mocha and the suite bundled by esbuild) into
 * .vscode-test/in-host.vsix, afresh each time: it is small, and its sources change with the extension's.
 */
export function packageInHostTests(): string {
  const dir = join(ROOT, 'test', 'in-host');
  const out = join(VSCODE_TEST_DIR, 'in-host.vsix');
  const esbuild = join(ROOT, 'node_modules', '.bin', 'esbuild');
  execFileSync(esbuild, [join(dir, 'extension.ts'), '--bundle', '--platform=node', '--target=node20', '--format=cjs', '--external:vscode', '--main-fields=module,main', '--log-level=error', `--outfile=${join(dir, 'dist', 'extension.js')}`], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  const vsce = join(dirname(createRequire(join(ROOT, 'package.json')).resolve('@vscode/vsce/package.json')), 'vsce');
  execFileSync(process.execPath, [vsce, 'package', '--no-dependencies', '-o', out], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  return out;
}

let vsixDone = false;
/**
 * Makes sure the .vsix is there and newer than the build: packages it (scripts/package-extension.mjs) otherwise.
 * The build itself (`npm run build`) is the caller's: a missing dist/extension.js fails with that advice.
 */
export function ensureVsix(): string {
  if (vsixDone) return VSIX;
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main?: string };
  const main = join(ROOT, manifest.main ?? 'dist/extension.js');
  if (!existsSync(main)) throw new Error(`${relative(ROOT, main)} is missing: run \`npm run build\` before the e2e tests`);
  const webviews = join(ROOT, 'dist', 'webview');
  const bundles = existsSync(webviews) ? readdirSync(webviews).map((f) => join(webviews, f)) : [];
  const inputs = [main, join(ROOT, 'package.json'), join(ROOT, 'dist', 'openconductor.js'), ...bundles].filter(existsSync);
  const newest = Math.max(...inputs.map((f) => statSync(f).mtimeMs));
  if (process.env.OPENCONDUCTOR_VSIX && existsSync(VSIX)) {
    // given from outside: used as is
  } else if (!existsSync(VSIX) || statSync(VSIX).mtimeMs < newest) {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'package-extension.mjs'), VSIX], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  }
  vsixDone = true;
  return VSIX;
}

/** Temp dirs made by copyWorkspace, removed by the close() of the VS Code that opened them. */
const workspaceCopies = new Map<string, string>();

/** A fresh copy of a folder of the repo (e.g. 'examples') in a temp dir, without its runtime state (.openconductor/). */
export function copyWorkspace(source: string, exclude: string[] = ['.openconductor', 'node_modules']): string {
  const from = resolve(ROOT, source);
  const to = join(mkdtempSync(join(tmpdir(), 'oc-e2e-ws-')), source.split(/[\\/]/).filter(Boolean).pop() ?? 'workspace');
  cpSync(from, to, { recursive: true, filter: (src) => !exclude.some((name) => src === join(from, name) || src.startsWith(join(from, name) + '/')) });
  workspaceCopies.set(to, resolve(to, '..'));
  return to;
}

// ---------------------------------------------------------------------------------------------------------------------
// Processes

/** The environment code-server gets: ours, minus what would tie it to an outer VS Code or to tsx, plus `extra`. */
function childEnv(extra: Record<string, string>, marker: string, home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(VSCODE_|ELECTRON_)/.test(key) || key === 'NODE_OPTIONS' || key === 'TS_NODE_PROJECT') continue;
    env[key] = value;
  }
  return { ...env, XDG_CONFIG_HOME: join(home, 'config'), XDG_DATA_HOME: join(home, 'data'), ...extra, OPENCONDUCTOR_E2E_MARKER: marker };
}

/** PIDs of the live processes whose environment holds OPENCONDUCTOR_E2E_MARKER=marker (all the descendants of one start, wherever they were re-parented). */
export function processesWithMarker(marker: string): number[] {
  const needle = `OPENCONDUCTOR_E2E_MARKER=${marker}\0`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (/^\d+ \(.*\) Z /s.test(stat)) continue; // a zombie is already dead
      if ((readFileSync(`/proc/${entry}/environ`, 'latin1') + '\0').includes(needle)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` until it returns a value that is not undefined/false; fails naming `what` after `ms`. */
export async function poll<T>(probe: () => Promise<T | undefined | false>, what: string, ms = TIMEOUTS.ui, every = 250): Promise<T> {
  const deadline = Date.now() + ms;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    await sleep(every);
  }
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv, timeout: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    const timer = setTimeout(() => {
      kill(-child.pid!, 'SIGKILL');
      reject(new Error(`${bin} ${args.join(' ')} took over ${timeout / 1000} s:\n${output}`));
    }, timeout);
    child.on('error', (e) => (clearTimeout(timer), reject(e)));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise(output);
      else reject(new Error(`${bin} ${args.join(' ')} exited with ${code ?? signal}:\n${output}`));
    });
  });
}

function findFiles(dir: string, test: (path: string) => boolean, found: string[] = []): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return found;
  }
  for (const name of entries) {
    const path = join(dir, name);
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      continue;
    }
    if (isDir) findFiles(path, test, found);
    else if (test(path)) found.push(path);
  }
  return found;
}

function tail(path: string | undefined, lines: number): string {
  if (!path || !existsSync(path)) return '(no such log)';
  const all = readFileSync(path, 'utf8').trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

// ---------------------------------------------------------------------------------------------------------------------
// Start

export async function startVsCode(options: StartOptions): Promise<VsCode> {
  const bin = ensureCodeServer();
  const vsix = ensureVsix();
  const name = options.name ?? 'vscode';
  const trusted = options.trusted ?? true;
  const workspace = resolve(options.workspace);
  if (!existsSync(workspace)) throw new Error(`workspace ${workspace} does not exist`);

  // Short paths: code-server puts a unix socket in the user-data-dir (108-byte limit).
  const home = mkdtempSync(join(tmpdir(), 'oc-e2e-'));
  const userDataDir = join(home, 'u');
  const extensionsDir = join(home, 'x');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...QUIET_SETTINGS, ...options.settings }, null, 2));
  const marker = randomUUID();
  const env = childEnv(options.env ?? {}, marker, home);
  const common = ['--config', join(home, 'config.yaml'), '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir];

  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  let closed = false;
  let serverOutput = '';

  async function killAll(): Promise<void> {
    if (browser) await browser.close().catch(() => undefined);
    // 1. The process group code-server leads (server, extension host, file watcher, pty host).
    const groupLeader = server?.pid;
    if (groupLeader) kill(-groupLeader, 'SIGTERM');
    // 2. Anything that left the group (setsid/detached children) still carries the marker in its environment.
    for (const pid of processesWithMarker(marker)) kill(pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (processesWithMarker(marker).length > 0 && Date.now() < deadline) await sleep(100);
    if (groupLeader) kill(-groupLeader, 'SIGKILL');
    for (const pid of processesWithMarker(marker)) kill(pid, 'SIGKILL');
    await sleep(100);
    const left = processesWithMarker(marker);
    if (server && server.exitCode === null && server.signalCode === null) await new Promise((r) => server!.once('exit', r));
    server?.stdout?.destroy();
    server?.stderr?.destroy();
    if (left.length > 0) {
      const described = left.map((pid) => {
        try {
          return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 200)}`;
        } catch {
          return String(pid);
        }
      });
      throw new Error(`processes of the code-server run survived SIGKILL:\n  ${described.join('\n  ')}`);
    }
  }

  try {
    for (const file of [vsix, ...(options.extraVsix ?? [])]) {
      const installed = await run(bin, [...common, '--install-extension', file], env, TIMEOUTS.install);
      if (!/successfully installed/i.test(installed)) throw new Error(`installing ${file} printed no success:\n${installed}`);
    }

    const args = [...common, '--auth', 'none', '--bind-addr', '127.0.0.1:0', '--disable-telemetry', '--disable-update-check', '--disable-getting-started-override'];
    if (trusted) args.push('--disable-workspace-trust');
    args.push(workspace);
    // detached: its own process group, so close() can kill all of it at once.
    const child = spawn(bin, args, { env, cwd: home, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    server = child;
    const port = await new Promise<number>((resolvePort, reject) => {
      const timer = setTimeout(() => reject(new Error(`code-server did not listen within ${TIMEOUTS.serverListening / 1000} s:\n${serverOutput}`)), TIMEOUTS.serverListening);
      const onData = (d: Buffer) => {
        serverOutput += d;
        const match = /HTTP server listening on https?:\/\/[^:\s]+:(\d+)/.exec(serverOutput);
        if (match) (clearTimeout(timer), resolvePort(Number(match[1])));
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.on('error', (e) => (clearTimeout(timer), reject(e)));
      child.on('exit', (code, signal) => (clearTimeout(timer), reject(new Error(`code-server exited (${code ?? signal}) before it listened:\n${serverOutput}`))));
    });
    // Keep reading its output (an unread pipe would block it), bounded.
    child.stdout!.on('data', () => (serverOutput = serverOutput.slice(-50_000)));

    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUTS.ui);
    await options.beforeLoad?.(page);
    const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
    const navigation = Date.now();
    await page.goto(url, { timeout: TIMEOUTS.workbench });
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: TIMEOUTS.workbench });
    // The activity bar is the last part the workbench lays out.
    await page.locator('.part.activitybar').waitFor({ state: 'visible', timeout: TIMEOUTS.workbench });
    const timings: StartTimings = { navigation, workbench: Date.now() };

    if (!trusted) await answerTrustDialog(page, false, name);

    const vscode = makeApi({ page, browser, url, port, workspace, userDataDir, extensionsDir, timings, name, closeAll: async () => {
      if (closed) return;
      closed = true;
      copyLogs(userDataDir, name);
      try {
        await killAll();
      } finally {
        rmSync(home, { recursive: true, force: true });
        removeWorkspaceCopy(workspace);
      }
    } });
    return vscode;
  } catch (error) {
    if (!closed) {
      closed = true;
      copyLogs(userDataDir, name);
      await killAll().catch((e) => log(`cleanup after a failed start: ${(e as Error).message}`));
      rmSync(home, { recursive: true, force: true });
      removeWorkspaceCopy(workspace);
    }
    throw error;
  }
}

function removeWorkspaceCopy(workspace: string): void {
  const dir = workspaceCopies.get(workspace);
  if (!dir) return;
  workspaceCopies.delete(workspace);
  rmSync(dir, { recursive: true, force: true });
}

/** The startup trust dialog ("Do you trust the authors of the files in this folder?"): a modal dialog. */
async function answerTrustDialog(page: Page, trust: boolean, name: string): Promise<void> {
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ state: 'visible', timeout: TIMEOUTS.workbench });
  const text = await dialog.innerText();
  if (!/trust/i.test(text)) throw new Error(`expected the workspace trust dialog, got: ${text}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  await page.screenshot({ path: join(RESULTS_DIR, `${name}-trust-dialog.png`) }).catch(() => undefined);
  const button = dialog.locator('.dialog-buttons a.monaco-button, .dialog-buttons .monaco-button', { hasText: trust ? /Yes, I trust/i : /No, I don.t trust/i });
  await button.first().click();
  await dialog.waitFor({ state: 'hidden' });
}

function copyLogs(userDataDir: string, name: string): void {
  try {
    const logs = join(userDataDir, 'logs');
    if (!existsSync(logs)) return;
    const to = join(RESULTS_DIR, `${name}-logs`);
    rmSync(to, { recursive: true, force: true });
    mkdirSync(RESULTS_DIR, { recursive: true });
    cpSync(logs, to, { recursive: true });
  } catch (error) {
    log(`could not copy the logs: ${(error as Error).message}`);
  }
}

interface ApiParts extends Instance {
  name: string;
  closeAll(): Promise<void>;
}

function makeApi(parts: ApiParts): VsCode {
  const { page } = parts;
  const sideBar = page.locator('.part.sidebar');

  function logFiles(): ReturnType<VsCode['logFiles']> {
    const all = findFiles(join(parts.userDataDir, 'logs'), (p) => p.endsWith('.log'));
    return {
      all,
      extensionHost: all.find((p) => /[\\/](remote)?exthost\.log$/.test(p)),
      extension: all.find((p) => p.includes(EXTENSION_ID) && /OpenConductor\.log$/.test(p)) ?? all.find((p) => /OpenConductor\.log$/.test(p)),
      server: all.find((p) => /remoteagent\.log$/.test(p)),
    };
  }

  async function paneHeaders(): Promise<Locator> {
    return sideBar.locator('.pane-header');
  }

  const api: VsCode = {
    page,
    browser: parts.browser,
    url: parts.url,
    port: parts.port,
    workspace: parts.workspace,
    userDataDir: parts.userDataDir,
    extensionsDir: parts.extensionsDir,
    timings: parts.timings,

    async runCommand(title) {
      const input = page.locator('.quick-input-widget .quick-input-box input');
      await page.locator('.monaco-workbench').click({ position: { x: 5, y: 5 }, force: true }).catch(() => undefined);
      await poll(async () => {
        if (!(await input.isVisible())) await page.keyboard.press('F1');
        await input.waitFor({ state: 'visible', timeout: 2000 });
        return true;
      }, 'the command palette to open');
      await input.fill(`>${title}`);
      // Enter only once the focused row is the command asked for (the list filters asynchronously).
      const focused = page.locator('.quick-input-widget .monaco-list-row.focused');
      await poll(async () => {
        const label = (await focused.getAttribute('aria-label', { timeout: 1000 })) ?? '';
        return label.toLowerCase().startsWith(title.toLowerCase()) || label.toLowerCase().includes(title.toLowerCase());
      }, `the command palette to offer "${title}"`);
      await page.keyboard.press('Enter');
      // Done once the palette is gone, or replaced by the command's own picker or input box (same widget, new text).
      await poll(async () => !(await input.isVisible()) || !(await input.inputValue()).startsWith('>'), `the command palette to run "${title}"`).catch(() => undefined);
    },

    async webviewFrame(selector, ms = TIMEOUTS.ui) {
      return poll(async () => {
        for (const frame of page.frames()) if (frame !== page.mainFrame() && (await frame.locator(selector).count().catch(() => 0)) > 0) return frame;
        return undefined;
      }, `a webview showing ${selector}`, ms);
    },

    async openView(containerTitle) {
      const item = page.locator('.part.activitybar .action-item', { has: page.locator(`a.action-label[aria-label^="${containerTitle}"]`) });
      await item.first().waitFor({ state: 'visible', timeout: TIMEOUTS.workbench });
      const isOpen = async () => (await item.first().getAttribute('class'))?.split(/\s+/).includes('checked') && (await sideBar.isVisible());
      if (!(await isOpen())) {
        await item.first().click();
        await page.mouse.move(700, 450);
      }
      await poll(async () => (await isOpen()) === true, `the "${containerTitle}" view container to show`);
      await poll(async () => {
        const title = (await sideBar.locator('.composite.title h2').first().innerText()).trim();
        return title.toLowerCase().includes(containerTitle.toLowerCase());
      }, `the side bar to show "${containerTitle}"`);
    },

    async viewTitles() {
      const titles = await (await paneHeaders()).locator('h3.title').allInnerTexts();
      return titles.map((t) => t.trim()).filter(Boolean);
    },

    async viewPane(viewTitle) {
      const pane = sideBar.locator('.pane', { has: page.locator('.pane-header h3.title', { hasText: new RegExp(`^\\s*${escapeRegExp(viewTitle)}\\s*$`, 'i') }) }).first();
      await pane.waitFor({ state: 'visible' });
      const header = pane.locator('.pane-header').first();
      if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
      await poll(async () => (await header.getAttribute('aria-expanded')) === 'true', `the "${viewTitle}" view to expand`);
      return pane;
    },

    async treeItems(viewTitle, min = 0) {
      const pane = await api.viewPane(viewTitle);
      const rows = pane.locator('.pane-body .monaco-list-row');
      const labels = async () =>
        (
          await rows.evaluateAll((elements) =>
            elements.map((row) => {
              const label = row.querySelector('.label-name') ?? row.querySelector('.monaco-icon-label') ?? row;
              return (label.textContent ?? '').trim();
            }),
          )
        ).filter(Boolean);
      if (min > 0) return poll(async () => ((await labels()).length >= min ? labels() : undefined), `${min} row(s) in the "${viewTitle}" view`);
      return labels();
    },

    async treeRows(viewTitle) {
      const pane = await api.viewPane(viewTitle);
      // No named inner functions here: tsx would wrap them in a helper (__name) the page does not have.
      return pane.locator('.pane-body .monaco-list-row').evaluateAll((elements) =>
        elements.map((row) => {
          const icon = row.querySelector('.custom-view-tree-node-item-icon');
          const expanded = row.getAttribute('aria-expanded');
          return {
            label: (row.querySelector('.label-name')?.textContent ?? '').trim(),
            description: (row.querySelector('.label-description')?.textContent ?? '').trim(),
            ariaLabel: row.getAttribute('aria-label') ?? '',
            icon: icon ? [...icon.classList].filter((c) => c.startsWith('codicon-')).join(' ') : '',
            level: Number(row.getAttribute('aria-level') ?? 1),
            ...(expanded !== null && { expanded: expanded === 'true' }),
          };
        }),
      );
    },

    async expandRow(viewTitle, label) {
      const pane = await api.viewPane(viewTitle);
      const matches = (text: string) => (typeof label === 'string' ? text === label : label.test(text));
      await poll(async () => {
        const rows = pane.locator('.pane-body .monaco-list-row');
        for (let i = 0; i < (await rows.count()); i++) {
          const row = rows.nth(i);
          if (!matches(((await row.locator('.label-name').first().textContent({ timeout: 1000 })) ?? '').trim())) continue;
          const expanded = await row.getAttribute('aria-expanded');
          if (expanded === null) throw new Error(`the row ${String(label)} of "${viewTitle}" has no children`);
          if (expanded === 'true') return true;
          await row.locator('.monaco-tl-twistie').click({ timeout: 2000 });
          return false; // checked again on the next round
        }
        return false;
      }, `the row ${String(label)} of the "${viewTitle}" view to expand`);
    },

    async quickPick(item, filter) {
      const input = page.locator('.quick-input-widget .quick-input-box input');
      await input.waitFor({ state: 'visible' });
      if (filter !== undefined) await input.fill(filter);
      const matches = (label: string) => (typeof item === 'string' ? label.includes(item) : item.test(label));
      const rows = page.locator('.quick-input-widget .monaco-list-row');
      const index = await poll(async () => {
        const labels = await rows.evaluateAll((elements) => elements.map((e) => e.getAttribute('aria-label') ?? ''));
        const i = labels.findIndex(matches);
        return i >= 0 ? i : undefined;
      }, `the quick pick to offer ${String(item)}`);
      const row = rows.nth(index);
      const label = (await row.getAttribute('aria-label')) ?? '';
      await row.click();
      return label;
    },

    async inputBox(value) {
      const widget = page.locator('.quick-input-widget');
      const input = widget.locator('.quick-input-box input');
      await input.waitFor({ state: 'visible' });
      // An input box has a message (its prompt) and no list.
      const prompt = await poll(async () => {
        const message = (await widget.locator('.quick-input-message').innerText({ timeout: 1000 }).catch(() => '')).trim();
        return message || undefined;
      }, 'the input box to show its prompt');
      await input.fill(value);
      await page.keyboard.press('Enter');
      await widget.waitFor({ state: 'hidden' });
      return prompt;
    },

    async waitForNotification(pattern, ms = TIMEOUTS.ui) {
      return poll(async () => (await api.notifications()).find((m) => pattern.test(m)), `a notification matching ${pattern}`, ms);
    },

    async statusBarItem(id) {
      const item = page.locator(`.part.statusbar [id="${id}"]`);
      if ((await item.count()) === 0) return '';
      return (await item.first().getAttribute('aria-label')) ?? (await item.first().innerText());
    },

    extensionLog() {
      const file = logFiles().extension;
      return file && existsSync(file) ? readFileSync(file, 'utf8') : '';
    },

    async welcomeText(viewTitle) {
      const pane = await api.viewPane(viewTitle);
      const welcome = pane.locator('.pane-body .welcome-view-content');
      if ((await welcome.count()) === 0) return '';
      return (await welcome.first().innerText()).trim();
    },

    async notifications() {
      const messages = await page.locator('.notifications-toasts .notification-toast .notification-list-item-message').allInnerTexts();
      return messages.map((m) => m.trim()).filter(Boolean);
    },

    async screenshot(name) {
      mkdirSync(RESULTS_DIR, { recursive: true });
      const path = join(RESULTS_DIR, `${name}.png`);
      await page.screenshot({ path, timeout: 30_000 });
      return path;
    },

    logFiles,

    async waitForLog(pattern, ms = TIMEOUTS.ui) {
      return poll(async () => {
        const file = logFiles().extension;
        if (!file) return undefined;
        return readFileSync(file, 'utf8').split('\n').find((line) => pattern.test(line));
      }, `a line matching ${pattern} in the extension's log`, ms);
    },

    logTail(lines = 40) {
      const files = logFiles();
      return [
        `--- extension log (${files.extension ?? 'not written'}):`,
        tail(files.extension, lines),
        `--- extension host log (${files.extensionHost ?? 'not written'}):`,
        tail(files.extensionHost, lines),
      ].join('\n');
    },

    async reportFailure(testTitle) {
      const safe = `${parts.name}-FAILED-${testTitle.replace(/[^\w.-]+/g, '_').slice(0, 80)}`;
      try {
        log(`screenshot: ${await api.screenshot(safe)}`);
      } catch (error) {
        log(`no screenshot: ${(error as Error).message}`);
      }
      log(`notifications: ${JSON.stringify(await api.notifications().catch(() => []))}`);
      log(api.logTail());
    },

    close: () => parts.closeAll(),
  };
  return api;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Starts VS Code in `before` (options computed then), reports on a failed test, closes in `after`. */
export function withVsCode(options: () => Promise<StartOptions> | StartOptions): () => VsCode {
  let vscode: VsCode | undefined;
  before(async function () {
    this.timeout(TIMEOUTS.setup + 5 * 60_000);
    ensureCodeServer();
    ensureVsix();
    vscode = await startVsCode(await options());
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && vscode) await vscode.reportFailure(this.currentTest.fullTitle());
  });
  after(async function () {
    this.timeout(60_000);
    await vscode?.close();
  });
  return () => {
    if (!vscode) throw new Error('VS Code did not start (see the before hook)');
    return vscode;
  };
}
