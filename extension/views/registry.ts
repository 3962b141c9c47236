import * as vscode from 'vscode';
import { Requests } from '../../common/protocol';
import type { EntrySummary } from '../../common/registry/protocol';
import type { SourceHealth } from '../../common/registry/model';
import { escapeMarkdown } from '../markdown';
import type { Sidecar } from '../sidecar';

/** A row of the Registry view: a source, or a server it lists. */
export type RegistryNode = { kind: 'source'; source: SourceHealth } | { kind: 'entry'; entry: EntrySummary; source: string };

/** Servers shown per source (by trust); search finds the rest. */
const PER_SOURCE = 200;

/** The federated catalog by source, servers ordered by trust. */
export class RegistryView implements vscode.TreeDataProvider<RegistryNode> {
  private readonly changed = new vscode.EventEmitter<undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly sidecar: Sidecar) {
    // A source's counts change with every page; its catalog with every finished pass.
    sidecar.onNotification<{ phase: string }>('registry/progress', (progress) => {
      if (progress.phase === 'done' || progress.phase === 'failed') this.refresh();
    });
    sidecar.onConnect(() => this.refresh());
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: RegistryNode): vscode.TreeItem {
    if (node.kind === 'source') {
      const s = node.source;
      const item = new vscode.TreeItem(s.name, s.records > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
      item.id = `source:${s.name}`;
      item.description = `${s.records} · ${s.enabled ? s.state : 'disabled'}`;
      item.iconPath = new vscode.ThemeIcon(s.state === 'failing' ? 'warning' : s.kind === 'github' ? 'github' : 'database');
      item.tooltip = new vscode.MarkdownString(`**${escapeMarkdown(s.name)}** (${s.kind}) ${escapeMarkdown(s.url)}\n\n${s.lastSuccessAt ? `Last sync ${new Date(s.lastSuccessAt).toLocaleString()}` : 'Never synced'}${s.lastError ? `\n\nLast error: ${escapeMarkdown(s.lastError.message)}` : ''}`);
      item.contextValue = 'source';
      return item;
    }
    const e = node.entry;
    const item = new vscode.TreeItem(e.title ?? e.name, vscode.TreeItemCollapsibleState.None);
    item.id = `entry:${node.source}:${e.id}`;
    item.description = `${e.trust} · ${e.transports.join(', ') || 'no package'}${e.status !== 'active' ? ` · ${e.status}` : ''}`;
    item.iconPath = new vscode.ThemeIcon(e.status === 'deprecated' ? 'warning' : e.hasRemote ? 'cloud' : 'package');
    // Registry text is untrusted: plain text in the tooltip, never rendered markup.
    item.tooltip = `${e.name}\n\n${e.description}\n\nTrust ${e.trust}/100 · ${e.sources.join(', ')}`;
    item.contextValue = 'entry';
    item.command = { command: 'openconductor.registry.showDetails', title: 'Show Details', arguments: [node] };
    return item;
  }

  async getChildren(node?: RegistryNode): Promise<RegistryNode[]> {
    const connection = this.sidecar.connection;
    if (!connection) return [];
    if (!node) {
      const sources = await connection.sendRequest(Requests.registrySources, {});
      void vscode.commands.executeCommand('setContext', 'openconductor.registryHasEntries', sources.some((s) => s.records > 0));
      return sources.filter((s) => s.enabled || s.records > 0).map((source) => ({ kind: 'source', source }));
    }
    if (node.kind !== 'source') return [];
    const result = await connection.sendRequest(Requests.registrySearch, { query: '', filters: { source: [node.source.name] }, limit: PER_SOURCE });
    return result.hits.map((entry) => ({ kind: 'entry', entry, source: node.source.name }));
  }
}
