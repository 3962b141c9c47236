import * as vscode from 'vscode';
import { Requests, type ServerInfo, type ToolDescription } from '../../common/protocol';
import { escapeMarkdown } from '../markdown';
import type { Sidecar } from '../sidecar';

/** A row of the Servers view: a server, or one of its tools. */
export type ServerNode = { kind: 'server'; server: ServerInfo } | { kind: 'tool'; server: string; tool: ToolDescription };

const STATE_ICONS: Record<ServerInfo['state'], [string, string | undefined]> = {
  stopped: ['circle-outline', undefined],
  starting: ['loading~spin', 'charts.blue'],
  running: ['circle-filled', 'testing.iconPassed'],
  crashed: ['error', 'testing.iconFailed'],
  error: ['error', 'testing.iconFailed'],
};

/**
 * The servers of .vscode/mcp.json and of the workflow files, with their live state in the sidecar (pushed on every
 * change), latency, error rate and circuit breaker; their tools as children once listed (listing starts the server).
 */
export class ServersView implements vscode.TreeDataProvider<ServerNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ServerNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly watcher = vscode.workspace.createFileSystemWatcher('**/{.vscode/mcp.json,*.workflow.yaml,*.workflow.yml,*.workflow.ts}');
  private nodes = new Map<string, ServerNode & { kind: 'server' }>();
  private tools = new Map<string, ToolDescription[]>();

  constructor(private readonly sidecar: Sidecar) {
    const refresh = () => this.refresh();
    this.watcher.onDidChange(refresh);
    this.watcher.onDidCreate(refresh);
    this.watcher.onDidDelete(refresh);
    sidecar.onNotification<Pick<ServerInfo, 'name' | 'state' | 'pid' | 'lastError' | 'calls' | 'failures' | 'latencyMs'>>('servers/status', (status) => {
      const node = this.nodes.get(status.name);
      if (!node) return;
      node.server = { ...node.server, ...status };
      if (status.state !== 'running') this.tools.delete(status.name);
      this.changed.fire(node);
    });
    sidecar.onConnect(refresh);
  }

  refresh(): void {
    this.nodes.clear();
    this.changed.fire(undefined);
  }

  /** Lists a server's tools (starting it) and shows them. */
  async listTools(name: string): Promise<ToolDescription[]> {
    const connection = this.sidecar.connection;
    if (!connection) throw new Error('the sidecar is not running yet');
    const tools = await connection.sendRequest(Requests.serverTools, { name });
    this.tools.set(name, tools);
    const node = this.nodes.get(name);
    this.changed.fire(node);
    return tools;
  }

  /** Stops a server. */
  async stop(name: string): Promise<void> {
    await this.sidecar.connection?.sendRequest(Requests.stopServer, { name });
    this.tools.delete(name);
  }

  getTreeItem(node: ServerNode): vscode.TreeItem {
    if (node.kind === 'tool') {
      const item = new vscode.TreeItem(node.tool.name, vscode.TreeItemCollapsibleState.None);
      item.id = `tool:${node.server}/${node.tool.name}`;
      item.iconPath = new vscode.ThemeIcon('tools');
      // A server's descriptions are not ours: plain text only.
      item.tooltip = node.tool.description ?? node.tool.name;
      item.description = node.tool.description?.split('\n')[0] ?? '';
      item.contextValue = 'tool';
      return item;
    }
    const s = node.server;
    const listed = this.tools.has(s.name);
    const item = new vscode.TreeItem(s.name, listed ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `server:${s.name}`;
    const [icon, color] = STATE_ICONS[s.state];
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    const errorRate = s.calls > 0 ? `${Math.round((s.failures / s.calls) * 100)}% errors` : '';
    item.description = [s.state, s.latencyMs !== undefined ? `${s.latencyMs} ms` : '', errorRate, s.breaker && s.breaker !== 'closed' ? `breaker ${s.breaker}` : '', s.type].filter(Boolean).join(' · ');
    item.tooltip = new vscode.MarkdownString(
      `**${escapeMarkdown(s.name)}** (${s.type}, ${s.origin})\n\n\`${escapeMarkdown(s.target)}\`\n\n${escapeMarkdown(s.definedIn)}${s.pid ? `\n\npid ${s.pid}` : ''}${s.lastError ? `\n\nLast error: ${escapeMarkdown(s.lastError)}` : ''}`,
    );
    item.contextValue = `server-${s.state}`;
    return item;
  }

  async getChildren(node?: ServerNode): Promise<ServerNode[]> {
    const connection = this.sidecar.connection;
    if (!connection) return [];
    if (!node) {
      const servers = await connection.sendRequest(Requests.servers, undefined);
      this.nodes = new Map(servers.map((server) => [server.name, { kind: 'server', server }]));
      return [...this.nodes.values()];
    }
    if (node.kind !== 'server') return [];
    // Expanding lists the tools, which starts the server: only in a trusted workspace.
    if (!vscode.workspace.isTrusted) return [];
    const tools = this.tools.get(node.server.name) ?? (await this.listTools(node.server.name).catch((error: unknown) => {
      void vscode.window.showErrorMessage(`OpenConductor: ${node.server.name}: ${error instanceof Error ? error.message : String(error)}`);
      return [];
    }));
    return tools.map((tool) => ({ kind: 'tool', server: node.server.name, tool }));
  }

  dispose(): void {
    this.watcher.dispose();
    this.changed.dispose();
  }
}
