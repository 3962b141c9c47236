import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type * as Esbuild from 'esbuild';

/** `native`: the esbuild package (installed with the npm package); `wasm`: esbuild-wasm, shipped in dist/ (the .vsix has no node_modules). */
export type EsbuildKind = 'native' | 'wasm';

export interface LoadedEsbuild {
  kind: EsbuildKind;
  api: typeof Esbuild;
}

/** esbuild-wasm's entry as esbuild.mjs ships it: beside the engine's bundle (dist/), or in dist/ seen from a benchmark's bundle (.bench-build/) or from the sources. */
function wasmEntry(): string {
  const dirs = new Set([__dirname, path.join(__dirname, '..', 'dist'), path.join(__dirname, '..', '..', 'dist')]);
  const candidates = [...dirs].map((dir) => path.join(dir, 'esbuild-wasm', 'lib', 'main.js'));
  const found = candidates.find((file) => fs.existsSync(file));
  if (!found) throw new Error(`it is not in ${candidates.join(', ')} (npm run build ships it)`);
  return found;
}

/** Loads one kind of esbuild, or throws why it cannot. Not a static import: the engine's bundles keep esbuild external. */
export function loadEsbuild(kind: EsbuildKind): typeof Esbuild {
  const load = createRequire(__filename);
  return (kind === 'native' ? load('esbuild') : load(wasmEntry())) as typeof Esbuild;
}

/** Neither esbuild can be loaded: an installation problem, told as such. */
export class EsbuildUnavailableError extends Error {
  override name = 'EsbuildUnavailableError';
}

let chosen: LoadedEsbuild | undefined;

/**
 * The esbuild that compiles workflows, loaded on first use (YAML-only commands never pay for it): native where the
 * esbuild package resolves (fast), else the shipped esbuild-wasm. Either starts its service on the first build and
 * keeps it for the life of the process, so wasm's startup (compiling a 14 MB module) is paid once per process.
 */
export function workflowEsbuild(): LoadedEsbuild {
  if (chosen) return chosen;
  const failures: string[] = [];
  for (const kind of ['native', 'wasm'] as const) {
    try {
      chosen = { kind, api: loadEsbuild(kind) };
      return chosen;
    } catch (error) {
      // The first line: Node appends the require stack to a missing module's message.
      failures.push(`${kind === 'native' ? 'esbuild' : 'esbuild-wasm'}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new EsbuildUnavailableError(`compiling a *.workflow.ts file needs esbuild, and neither esbuild nor the esbuild-wasm shipped with the engine could be loaded (${failures.join('; ')})`);
}
