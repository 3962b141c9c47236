import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { RunEvent } from '../../common/events';
import { Host } from '../../sidecar/host/host';
import { openWorkspace } from '../../sidecar/workspace/workspace';
import { cli, installedExtension, jsonLines, makeWorkspace, type CliResult } from '../support/cli';
import { processesWithMarker } from '../support/vscode';

/** The memory server's graph file in a workspace copy of examples/ (its .vscode/mcp.json keeps it there). */
function graph(ws: string): { entities: string[]; relations: string[] } {
  const file = path.join(ws, '.openconductor', 'memory-graph.jsonl');
  const lines = fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { type: string; name?: string; from?: string; to?: string })
    : [];
  return {
    entities: lines.filter((l) => l.type === 'entity').map((l) => l.name!).sort(),
    relations: lines.filter((l) => l.type === 'relation').map((l) => `${l.from}->${l.to}`).sort(),
  };
}

/** Runs the CLI, collecting the command lines of the esbuild services it starts (its descendants, found by a marker in their environment). */
async function withEsbuildServices(args: string[], options: { cwd: string; bundle?: string }): Promise<CliResult & { services: string[] }> {
  const marker = randomUUID();
  const services = new Set<string>();
  let done = false;
  const running = cli(args, { ...options, env: { OPENCONDUCTOR_E2E_MARKER: marker } }).finally(() => (done = true));
  while (!done) {
    for (const pid of processesWithMarker(marker)) {
      try {
        const command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
        if (command.includes('--service=')) services.add(command);
      } catch {
        // gone meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { ...(await running), services: [...services] };
}

/** examples/team-onboarding.workflow.ts, against the real servers of examples/.vscode/mcp.json (everything, memory). */
describe('the code-first example runs end to end against real MCP servers', function () {
  this.timeout(120_000);

  it('links the newcomers without review, from the command line', async () => {
    const ws = makeWorkspace('onboarding-cli');
    const result = await cli(['run', 'team-onboarding.workflow.ts', '--json', '--input', 'review=false'], { cwd: ws });
    assert.equal(result.code, 0, result.stderr);
    const lines = jsonLines(result.stdout);
    const final = lines.at(-1) as { status: string; outputs: { linked: boolean; members: string[]; relations: number } };
    assert.equal(final.status, 'completed');
    assert.deepEqual(final.outputs, { linked: true, team: 'Analytical Engine', members: ['Ada Lovelace', 'Charles Babbage', 'Luigi Menabrea'], relations: 3 });
    // The three welcome notes were asked for at once: all started before the first finished.
    const events = lines.slice(0, -1) as unknown as RunEvent[];
    const order = events.map((e) => `${e.type}:${'step' in e ? e.step : ''}`);
    const lastEchoStart = Math.max(...['everything.echo#1', 'everything.echo#2', 'everything.echo#3'].map((s) => order.indexOf(`StepScheduled:${s}`)));
    const firstEchoEnd = Math.min(...['everything.echo#1', 'everything.echo#2', 'everything.echo#3'].map((s) => order.indexOf(`StepCompleted:${s}`)));
    assert.ok(lastEchoStart < firstEchoEnd, order.join('\n'));
    assert.deepEqual(graph(ws), {
      entities: ['Ada Lovelace', 'Analytical Engine', 'Charles Babbage', 'Luigi Menabrea'],
      relations: ['Ada Lovelace->Analytical Engine', 'Charles Babbage->Analytical Engine', 'Luigi Menabrea->Analytical Engine'],
    });
    const validate = await cli(['validate', 'team-onboarding.workflow.ts'], { cwd: ws });
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
  });

  it('runs from the installed extension, which has no node_modules: the esbuild-wasm shipped in dist/ compiles it (native esbuild from the repository)', async function () {
    this.timeout(240_000);
    const install = installedExtension();
    try {
      const bundle = path.join(install, 'dist', 'openconductor.js');
      assert.throws(() => createRequire(bundle).resolve('esbuild'), /Cannot find module 'esbuild'/, 'esbuild cannot be resolved from the installed extension');
      const ws = makeWorkspace('onboarding-installed');

      const fromRepo = await withEsbuildServices(['validate', 'team-onboarding.workflow.ts'], { cwd: ws });
      assert.equal(fromRepo.code, 0, fromRepo.stdout + fromRepo.stderr);
      assert.ok(fromRepo.services.length > 0 && fromRepo.services.every((s) => !s.includes('esbuild-wasm')), `native esbuild from the repository: ${fromRepo.services.join('\n')}`);

      const installed = await withEsbuildServices(['run', 'team-onboarding.workflow.ts', '--json', '--input', 'review=false'], { cwd: ws, bundle });
      assert.equal(installed.code, 0, installed.stderr);
      // Started on the sidecar's own runtime (VS Code's, in the editor), not on a `node` from the PATH.
      const wasmService = `${process.execPath} ${path.join(install, 'dist', 'esbuild-wasm', 'bin', 'esbuild')} --service=`;
      assert.ok(installed.services.length > 0 && installed.services.every((s) => s.startsWith(wasmService)), `the shipped esbuild-wasm: ${installed.services.join('\n')}`);
      const final = jsonLines(installed.stdout).at(-1) as { status: string; outputs: unknown };
      assert.equal(final.status, 'completed');
      assert.deepEqual(final.outputs, { linked: true, team: 'Analytical Engine', members: ['Ada Lovelace', 'Charles Babbage', 'Luigi Menabrea'], relations: 3 });
      assert.deepEqual(graph(ws).relations, ['Ada Lovelace->Analytical Engine', 'Charles Babbage->Analytical Engine', 'Luigi Menabrea->Analytical Engine']);

      fs.rmSync(path.join(install, 'dist', 'esbuild-wasm'), { recursive: true });
      const without = await cli(['validate', 'team-onboarding.workflow.ts'], { cwd: ws, bundle });
      assert.equal(without.code, 1);
      assert.match(without.stderr, /needs esbuild, and neither esbuild nor the esbuild-wasm shipped with the engine could be loaded \(esbuild: Cannot find module 'esbuild'; esbuild-wasm: it is not in /);
      assert.doesNotMatch(without.stderr, /internal error/, 'an installation problem is told as one');
    } finally {
      fs.rmSync(install, { recursive: true, force: true });
    }
  });

  it('waits for the approval, links on approve, and undoes what it created on reject', async () => {
    const ws = makeWorkspace('onboarding-host');
    const host = await Host.open({ workspace: openWorkspace(ws), command: 'test', version: 'test' });
    try {
      const file = path.join(ws, 'team-onboarding.workflow.ts');
      const waitForApproval = async (runId: string): Promise<void> => {
        for (;;) {
          const outcome = await host.wait(runId, true);
          if (outcome.status !== 'running' || host.get(runId).steps.some((s) => s.id === 'link' && s.status === 'waiting')) return;
          await new Promise((r) => setTimeout(r, 50));
        }
      };

      const rejected = await host.start({ file, inputs: { typed: { team: 'Difference Engine', people: ['Ada Lovelace'] } } });
      await waitForApproval(rejected.runId);
      assert.deepEqual(graph(ws).entities, ['Ada Lovelace', 'Difference Engine']);
      await host.decide(rejected.runId, 'link', false, 'not this one');
      const undone = await host.wait(rejected.runId, false);
      assert.equal(undone.status, 'completed');
      assert.deepEqual(undone.outputs, { linked: false, undone: 2, reason: 'not this one' });
      assert.deepEqual(graph(ws), { entities: [], relations: [] }, 'the saga deleted what it created');

      const approved = await host.start({ file, inputs: { typed: { team: 'Analytical Engine', people: ['Ada Lovelace', 'Charles Babbage'] } } });
      await waitForApproval(approved.runId);
      await host.decide(approved.runId, 'link', true);
      const linked = await host.wait(approved.runId, false);
      assert.equal(linked.status, 'completed', JSON.stringify(linked.error));
      assert.deepEqual(linked.outputs, { linked: true, team: 'Analytical Engine', members: ['Ada Lovelace', 'Charles Babbage'], relations: 2 });
      assert.deepEqual(graph(ws).relations, ['Ada Lovelace->Analytical Engine', 'Charles Babbage->Analytical Engine']);
    } finally {
      await host.close();
    }
  });
});
