import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatDiagnostic } from '../../common/diagnostics';
import type { ErrorType as EngineErrorType } from '../../common/events';
import { compileWorkflow, type CompiledWorkflow } from '../../sidecar/code-first/compile';
import { loadEsbuild, workflowEsbuild } from '../../sidecar/code-first/esbuild-loader';
import { evaluateBundle, loadCodeWorkflow } from '../../sidecar/code-first/load';
import { Sandbox, SandboxError, SiteMapper } from '../../sidecar/code-first/sandbox';
import type { ErrorType as ApiErrorType } from '../../sidecar/code-first/workflow';
import { findWorkflowFiles } from '../../sidecar/workspace/find-workflows';
import { openWorkspace } from '../../sidecar/workspace/workspace';
import { ROOT } from '../support/cli';

// The API's error types are the engine's, exactly: this fails to typecheck when they drift apart.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const errorTypesAgree: Same<ApiErrorType, EngineErrorType> = true;

/** Compiling, sandboxing and loading code-first workflows: no engine, no servers. */
describe('code-first workflows: compile, sandbox, load', function () {
  this.timeout(30_000);
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-cf-unit-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
  };
  const problemsOf = async (file: string): Promise<string[]> =>
    (await loadCodeWorkflow(file, openWorkspace(dir))).problems.map((p) => formatDiagnostic(p.file, p.diagnostic).replace(`${dir}${path.sep}`, '').replace(path.relative(process.cwd(), dir) + path.sep, ''));

  it('agrees with the engine on the error types', () => assert.equal(errorTypesAgree, true));

  describe('compiling', () => {
    it('bundles relative imports and npm packages without I/O, with a hash of the bundle', async () => {
      write('lib/words.ts', `export const shout = (s: string): string => s.toUpperCase() + '!';\n`);
      const file = write(
        'ok.workflow.ts',
        `import { workflow } from 'openconductor/workflow';\nimport { shout } from './lib/words';\nexport default workflow({ name: 'ok' }, async (ctx) => ({ said: shout('hi') }));\n`,
      );
      const compiled = await compileWorkflow(file);
      assert.deepEqual(compiled.problems, []);
      assert.match(compiled.bundle!, /toUpperCase/);
      assert.match(compiled.bundle!, /sourceMappingURL=data:application\/json;base64,/);
      assert.match(compiled.hash!, /^[0-9a-f]{64}$/);
      assert.equal((await compileWorkflow(file)).hash, compiled.hash, 'the same source compiles to the same bundle');
      write('lib/words.ts', `export const shout = (s: string): string => s.toLowerCase();\n`);
      assert.notEqual((await compileWorkflow(file)).hash, compiled.hash, 'an imported module is part of the version');

      // An npm package (pure JS) from the repository's node_modules.
      fs.mkdirSync(path.join(ROOT, '.test-workspaces'), { recursive: true });
      const npmDir = fs.mkdtempSync(path.join(ROOT, '.test-workspaces', 'npm-'));
      try {
        const npmFile = path.join(npmDir, 'npm.workflow.ts');
        fs.writeFileSync(npmFile, `import { workflow } from 'openconductor/workflow';\nimport { parse } from 'yaml';\nexport default workflow({ name: 'npm' }, async () => parse('a: 1'));\n`);
        const npm = await compileWorkflow(npmFile);
        assert.deepEqual(npm.problems.filter((p) => p.diagnostic.severity === 'error'), []);
        const sandbox = new Sandbox(npm.bundle!, { clock: () => 0, seed: 's' });
        assert.equal(sandbox.isWorkflow, true);
      } finally {
        fs.rmSync(npmDir, { recursive: true, force: true });
      }
    });

    it('reports a syntax error at its file, line and column', async () => {
      const file = write('broken.workflow.ts', `import { workflow } from 'openconductor/workflow';\nexport default workflow({ name: 'x' }, async (ctx) => {\n  const a = ;\n});\n`);
      const problems = await problemsOf(file);
      assert.equal(problems.length, 1);
      assert.match(problems[0], /broken\.workflow\.ts:3:13: error: Unexpected ";"/);
    });

    it('refuses I/O outside ctx: Node built-ins, process, require, timers, fetch, in every own module, at their positions', async () => {
      write(
        'helper.ts',
        `import { readFileSync } from 'node:fs';\nexport const read = () => readFileSync('/etc/hostname', 'utf8');\nexport const home = () => process.env.HOME;\n`,
      );
      const file = write(
        'io.workflow.ts',
        [
          `import { workflow } from 'openconductor/workflow';`,
          `import * as cp from 'child_process';`,
          `import { read, home } from './helper';`,
          `export default workflow({ name: 'io' }, async (ctx) => {`,
          `  const process = { env: {} }; // a local variable of that name is fine`,
          `  setTimeout(() => undefined, 10);`,
          `  const r = require('./helper');`,
          `  await fetch('https://example.com');`,
          `  return { a: cp.execSync('ls').toString(), b: read(), c: home(), d: process.env, r };`,
          `});`,
          ``,
        ].join('\n'),
      );
      const problems = await problemsOf(file);
      const has = (pattern: RegExp): void => assert.ok(problems.some((p) => pattern.test(p)), `expected ${pattern} in:\n${problems.join('\n')}`);
      has(/io\.workflow\.ts:2:21: error: no I\/O in a workflow except through ctx: 'child_process' is a Node built-in module/);
      has(/helper\.ts:1:30: error: no I\/O in a workflow except through ctx: 'node:fs' is a Node built-in module/);
      has(/helper\.ts:3:27: error: no I\/O in a workflow except through ctx: `process` is not available/);
      has(/io\.workflow\.ts:6:3: error: `setTimeout` is not available in a workflow: wait with `await ctx\.sleep/);
      has(/io\.workflow\.ts:7:13: error: no I\/O in a workflow except through ctx: `require` is not available/);
      has(/io\.workflow\.ts:8:9: error: no I\/O in a workflow except through ctx: `fetch` is not available/);
      assert.ok(!problems.some((p) => /io\.workflow\.ts:5:/.test(p)), 'a local variable named process is not reported');
      assert.ok(!problems.some((p) => /io\.workflow\.ts:9:/.test(p)), 'nor its uses');
    });

    it('compiles alike with native esbuild (chosen here) and the esbuild-wasm shipped in dist/: the same bundle, the same problems', async () => {
      assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'esbuild-wasm', 'esbuild.wasm')), 'dist/esbuild-wasm is missing: run npm run build first (npm test does).');
      assert.equal(workflowEsbuild().kind, 'native', 'where the esbuild package resolves, it compiles');
      write('lib/words.ts', `export const shout = (s: string): string => s.toUpperCase() + '!';\n`);
      const ok = write('ok.workflow.ts', `import { workflow } from 'openconductor/workflow';\nimport { shout } from './lib/words';\nexport default workflow({ name: 'ok' }, async (ctx) => ({ said: shout('hé') }));\n`);
      const bad = write('bad.workflow.ts', `import { workflow } from 'openconductor/workflow';\nimport * as fs from 'node:fs';\nexport default workflow({ name: 'bad' }, async () => {\n  setTimeout(() => fs, 1);\n});\n`);
      const native = loadEsbuild('native');
      const wasm = loadEsbuild('wasm');
      assert.notEqual(wasm, native);
      const seen = (compiled: CompiledWorkflow): unknown => ({ hash: compiled.hash, problems: compiled.problems.map((p) => formatDiagnostic(p.file, p.diagnostic)) });
      const [okWasm, badWasm] = [await compileWorkflow(ok, wasm), await compileWorkflow(bad, wasm)];
      assert.deepEqual(seen(okWasm), seen(await compileWorkflow(ok, native)));
      assert.deepEqual(seen(badWasm), seen(await compileWorkflow(bad, native)));
      assert.match(okWasm.hash!, /^[0-9a-f]{64}$/);
      assert.deepEqual(okWasm.problems, []);
      assert.equal(badWasm.problems.length, 2, 'the built-in import (a build error) and the timer (found by a transform)');
      assert.deepEqual(
        badWasm.problems.map((p) => p.file.location(p.diagnostic.range.start).replace(/^.*:(\d+:\d+)$/, '$1')),
        ['2:21', '4:3'],
        'in file order, whichever check found its problem first',
      );
    });

    it('lets only openconductor/workflow be imported from the package', async () => {
      const file = write('pkg.workflow.ts', `import { workflow } from 'openconductor/workflow';\nimport x from 'openconductor/engine';\nexport default workflow({ name: 'p' }, async () => ({ x }));\n`);
      const problems = await problemsOf(file);
      assert.match(problems.join('\n'), /pkg\.workflow\.ts:2:15: error: 'openconductor\/engine' cannot be imported in a workflow/);
    });
  });

  describe('loading', () => {
    it('needs a workflow() default export, and valid options, reported where workflow() is called', async () => {
      const noDefault = write('none.workflow.ts', `export const x = 1;\n`);
      assert.match((await problemsOf(noDefault)).join('\n'), /none\.workflow\.ts:1:1: error: none\.workflow\.ts must export a workflow by default/);

      const bad = write(
        'bad.workflow.ts',
        `import { workflow } from 'openconductor/workflow';\n\nexport default workflow(\n  { name: 'bad', inputz: {}, inputs: { n: { type: 'number', default: 'x' } }, servers: { s: { command: 'a', url: 'http://b' } }, defaults: { retry: { maximumAttempts: -1 } } } as never,\n  async () => ({}),\n);\n`,
      );
      const problems = await problemsOf(bad);
      const at = /^bad\.workflow\.ts:3:16: error: /;
      assert.ok(problems.every((p) => at.test(p)), problems.join('\n'));
      const text = problems.join('\n');
      assert.match(text, /the workflow options has no key 'inputz'\. Did you mean 'inputs'\?/);
      assert.match(text, /the default of input 'n' must be a number, not "x"/);
      assert.match(text, /server 's' has both 'command' and 'url'/);
      assert.match(text, /defaults\.retry\.maximumAttempts must be a whole number/);

      const throws = write('throws.workflow.ts', `import { workflow } from 'openconductor/workflow';\nconst n: number = JSON.parse('null').length;\nexport default workflow({ name: 't' }, async () => ({ n }));\n`);
      assert.match((await problemsOf(throws)).join('\n'), /throws\.workflow\.ts:2:\d+: error: the workflow code threw while the workflow module loaded: TypeError: Cannot read properties of null/);
    });

    it('reads the options into the YAML model: inputs, servers with expressions, defaults', async () => {
      const file = write(
        'model.workflow.ts',
        `import { workflow } from 'openconductor/workflow';\nexport default workflow({\n  name: 'model',\n  inputs: { folder: { type: 'string', default: 'data' }, n: { default: 3 } },\n  servers: { files: { command: 'npx', args: ['-y', 'server', '\${{ inputs.folder }}'] } },\n  defaults: { timeout: '5s', retry: { maximumAttempts: 2 } },\n  circuitBreakers: { files: { failureRateThreshold: '20%' } },\n}, async () => ({}));\n`,
      );
      const loaded = await loadCodeWorkflow(file, openWorkspace(dir));
      assert.deepEqual(loaded.problems, []);
      const wf = loaded.workflow!;
      assert.equal(wf.name, 'model');
      assert.deepEqual(wf.inputs.map((i) => [i.name, i.type, i.default, i.required]), [
        ['folder', 'string', 'data', false],
        ['n', 'integer', 3, false],
      ]);
      assert.equal(wf.defaults.timeoutMs, 5000);
      assert.equal(wf.defaults.retry?.maximumAttempts, 2);
      assert.equal(wf.defaults.retry?.initialIntervalMs, 1000, "Temporal's defaults for the fields left out");
      assert.equal(wf.circuitBreakers.get('files')?.failureRateThreshold, 0.2);
      const files = loaded.servers.get('files')!;
      assert.equal(files.origin, 'workflow');
      assert.equal(files.file.location(files.range.start), `${files.file.path}:5:14`, 'the server is located at its name');
    });

    it('finds *.workflow.ts files beside YAML ones', () => {
      write('a.workflow.ts', '');
      write('b.workflow.yaml', '');
      write('c.ts', '');
      assert.deepEqual(findWorkflowFiles(dir).map((f) => path.basename(f)), ['a.workflow.ts', 'b.workflow.yaml']);
    });
  });

  describe('the sandbox', () => {
    const bundleOf = async (body: string): Promise<string> => {
      const file = write(`s${Math.random().toString(36).slice(2)}.workflow.ts`, `import { workflow } from 'openconductor/workflow';\n${body}\n`);
      const compiled = await compileWorkflow(file);
      assert.deepEqual(compiled.problems.filter((p) => p.diagnostic.severity === 'error'), []);
      return compiled.bundle!;
    };

    /** Runs the function of a bundle to its end (it must ask for no operation) and returns what it returned. */
    const runOnce = (bundle: string, options: { clock?: () => number; seed?: string; input?: unknown; log?: (level: string, text: string) => void } = {}): unknown => {
      const sandbox = new Sandbox(bundle, { clock: options.clock ?? (() => 1_700_000_000_000), seed: options.seed ?? 'run-1', ...(options.log && { log: options.log }) });
      let result: { ok: boolean; payload: string } | undefined;
      sandbox.start('run-1', options.input ?? {}, {
        invoke: () => JSON.stringify({ error: { type: 'InternalError', message: 'no operations here' } }),
        settled: (ok, payload) => (result = { ok, payload }),
      });
      assert.ok(result, 'the function settled before start() returned (its microtasks ran)');
      if (!result.ok) throw new Error(result.payload);
      return (JSON.parse(result.payload) as { value: unknown }).value;
    };

    it('gives the workflow clock to Date and a Math.random seeded by the run id', async () => {
      const bundle = await bundleOf(
        `export default workflow({ name: 'd' }, async (ctx) => ({ now: Date.now(), date: new Date().toISOString(), ctx: ctx.now(), explicit: new Date(0).toISOString(), called: typeof Date(), isDate: new Date() instanceof Date, random: [Math.random(), Math.random(), Math.random()] }));`,
      );
      const a = runOnce(bundle, { clock: () => 1_700_000_000_000, seed: 'run-a' }) as Record<string, unknown>;
      assert.equal(a.now, 1_700_000_000_000);
      assert.equal(a.ctx, 1_700_000_000_000);
      assert.equal(a.date, new Date(1_700_000_000_000).toISOString());
      assert.equal(a.explicit, '1970-01-01T00:00:00.000Z', 'a date given explicitly is that date');
      assert.equal(a.called, 'string');
      assert.equal(a.isDate, true);
      const again = runOnce(bundle, { clock: () => 1_700_000_000_000, seed: 'run-a' }) as Record<string, unknown>;
      assert.deepEqual(again.random, a.random, 'the same run id draws the same numbers');
      const other = runOnce(bundle, { clock: () => 1_700_000_000_000, seed: 'run-b' }) as Record<string, unknown>;
      assert.notDeepEqual(other.random, a.random, 'another run draws others');
      for (const r of a.random as number[]) assert.ok(r >= 0 && r < 1);
    });

    it('has no timers, no fetch, no require, no process, no GC callbacks; console goes to the host', async () => {
      const bundle = await bundleOf(
        `const g = globalThis as Record<string, unknown>;\nexport default workflow({ name: 'g' }, async () => { console.log('hello', { n: 1 }); return Object.fromEntries(['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'fetch', 'require', 'process', 'Buffer', 'WeakRef', 'FinalizationRegistry', 'WebAssembly'].map((k) => [k, typeof g[k]])); });`,
      );
      const logged: string[] = [];
      const types = runOnce(bundle, { log: (level, text) => logged.push(`${level}: ${text}`) }) as Record<string, string>;
      for (const [name, type] of Object.entries(types)) assert.equal(type, 'undefined', name);
      assert.deepEqual(logged, ['log: hello { n: 1 }']);
    });

    it('clones values into its own realm, so Array.isArray and prototypes work', async () => {
      const bundle = await bundleOf(
        `export default workflow({ name: 'r' }, async (ctx, input: { list: number[]; obj: object }) => ({ isArray: Array.isArray(input.list), plain: Object.getPrototypeOf(input.obj) === Object.prototype, arrayProto: input.list instanceof Array }));`,
      );
      assert.deepEqual(runOnce(bundle, { input: { list: [1, 2], obj: { a: 1 } } }), { isArray: true, plain: true, arrayProto: true });
    });

    it('stops code that never waits, and maps its frames to the source', async () => {
      const bundle = await bundleOf(`export default workflow({ name: 'loop' }, async () => {\n  for (;;) {}\n});`);
      const sandbox = new Sandbox(bundle, { clock: () => 0, seed: 's', timeoutMs: 200 });
      assert.throws(
        () => sandbox.start('r', {}, { invoke: () => '{}', settled: () => undefined }),
        (error: unknown) => error instanceof SandboxError && /ran for more than 0\.2s without waiting/.test(error.message),
      );
      const throwing = await bundleOf(`function deep(): never {\n  throw new Error('boom');\n}\nexport const x = deep();\nexport default workflow({ name: 't' }, async () => ({}));`);
      try {
        new Sandbox(throwing, { clock: () => 0, seed: 's' });
        assert.fail('it should throw');
      } catch (error) {
        assert.ok(error instanceof SandboxError);
        const mapper = new SiteMapper(throwing, 'flows/t.workflow.ts');
        const position = mapper.position(error.codeStack)!;
        assert.equal(position.line, 3, 'the throw, below the import line bundleOf adds');
        assert.match(mapper.location(error.codeStack)!, /^flows\/s\w+\.workflow\.ts:3:\d+$/);
      }
    });

    it('reads the options of a pinned bundle without its file', async () => {
      const bundle = await bundleOf(`export default workflow({ name: 'pinned', inputs: { a: { type: 'string' } } }, async () => ({}));`);
      const evaluated = evaluateBundle(bundle, 'gone/pinned.workflow.ts');
      assert.deepEqual(evaluated.problems, []);
      assert.equal(evaluated.workflow?.name, 'pinned');
      assert.equal(evaluated.workflow?.inputs[0].required, true);
    });
  });

  describe('the published API', () => {
    it('ships declarations that typecheck a workflow, and catch misuse', function () {
      const declarations = path.join(ROOT, 'dist', 'workflow.d.ts');
      assert.ok(fs.existsSync(declarations), `${declarations} is missing: run npm run build first (npm test does).`);
      assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'workflow.js')));
      const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }>; dependencies: Record<string, string> };
      assert.deepEqual(pkg.exports['./workflow'], { types: './dist/workflow.d.ts', default: './dist/workflow.js' });
      assert.ok(pkg.dependencies.esbuild, 'esbuild is a runtime dependency');

      const project = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-api-'));
      try {
        // A consumer's project: openconductor/workflow resolves to the shipped declarations only.
        fs.mkdirSync(path.join(project, 'node_modules', 'openconductor', 'dist'), { recursive: true });
        fs.copyFileSync(declarations, path.join(project, 'node_modules', 'openconductor', 'dist', 'workflow.d.ts'));
        fs.writeFileSync(path.join(project, 'node_modules', 'openconductor', 'package.json'), JSON.stringify({ name: 'openconductor', exports: { './workflow': { types: './dist/workflow.d.ts', default: './dist/workflow.js' } } }));
        fs.writeFileSync(
          path.join(project, 'tsconfig.json'),
          JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'preserve', moduleResolution: 'bundler', lib: ['es2023'], types: [] }, include: ['*.ts'] }),
        );
        fs.writeFileSync(
          path.join(project, 'deploy.workflow.ts'),
          `import { workflow, WorkflowError, isCancellation, type WorkflowContext } from 'openconductor/workflow';
export default workflow(
  { name: 'deploy', inputs: { version: { type: 'string' } }, servers: { ci: { command: 'ci-server', args: ['--stdio'] } }, defaults: { timeout: '30s' } },
  async (ctx: WorkflowContext, input: { version: string }) => {
    const build = await ctx.call<{ id: string }>('ci', 'build', { version: input.version }, { retry: { maximumAttempts: 3 }, timeout: '30s' });
    const [a, b] = await ctx.parallel([() => ctx.call('ci', 'test', { suite: 'a' }), () => Promise.resolve(2)]);
    const n: number = b;
    const decision = await ctx.approval({ id: 'release', message: \`Ship \${input.version}?\`, timeout: '1h' });
    if (!decision.approved) return { shipped: false, by: decision.by };
    await ctx.sleep('5m');
    const paid = await ctx.signal<{ amount: number }>('payment', { timeout: '24h' });
    try { await ctx.call('ci', 'deploy'); } catch (e) { if (e instanceof WorkflowError && e.type === 'ToolError') return { failed: e.message }; if (isCancellation(e)) throw e; }
    return { shipped: true, id: build.id, a, n, amount: paid.amount, at: ctx.now(), run: ctx.runId };
  },
);
`,
        );
        const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
        const good = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
        assert.equal(good.status, 0, good.stdout + good.stderr);

        fs.writeFileSync(
          path.join(project, 'misuse.workflow.ts'),
          `import { workflow } from 'openconductor/workflow';
export default workflow({ name: 'm' }, async (ctx) => {
  await ctx.call('ci', 'build', {}, { retry: { maximumAttempts: 'three' } });
  await ctx.sleep('five minutes');
  await ctx.approval({ onTimeout: 'maybe' });
  return {};
});
`,
        );
        const bad = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
        assert.notEqual(bad.status, 0);
        assert.match(bad.stdout, /misuse\.workflow\.ts\(3,/);
        assert.match(bad.stdout, /misuse\.workflow\.ts\(4,/);
        assert.match(bad.stdout, /misuse\.workflow\.ts\(5,/);
        assert.doesNotMatch(bad.stdout, /deploy\.workflow\.ts/);
      } finally {
        fs.rmSync(project, { recursive: true, force: true });
      }
    });
  });
});
