/**
 * Engine overhead per step against raw SDK `callTool` of server-everything's `echo`.
 *   npm run bench
 * Prints a table. Targets (issue 2): median overhead ≤ 0.3 ms per step; parallel throughput ≥ 80 % of raw SDK
 * throughput at the same concurrency.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { SourceFile } from '../common/source';
import { parseWorkflow } from '../common/workflow/parse';
import { Engine } from '../sidecar/engine/engine';
import { yamlDefinition } from '../sidecar/engine/run';
import { McpPool } from '../sidecar/mcp/pool';
import { Store } from '../sidecar/store/store';

const ROOT = path.resolve(__dirname, '..');
const EVERYTHING = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');
const SEQUENTIAL_STEPS = Number(process.env.BENCH_STEPS ?? 1000);
const PARALLEL_RUNS = Number(process.env.BENCH_RUNS ?? 100);
const STEPS_PER_PARALLEL_RUN = 10;
const PARALLEL_ROUNDS = 15;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** A chain of `count` echo steps, each needing the one before. */
function chainWorkflow(count: number): string {
  const steps = Array.from({ length: count }, (_, i) =>
    [`  - id: s${i}`, '    server: everything', '    tool: echo', ...(i > 0 ? [`    needs: s${i - 1}`] : []), '    with:', `      message: step ${i}`].join('\n'),
  );
  return `name: chain-${count}\nservers:\n  everything:\n    command: ${process.execPath}\n    args: [${JSON.stringify(EVERYTHING)}]\nsteps:\n${steps.join('\n')}\n`;
}

async function rawClient(): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [EVERYTHING], stderr: 'ignore' }));
  return client;
}

async function rawSequential(client: Client, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await client.callTool({ name: 'echo', arguments: { message: `step ${i}` } });
    times.push(performance.now() - t);
  }
  return times;
}

async function rawParallel(client: Client, chains: number, length: number): Promise<number> {
  const t = performance.now();
  await Promise.all(
    Array.from({ length: chains }, async (_, c) => {
      for (let i = 0; i < length; i++) await client.callTool({ name: 'echo', arguments: { message: `run ${c} step ${i}` } });
    }),
  );
  return ((chains * length) / (performance.now() - t)) * 1000;
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'openconductor-bench-'));
  const store = await Store.open({ dataDir, mode: 'writer', command: 'bench' });
  const pool = new McpPool({ cwd: ROOT, clientVersion: 'bench', defaultStartupTimeoutMs: 30_000 });
  const engine = new Engine(store, { connection: (spec) => pool.connection(spec) });

  const servers = new Map([['everything', { name: 'everything', definition: { type: 'stdio' as const, command: process.execPath, args: [EVERYTHING], env: {} } }]]);
  /** Parsing is the language's cost, not the engine's: parse once, start as many runs as needed. */
  const definition = (text: string) => {
    const file = new SourceFile('bench.workflow.yaml', text);
    const parsed = parseWorkflow(file);
    if (!parsed.workflow || parsed.diagnostics.length) throw new Error(parsed.diagnostics.map((d) => d.message).join('\n'));
    return { definition: yamlDefinition({ file, filePath: file.path, workflow: parsed.workflow, definitionHash: 'bench', servers }), inputs: {} };
  };
  const start = (d: ReturnType<typeof definition>): Promise<{ runId: string; done: Promise<unknown> }> => engine.start(d);

  // Warm up both paths (server start, JIT, sql.js statements), sequential and parallel alike.
  const client = await rawClient();
  const shortChain = definition(chainWorkflow(STEPS_PER_PARALLEL_RUN));
  const runParallel = async (): Promise<number> => {
    const started = performance.now();
    const runs = await Promise.all(Array.from({ length: PARALLEL_RUNS }, () => start(shortChain)));
    await Promise.all(runs.map((r) => r.done));
    return ((PARALLEL_RUNS * STEPS_PER_PARALLEL_RUN) / (performance.now() - started)) * 1000;
  };
  for (let i = 0; i < 3; i++) {
    await rawSequential(client, 300);
    await (await start(definition(chainWorkflow(300)))).done;
    await rawParallel(client, PARALLEL_RUNS, STEPS_PER_PARALLEL_RUN);
    await runParallel();
  }

  const raw = await rawSequential(client, SEQUENTIAL_STEPS);

  const completions: number[] = [];
  const unsubscribe = store.subscribe((e) => {
    if (e.type === 'StepCompleted') completions.push(performance.now());
  });
  const chainDefinition = definition(chainWorkflow(SEQUENTIAL_STEPS));
  const chainStarted = performance.now();
  const chain = await start(chainDefinition);
  await chain.done;
  const chainTotal = performance.now() - chainStarted;
  unsubscribe();
  const perStep = completions.slice(1).map((t, i) => t - completions[i]);

  // Alternate raw and engine rounds so that each pair sees the same machine (this one's speed drifts by tens of
  // per cent from minute to minute); report the medians and the median of the pairs' ratios.
  const rawRounds: number[] = [];
  const engineRounds: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < PARALLEL_ROUNDS; i++) {
    rawRounds.push(await rawParallel(client, PARALLEL_RUNS, STEPS_PER_PARALLEL_RUN));
    engineRounds.push(await runParallel());
    ratios.push(engineRounds[i] / rawRounds[i]);
  }
  const rawThroughput = median(rawRounds);
  const engineThroughput = median(engineRounds);

  await client.close();
  await pool.closeAll();
  await store.close();
  fs.rmSync(dataDir, { recursive: true, force: true });

  const overhead = median(perStep) - median(raw);
  const ratio = median(ratios);
  const rows: Array<[string, string, string]> = [
    ['raw SDK echo round trip, median', `${median(raw).toFixed(3)} ms`, ''],
    ['raw SDK echo round trip, p99', `${percentile(raw, 0.99).toFixed(3)} ms`, ''],
    [`engine step (chain of ${SEQUENTIAL_STEPS}), median`, `${median(perStep).toFixed(3)} ms`, ''],
    [`engine step (chain of ${SEQUENTIAL_STEPS}), p99`, `${percentile(perStep, 0.99).toFixed(3)} ms`, ''],
    ['engine overhead per step, median', `${overhead.toFixed(3)} ms`, `≤ 0.300 ms ${overhead <= 0.3 ? 'met' : 'MISSED'}`],
    [`chain of ${SEQUENTIAL_STEPS} total`, `${chainTotal.toFixed(0)} ms`, ''],
    [`raw SDK throughput, ${PARALLEL_RUNS} concurrent chains of ${STEPS_PER_PARALLEL_RUN} (median of ${PARALLEL_ROUNDS})`, `${rawThroughput.toFixed(0)} calls/s`, ''],
    [`engine throughput, ${PARALLEL_RUNS} workflows of ${STEPS_PER_PARALLEL_RUN} steps in parallel`, `${engineThroughput.toFixed(0)} steps/s`, ''],
    [`engine / raw throughput (median of ${PARALLEL_ROUNDS} paired rounds)`, `${(ratio * 100).toFixed(1)} %`, `≥ 80 % ${ratio >= 0.8 ? 'met' : 'MISSED'}`],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log(`${'measure'.padEnd(w0)}  ${'value'.padStart(w1)}  target`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
  console.log(`\n(every step's result is durable in the journal (O_DSYNC write, group commit) before the next step sees it; data dir on ${os.tmpdir()})`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
