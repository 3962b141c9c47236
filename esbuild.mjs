// Bundles the entry points. `node esbuild.mjs` builds once; `--watch` rebuilds on change; `--production` minifies.
import { chmod, copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as esbuild from 'esbuild';

const require = createRequire(import.meta.url);
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** The sidecar and the `openconductor` CLI are one bundle: the CLI runs the engine in-process. */
const entryPoints = [{ in: 'sidecar/cli.ts', out: 'openconductor', banner: '#!/usr/bin/env node' }];

await mkdir('dist', { recursive: true });
await copyFile(require.resolve('sql.js/dist/sql-wasm.wasm'), 'dist/sql-wasm.wasm');

const contexts = await Promise.all(
  entryPoints.map((entry) =>
    esbuild.context({
      entryPoints: { [entry.out]: entry.in },
      outdir: 'dist',
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      // jsonc-parser's UMD build hides its requires from bundlers; its ESM build does not.
      mainFields: ['module', 'main'],
      sourcemap: true,
      minify: production,
      banner: entry.banner ? { js: entry.banner } : undefined,
      logLevel: 'warning',
    }),
  ),
);

if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
  await chmod('dist/openconductor.js', 0o755);
}
