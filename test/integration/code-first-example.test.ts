import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunEvent } from '../../common/events';
import { Host } from '../../sidecar/host/host';
import { openWorkspace } from '../../sidecar/workspace/workspace';
import { cli, jsonLines, makeWorkspace } from '../support/cli';

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
