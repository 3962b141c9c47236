// Ships esbuild-wasm inside dist/ for the packaged extension, which has no node_modules: it compiles *.workflow.ts
// files where the native esbuild package cannot be resolved (sidecar/code-first/esbuild-loader.ts chooses).
import { mkdir, readFile, writeFile, copyFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * The files esbuild-wasm's Node API needs, in its own layout: lib/main.js refuses to run anywhere but in a `lib`
 * folder, and starts `bin/esbuild`, which loads `../wasm_exec_node.js`, `../wasm_exec.js` and `../esbuild.wasm`.
 */
const FILES = ['package.json', 'LICENSE.md', 'lib/main.js', 'bin/esbuild', 'wasm_exec_node.js', 'wasm_exec.js', 'esbuild.wasm'];

/**
 * lib/main.js starts its service as `node bin/esbuild`, from the PATH. The sidecar runs on VS Code's own runtime
 * (process.execPath, ELECTRON_RUN_AS_NODE=1, inherited by the child), and a user of the extension may have no
 * `node` at all: the service runs on the sidecar's runtime instead.
 */
const SPAWN = 'return ["node", [path2.join(__dirname, "..", "bin", "esbuild")]];';
const SPAWN_WITH_OUR_RUNTIME = 'return [process.execPath, [path2.join(__dirname, "..", "bin", "esbuild")]];';

/** Copies esbuild-wasm into `outDir` (dist/esbuild-wasm), its service started with the runtime that loads it. */
export async function shipEsbuildWasm(outDir) {
  const packageDir = dirname(require.resolve('esbuild-wasm/package.json'));
  for (const file of FILES) {
    await mkdir(dirname(join(outDir, file)), { recursive: true });
    await copyFile(join(packageDir, file), join(outDir, file));
  }
  const main = join(outDir, 'lib', 'main.js');
  const code = await readFile(main, 'utf8');
  if (!code.includes(SPAWN)) throw new Error(`${main}: esbuild-wasm no longer starts its service with \`${SPAWN}\`: update scripts/esbuild-wasm.mjs`);
  await writeFile(main, code.replace(SPAWN, SPAWN_WITH_OUR_RUNTIME));
}
