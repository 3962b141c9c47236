import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { isBuiltin, SourceMap } from 'node:module';
import * as path from 'node:path';
import type * as Esbuild from 'esbuild';
import { compareDiagnostics, type Diagnostic } from '../../common/diagnostics';
import { SourceFile } from '../../common/source';
import { displayPath } from '../workspace/workspace';
import { workflowEsbuild } from './esbuild-loader';
import { GLOBAL_NAME } from './sandbox';

/** A diagnostic with the file it is about: a workflow's problems may be in the modules it imports. */
export interface FileDiagnostic {
  file: SourceFile;
  diagnostic: Diagnostic;
}

export interface CompiledWorkflow {
  /** The bundle: the workflow, its relative and npm imports and the runtime, as one script with an inline source map. */
  bundle?: string;
  /** sha256 of the bundle: the version a run is pinned to. */
  hash?: string;
  problems: FileDiagnostic[];
}

const NO_IO = 'no I/O in a workflow except through ctx';

/** Globals a workflow may not use, and what to do instead. */
const FORBIDDEN_GLOBALS: Record<string, string> = {
  process: `${NO_IO}: \`process\` is not available (inputs come as the function's input, secrets through the servers' definitions).`,
  require: `${NO_IO}: \`require\` is not available; import modules instead (relative files and npm packages without I/O are bundled).`,
  __dirname: `${NO_IO}: \`__dirname\` is not available.`,
  __filename: `${NO_IO}: \`__filename\` is not available.`,
  Buffer: '`Buffer` is not available in a workflow (it is Node-specific): use strings, arrays or Uint8Array.',
  fetch: `${NO_IO}: \`fetch\` is not available; call an MCP tool with ctx.call instead.`,
  XMLHttpRequest: `${NO_IO}: \`XMLHttpRequest\` is not available; call an MCP tool with ctx.call instead.`,
  WebSocket: `${NO_IO}: \`WebSocket\` is not available; call an MCP tool with ctx.call instead.`,
  setTimeout: '`setTimeout` is not available in a workflow: wait with `await ctx.sleep(…)`, which is durable.',
  setInterval: '`setInterval` is not available in a workflow: loop with `await ctx.sleep(…)`, which is durable.',
  setImmediate: '`setImmediate` is not available in a workflow.',
  clearTimeout: '`clearTimeout` is not available in a workflow: there are no timers but ctx.sleep.',
  clearInterval: '`clearInterval` is not available in a workflow: there are no timers but ctx.sleep.',
  clearImmediate: '`clearImmediate` is not available in a workflow.',
};
const MARK = '__openconductor_forbidden_';

/** The runtime that `openconductor/workflow` resolves to in a bundle: the built module beside the engine's bundle, else its source. */
function runtimeModule(): { file: string; loader: 'js' | 'ts' } {
  const candidates: Array<[string, 'js' | 'ts']> = [
    [path.join(__dirname, 'workflow.js'), 'js'],
    [path.join(__dirname, 'workflow.ts'), 'ts'],
    [path.join(__dirname, '..', 'dist', 'workflow.js'), 'js'],
    [path.join(__dirname, '..', 'sidecar', 'code-first', 'workflow.ts'), 'ts'],
  ];
  for (const [file, loader] of candidates) if (fs.existsSync(file)) return { file, loader };
  throw new Error(`the openconductor/workflow runtime is missing (looked for ${candidates.map(([f]) => f).join(', ')}): run npm run build.`);
}

function isDependency(file: string): boolean {
  return file.split(/[\\/]/).includes('node_modules');
}

/**
 * Reads source files for positions in messages, once each, by absolute path (`known` ones are not read again).
 * A file that cannot be read is empty: positions in it point at its start, and its own error says why.
 */
export function sourceFiles(known: Array<[string, SourceFile]> = []): (absolute: string) => SourceFile {
  const files = new Map(known);
  return (absolute) => {
    let source = files.get(absolute);
    if (!source) {
      let text = '';
      try {
        text = fs.readFileSync(absolute, 'utf8');
      } catch {
        // Empty, as said above.
      }
      source = new SourceFile(displayPath(absolute), text);
      files.set(absolute, source);
    }
    return source;
  };
}

/**
 * Compiles a `*.workflow.ts` file with esbuild into one script for the sandbox: its relative imports and pure npm
 * imports bundled, `openconductor/workflow` resolved to the runtime, an inline source map to name call sites. An
 * import of a Node built-in, or a use of `process`, `require`, timers or `fetch` in the workflow's own files, is an
 * error at its position. Never throws for problems of the file: they come back as diagnostics. `build` is the
 * esbuild to use (benchmarks and tests compare them); by default the one {@link workflowEsbuild} chooses.
 */
export async function compileWorkflow(filePath: string, build: typeof Esbuild = workflowEsbuild().api): Promise<CompiledWorkflow> {
  const dir = path.dirname(filePath);
  const problems: FileDiagnostic[] = [];
  const sourceOf = sourceFiles();
  const checks: Array<Promise<void>> = [];

  const plugin: Esbuild.Plugin = {
    name: 'openconductor-workflow',
    setup(b) {
      b.onResolve({ filter: /^openconductor\/workflow$/ }, () => ({ path: 'workflow', namespace: 'openconductor' }));
      b.onResolve({ filter: /^openconductor(\/.*)?$/ }, (args) => ({
        errors: [{ text: `'${args.path}' cannot be imported in a workflow: the API is import { workflow } from 'openconductor/workflow'.` }],
      }));
      b.onLoad({ filter: /.*/, namespace: 'openconductor' }, () => {
        const runtime = runtimeModule();
        return { contents: fs.readFileSync(runtime.file, 'utf8'), loader: runtime.loader, resolveDir: path.dirname(runtime.file) };
      });
      b.onResolve({ filter: /.*/ }, (args) => {
        if (!isBuiltin(args.path)) return undefined;
        return { errors: [{ text: `${NO_IO}: '${args.path}' is a Node built-in module. Call an MCP tool with ctx.call instead (a filesystem server, say).` }] };
      });
      b.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, (args) => {
        if (args.namespace === 'file' && !isDependency(args.path)) checks.push(checkGlobals(build, args.path, sourceOf(args.path), problems));
        return undefined;
      });
    },
  };

  let result: Esbuild.BuildResult<{ write: false }> | undefined;
  try {
    result = await build.build({
      entryPoints: [filePath],
      absWorkingDir: dir,
      outfile: path.join(dir, 'workflow.bundle.js'),
      write: false,
      bundle: true,
      format: 'iife',
      globalName: GLOBAL_NAME,
      platform: 'neutral',
      mainFields: ['module', 'main'],
      target: 'node20',
      sourcemap: 'inline',
      sourcesContent: true,
      legalComments: 'none',
      charset: 'utf8',
      logLevel: 'silent',
      plugins: [plugin],
    });
  } catch (error) {
    const failure = error as Esbuild.BuildFailure;
    if (!Array.isArray(failure.errors)) throw error;
    for (const message of failure.errors) problems.push(toDiagnostic(message, 'error', dir, filePath, sourceOf));
  }
  await Promise.all(checks);
  for (const message of result?.warnings ?? []) {
    const file = message.location?.file;
    if (file && isDependency(file)) continue;
    problems.push(toDiagnostic(message, 'warning', dir, filePath, sourceOf));
  }
  sourceOf(filePath);
  // The checks run concurrently with the build: whichever finds a problem first, the list comes in file order.
  problems.sort((a, b) => a.file.path.localeCompare(b.file.path) || compareDiagnostics(a.diagnostic, b.diagnostic));
  const bundle = result?.outputFiles.find((f) => f.path.endsWith('.js'))?.text;
  if (!bundle || problems.some((p) => p.diagnostic.severity === 'error')) return { problems };
  return { bundle, hash: createHash('sha256').update(bundle).digest('hex'), problems };
}

/** An esbuild message as a diagnostic of the file it is about (esbuild's columns count UTF-8 bytes). */
function toDiagnostic(message: Esbuild.Message, severity: 'error' | 'warning', dir: string, entry: string, sourceOf: (file: string) => SourceFile): FileDiagnostic {
  const notes = message.notes.map((n) => n.text).filter((t) => t && !/Are you trying to bundle for node\?/.test(t));
  const text = `${message.text}${notes.length ? ` (${notes.join(' ')})` : ''}`;
  const location = message.location;
  if (!location || (location.namespace && location.namespace !== 'file')) {
    return { file: sourceOf(entry), diagnostic: { severity, message: text, range: { start: 0, end: 0 }, code: 'typescript' } };
  }
  const file = sourceOf(path.resolve(dir, location.file));
  const lineStart = offsetOfLine(file.text, location.line);
  const column = Buffer.from(location.lineText, 'utf8').subarray(0, location.column).toString('utf8').length;
  const length = Buffer.from(location.lineText, 'utf8').subarray(location.column, location.column + location.length).toString('utf8').length;
  const start = Math.min(lineStart + column, file.text.length);
  return { file, diagnostic: { severity, message: text, range: { start, end: Math.min(start + Math.max(length, 1), file.text.length) }, code: message.pluginName ? 'workflow-import' : 'typescript' } };
}

/** The offset where a 1-based line starts. */
export function offsetOfLine(text: string, line: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = text.indexOf('\n', offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  return offset;
}

/** Reports every use of a forbidden global in one of the workflow's own files, at its position. */
async function checkGlobals(build: typeof Esbuild, file: string, source: SourceFile, problems: FileDiagnostic[]): Promise<void> {
  const mentioned = Object.keys(FORBIDDEN_GLOBALS).filter((name) => source.text.includes(name));
  if (mentioned.length === 0) return;
  const ext = path.extname(file).replace(/^\.[cm]?/, '');
  const loader = (['ts', 'tsx', 'js', 'jsx'].includes(ext) ? ext : 'ts') as Esbuild.Loader;
  let output: Esbuild.TransformResult;
  try {
    // `define` replaces only free references: a local variable or parameter of the same name is left alone.
    output = await build.transform(source.text, {
      loader,
      sourcefile: file,
      sourcemap: 'external',
      logLevel: 'silent',
      define: Object.fromEntries(mentioned.map((name) => [name, `${MARK}${name}__`])),
    });
  } catch {
    return; // A syntax error: the build reports it.
  }
  const map = new SourceMap(JSON.parse(output.map) as ConstructorParameters<typeof SourceMap>[0]);
  const lines = output.code.split('\n');
  const pattern = new RegExp(`${MARK}(\\w+?)__`, 'g');
  lines.forEach((text, line) => {
    for (const match of text.matchAll(pattern)) {
      const name = match[1];
      const entry = map.findEntry(line, match.index) as { originalLine?: number; originalColumn?: number };
      if (entry.originalLine === undefined) continue;
      const start = offsetOfLine(source.text, entry.originalLine + 1) + (entry.originalColumn ?? 0);
      problems.push({ file: source, diagnostic: { severity: 'error', message: FORBIDDEN_GLOBALS[name], range: { start, end: start + name.length }, code: 'forbidden-global' } });
    }
  });
}
