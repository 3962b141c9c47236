import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import initSqlJs, { type SqlJsStatic } from 'sql.js';

let loading: Promise<SqlJsStatic> | undefined;

/**
 * V8 moves a hot WebAssembly function to optimized code once it has run this much (its default is 1.8 M). With the
 * default, SQLite's hottest functions tier up while a process opens its store, and the start waits about 80 ms for
 * it (a sidecar answered in ~270 ms, with this in ~215 ms, here); they tier up a little later instead. A V8 flag:
 * one that a future V8 lacks is only a warning on stderr.
 */
const WASM_TIERING_BUDGET = 100_000_000;

/** sql.js, loaded once. The wasm file sits beside the bundle, or in node_modules when running from source. */
export function loadSqlJs(): Promise<SqlJsStatic> {
  if (!loading) {
    v8.setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
    loading = initSqlJs({ locateFile: (file: string) => wasmPath(file) });
  }
  return loading;
}

function wasmPath(file: string): string {
  const beside = path.join(__dirname, file);
  return fs.existsSync(beside) ? beside : require.resolve(`sql.js/dist/${file}`);
}
