// Runs a benchmark from its bundle, built the way the product is built (esbuild, no dev-time transforms),
// so the figures are the product's:  node bench/run.mjs bench/engine-overhead.ts
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as esbuild from 'esbuild';

const entry = process.argv[2];
if (!entry) {
  console.error('usage: node bench/run.mjs <bench/file.ts> [args…]');
  process.exit(2);
}
// A sibling of bench/, so that paths the bench derives from __dirname and node_modules resolve alike.
const outdir = '.bench-build';
mkdirSync(outdir, { recursive: true });
const outfile = join(outdir, `${basename(entry, '.ts')}.js`);
await esbuild.build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  mainFields: ['module', 'main'],
  logLevel: 'warning',
});
const result = spawnSync(process.execPath, [outfile, ...process.argv.slice(3)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
