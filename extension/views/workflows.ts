import * as path from 'node:path';
import * as vscode from 'vscode';
import { findWorkflowFilesAsync } from '../../sidecar/workspace/find-workflows';

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

  /**
   * Every workflow file, sorted by path: those the sidecar and the CLI see (the same walk, skipping dependency and
   * build folders). Not findFiles: its search process takes a few hundred milliseconds while the editor starts.
   */
  async list(): Promise<vscode.Uri[]> {
    if (!this.files) {
      const folders = vscode.workspace.workspaceFolders ?? [];
      const lists = await Promise.all(folders.map((f) => findWorkflowFilesAsync(f.uri.fsPath)));
      this.files = lists.flat().map((file) => vscode.Uri.file(file));
    }
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
