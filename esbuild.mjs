// Bundles the entry points. `node esbuild.mjs` builds once; `--watch` rebuilds on change; `--production` minifies.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as esbuild from 'esbuild';
import { shipEsbuildWasm } from './scripts/esbuild-wasm.mjs';

const require = createRequire(import.meta.url);
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/**
 * The sidecar and the `openconductor` CLI are one bundle: the CLI runs the engine in-process. esbuild stays
 * outside it (a runtime dependency: it compiles *.workflow.ts files, and runs its own binary); the .vsix has no
 * node_modules, so esbuild-wasm is shipped in dist/esbuild-wasm to compile them there (scripts/esbuild-wasm.mjs).
 * `openconductor/workflow` (package.json exports) is the API of code-first workflows; the engine also bundles this
 * build of it into every workflow it compiles. No source map for it: a workflow's map must name its frames as the
 * runtime's, not as the source file's.
 */
const entryPoints = [
  { in: 'sidecar/cli.ts', out: 'openconductor', banner: '#!/usr/bin/env node', sourcemap: true, minify: production, external: ['esbuild'] },
  { in: 'sidecar/code-first/workflow.ts', out: 'workflow', sourcemap: false, minify: false, external: [] },
  // The VS Code extension: `vscode` is the host's; the sidecar runs as its own process from dist/openconductor.js.
  { in: 'extension/extension.ts', out: 'extension', sourcemap: true, minify: production, external: ['vscode'] },
];

await mkdir('dist', { recursive: true });
await copyFile(require.resolve('sql.js/dist/sql-wasm.wasm'), 'dist/sql-wasm.wasm');
await shipEsbuildWasm('dist/esbuild-wasm');

/** The webview apps: each webview/<app>/main.tsx → dist/webview/<app>.js (and .css), run in the browser. */
const webviewApps = readdirSync('webview', { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join('webview', d.name, 'main.tsx'))).map((d) => d.name);

const contexts = await Promise.all([
  ...entryPoints.map((entry) =>
    esbuild.context({
      entryPoints: { [entry.out]: entry.in },
      outdir: 'dist',
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      // jsonc-parser's UMD build hides its requires from bundlers; its ESM build does not.
      mainFields: ['module', 'main'],
      sourcemap: entry.sourcemap,
      external: entry.external,
      minify: entry.minify,
      banner: entry.banner ? { js: entry.banner } : undefined,
      logLevel: 'warning',
    }),
  ),
  esbuild.context({
    entryPoints: Object.fromEntries(webviewApps.map((app) => [app, `webview/${app}/main.tsx`])),
    outdir: 'dist/webview',
    bundle: true,
    platform: 'browser',
    target: 'chrome120',
    format: 'iife',
    jsx: 'automatic',
    // React's production build always: the tests and benchmarks drive what users get.
    define: { 'process.env.NODE_ENV': '"production"' },
    sourcemap: !production,
    minify: production,
    logLevel: 'warning',
  }),
]);

/** The declarations of `openconductor/workflow` (dist/workflow.d.ts), emitted by tsc from its source. */
function emitWorkflowDeclarations() {
  const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
  execFileSync(
    process.execPath,
    [tsc, 'sidecar/code-first/workflow.ts', '--ignoreConfig', '--declaration', '--emitDeclarationOnly', '--outDir', 'dist', '--target', 'es2022', '--module', 'preserve', '--lib', 'es2023', '--strict', '--skipLibCheck', '--types', 'node'],
    { stdio: 'inherit' },
  );
}

emitWorkflowDeclarations();
if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
  await chmod('dist/openconductor.js', 0o755);
}
