/**
 * OpenConductor inside a real extension host, through the real `vscode` API: what a user's VS Code sees of it.
 * Run by test/in-host/extension.ts; the e2e test installs both and reads the results.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { RunEvent } from '../../common/events';
import type { HostInfo, ServerInfo } from '../../common/protocol';
import type { OpenConductorApi } from '../../extension/extension';

const ID = 'openconductor.openconductor';

async function api(): Promise<OpenConductorApi> {
  const extension = vscode.extensions.getExtension<OpenConductorApi>(ID);
  assert.ok(extension, `${ID} is installed`);
  return extension.isActive ? extension.exports : extension.activate();
}

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('OpenConductor in the extension host', () => {
  it('activates and registers every command its manifest contributes', async () => {
    await api();
    const contributed = (vscode.extensions.getExtension(ID)!.packageJSON.contributes.commands as Array<{ command: string }>).map((c) => c.command);
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(contributed.filter((c) => !registered.has(c)), [], 'commands contributed but not registered');
    for (const command of ['openconductor.runWorkflow', 'openconductor.searchRegistry', 'openconductor.syncRegistries', 'openconductor.orchestrate', 'openconductor.approvePending', 'openconductor.exportRuns']) {
      assert.ok(contributed.includes(command), `${command} is in the manifest`);
    }
  });

  it('reads its settings through VS Code, with the manifest defaults', () => {
    const configuration = vscode.workspace.getConfiguration('openconductor');
    assert.deepEqual(configuration.get('registry.sources'), []);
    assert.equal(configuration.get('dataDirectory'), '');
    assert.equal(configuration.inspect('registry.embeddings')?.defaultValue, null);
  });

  it('connects to its sidecar, which serves the workspace', async () => {
    const { sidecar } = await api();
    await until(() => (sidecar.state === 'ready' ? true : undefined), 'the sidecar to be ready');
    // By method name: RequestType objects from this bundle are not the extension's (vscode-jsonrpc checks by class).
    const info = await sidecar.connection!.sendRequest<HostInfo>('host/info', null);
    assert.equal(info.workspace, vscode.workspace.workspaceFolders![0].uri.fsPath);
    const servers = await sidecar.connection!.sendRequest<ServerInfo[]>('servers/list', null);
    assert.ok(servers.some((s) => s.name === 'memory' && s.origin === 'mcp.json'), servers.map((s) => s.name).join(', '));
  });

  it('runs a workflow through its command and follows it to completion in the Runs view', async () => {
    const { runs, sidecar } = await api();
    const folder = vscode.workspace.workspaceFolders![0].uri;
    const runId = await vscode.commands.executeCommand<string>('openconductor.workflow.run', vscode.Uri.joinPath(folder, 'team-graph.workflow.yaml'));
    assert.match(runId ?? '', /^[0-9a-z]{10,}$/, 'the command returns the run id');
    const finished = await until(async () => {
      const rows = await runs.getChildren();
      const row = rows.find((r) => r.kind === 'run' && r.run.id === runId);
      return row?.kind === 'run' && row.run.status !== 'running' ? row.run : undefined;
    }, 'the run to end in the Runs view', 120_000);
    assert.equal(finished.status, 'completed', JSON.stringify(finished.error));
    const steps = await runs.getChildren({ kind: 'run', run: finished });
    assert.ok(steps.length >= 3 && steps.every((s) => s.kind === 'step' && s.step.status === 'completed'), 'every step completed');
    const item = runs.getTreeItem({ kind: 'run', run: finished });
    assert.equal(item.contextValue, 'run-completed');
    const history = await sidecar.connection!.sendRequest<RunEvent[]>('runs/history', { runId });
    assert.equal(history.at(-1)?.type, 'WorkflowCompleted');
  });

  it('redraws only the rows an event changed: a step\'s row for its events, the run\'s when the run ends', async () => {
    const { runs, sidecar } = await api();
    const file = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, 'rows.workflow.yaml');
    const calls = ['a', 'b', 'c'].map((id, i) => `  - id: ${id}\n    server: everything\n    tool: echo\n    needs: ${i ? ['a', 'b'][i - 1] : 'gate'}\n    with: { message: ${id} }`).join('\n');
    await vscode.workspace.fs.writeFile(file, Buffer.from(`name: rows\nsteps:\n  - id: gate\n    approval: { message: go? }\n${calls}\n`));
    const runId = await vscode.commands.executeCommand<string>('openconductor.workflow.run', file);
    const runNode = await until(async () => {
      const row = (await runs.getChildren()).find((r) => r.kind === 'run' && r.run.id === runId);
      return row?.kind === 'run' ? row : undefined;
    }, 'the run\'s row');
    const stepNodes = await until(async () => {
      const steps = await runs.getChildren(runNode);
      return steps.some((s) => s.kind === 'step' && s.step.id === 'gate' && s.step.status === 'waiting') ? steps : undefined;
    }, 'the gate to wait');
    const fired: Array<(typeof stepNodes)[number] | undefined> = [];
    const listener = runs.onDidChangeTreeData((node) => fired.push(node ?? undefined));
    try {
      await sidecar.connection!.sendRequest('runs/decide', { runId, step: 'gate', approved: true });
      await until(() => (fired.includes(runNode) && runNode.kind === 'run' && runNode.run.status === 'completed' ? true : undefined), 'the run\'s row to be redrawn completed');
    } finally {
      listener.dispose();
    }
    // Each step's row is the object the view gave VS Code (rows are matched by identity), now showing the step completed.
    const steps = fired.filter((node) => node !== runNode);
    assert.ok(steps.length >= 4, `${fired.length} redraws`);
    for (const node of steps) assert.ok(node && stepNodes.includes(node), `a redraw of ${JSON.stringify(node)?.slice(0, 200)}: not a row shown`);
    assert.deepEqual([...new Set(steps.map((node) => (node?.kind === 'step' ? node.step.id : '?')))].sort(), ['a', 'b', 'c', 'gate']);
    assert.ok(stepNodes.every((node) => node.kind === 'step' && node.step.status === 'completed'));
    // The run's own row (which brings all its steps back from the extension) only when the run's status moved.
    assert.equal(fired.filter((node) => node === runNode).length, 1, 'the run row is redrawn once, when it completes');
  });
});
