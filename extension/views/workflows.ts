import * as path from 'node:path';
import * as vscode from 'vscode';

/** The workflow files of the workspace (`*.workflow.yaml|yml|ts`), kept current by a file watcher. */
export class WorkflowsView implements vscode.TreeDataProvider<vscode.Uri>, vscode.Disposable {
  static readonly GLOB = '**/*.workflow.{yaml,yml,ts}';
  private readonly changed = new vscode.EventEmitter<undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly watcher = vscode.workspace.createFileSystemWatcher(WorkflowsView.GLOB);
  private files?: vscode.Uri[];

  constructor() {
    const refresh = () => this.refresh();
    this.watcher.onDidCreate(refresh);
    this.watcher.onDidDelete(refresh);
  }

  /** Forgets the list: it is searched again when shown. */
  refresh(): void {
    this.files = undefined;
    this.changed.fire(undefined);
  }

  /** Every workflow file, sorted by path. */
  async list(): Promise<vscode.Uri[]> {
    this.files ??= (await vscode.workspace.findFiles(WorkflowsView.GLOB, '**/{node_modules,.openconductor,.git}/**')).sort((a, b) => a.fsPath.localeCompare(b.fsPath));
    return this.files;
  }

  getTreeItem(uri: vscode.Uri): vscode.TreeItem {
    const item = new vscode.TreeItem(path.basename(uri.fsPath), vscode.TreeItemCollapsibleState.None);
    item.resourceUri = uri;
    item.id = uri.toString();
    const relative = vscode.workspace.asRelativePath(path.dirname(uri.fsPath), false);
    item.description = relative === path.dirname(uri.fsPath) || relative === '.' ? '' : relative;
    item.iconPath = new vscode.ThemeIcon(uri.fsPath.endsWith('.ts') ? 'symbol-function' : 'symbol-event');
    item.contextValue = 'workflow';
    item.command = { command: 'vscode.open', title: 'Open', arguments: [uri] };
    return item;
  }

  getChildren(uri?: vscode.Uri): Promise<vscode.Uri[]> | vscode.Uri[] {
    return uri ? [] : this.list();
  }

  dispose(): void {
    this.watcher.dispose();
    this.changed.dispose();
  }
}
