import * as vscode from 'vscode';
import { Requests } from '../../common/protocol';
import { normalizeServerDefinition, parseMcpConfig } from '../../common/servers';
import { SourceFile } from '../../common/source';
import type { Sidecar } from '../sidecar';

/** A server of the workspace's .vscode/mcp.json. */
export interface ServerNode {
  name: string;
  kind: string;
  target: string;
  breaker?: string;
  error?: string;
}

/** The servers of .vscode/mcp.json (VS Code's own file, the truth of which servers the workspace uses), with their circuit breakers. */
export class ServersView implements vscode.TreeDataProvider<ServerNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly watcher = vscode.workspace.createFileSystemWatcher('**/.vscode/mcp.json');

  constructor(private readonly sidecar: Sidecar) {
    const refresh = () => this.refresh();
    this.watcher.onDidChange(refresh);
    this.watcher.onDidCreate(refresh);
    this.watcher.onDidDelete(refresh);
    sidecar.onConnect(refresh);
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: ServerNode): vscode.TreeItem {
    const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
    item.id = `server:${node.name}`;
    item.description = [node.kind, node.breaker && node.breaker !== 'closed' ? `breaker ${node.breaker}` : '', node.error ?? ''].filter(Boolean).join(' · ');
    item.tooltip = `${node.name}: ${node.target}`;
    item.iconPath = new vscode.ThemeIcon(node.error ? 'error' : node.breaker === 'open' ? 'debug-disconnect' : node.kind === 'stdio' ? 'terminal' : 'globe');
    item.contextValue = 'server';
    return item;
  }

  async getChildren(node?: ServerNode): Promise<ServerNode[]> {
    if (node) return [];
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) return [];
    const uri = vscode.Uri.joinPath(folder.uri, '.vscode', 'mcp.json');
    let text: string;
    try {
      text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    } catch {
      return [];
    }
    const config = parseMcpConfig(new SourceFile(uri.fsPath, text));
    const breakers = this.sidecar.connection ? await this.sidecar.connection.sendRequest(Requests.breakers, undefined).catch(() => []) : [];
    return [...config.servers].map(([name, { raw }]) => {
      const definition = normalizeServerDefinition(raw);
      const breaker = breakers.find((b) => b.server === name)?.state;
      if ('error' in definition) return { name, kind: 'invalid', target: definition.error, error: definition.error };
      const target = definition.type === 'stdio' ? [definition.command, ...definition.args].join(' ') : definition.url;
      return { name, kind: definition.type, target, ...(breaker && { breaker }) };
    });
  }

  dispose(): void {
    this.watcher.dispose();
    this.changed.dispose();
  }
}
