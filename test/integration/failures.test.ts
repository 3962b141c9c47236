import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Store } from '../../sidecar/store/store';
import { cli, jsonLines, makeWorkspace, ROOT } from '../support/cli';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'servers');

/** The event log of a run, read back from the workspace's store as a second process would. */
async function eventsOf(ws: string, runId: string): Promise<string[]> {
  const store = await Store.open({ dataDir: path.join(ws, '.openconductor'), mode: 'reader' });
  try {
    return store.events(runId).map((e) => e.type);
  } finally {
    await store.close();
  }
}

function workflow(steps: string, servers = ''): string {
  return `name: failing\n${servers ? `servers:\n${servers}\n` : ''}steps:\n${steps}`;
}

/** Runs a workflow expected to fail; returns the run result and checks the run was recorded whole. */
async function runFailing(ws: string, file: string): Promise<{ runId: string; error: { type: string; message: string; step?: string; server?: string; tool?: string; location?: string }; stderr: string }> {
  const result = await cli(['run', file, '--json'], { cwd: ws, timeoutMs: 90_000 });
  assert.equal(result.code, 1, `expected exit 1\n${result.stdout}\n${result.stderr}`);
  const final = jsonLines(result.stdout).at(-1) as { type: string; runId: string; status: string; error: never };
  assert.equal(final.type, 'RunResult');
  assert.equal(final.status, 'failed');
  const events = await eventsOf(ws, final.runId);
  assert.equal(events[0], 'WorkflowStarted');
  assert.equal(events.at(-1), 'WorkflowFailed', 'the run ends with WorkflowFailed: nothing is left half-written');
  return { runId: final.runId, error: final.error, stderr: result.stderr };
}

describe('bad input: clear errors, non-zero exits, nothing half-written', function () {
  this.timeout(120_000);

  describe('invalid workflow files', () => {
    it('reports malformed YAML at file:line:col and runs nothing', async () => {
      const ws = makeWorkspace('yaml', { 'bad.workflow.yaml': 'name: bad\nsteps:\n  - id: a\n    server: everything\n   tool: echo\n' });
      const validate = await cli(['validate', 'bad.workflow.yaml'], { cwd: ws });
      assert.equal(validate.code, 1);
      assert.match(validate.stdout, /^bad\.workflow\.yaml:5:\d+: error: YAML: /m);
      const run = await cli(['run', 'bad.workflow.yaml'], { cwd: ws });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /bad\.workflow\.yaml is not valid; nothing was run/);
      const list = await cli(['runs', 'list', '--json'], { cwd: ws });
      assert.deepEqual(JSON.parse(list.stdout), [], 'an invalid workflow leaves no run behind');
    });

    it('reports unknown keys, wrong types, cycles and unknown references with positions', async () => {
      const text = [
        'name: broken',
        'steps:',
        '  - id: a',
        '    server: everything',
        '    tool: echo',
        '    withh: {}',
        '    needs: b',
        '  - id: b',
        '    server: everything',
        '    tool: echo',
        '    timeout: 5 sec',
        '    with:',
        "      message: ${{ steps.a.output }} ${{ inputs.nope }}",
        '  - id: c',
        '    server: nowhere',
        '    tool: echo',
      ].join('\n');
      const ws = makeWorkspace('broken', { 'broken.workflow.yaml': text });
      const result = await cli(['validate', 'broken.workflow.yaml', '--json'], { cwd: ws });
      assert.equal(result.code, 1);
      const [report] = JSON.parse(result.stdout) as Array<{ diagnostics: Array<{ line: number; column: number; message: string; severity: string }> }>;
      const at = (line: number, pattern: RegExp): void => {
        assert.ok(
          report.diagnostics.some((d) => d.line === line && pattern.test(d.message)),
          `expected ${pattern} at line ${line}; got:\n${report.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join('\n')}`,
        );
      };
      at(6, /unknown key 'withh' in step 'a'\. Did you mean 'with'\?/);
      at(11, /'timeout' of step 'b' is "5 sec", not a duration/);
      at(13, /unknown input 'nope'/);
      at(15, /unknown server 'nowhere'/);
      assert.ok(report.diagnostics.some((d) => /cycle: (a → b → a|b → a → b)/.test(d.message)), 'the cycle is reported');
      const human = await cli(['validate', 'broken.workflow.yaml'], { cwd: ws });
      assert.match(human.stdout, /^broken\.workflow\.yaml:6:5: error: unknown key 'withh'/m);
    });

    it('treats a missing file as a failure and a bad command line as a usage error', async () => {
      const ws = makeWorkspace('usage');
      const missing = await cli(['run', 'nope.workflow.yaml'], { cwd: ws });
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /cannot read workflow nope\.workflow\.yaml: no such file/);
      for (const args of [
        ['run'],
        ['frobnicate'],
        ['run', 'conditional.workflow.yaml', '--input', 'city'],
        ['run', 'conditional.workflow.yaml', '--input', 'town=Paris'],
        ['run', 'conditional.workflow.yaml', '--input', 'city=Paris'],
        ['run', 'fan-out.workflow.yaml', '--input', 'seconds=soon'],
        ['runs', 'list', '--limit', 'many'],
      ]) {
        const result = await cli(args, { cwd: ws });
        assert.equal(result.code, 2, `${args.join(' ')} → ${result.code}\n${result.stderr}`);
        assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      }
      const unknownInput = await cli(['run', 'conditional.workflow.yaml', '--input', 'cty=Paris'], { cwd: ws });
      assert.match(unknownInput.stderr, /unknown input 'cty'\. Did you mean 'city'\?/);
      const badEnum = await cli(['run', 'conditional.workflow.yaml', '--input', 'city=Paris'], { cwd: ws });
      assert.match(badEnum.stderr, /input 'city' must be one of "New York", "Chicago", "Los Angeles", not "Paris"/);
      const help = await cli(['runs', 'show', '--help'], { cwd: ws });
      assert.equal(help.code, 0);
      assert.match(help.stdout, /Usage: openconductor runs show \[options\] <id>/);
    });
  });

  describe('servers that fail to start', () => {
    it('names a command that does not exist', async () => {
      const ws = makeWorkspace('enoent', {
        'x.workflow.yaml': workflow('  - id: a\n    server: ghost\n    tool: echo\n', '  ghost:\n    command: definitely-not-a-command-4711\n'),
      });
      const { error } = await runFailing(ws, 'x.workflow.yaml');
      assert.equal(error.type, 'ServerStartFailed');
      assert.equal(error.step, 'a');
      assert.match(error.message, /server 'ghost' could not start: command 'definitely-not-a-command-4711' was not found\. Check its 'command' \(defined in x\.workflow\.yaml:3:3\)/);
      const human = await cli(['run', 'x.workflow.yaml'], { cwd: ws });
      assert.equal(human.code, 1);
      assert.match(human.stderr, /✗ run \w+ failed at step 'a'\n {2}ServerStartFailed: server 'ghost' could not start/);
      assert.match(human.stderr, /details: openconductor runs show \w+/);
    });

    it('quotes the stderr of a server that exits at once', async () => {
      const ws = makeWorkspace('exits', {
        'x.workflow.yaml': workflow('  - id: a\n    server: dies\n    tool: echo\n', `  dies:\n    command: node\n    args: [${JSON.stringify(path.join(FIXTURES, 'exits-at-once.js'))}]\n`),
      });
      const { error } = await runFailing(ws, 'x.workflow.yaml');
      assert.equal(error.type, 'ServerStartFailed');
      assert.match(error.message, /server 'dies' exited with code 3 before it finished starting/);
      assert.match(error.message, /fatal: OPENCONDUCTOR_TEST_KEY is not set/);
    });

    it('explains a server that writes non-protocol output to stdout', async () => {
      const ws = makeWorkspace('noisy', {
        'x.workflow.yaml': workflow(
          '  - id: a\n    server: noisy\n    tool: echo\n',
          `  noisy:\n    command: node\n    args: [${JSON.stringify(path.join(FIXTURES, 'noisy-stdout.js'))}]\n    startupTimeout: 2s\n`,
        ),
      });
      const { error } = await runFailing(ws, 'x.workflow.yaml');
      assert.equal(error.type, 'ServerStartFailed');
      assert.match(error.message, /server 'noisy' wrote non-protocol output to stdout: "Welcome to NoisyTool v2\.1 \(interactive mode\)"/);
      assert.match(error.message, /must write only JSON-RPC messages to stdout/);
    });

    it('tolerates a banner line before a working server', async () => {
      const everything = path.join(ROOT, 'node_modules', '.bin', 'mcp-server-everything');
      const ws = makeWorkspace('banner', {
        'x.workflow.yaml': workflow(
          "  - id: a\n    server: chatty\n    tool: echo\n    with:\n      message: hi\n",
          `  chatty:\n    command: sh\n    args: ["-c", ${JSON.stringify(`echo 'server starting...'; exec ${everything}`)}]\n`,
        ),
      });
      const result = await cli(['run', 'x.workflow.yaml', '--json'], { cwd: ws });
      assert.equal(result.code, 0, result.stderr);
      assert.equal((jsonLines(result.stdout).at(-1) as { outputs: object }).outputs !== undefined, true);
    });
  });

  describe('calls that fail', () => {
    it('fails on a tool the server does not have, then catches it statically from the cached tool list', async () => {
      const ws = makeWorkspace('notool', { 'x.workflow.yaml': workflow("  - id: a\n    server: everything\n    tool: ehco\n    with:\n      message: hi\n") });
      const { error } = await runFailing(ws, 'x.workflow.yaml');
      assert.equal(error.type, 'UnknownTool');
      assert.match(error.message, /server 'everything' has no tool 'ehco'\. Its tools: .*echo/);
      const again = await cli(['validate', 'x.workflow.yaml'], { cwd: ws });
      assert.equal(again.code, 1);
      assert.match(again.stdout, /x\.workflow\.yaml:5:11: error: server 'everything' has no tool 'ehco'\. Did you mean 'echo'\?/);
    });

    it('cancels a call that times out', async () => {
      const ws = makeWorkspace('timeout', {
        'x.workflow.yaml': workflow('  - id: slow\n    server: everything\n    tool: trigger-long-running-operation\n    timeout: 500ms\n    with:\n      duration: 10\n      steps: 2\n'),
      });
      const started = Date.now();
      const { error } = await runFailing(ws, 'x.workflow.yaml');
      assert.ok(Date.now() - started < 9000, 'the run did not wait for the tool');
      assert.equal(error.type, 'Timeout');
      assert.match(error.message, /tool 'trigger-long-running-operation' on server 'everything' did not answer within 500ms; the call was cancelled/);
    });

    it("fails with the server's message when a tool returns isError", async () => {
      const ws = makeWorkspace('iserror', {
        'x.workflow.yaml': workflow(
          '  - id: read\n    server: files\n    tool: read_text_file\n    with:\n      path: missing.txt\n',
          '  files:\n    command: npx\n    args: ["-y", "@modelcontextprotocol/server-filesystem", "."]\n',
        ),
      });
      const { error } = await runFailing(ws, 'x.workflow.yaml');
      assert.equal(error.type, 'ToolError');
      assert.equal(error.server, 'files');
      assert.equal(error.tool, 'read_text_file');
      assert.match(error.message, /reported an error: .*ENOENT.*missing\.txt/);
    });

    it('checks computed arguments against the live inputSchema before calling', async () => {
      const ws = makeWorkspace('badargs', { 'x.workflow.yaml': workflow("  - id: sum\n    server: everything\n    tool: get-sum\n    with:\n      a: ${{ 'one' }}\n      b: 2\n") });
      const { error } = await runFailing(ws, 'x.workflow.yaml');
      assert.equal(error.type, 'InvalidArguments');
      assert.match(error.message, /argument 'a' of 'get-sum' must be a number, not string "one"/);
      assert.equal(error.location, 'x.workflow.yaml:7:10');
    });

    it('reports an expression that fails at run time with its position', async () => {
      const ws = makeWorkspace('exprfail', { 'x.workflow.yaml': workflow("  - id: a\n    server: everything\n    tool: echo\n    with:\n      message: ${{ fromJSON('not json') }}\n") });
      const { error } = await runFailing(ws, 'x.workflow.yaml');
      assert.equal(error.type, 'ExpressionError');
      assert.match(error.message, /fromJSON: invalid JSON 'not json'/);
      assert.equal(error.location, 'x.workflow.yaml:7:20');
    });

    it('stops scheduling after a failure and records the steps it never ran as pending', async () => {
      const ws = makeWorkspace('stop', {
        'x.workflow.yaml': workflow(
          "  - id: bad\n    server: everything\n    tool: echo\n    with:\n      message: ${{ fromJSON('{') }}\n  - id: after\n    server: everything\n    tool: echo\n    needs: bad\n    with:\n      message: never\n",
        ),
      });
      const { runId } = await runFailing(ws, 'x.workflow.yaml');
      const show = await cli(['runs', 'show', runId, '--json'], { cwd: ws });
      const run = JSON.parse(show.stdout) as { status: string; steps: Array<{ id: string; status: string }> };
      assert.deepEqual(run.steps.map((s) => [s.id, s.status]), [
        ['bad', 'failed'],
        ['after', 'pending'],
      ]);
      const human = await cli(['runs', 'show', runId], { cwd: ws });
      assert.match(human.stdout, /error\s+ExpressionError: /);
      assert.match(human.stdout, /at x\.workflow\.yaml:7:20/);
    });
  });
});
