/**
 * The extension in a real VS Code (code-server + chromium, the e2e harness of test/support/vscode.ts):
 *   node bench/run.mjs bench/extension.ts            (BENCH_STARTS=10 VS Code starts, BENCH_STEPS=25 steps a run)
 * Needs `npm run build` (the harness packages the .vsix when dist is newer) and code-server (scripts/setup-vscode-test.sh).
 * Prints a table. Targets: activation → first populated view (sidecar start included) < 300 ms; a run's event → its
 * row updated, p95 < 50 ms: in the runs dashboard (a webview) and, for comparison, in the Runs tree view. Each view is
 * measured in a VS Code of its own with the other one put away (BENCH_RUNS=4 runs each), then both on screen at once.
 * `bench/run.mjs bench/extension.ts activation|events` runs one half; BENCH_MODES=dashboard,tree,both picks the event
 * sessions. For the figures of what users install, build with `node esbuild.mjs --production` first.
 *
 * Clocks: every time is Date.now() of one machine (the page's, the sidecar's, the extension's, this process's); the
 * browser's Date.now() is whole milliseconds, so each figure is ±1 ms.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { RunEvent } from '../common/events';
import { copyWorkspace, ensureCodeServer, ensureVsix, poll, ROOT, startVsCode, type VsCode } from '../test/support/vscode';

const STARTS = Number(process.env.BENCH_STARTS ?? 10);
const STEPS = Number(process.env.BENCH_STEPS ?? 25);
/** Runs observed in each of the three sessions (at most 6: the newest run's rows must fit the Runs view). */
const RUNS = Number(process.env.BENCH_RUNS ?? 4);
const CLI = path.join(ROOT, 'dist', 'openconductor.js');

type Row = [string, string, string];
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- DOM objects in functions that run in the page
type Any = any;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

const ms = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? 'n/a' : `${Math.round(n)} ms`);

/** The time of a VS Code log line ("2026-11-28 05:52:09.708 [info] …", local time). */
function lineTime(log: string, pattern: RegExp): number | undefined {
  const line = log.split('\n').find((l) => pattern.test(l));
  const match = line && /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3})/.exec(line);
  return match ? new Date(`${match[1]}T${match[2]}`).getTime() : undefined;
}

async function cli<T>(workspace: string, args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...args, '--workspace', workspace], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 2 ** 20 });
  return (args.includes('--json') ? JSON.parse(stdout) : stdout) as T;
}

// ---------------------------------------------------------------------------------------------------------------------
// Activation

/**
 * In the page before the workbench loads: opens the OpenConductor container as soon as its activity bar item shows (so
 * the views exist before the extension activates) and records when the Workflows and Registry views first show rows.
 */
function observeStartup(): void {
  const page = globalThis as Any; // the page's window (the project's types have no DOM)
  const document = page.document;
  const marks: Record<string, number> = {};
  page.__ocMarks = marks;
  const check = (): void => {
    if (!marks.containerOpened) {
      const item = document.querySelector('.part.activitybar a.action-label[aria-label^="OpenConductor"]');
      if (item) {
        item.click();
        marks.containerOpened = Date.now();
      }
    }
    for (const pane of Array.from(document.querySelectorAll('.part.sidebar .pane')) as Any[]) {
      const title = (pane.querySelector('.pane-header h3.title')?.textContent ?? '').trim().toLowerCase();
      if ((title === 'workflows' || title === 'registry' || title === 'servers') && !marks[title] && pane.querySelector('.pane-body .monaco-list-row .label-name')?.textContent) marks[title] = Date.now();
    }
  };
  new page.MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true });
}

interface StartSample {
  navigation: number;
  workbench: number;
  /** When the extension host's log says VS Code began activating it (loading the bundle comes next). */
  requested?: number;
  activation?: number;
  spawned?: number;
  connected?: number;
  marks: Record<string, number>;
}

async function startOnce(i: number): Promise<StartSample> {
  const workspace = copyWorkspace('examples');
  const vscode = await startVsCode({ workspace, name: `bench-start-${i}`, beforeLoad: async (page) => void (await page.addInitScript(observeStartup)) });
  try {
    await vscode.waitForLog(/connected to host pid \d+/, 60_000);
    const marks = await poll(async () => {
      const m = await vscode.page.evaluate(() => (globalThis as Any).__ocMarks as Record<string, number>);
      return m.workflows && m.registry ? m : undefined;
    }, 'the Workflows and Registry views to show rows', 60_000);
    const host = fs.readFileSync(vscode.logFiles().extensionHost!, 'utf8');
    const log = vscode.extensionLog();
    // activate() writes its own clock into the log: log lines are timestamped later, when written, in batches.
    const activation = Date.parse(/activating at (\S+)/.exec(log)?.[1] ?? '');
    const after = (pattern: RegExp) => {
      const m = pattern.exec(log);
      return m ? activation + Number(m[1]) : undefined;
    };
    return {
      ...vscode.timings,
      requested: lineTime(host, /_doActivateExtension openconductor\.openconductor/),
      activation,
      spawned: after(/started the sidecar \(pid \d+\) (\d+) ms after/),
      connected: after(/connected to host pid \d+ \(\S+\) (\d+) ms after/),
      marks,
    };
  } finally {
    await vscode.close();
  }
}

async function activationPhase(): Promise<Row[]> {
  const samples: StartSample[] = [];
  for (let i = 0; i < STARTS; i++) {
    samples.push(await startOnce(i));
    process.stderr.write(`  start ${i + 1}/${STARTS}: ${JSON.stringify(relative(samples.at(-1)!))}\n`);
  }
  const series = (f: (s: StartSample) => number | undefined) => samples.map(f).filter((n): n is number => n !== undefined && !Number.isNaN(n));
  const row = (name: string, values: number[], target = ''): Row => [name, values.length ? `${ms(percentile(values, 0.5))} / ${ms(Math.max(...values))}` : 'n/a', target];
  const views = series((s) => s.activation && s.marks.workflows - s.activation);
  const connected = series((s) => s.activation && s.connected && s.connected - s.activation);
  const registry = series((s) => s.activation && s.marks.registry - s.activation);
  const verdict = (values: number[]) => (values.length ? `< 300 ms ${percentile(values, 0.5) < 300 ? 'met' : `MISSED by ${Math.round(percentile(values, 0.5) - 300)} ms (p50)`}` : '');
  return [
    row(`activation → Workflows rows shown, p50 / max (${samples.length} starts)`, views, verdict(views)),
    row('activation → sidecar connected ("connected to host pid")', connected, verdict(connected)),
    row('activation → Registry rows shown (sidecar data)', registry, verdict(registry)),
    row('  activation → sidecar spawned', series((s) => s.activation && s.spawned && s.spawned - s.activation)),
    row('  sidecar spawned → connected', series((s) => s.spawned && s.connected && s.connected - s.spawned)),
    row('  VS Code begins activating → activate() runs (loading dist/extension.js; log time, ±batching)', series((s) => s.requested && s.activation && s.activation - s.requested)),
    row('  page navigation → activation', series((s) => s.activation && s.activation - s.navigation)),
    row('  page navigation → workbench laid out', series((s) => s.workbench - s.navigation)),
  ];
}

function relative(s: StartSample): Record<string, number | undefined> {
  const base = s.activation ?? s.navigation;
  const out: Record<string, number | undefined> = { navigation: s.navigation - base, workbench: s.workbench - base, spawned: s.spawned && s.spawned - base, connected: s.connected && s.connected - base };
  for (const [k, v] of Object.entries(s.marks)) out[k] = v - base;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Event → view update

/** An approval gate (so the rows can be expanded and observed before anything moves), then STEPS quick calls in a chain. */
function chainWorkflow(steps: number): string {
  const calls = Array.from({ length: steps }, (_, i) => `  - id: s${i}\n    server: everything\n    tool: echo\n    needs: ${i ? `s${i - 1}` : 'gate'}\n    with: { message: step ${i} }`).join('\n');
  return `name: echo-chain\nsteps:\n  - id: gate\n    approval: { message: go? }\n${calls}\n`;
}

interface Change {
  at: number;
  label: string;
  description: string;
  icon: string;
}

/** In the page: records every change of a row's description or icon in the Runs view, with Date.now(). */
function observeRuns(): void {
  const page = globalThis as Any;
  const pane = (Array.from(page.document.querySelectorAll('.part.sidebar .pane')) as Any[]).find((p) => (p.querySelector('.pane-header h3.title')?.textContent ?? '').trim().toLowerCase() === 'runs')!;
  const last = new Map<string, string>();
  const changes: Array<{ at: number; label: string; description: string; icon: string }> = [];
  page.__ocChanges = changes;
  const scan = (): void => {
    const at = Date.now();
    let top = 0;
    for (const row of Array.from(pane.querySelectorAll('.monaco-list-row')) as Any[]) {
      // Only the newest run (the first top-level row) and its steps: older runs carry the same labels.
      if (row.getAttribute('aria-level') === '1' && ++top > 1) break;
      const label = (row.querySelector('.label-name')?.textContent ?? '').trim();
      const description = (row.querySelector('.label-description')?.textContent ?? '').trim();
      const icon = (Array.from(row.querySelector('.custom-view-tree-node-item-icon')?.classList ?? []) as string[]).filter((c) => c.startsWith('codicon-')).join(' ');
      const state = `${description}|${icon}`;
      if (last.get(label) === state) continue;
      last.set(label, state);
      changes.push({ at, label, description, icon });
    }
  };
  scan();
  const observer = new page.MutationObserver(scan);
  observer.observe(pane, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['class'] });
  page.__ocStopRuns = () => observer.disconnect();
}

/** In the dashboard's frame: records every change of a row's status in the run's block, with Date.now(). */
function observeDashboard(args: { runId: string; workflow: string }): void {
  const page = globalThis as Any;
  const changes: Array<{ at: number; label: string; description: string; icon: string }> = [];
  page.__ocDashboard = changes;
  // When the extension's relayed copy of each event reaches the page (the page also reads them straight from the sidecar).
  const arrivals: number[] = [];
  page.__ocArrivals = arrivals;
  const onMessage = (m: Any): void => {
    if (m.data?.type !== 'events') return;
    const now = Date.now();
    for (const event of m.data.events) if (event.runId === args.runId) arrivals.push(now - event.time);
  };
  page.addEventListener('message', onMessage);
  const last = new Map<string, string>();
  const words: Record<string, string> = { waiting: 'waiting for approval' };
  const scan = (): void => {
    const at = Date.now();
    const block = page.document.querySelector(`[data-run="${args.runId}"]`);
    if (!block) return;
    const rows: Array<[string, string]> = [[args.workflow, block.querySelector('.run-row')?.getAttribute('data-status') ?? '']];
    for (const row of Array.from(block.querySelectorAll('[data-step]')) as Any[]) rows.push([row.getAttribute('data-step'), row.getAttribute('data-status')]);
    for (const [label, status] of rows) {
      if (last.get(label) === status) continue;
      last.set(label, status);
      changes.push({ at, label, description: words[status] ?? status, icon: '' });
    }
  };
  scan();
  const observer = new page.MutationObserver(scan);
  observer.observe(page.document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
  page.__ocStopDashboard = () => {
    observer.disconnect();
    page.removeEventListener('message', onMessage);
  };
}

/** The event whose effect a row change shows: the latest event before it that puts that row in that state. */
function causeOf(change: Change, events: RunEvent[], workflow: string): RunEvent | undefined {
  const status = change.description.split(' · ')[0];
  const before = events.filter((e) => e.time <= change.at + 1);
  const latest = (test: (e: RunEvent) => boolean) => before.filter(test).at(-1);
  if (change.label === workflow) {
    if (status === 'completed') return latest((e) => e.type === 'WorkflowCompleted');
    return undefined; // "running": the row appeared with the run
  }
  const step = (e: RunEvent) => 'step' in e && e.step === change.label && !('index' in e && e.index !== undefined);
  if (status === 'running') return latest((e) => e.type === 'StepScheduled' && step(e));
  if (status === 'completed') return latest((e) => (e.type === 'StepCompleted' || e.type === 'ApprovalResolved') && step(e));
  if (status === 'waiting for approval') return latest((e) => e.type === 'ApprovalRequested' && step(e));
  return undefined;
}

async function collapsePanes(vscode: VsCode, keep: string): Promise<void> {
  for (const title of ['Registry', 'Servers', 'Workflows', 'Runs']) {
    if (title === keep) continue;
    const header = vscode.page.locator('.part.sidebar .pane-header', { has: vscode.page.locator('h3.title', { hasText: new RegExp(`^\\s*${title}\\s*$`, 'i') }) }).first();
    if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
  }
}

/** Row changes seen in one view, matched to the events that caused them. */
class Latencies {
  readonly samples: Array<{ ms: number; kind: string }> = [];
  unmatched = 0;
  observed = 0;
  coalesced = 0;

  /** Adds a run's changes (after the `skip` records of the rows as they were when observing began). */
  add(changes: Change[], skip: number, events: RunEvent[]): void {
    const byTime = new Map<number, number>();
    for (const change of changes.slice(skip)) {
      this.observed++;
      byTime.set(change.at, (byTime.get(change.at) ?? 0) + 1);
      const cause = causeOf(change, events, 'echo-chain');
      if (!cause) this.unmatched++;
      else this.samples.push({ ms: change.at - cause.time, kind: cause.type });
    }
    this.coalesced += [...byTime.values()].filter((n) => n > 1).length;
  }

  rows(view: string): Row[] {
    const all = this.samples.map((l) => l.ms);
    if (all.length === 0) return [[`event → ${view} row updated`, 'n/a', 'no change observed']];
    const p95 = percentile(all, 0.95);
    const kinds = [...new Set(this.samples.map((l) => l.kind))];
    return [
      [`event → ${view} row updated, p50 (${all.length} changes, ${RUNS} runs of ${STEPS} calls)`, ms(percentile(all, 0.5)), ''],
      [`event → ${view} row updated, p95`, ms(p95), `< 50 ms ${p95 < 50 ? 'met' : `MISSED by ${Math.round(p95 - 50)} ms`}`],
      [`event → ${view} row updated, max`, ms(Math.max(...all)), ''],
      ...kinds.map((k): Row => {
        const values = this.samples.filter((l) => l.kind === k).map((l) => l.ms);
        return [`  ${k} → row, p50 / p95 (${values.length})`, `${ms(percentile(values, 0.5))} / ${ms(percentile(values, 0.95))}`, ''];
      }),
      ['  row changes matched to no event (e.g. the run row appearing)', String(this.unmatched), ''],
      ['  DOM updates that changed several rows at once', `${this.coalesced} of ${this.observed} changes' timestamps`, ''],
    ];
  }
}

/** What is on screen while runs are observed: each view alone (the other one's redraws would count in its figure), or both. */
const MODES = ['dashboard', 'tree', 'both'] as const;
type Mode = (typeof MODES)[number];

interface Seen {
  tree: Latencies;
  dashboard: Latencies;
  /** Event → its message reaching the dashboard page, per event. */
  arrivals: number[];
  /** Whether the dashboard read the events straight from the sidecar (else only through the extension). */
  direct?: boolean;
}

/** One VS Code session showing `mode`, observing RUNS runs. */
async function eventSession(mode: Mode): Promise<Seen> {
  const workspace = copyWorkspace('examples');
  fs.writeFileSync(path.join(workspace, 'echo-chain.workflow.yaml'), chainWorkflow(STEPS));
  const vscode = await startVsCode({ workspace, name: `bench-events-${mode}` });
  const seen: Seen = { tree: new Latencies(), dashboard: new Latencies(), arrivals: [] };
  try {
    await vscode.waitForLog(/connected to host pid \d+/, 60_000);
    await vscode.openView('OpenConductor');
    await collapsePanes(vscode, mode === 'dashboard' ? '' : 'Runs');
    // The dashboard shows in the panel, below the editor (and beside the Runs view in the side bar).
    let frame: Awaited<ReturnType<VsCode['webviewFrame']>> | undefined;
    if (mode !== 'tree') {
      await vscode.runCommand('OpenConductor: Show Runs Dashboard');
      // The page reloads once the sidecar says where its event stream is.
      frame = await vscode.webviewFrame('.dashboard[data-stream="direct"]', 30_000).catch(() => vscode.webviewFrame('.dashboard', 60_000));
      seen.direct = (await frame.locator('.dashboard').getAttribute('data-stream')) === 'direct';
    }
    for (let r = 0; r < RUNS; r++) {
      // Each run: started from the palette, shown while its gate waits, observed, then approved.
      await vscode.runCommand('OpenConductor: Run Workflow…');
      await vscode.quickPick('echo-chain.workflow.yaml', 'echo-chain');
      const runId = await poll(async () => {
        const ids = [...vscode.extensionLog().matchAll(/started run (\S+) of echo-chain/g)].map((m) => m[1]);
        return ids.length === r + 1 ? ids[r] : undefined;
      }, 'the run to start');
      if (mode !== 'dashboard') {
        // Older runs are collapsed so that every row of this one is rendered.
        await poll(async () => {
          const top = (await vscode.treeRows('Runs')).filter((row) => row.level === 1);
          if (top.length < r + 1) return false;
          for (const [i, row] of top.entries()) {
            if (i === 0 && row.expanded === false) await vscode.expandRow('Runs', 'echo-chain');
            if (i > 0 && row.expanded) await vscode.page.locator('.part.sidebar .pane .monaco-list-row[aria-level="1"]').nth(i).locator('.monaco-tl-twistie').click();
          }
          const shown = await vscode.treeRows('Runs');
          return shown.some((row) => row.label === 'gate' && row.description === 'waiting for approval') && shown.filter((row) => row.level === 2).length === STEPS + 1;
        }, 'the run to show its gate waiting and every step row', 60_000);
        await vscode.page.evaluate(observeRuns);
      }
      // Starting a run focuses the Runs view, which puts it back on screen.
      if (mode === 'dashboard') await collapsePanes(vscode, '');
      if (frame) {
        await frame.locator(`[data-run="${runId}"] [data-step="gate"][data-status="waiting"]`).waitFor({ timeout: 60_000 });
        await frame.evaluate(observeDashboard, { runId, workflow: 'echo-chain' });
      }
      await cli(workspace, ['approve', runId, 'gate']);
      const ended = await poll(async () => {
        const run = (await cli<Array<{ id: string; status: string; error?: { message: string } }>>(workspace, ['runs', 'list', '--json'])).find((r) => r.id === runId);
        return run && run.status !== 'running' ? run : undefined;
      }, 'the run to end', 120_000).catch(async (error: unknown) => {
        // What the run was doing instead: its last events.
        const last = (await cli<RunEvent[]>(workspace, ['runs', 'history', runId, '--json'])).slice(-4);
        throw new Error(`${error instanceof Error ? error.message : String(error)}; its last events: ${JSON.stringify(last).slice(0, 2000)}`);
      });
      if (ended.status !== 'completed') throw new Error(`run ${runId} ${ended.status}: ${ended.error?.message ?? ''}`);
      const events = await cli<RunEvent[]>(workspace, ['runs', 'history', runId, '--json']);
      if (mode !== 'dashboard') {
        await poll(async () => (await vscode.treeRows('Runs')).find((row) => row.level === 1)?.description.startsWith('completed') === true, 'the Runs view to show the run completed', 60_000);
      }
      if (frame) await frame.locator(`[data-run="${runId}"] .run-row[data-status="completed"]`).waitFor({ timeout: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The first STEPS + 2 records of each are the rows as they were when observing began.
      if (mode !== 'dashboard') {
        seen.tree.add(await vscode.page.evaluate(() => (globalThis as Any).__ocChanges as Change[]), STEPS + 2, events);
        await vscode.page.evaluate(() => (globalThis as Any).__ocStopRuns());
      }
      if (frame) {
        seen.dashboard.add(await frame.evaluate(() => (globalThis as Any).__ocDashboard as Change[]), STEPS + 2, events);
        seen.arrivals.push(...(await frame.evaluate(() => (globalThis as Any).__ocArrivals as number[])));
        await frame.evaluate(() => (globalThis as Any).__ocStopDashboard());
      }
      process.stderr.write(`  ${mode}: run ${r + 1}/${RUNS}, ${events.length} events\n`);
    }
    await vscode.screenshot(`bench-event-${mode}`);
  } finally {
    await vscode.close();
  }
  return seen;
}

async function eventPhase(): Promise<Row[]> {
  const seen = {} as Record<Mode, Seen>;
  const modes = (process.env.BENCH_MODES?.split(',') ?? MODES) as Mode[];
  for (const mode of modes) seen[mode] = await eventSession(mode);
  const direct = (s: Seen): Row => ['  the page read the events straight from the sidecar (through code-server\'s port proxy)', s.direct ? 'yes' : 'NO: only through the extension', ''];
  const transit = (arrivals: number[]): Row => ['  event → the copy the extension relays reaches the page (the page folds whichever copy comes first), p50 / p95', arrivals.length ? `${ms(percentile(arrivals, 0.5))} / ${ms(percentile(arrivals, 0.95))}` : 'n/a', ''];
  return [
    ...(seen.dashboard ? [...seen.dashboard.dashboard.rows('dashboard (the Runs view collapsed)'), direct(seen.dashboard), transit(seen.dashboard.arrivals)] : []),
    ...(seen.tree ? seen.tree.tree.rows('Runs tree view (no dashboard)') : []),
    ...(seen.both ? [...seen.both.dashboard.rows('dashboard, the Runs view also on screen'), direct(seen.both), transit(seen.both.arrivals), ...seen.both.tree.rows('Runs tree view, the dashboard also on screen')] : []),
  ];
}

async function main(): Promise<void> {
  ensureCodeServer();
  ensureVsix();
  const rows: Row[] = [];
  if (process.argv[2] !== 'events') rows.push(...(await activationPhase()));
  if (process.argv[2] !== 'activation') rows.push(...(await eventPhase()));
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log(`${'measure'.padEnd(w0)}  ${'value'.padStart(w1)}  target`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
  console.log(`\n(code-server ${'4.100.3'} in headless chromium on this machine; activation is the extension's activate() call (its clock, written into its log); row changes seen by a MutationObserver in the page)`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
