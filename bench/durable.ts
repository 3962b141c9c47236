/**
 * The durable engine with in-process no-op activities (every step journaled durably, nothing else):
 *   node bench/run.mjs bench/durable.ts            (npm run bench:durable)
 * Prints a table. Targets (issue 3): ≥ 20,000 durable steps/s at 1,000 concurrent workflows; start p99 < 10 ms with
 * 1,000 runs in flight; 10,000 runs waiting on timers or approvals < 300 MB RSS; recovery of 10,000 open runs < 2 s.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { SourceFile } from '../common/source';
import { parseWorkflow } from '../common/workflow/parse';
import type { ToolConnection } from '../sidecar/engine/calls';
import type { PreparedDefinition } from '../sidecar/engine/execution';
import { yamlDefinition } from '../sidecar/engine/run';
import { Host } from '../sidecar/host/host';
import { hashText, openWorkspace } from '../sidecar/workspace/workspace';

const WAITING_RUNS = Number(process.env.BENCH_WAITING ?? 10_000);

/** An in-process server whose one tool does nothing: what is measured is the engine and its journal. */
const tools: Tool[] = [{ name: 'noop', inputSchema: { type: 'object', properties: { n: { type: 'number' } } } }];
const result: CallToolResult = { content: [{ type: 'text', text: 'ok' }] };
const noop: ToolConnection = { listTools: async () => tools, callTool: async () => result };

function chain(name: string, steps: number): string {
  const body = Array.from({ length: steps }, (_, i) => `  - id: s${i}\n    server: local\n    tool: noop\n${i ? `    needs: s${i - 1}\n` : ''}    with: { n: ${i} }`).join('\n');
  return `name: ${name}\nservers:\n  local: { command: in-process }\nsteps:\n${body}\n`;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function openHost(dir: string): Promise<Host> {
  return Host.open({ workspace: openWorkspace(dir), command: 'bench', version: 'bench', connection: () => noop });
}

function prepare(host: Host, text: string): PreparedDefinition {
  const file = new SourceFile(path.join(host.workspace.folder, 'bench.workflow.yaml'), text);
  const parsed = parseWorkflow(file);
  if (!parsed.workflow || parsed.diagnostics.some((d) => d.severity === 'error')) throw new Error(parsed.diagnostics.map((d) => d.message).join('\n'));
  const servers = new Map([['local', { name: 'local', definition: { type: 'stdio' as const, command: 'in-process', args: [], env: {} } }]]);
  return yamlDefinition({ file, filePath: file.path, workflow: parsed.workflow, definitionHash: hashText(text), servers });
}

async function throughput(host: Host, concurrency: number, totalSteps: number): Promise<number> {
  const steps = Math.max(5, Math.round(totalSteps / concurrency));
  const definition = prepare(host, chain(`chain-${steps}`, steps));
  const started = performance.now();
  const runs = await Promise.all(Array.from({ length: concurrency }, () => host.engine.start({ definition, inputs: {} })));
  await Promise.all(runs.map((r) => r.done));
  return (concurrency * steps) / ((performance.now() - started) / 1000);
}

type Row = [string, string, string];

/** Durable steps per second at each concurrency. */
async function throughputPhase(dir: string): Promise<Row[]> {
  const host = await openHost(dir);
  await throughput(host, 100, 5_000);
  const rows: Row[] = [];
  for (const [concurrency, total] of [
    [1, 5_000],
    [100, 40_000],
    [1000, 60_000],
  ] as const) {
    const rates: number[] = [];
    for (let i = 0; i < 3; i++) rates.push(await throughput(host, concurrency, total));
    const rate = percentile(rates, 0.5);
    rows.push([`durable steps/s, ${concurrency} concurrent workflow(s)`, rate.toFixed(0), concurrency === 1000 ? `≥ 20,000 ${rate >= 20_000 ? 'met' : 'MISSED'}` : '']);
  }
  await host.close();
  return rows;
}

/** How long a start takes (until WorkflowStarted is durable) while 1,000 runs are busy. */
async function latencyPhase(dir: string): Promise<Row[]> {
  const host = await openHost(dir);
  await throughput(host, 100, 5_000);
  const busy = prepare(host, chain('busy', 1000));
  const inFlight = await Promise.all(Array.from({ length: 1000 }, () => host.engine.start({ definition: busy, inputs: {} })));
  const quick = prepare(host, chain('quick', 1));
  const latencies: number[] = [];
  const started: Array<Promise<unknown>> = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let fewest = Infinity;
  for (let i = 0; i < 500; i++) {
    fewest = Math.min(fewest, host.engine.runIds().length);
    const t = performance.now();
    const run = await host.engine.start({ definition: quick, inputs: {} });
    latencies.push(performance.now() - t);
    started.push(run.done);
    await new Promise((r) => setTimeout(r, 2));
  }
  loop.disable();
  await host.engine.cancelAll('the measurement is over');
  await Promise.all([...inFlight.map((r) => r.done), ...started]);
  await host.close();
  const p99 = percentile(latencies, 0.99);
  return [
    ['start latency with 1,000 runs in flight, p50', `${percentile(latencies, 0.5).toFixed(2)} ms`, ''],
    ['start latency with 1,000 runs in flight, p99', `${p99.toFixed(2)} ms`, `< 10 ms ${p99 < 10 ? 'met' : 'MISSED'}`],
    ['  fewest runs in flight during the starts', String(fewest), ''],
    ['  event-loop delay meanwhile, p99 / max', `${(loop.percentile(99) / 1e6).toFixed(1)} / ${(loop.max / 1e6).toFixed(1)} ms`, ''],
  ];
}

/** Starts many runs that wait (a one-hour timer, an approval), measures memory, then dies without closing anything. */
async function waitingPhase(dir: string): Promise<Row[]> {
  const host = await openHost(dir);
  const server = 'servers:\n  local: { command: in-process }\n';
  const timer = prepare(host, `name: timer\n${server}steps:\n  - id: first\n    server: local\n    tool: noop\n  - id: later\n    needs: first\n    wait: 1h\n`);
  const approval = prepare(host, `name: approval\n${server}steps:\n  - id: first\n    server: local\n    tool: noop\n  - id: review\n    needs: first\n    approval: { message: go? }\n`);
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().rss;
  const waiting: string[] = [];
  for (let i = 0; i < WAITING_RUNS; i += 500) {
    const batch = await Promise.all(Array.from({ length: Math.min(500, WAITING_RUNS - i) }, (_, j) => host.engine.start({ definition: (i + j) % 2 ? approval : timer, inputs: {} })));
    waiting.push(...batch.map((r) => r.runId));
  }
  while (waiting.some((id) => !host.engine.isWaitingOnly(id))) await new Promise((r) => setTimeout(r, 50));
  (globalThis as { gc?: () => void }).gc?.();
  const rss = process.memoryUsage().rss;
  const rows: Row[] = [
    [`RSS with ${WAITING_RUNS.toLocaleString('en')} runs waiting (timers, approvals)`, `${(rss / 2 ** 20).toFixed(0)} MB`, `< 300 MB ${rss < 300 * 2 ** 20 ? 'met' : 'MISSED'}`],
    ['  of which the process before those runs', `${(before / 2 ** 20).toFixed(0)} MB`, ''],
  ];
  // A crash: the process ends here, no snapshot, no lock released; the next host replays the journal.
  process.stdout.write(`${JSON.stringify(rows)}\n`);
  process.exit(0);
}

/** Opens the crashed data directory and times the recovery of every open run. */
async function recoverPhase(dir: string): Promise<Row[]> {
  fs.rmSync(path.join(dir, '.openconductor', 'lock'), { force: true });
  const started = performance.now();
  const host = await openHost(dir);
  const opened = performance.now();
  const report = await host.recover();
  const ms = performance.now() - started;
  if (report.resumed.length !== WAITING_RUNS) throw new Error(`recovered ${report.resumed.length} of ${WAITING_RUNS} runs: ${report.failed[0]?.reason}`);
  const waiting = host.engine.runIds().filter((id) => host.engine.isWaitingOnly(id)).length;
  await host.close();
  return [
    [`recovery of ${WAITING_RUNS.toLocaleString('en')} open runs after a crash (no snapshot)`, `${(ms / 1000).toFixed(2)} s`, `< 2 s ${ms < 2000 ? 'met' : 'MISSED'}`],
    ['  of which opening the store (replaying the journal)', `${((opened - started) / 1000).toFixed(2)} s`, ''],
    ['  runs waiting again after recovery', waiting.toLocaleString('en'), ''],
  ];
}

const PHASES: Record<string, (dir: string) => Promise<Row[]>> = { throughput: throughputPhase, latency: latencyPhase, waiting: waitingPhase, recover: recoverPhase };

/** Each phase runs in a fresh process, so that memory and timings of one do not leak into the next. */
async function main(): Promise<void> {
  const [phase, dir] = process.argv.slice(2);
  if (phase) {
    process.stdout.write(`${JSON.stringify(await PHASES[phase](dir))}\n`);
    return;
  }
  const rows: Row[] = [];
  const run = (name: string, at: string): Row[] => {
    const child = spawnSync(process.execPath, ['--expose-gc', process.argv[1], name, at], { encoding: 'utf8', maxBuffer: 2 ** 26 });
    if (child.status !== 0) throw new Error(`phase ${name} failed:\n${child.stderr}`);
    return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Row[];
  };
  for (const [name, share] of [['throughput', false], ['latency', false], ['waiting', true], ['recover', true]] as const) {
    const dir = share ? path.join(os.tmpdir(), 'openconductor-durable-waiting') : fs.mkdtempSync(path.join(os.tmpdir(), 'openconductor-durable-'));
    if (name === 'waiting') fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    rows.push(...run(name, dir));
    if (!share || name === 'recover') fs.rmSync(dir, { recursive: true, force: true });
  }
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log(`${'measure'.padEnd(w0)}  ${'value'.padStart(w1)}  target`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
  console.log(`\n(in-process no-op tool; every event durable (O_DSYNC, group commit) before it counts; data dir on ${os.tmpdir()}; each phase in a fresh process)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
