import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunEvent } from '../../common/events';
import { Requests } from '../../common/protocol';
import { CLI, cli } from '../support/cli';
import { RECORDER, TestWorkspace } from '../support/host';
import { connectSidecar, killHard, startSidecar, stopSidecar } from '../support/sidecar';

/** Waits, timers, the pinned definition and the store itself, across sidecar crashes and damaged files. */
describe('recovery', function () {
  this.timeout(120_000);
  let ws: TestWorkspace;
  let dataDir: string;

  beforeEach(() => {
    ws = new TestWorkspace();
    dataDir = path.join(ws.dir, '.openconductor');
  });
  afterEach(() => ws.remove());

  const approvalFlow = `steps:
  - id: before
    server: rec
    tool: record
    with: { value: before }
  - id: review
    needs: before
    approval: { message: ship it? }
  - id: pause
    needs: review
    wait: 1500ms
  - id: after
    server: rec
    tool: record
    needs: pause
    with: { value: "\${{ format('after, {0}', steps.review.output.comment) }}" }
`;

  it('keeps an approval and a timer waiting across a crash, and runs the pinned definition, not the edited file', async () => {
    const file = ws.workflow('pinned', approvalFlow);
    let sidecar = startSidecar(ws.dir);
    await sidecar.ready;
    let connection = await connectSidecar(dataDir);
    const { runId } = await connection.sendRequest(Requests.start, { file });
    assert.equal((await connection.sendRequest(Requests.wait, { runId, untilWaiting: true })).waiting, true);
    connection.dispose();
    await killHard(sidecar.child);

    // The file changes while the run waits: the run must go on as it started.
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace("format('after, {0}'", "format('EDITED {0}'"));

    sidecar = startSidecar(ws.dir);
    await sidecar.ready;
    connection = await connectSidecar(dataDir);
    const waiting = await connection.sendRequest(Requests.get, { runId });
    assert.equal(waiting.steps.find((s) => s.id === 'review')!.status, 'waiting');
    await connection.sendRequest(Requests.decide, { runId, step: 'review', approved: true, comment: 'ok' });
    // Now the timer: crash during it, and it still fires at its time.
    while ((await connection.sendRequest(Requests.get, { runId })).steps.find((s) => s.id === 'pause')!.status !== 'waiting') await new Promise((r) => setTimeout(r, 20));
    const fireAt = (await connection.sendRequest(Requests.get, { runId })).steps.find((s) => s.id === 'pause')!.waiting!.timer!.fireAt;
    connection.dispose();
    await killHard(sidecar.child);
    sidecar = startSidecar(ws.dir);
    await sidecar.ready;
    connection = await connectSidecar(dataDir);
    const done = await connection.sendRequest(Requests.wait, { runId });
    const history = await connection.sendRequest(Requests.history, { runId });
    connection.dispose();
    await stopSidecar(sidecar.child);

    assert.equal(done.status, 'completed');
    assert.deepEqual(ws.calls().map((c) => c.value), ['before', 'after, ok'], 'each step once, from the pinned definition');
    const fired = history.find((e) => e.type === 'TimerFired')!;
    assert.ok(fired.time >= fireAt, `the timer fired at ${fired.time}, not before ${fireAt}`);
    assert.equal(history.filter((e) => e.type === 'WorkflowStarted').length, 1);
  });

  it('drops a torn journal tail, says so, and goes on', async () => {
    const file = ws.workflow('torn', `steps:\n  - id: gate\n    approval: {}\n  - id: after\n    server: rec\n    tool: record\n    needs: gate\n    with: { value: after }\n`);
    let sidecar = startSidecar(ws.dir);
    await sidecar.ready;
    let connection = await connectSidecar(dataDir);
    const { runId } = await connection.sendRequest(Requests.start, { file });
    await connection.sendRequest(Requests.wait, { runId, untilWaiting: true });
    connection.dispose();
    await killHard(sidecar.child);
    // A crash in the middle of a write: a header promising more bytes than made it to disk.
    const journal = path.join(dataDir, 'journal');
    const segment = path.join(journal, fs.readdirSync(journal).sort().at(-1)!);
    const header = Buffer.alloc(8);
    header.writeUInt32LE(500, 0);
    fs.appendFileSync(segment, Buffer.concat([header, Buffer.from('{"type":"StepCompl')]));

    const log: string[] = [];
    sidecar = startSidecar(ws.dir, log);
    await sidecar.ready;
    assert.match(log.join(''), /dropped a torn journal record \(26 bytes at journal-\d+\.log:\d+\): it was never acknowledged/);
    connection = await connectSidecar(dataDir);
    await connection.sendRequest(Requests.decide, { runId, step: 'gate', approved: true });
    assert.equal((await connection.sendRequest(Requests.wait, { runId })).status, 'completed');
    connection.dispose();
    await stopSidecar(sidecar.child);
  });

  it('recovers from every state a crash during a snapshot can leave', async () => {
    const file = ws.workflow('snap', `steps:\n  - id: one\n    server: rec\n    tool: record\n    with: { value: one }\n`);
    let sidecar = startSidecar(ws.dir);
    await sidecar.ready;
    let connection = await connectSidecar(dataDir);
    const runs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { runId } = await connection.sendRequest(Requests.start, { file });
      await connection.sendRequest(Requests.wait, { runId });
      runs.push(runId);
    }
    const expected = new Map<string, RunEvent[]>();
    for (const runId of runs) expected.set(runId, await connection.sendRequest(Requests.history, { runId }));
    connection.dispose();
    await stopSidecar(sidecar.child); // a clean stop takes a snapshot

    const snapshots = path.join(dataDir, 'snapshots');
    const newest = fs.readdirSync(snapshots).sort().at(-1)!;
    const states: Array<[string, () => void]> = [
      // The new snapshot was being written: a partial temporary file.
      ['a partial temporary file', () => fs.writeFileSync(path.join(snapshots, 'state-9999999999999999.db.tmp'), Buffer.from('SQLite format 3\0 cut short'))],
      // Written and renamed, but the manifest was not updated: an unknown snapshot file.
      ['a snapshot the manifest does not name', () => fs.copyFileSync(path.join(snapshots, newest), path.join(snapshots, 'state-9999999999999998.db'))],
      // The manifest names a snapshot whose bytes are damaged: detected by its checksum, the older one is used.
      [
        'a damaged newest snapshot',
        () => {
          const bytes = fs.readFileSync(path.join(snapshots, newest));
          bytes.fill(0x5a, 2048, 4096);
          fs.writeFileSync(path.join(snapshots, newest), bytes);
        },
      ],
    ];
    for (const [what, damage] of states) {
      damage();
      const log: string[] = [];
      sidecar = startSidecar(ws.dir, log);
      await sidecar.ready;
      connection = await connectSidecar(dataDir);
      for (const runId of runs) assert.deepEqual(await connection.sendRequest(Requests.history, { runId }), expected.get(runId), `${what}: run ${runId}`);
      if (what === 'a damaged newest snapshot') assert.match(log.join(''), /damaged \(checksum mismatch\); recovered from the older snapshot and the journal/);
      connection.dispose();
      await stopSidecar(sidecar.child);
    }
  });

  it('rebuilds from the journal when every snapshot is damaged, and refuses (never uses a bad file) when it cannot', async () => {
    const file = ws.workflow('bad', `steps:\n  - id: one\n    server: rec\n    tool: record\n    with: { value: one }\n`);
    for (let i = 0; i < 2; i++) {
      const result = await cli(['run', file], { cwd: ws.dir });
      assert.equal(result.code, 0, result.stderr);
    }
    const snapshots = path.join(dataDir, 'snapshots');
    for (const name of fs.readdirSync(snapshots)) {
      const bytes = fs.readFileSync(path.join(snapshots, name));
      bytes.fill(0, 100, 200);
      fs.writeFileSync(path.join(snapshots, name), bytes);
    }
    const rebuilt = await cli(['runs', 'list', '--json'], { cwd: ws.dir });
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.deepEqual((JSON.parse(rebuilt.stdout) as Array<{ status: string }>).map((r) => r.status), ['completed', 'completed'], 'every run, from the journal alone');

    const journal = path.join(dataDir, 'journal');
    fs.rmSync(path.join(journal, fs.readdirSync(journal).sort()[0]));
    const result = await cli(['runs', 'list'], { cwd: ws.dir });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot open the run store in .*: snapshot state-\d+\.db is damaged \(checksum mismatch\), and no older snapshot is intact/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  it('refuses new work with a clear error on a full disk, and keeps what it has', async () => {
    ws.workflow('full', `steps:\n  - id: one\n    server: rec\n    tool: record\n    with: { value: one }\n`);
    fs.mkdirSync(dataDir);
    // A real full disk: the data directory on a 4 MiB tmpfs, mounted in a mount namespace of our own (no root needed).
    const step = (name: string, args: string): string =>
      `echo "=== ${name}"; NO_COLOR=1 ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} ${args} 2>&1; echo "=== exit $?"`;
    const script = [
      'set -u',
      `mount -t tmpfs -o size=4m tmpfs ${JSON.stringify(dataDir)}`,
      `cd ${JSON.stringify(ws.dir)}`,
      step('first', 'run full.workflow.yaml'),
      `dd if=/dev/zero of=${JSON.stringify(path.join(dataDir, 'filler'))} bs=64k 2>/dev/null; true`,
      step('full', 'run full.workflow.yaml'),
      step('list-while-full', 'runs list --json'),
      `rm ${JSON.stringify(path.join(dataDir, 'filler'))}`,
      step('after', 'run full.workflow.yaml'),
      step('list', 'runs list --json'),
    ].join('\n');
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (text += d.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(text));
    });
    const section = (name: string): { text: string; code: number } => {
      const match = new RegExp(`=== ${name}\\n([\\s\\S]*?)=== exit (\\d+)`).exec(output);
      assert.ok(match, `no section ${name} in:\n${output}`);
      return { text: match[1], code: Number(match[2]) };
    };
    assert.equal(section('first').code, 0, output);
    const full = section('full');
    assert.equal(full.code, 1, output);
    assert.match(full.text, /the disk is full/);
    assert.doesNotMatch(full.text, /\n\s+at /, 'no stack trace');
    const whileFull = section('list-while-full');
    assert.equal(whileFull.code, 0, output);
    assert.deepEqual((JSON.parse(whileFull.text) as Array<{ status: string }>).map((r) => r.status), ['completed'], 'existing data intact, the refused run left nothing');
    assert.equal(section('after').code, 0, output);
    assert.deepEqual((JSON.parse(section('list').text) as Array<{ status: string }>).map((r) => r.status), ['completed', 'completed']);
  });

  it('reports the runs whose pinned definition no longer validates (a server gone from mcp.json), and resumes them once it is back', async () => {
    const mcpJson = path.join(ws.dir, '.vscode', 'mcp.json');
    const declared = JSON.stringify({ servers: { extra: { command: process.execPath, args: [RECORDER], env: { RECORD_FILE: ws.recordFile } } } });
    fs.mkdirSync(path.dirname(mcpJson));
    fs.writeFileSync(mcpJson, declared);
    const file = ws.workflow('uses-extra', `steps:\n  - id: review\n    approval: { message: go? }\n  - id: call\n    needs: review\n    server: extra\n    tool: record\n    with: { value: after }\n`);
    let host = await ws.open();
    const runs = [(await host.start({ file })).runId, (await host.start({ file })).runId];
    for (const runId of runs) assert.equal((await host.wait(runId, true)).waiting, true);
    await host.close();

    fs.writeFileSync(mcpJson, JSON.stringify({ servers: {} }));
    host = await ws.open();
    const refused = await host.recover();
    assert.deepEqual(refused.resumed, []);
    assert.deepEqual(refused.failed.map((f) => f.runId), runs);
    for (const { runId, reason } of refused.failed) {
      assert.match(reason, new RegExp(`^run ${runId} cannot resume: its definition no longer validates here:\\n.*uses-extra\\.workflow\\.yaml:\\d+:\\d+: error: .*'extra'`));
    }
    assert.deepEqual(runs.map((id) => host.get(id).status), ['running', 'running'], 'a run that cannot resume stays open, untouched');
    await host.close();

    fs.writeFileSync(mcpJson, declared);
    host = await ws.open();
    const resumed = await host.recover();
    assert.deepEqual(resumed.resumed, runs);
    for (const runId of runs) await host.decide(runId, 'review', true);
    for (const runId of runs) assert.equal((await host.wait(runId, false)).status, 'completed');
    await host.close();
    assert.deepEqual(ws.calls().map((c) => c.value), ['after', 'after']);
  });
});
