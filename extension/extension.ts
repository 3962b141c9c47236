import * as path from 'node:path';
import * as vscode from 'vscode';
import { registerCommands, tokenKey } from './commands';
import { Dashboard } from './dashboard';
import { registerMcpProvider } from './mcp-provider';
import { RunsModel } from './runs-model';
import { Sidecar, type SidecarState } from './sidecar';
import { RegistryView } from './views/registry';
import { RunsView } from './views/runs';
import { ServersView } from './views/servers';
import { WorkflowsView } from './views/workflows';

let sidecar: Sidecar | undefined;

/**
 * Starts OpenConductor in a workspace: the views, the commands, the status bar, and the sidecar that hosts runs and
 * the registry. In an untrusted workspace the sidecar is restricted (browsing only) and the views explain why.
 */
export async function activate(context: vscode.ExtensionContext): Promise<OpenConductorApi> {
  const activatedAt = Date.now();
  const log = vscode.window.createOutputChannel('OpenConductor', { log: true });
  context.subscriptions.push(log);
  // The time in the text: log lines are timestamped when written, which comes later and in batches.
  log.info(`activating at ${new Date(activatedAt).toISOString()}`);
  const folder = vscode.workspace.workspaceFolders?.[0];
  const configuration = vscode.workspace.getConfiguration('openconductor', folder);
  const workspaceFolder = folder?.uri.fsPath ?? context.globalStorageUri.fsPath;
  const dataDir = configuration.get<string>('dataDirectory') || path.join(workspaceFolder, '.openconductor');
  sidecar = new Sidecar({
    cli: context.asAbsolutePath(path.join('dist', 'openconductor.js')),
    workspaceFolder,
    dataDir,
    env: registryEnvironment(configuration),
    restricted: () => !vscode.workspace.isTrusted,
    log: (line) => log.info(line),
  });
  const sourceNames = () => [...new Set(['official', 'github', 'glama', ...(configuration.get<Array<{ name?: string }>>('registry.sources') ?? []).map((s) => s.name ?? '')].filter(Boolean))];
  const runsModel = new RunsModel(sidecar);
  const runs = new RunsView(runsModel);
  const dashboard = new Dashboard(context.extensionUri, runsModel, sidecar, log);
  const workflows = new WorkflowsView();
  const registry = new RegistryView(sidecar);
  const servers = new ServersView(sidecar);
  context.subscriptions.push(
    // First: the one view that needs nothing from the sidecar, so that its rows are asked for before the others.
    vscode.window.createTreeView('openconductor.workflows', { treeDataProvider: workflows }),
    vscode.window.createTreeView('openconductor.registry', { treeDataProvider: registry, showCollapseAll: true }),
    vscode.window.createTreeView('openconductor.servers', { treeDataProvider: servers }),
    vscode.window.createTreeView('openconductor.runs', { treeDataProvider: runs, showCollapseAll: true }),
    runsModel,
    dashboard,
    vscode.window.registerWebviewViewProvider(Dashboard.viewType, dashboard),
    vscode.commands.registerCommand('openconductor.openDashboard', () => dashboard.openInEditor()),
    workflows,
    servers,
    vscode.commands.registerCommand('openconductor.registry.refresh', () => registry.refresh()),
    ...registerCommands({
      sidecar,
      runs: runsModel,
      workflows,
      servers,
      log,
      secrets: context.secrets,
      extensionUri: context.extensionUri,
      sourceNames,
      tokens: async () => {
        const out: Record<string, string> = {};
        for (const source of sourceNames()) {
          const token = await context.secrets.get(tokenKey(source));
          if (token) out[source] = token;
        }
        return out;
      },
    }),
  );
  const status = statusBar(sidecar, runsModel);
  context.subscriptions.push(status);
  if (!vscode.workspace.isTrusted) {
    log.info('the workspace is not trusted: the sidecar starts restricted (the registry and past runs can be browsed; no server starts, no workflow runs)');
    context.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => void sidecar?.restart().catch((error: unknown) => log.error(String(error)))));
  }
  // Not awaited: the views and commands are there at once; what needs the sidecar follows when it connects.
  // VS Code's MCP support wakes up when a provider registers (it reads .vscode/mcp.json, which activates the JSON and
  // TypeScript extensions in this extension host): registering once the sidecar is up keeps that off the first views.
  void start(log).then(() => offerMcpServers(context, workflows, log));
  return { sidecar, runs };
}

/** What the extension gives other extensions (and its in-host tests): the sidecar connection and the runs it shows. */
export interface OpenConductorApi {
  sidecar: Sidecar;
  runs: RunsView;
}

async function start(log: vscode.LogOutputChannel): Promise<void> {
  try {
    await sidecar?.start();
    void vscode.commands.executeCommand('setContext', 'openconductor.sidecarReady', true);
  } catch (error) {
    log.error(`the sidecar did not start: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Registers the MCP server definition provider where the host has VS Code's MCP API. */
function offerMcpServers(context: vscode.ExtensionContext, workflows: WorkflowsView, log: vscode.LogOutputChannel): void {
  if (!sidecar) return;
  try {
    const provider = registerMcpProvider(workflows, sidecar);
    if (provider) context.subscriptions.push(provider);
  } catch (error) {
    // An optional integration: a host whose MCP API differs must not cost the rest of the extension.
    log.warn(`VS Code's MCP server provider API is not usable here: ${error instanceof Error ? error.message : String(error)}`);
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
function statusBar(side: Sidecar, runs: RunsModel): vscode.StatusBarItem {
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
  // A burst of events redraws it once: at most every 100 ms.
  let scheduled: NodeJS.Timeout | undefined;
  runs.onDidChange(() => {
    scheduled ??= setTimeout(() => {
      scheduled = undefined;
      update();
    }, 100);
  });
  update();
  item.show();
  return item;
}
