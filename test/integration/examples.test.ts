import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, cli, jsonLines, makeWorkspace } from '../support/cli';

/** The shipped examples, run by the built CLI against the real MCP servers from npm. */
describe('examples run end to end against real MCP servers', function () {
  this.timeout(120_000);

  it('team-graph records every profile and relation in server-memory', async () => {
    const ws = makeWorkspace('team-graph');
    const result = await cli(['run', 'team-graph.workflow.yaml', '--json'], { cwd: ws });
    assert.equal(result.code, 0, result.stderr);
    const lines = jsonLines(result.stdout);
    const final = lines.at(-1)!;
    assert.equal(final.type, 'RunResult');
    assert.equal(final.status, 'completed');
    const outputs = final.outputs as { profiles: number; people: string[]; relations: number };
    assert.equal(outputs.profiles, 4);
    assert.deepEqual([...outputs.people].sort(), ['Ada Lovelace', 'Charles Babbage', 'Luigi Menabrea']);

    // The side effect, read back from the memory server's own file: each entity and relation exactly once.
    const graph = fs
      .readFileSync(path.join(ws, '.openconductor', 'memory-graph.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; name?: string; from?: string; to?: string });
    const entities = graph.filter((g) => g.type === 'entity').map((g) => g.name).sort();
    assert.deepEqual(entities, ['Ada Lovelace', 'Analytical Engine', 'Charles Babbage', 'Luigi Menabrea']);
    const relations = graph.filter((g) => g.type === 'relation').map((g) => `${g.from}->${g.to}`).sort();
    assert.deepEqual(relations, [
      'Ada Lovelace->Analytical Engine',
      'Ada Lovelace->Charles Babbage',
      'Ada Lovelace->Luigi Menabrea',
      'Charles Babbage->Analytical Engine',
    ]);

    // Every event of the run was streamed, in order, ending with WorkflowCompleted.
    const events = lines.slice(0, -1);
    assert.equal(events[0].type, 'WorkflowStarted');
    assert.equal(events.at(-1)!.type, 'WorkflowCompleted');
    const seqs = events.map((e) => e.seq as number);
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => seqs[0] + i), 'every event, in order, none dropped');

    const list = await cli(['runs', 'list', '--json'], { cwd: ws });
    assert.equal(list.code, 0, list.stderr);
    const runs = JSON.parse(list.stdout) as Array<{ id: string; status: string; workflow: string }>;
    assert.equal(runs.length, 1);
    assert.equal(runs[0].id, final.runId);
    assert.equal(runs[0].status, 'completed');

    const show = await cli(['runs', 'show', String(final.runId).slice(0, 12), '--json'], { cwd: ws });
    assert.equal(show.code, 0, show.stderr);
    const run = JSON.parse(show.stdout) as { steps: Array<{ id: string; status: string; items?: number; itemsDone: number; attempts: number; output?: unknown; server?: string; tool?: string }> };
    assert.deepEqual(run.steps.map((s) => [s.id, s.status]), [
      ['find', 'completed'],
      ['read', 'completed'],
      ['entities', 'completed'],
      ['relations', 'completed'],
      ['graph', 'completed'],
    ]);
    const read = run.steps.find((s) => s.id === 'read')!;
    assert.equal(read.items, 4);
    assert.equal(read.itemsDone, 4);
    assert.equal(read.server, 'files');
    assert.equal(read.tool, 'read_text_file');
    assert.equal((read.output as unknown[]).length, 4);
    assert.match(JSON.stringify(read.output), /Analytical Engine/);

    const human = await cli(['runs', 'show', String(final.runId)], { cwd: ws });
    assert.equal(human.code, 0);
    assert.match(human.stdout, /team-graph\s+run \w+\s+completed/);
    assert.match(human.stdout, /completed\s+read\s+files › read_text_file\s+1\s+4\/4/);
  });

  it('fan-out runs independent steps in parallel and caps the foreach at its concurrency', async () => {
    const ws = makeWorkspace('fan-out');
    const result = await cli(['run', 'fan-out.workflow.yaml', '--json', '--input', 'seconds=1'], { cwd: ws });
    assert.equal(result.code, 0, result.stderr);
    const lines = jsonLines(result.stdout);
    const events = lines.filter((l) => l.type !== 'Progress' && l.type !== 'RunResult');
    let running = 0;
    let peak = 0;
    for (const e of events) {
      if (e.step !== 'sums' || e.index === undefined) continue;
      if (e.type === 'StepScheduled') peak = Math.max(peak, ++running);
      if (e.type === 'StepCompleted' || e.type === 'StepFailed') running--;
    }
    assert.equal(peak, 3, 'at most 3 calls at once, and the cap is reached');
    const order = events.map((e) => `${e.type}:${String(e.step ?? '')}`);
    const longStarted = order.indexOf('StepScheduled:long');
    const sumsDone = order.findIndex((o) => o === 'StepCompleted:sums');
    assert.ok(longStarted >= 0 && longStarted < sumsDone, 'the long operation started before the fan-out finished');
    assert.ok(order.indexOf('StepScheduled:report') > order.indexOf('StepCompleted:long'), 'report waits for both');
    assert.ok(lines.some((l) => l.type === 'Progress' && l.step === 'long'), 'progress notifications are shown');
    const final = lines.at(-1) as { outputs: { sums: string[]; report: string } };
    assert.deepEqual(final.outputs.sums, [3, 7, 11, 15, 19, 23].map((s, i) => `The sum of ${2 * i + 1} and ${2 * i + 2} is ${s}.`));
    assert.match(final.outputs.report, /^Echo: 6 sums done/);
  });

  it('conditional takes one branch, skips the other, and joins them', async () => {
    const ws = makeWorkspace('conditional');
    for (const [city, branch, skipped] of [
      ['Los Angeles', 'warm', 'cool'],
      ['Chicago', 'cool', 'warm'],
    ]) {
      const result = await cli(['run', 'conditional.workflow.yaml', '--json', '--input', `city=${city}`], { cwd: ws });
      assert.equal(result.code, 0, result.stderr);
      const lines = jsonLines(result.stdout);
      const skip = lines.find((l) => l.type === 'StepSkipped');
      assert.equal(skip?.step, skipped);
      const final = lines.at(-1) as { outputs: { branch: string; summary: string } };
      assert.equal(final.outputs.branch, branch);
      assert.match(final.outputs.summary, new RegExp(`${city} is ${branch}`));
    }
  });

  it('shows plain progress lines when not on a terminal, and the outputs on stdout', async () => {
    const ws = makeWorkspace('plain');
    const result = await cli(['run', 'conditional.workflow.yaml'], { cwd: ws });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /run \w+ of 'conditional' started/);
    assert.match(result.stderr, /weather {2}started {2}everything › get-structured-content/);
    assert.match(result.stderr, /cool {2}skipped: its if condition was false/);
    assert.match(result.stderr, /✓ run \w+ completed/);
    assert.deepEqual(JSON.parse(result.stdout.replace(/^outputs\n/, '')).branch, 'warm');
  });

  it('redraws one line per step on a terminal', async () => {
    const ws = makeWorkspace('tty');
    // `script` gives the CLI a real pseudo-terminal, as a user's shell does.
    const command = `stty cols 120; ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} run team-graph.workflow.yaml`;
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ws, env: { ...process.env, TERM: 'xterm-256color' } });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
    assert.equal(result.code, 0, result.out);
    assert.ok(result.out.includes('\x1b[?25l') && result.out.includes('\x1b[?25h'), 'hides the cursor while drawing and shows it again');
    assert.match(result.out, /\x1b\[6F/, 'moves back up over the header and five step lines to redraw them');
    const plain = result.out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    assert.match(plain, /team-graph {2}5\/5 steps/);
    for (const step of ['find', 'read \\[4/4\\]', 'entities \\[4/4\\]', 'relations \\[4/4\\]', 'graph']) {
      assert.match(plain, new RegExp(`✓ ${step} {2}`), step);
    }
    assert.match(plain, /○ graph {2}waiting for relations/, 'a pending step says what it waits for');
    assert.match(plain, /"profiles": 4/);
  });

  it('validates every example, and lists the workspace servers and their tools', async () => {
    const ws = makeWorkspace('validate');
    const result = await cli(['validate', '.'], { cwd: ws });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stderr, /4 file\(s\): 0 error\(s\), 0 warning\(s\)/);

    const tools = await cli(['servers', 'tools', 'everything', '--json'], { cwd: ws });
    assert.equal(tools.code, 0, tools.stderr);
    const list = JSON.parse(tools.stdout) as Array<{ name: string; inputSchema: { required?: string[] } }>;
    assert.deepEqual(list.find((t) => t.name === 'get-sum')?.inputSchema.required, ['a', 'b']);

    const servers = await cli(['servers', 'list', '--json'], { cwd: ws });
    assert.equal(servers.code, 0, servers.stderr);
    const rows = JSON.parse(servers.stdout) as Array<{ name: string; type: string; target: string; definedIn: string; tools?: number }>;
    assert.deepEqual(rows.map((r) => r.name).sort(), ['everything', 'files', 'memory']);
    assert.equal(rows.find((r) => r.name === 'everything')?.tools, list.length, 'tool count comes from the cache just filled');
    assert.match(rows.find((r) => r.name === 'files')!.definedIn, /team-graph\.workflow\.yaml:\d+:\d+/);
    assert.match(rows.find((r) => r.name === 'memory')!.target, /^npx -y @modelcontextprotocol\/server-memory$/);
  });
});
