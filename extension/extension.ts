import * as path from 'node:path';
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { registerMcpProvider } from './mcp-provider';
import { Sidecar, type SidecarState } from './sidecar';
import { RegistryView } from './views/registry';
import { RunsView } from './views/runs';
import { ServersView } from './views/servers';
import { WorkflowsView } from './views/workflows';

let sidecar: Sidecar | undefined;

/** Where a registry source's token is kept in the secret storage. */
export function tokenKey(source: string): string {
  return `openconductor.registry.token.${source}`;
}

/**
 * Starts OpenConductor in a workspace: the views, the commands, the status bar, and (in a trusted workspace) the
 * sidecar that hosts runs and the registry. In an untrusted workspace nothing is started: the views explain why.
 */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('OpenConductor', { log: true });
  context.subscriptions.push(log);
  const folder = vscode.workspace.workspaceFolders?.[0];
  const configuration = vscode.workspace.getConfiguration('openconductor', folder);
  const workspaceFolder = folder?.uri.fsPath ?? context.globalStorageUri.fsPath;
  const dataDir = configuration.get<string>('dataDirectory') || path.join(workspaceFolder, '.openconductor');
  sidecar = new Sidecar({
    cli: context.asAbsolutePath(path.join('dist', 'openconductor.js')),
    workspaceFolder,
    dataDir,
    env: registryEnvironment(configuration),
    log: (line) => log.info(line),
  });
  const runs = new RunsView(sidecar);
  const workflows = new WorkflowsView();
  const registry = new RegistryView(sidecar);
  const servers = new ServersView(sidecar);
  context.subscriptions.push(
    vscode.window.createTreeView('openconductor.registry', { treeDataProvider: registry, showCollapseAll: true }),
    vscode.window.createTreeView('openconductor.servers', { treeDataProvider: servers }),
    vscode.window.createTreeView('openconductor.workflows', { treeDataProvider: workflows }),
    vscode.window.createTreeView('openconductor.runs', { treeDataProvider: runs, showCollapseAll: true }),
    workflows,
    servers,
    vscode.commands.registerCommand('openconductor.registry.refresh', () => registry.refresh()),
    ...registerCommands({
      sidecar,
      runs,
      workflows,
      log,
      tokens: async () => {
        const out: Record<string, string> = {};
        for (const source of ['official', 'github', 'glama', ...(configuration.get<Array<{ name?: string }>>('registry.sources') ?? []).map((s) => s.name ?? '')].filter(Boolean)) {
          const token = await context.secrets.get(tokenKey(source));
          if (token) out[source] = token;
        }
        return out;
      },
    }),
  );
  const status = statusBar(sidecar, runs);
  context.subscriptions.push(status);
  const provider = registerMcpProvider(workflows);
  if (provider) context.subscriptions.push(provider);

  if (!vscode.workspace.isTrusted) {
    log.info('the workspace is not trusted: no sidecar, no server, no run until it is');
    context.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => void start(log)));
    return;
  }
  await start(log);
}

async function start(log: vscode.LogOutputChannel): Promise<void> {
  try {
    await sidecar?.start();
    void vscode.commands.executeCommand('setContext', 'openconductor.sidecarReady', true);
  } catch (error) {
    log.error(`the sidecar did not start: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Stops the sidecar this window started; its unfinished runs resume with the next one. */
export async function deactivate(): Promise<void> {
  await sidecar?.stop();
  sidecar = undefined;
}

/** VS Code's registry settings (user and workspace merged) for the sidecar, which reads them from its environment. */
function registryEnvironment(configuration: vscode.WorkspaceConfiguration): Record<string, string> {
  const sources = configuration.get<unknown[]>('registry.sources') ?? [];
  return sources.length > 0 ? { OPENCONDUCTOR_REGISTRY_SOURCES: JSON.stringify(sources) } : {};
}

const STATE_TEXT: Record<SidecarState, string> = { starting: '$(loading~spin) OpenConductor', ready: '$(pulse) OpenConductor', restarting: '$(loading~spin) OpenConductor restarting', stopped: '$(circle-slash) OpenConductor', failed: '$(error) OpenConductor' };

/** The status bar item: the sidecar's state, runs in flight and approvals waiting. */
function statusBar(side: Sidecar, runs: RunsView): vscode.StatusBarItem {
  const item = vscode.window.createStatusBarItem('openconductor.status', vscode.StatusBarAlignment.Left, 10);
  item.name = 'OpenConductor';
  const update = () => {
    const { running, approvals } = runs.counts();
    const parts = [STATE_TEXT[side.state], running ? `$(run-all) ${running}` : '', approvals.length ? `$(bell-dot) ${approvals.length}` : ''];
    item.text = parts.filter(Boolean).join('  ');
    item.tooltip = `Sidecar ${side.state}${side.pid ? ` (pid ${side.pid})` : ''} · ${running} run(s) in flight · ${approvals.length} approval(s) waiting`;
    item.command = approvals.length ? 'openconductor.approvePending' : 'openconductor.showLog';
    item.backgroundColor = approvals.length ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  };
  side.onState(update);
  runs.onRunChanged.event(update);
  runs.onDidChangeTreeData(update);
  update();
  item.show();
  return item;
}
