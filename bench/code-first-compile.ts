/**
 * Compiling a *.workflow.ts (examples/team-onboarding.workflow.ts) with native esbuild (the npm install) and with the
 * esbuild-wasm shipped in dist/ (the .vsix):  npm run build && node bench/run.mjs bench/code-first-compile.ts
 * Prints a table: the first compile of a process (loading esbuild and starting its service included: what the first
 * run of a .workflow.ts in a sidecar waits for) and the warm ones after it (the service kept alive).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { compileWorkflow } from '../sidecar/code-first/compile';
import { loadEsbuild, type EsbuildKind } from '../sidecar/code-first/esbuild-loader';

const ROOT = path.resolve(__dirname, '..');
const WORKFLOW = path.join(ROOT, 'examples', 'team-onboarding.workflow.ts');
const WARM_COMPILES = Number(process.env.BENCH_COMPILES ?? 30);
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 3);

interface Timings {
  first: number;
  warm: number[];
}

/** One process's timings: esbuild loaded, then the workflow compiled 1 + WARM_COMPILES times. */
async function measure(kind: EsbuildKind): Promise<Timings> {
  const start = performance.now();
  const build = loadEsbuild(kind);
  const compile = async (): Promise<void> => {
    const compiled = await compileWorkflow(WORKFLOW, build);
    if (!compiled.bundle) throw new Error(`${kind}: ${JSON.stringify(compiled.problems.map((p) => p.diagnostic.message))}`);
  };
  await compile();
  const first = performance.now() - start;
  const warm: number[] = [];
  for (let i = 0; i < WARM_COMPILES; i++) {
    const t = performance.now();
    await compile();
    warm.push(performance.now() - t);
  }
  return { first, warm };
}

const at = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const ms = (value: number): string => `${value.toFixed(1)} ms`;

/** Each process measures one kind: a first compile is only first in a fresh process. */
function main(): void {
  const kind = process.argv[2] as EsbuildKind | undefined;
  if (kind) {
    void measure(kind).then((timings) => process.stdout.write(`${JSON.stringify(timings)}\n`));
    return;
  }
  const table = [['esbuild', 'first compile (median)', 'warm compile (median)', 'warm p95']];
  for (const each of ['native', 'wasm'] as const) {
    const runs = Array.from({ length: PROCESSES }, () => {
      const child = spawnSync(process.execPath, [process.argv[1], each], { encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`${each} failed:\n${child.stderr}`);
      return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Timings;
    });
    const firsts = runs.map((r) => r.first).sort((a, b) => a - b);
    const warm = runs.flatMap((r) => r.warm).sort((a, b) => a - b);
    table.push([each, ms(at(firsts, 0.5)), ms(at(warm, 0.5)), ms(at(warm, 0.95))]);
  }
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  for (const row of table) console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  console.log(`\n(${path.relative(ROOT, WORKFLOW)}; ${PROCESSES} fresh processes per kind, ${WARM_COMPILES} warm compiles each; the wasm one is dist/esbuild-wasm, as shipped)`);
}

main();
