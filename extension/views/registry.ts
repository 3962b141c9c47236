import * as vscode from 'vscode';
import { Requests } from '../../common/protocol';
import { categoriesByCount, categoryLabel, type CategoryId } from '../../common/registry/categories';
import type { EntrySummary } from '../../common/registry/protocol';
import type { SourceHealth } from '../../common/registry/model';
import { escapeMarkdown } from '../markdown';
import type { Sidecar } from '../sidecar';

/** A row of the Registry view: a source, one of its categories, or a server listed there. */
export type RegistryNode =
  | { kind: 'source'; source: SourceHealth }
  | { kind: 'category'; source: string; category: CategoryId; count: number }
  | { kind: 'entry'; entry: EntrySummary; source: string };

/** Servers shown per category of a source (by trust); search finds the rest. */
const PER_CATEGORY = 200;

/** Codicons of the categories, so that a long list can be scanned by eye. */
const CATEGORY_ICONS: Record<CategoryId, string> = {
  databases: 'database',
  search: 'search',
  'browser-web': 'globe',
  'files-storage': 'files',
  communication: 'comment-discussion',
  finance: 'credit-card',
  security: 'shield',
  'cloud-infrastructure': 'cloud',
  'developer-tools': 'tools',
  'knowledge-memory': 'book',
  productivity: 'checklist',
  'data-analytics': 'graph',
  'ai-llm': 'sparkle',
  other: 'symbol-misc',
};

/** The federated catalog by source, then category, servers ordered by trust. */
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
    if (node.kind === 'category') {
      const item = new vscode.TreeItem(categoryLabel(node.category), vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `category:${node.source}:${node.category}`;
      item.description = String(node.count);
      item.iconPath = new vscode.ThemeIcon(CATEGORY_ICONS[node.category]);
      item.contextValue = 'category';
      return item;
    }
    const e = node.entry;
    const item = new vscode.TreeItem(e.title ?? e.name, vscode.TreeItemCollapsibleState.None);
    item.id = `entry:${node.source}:${e.category}:${e.id}`;
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
    if (node.kind === 'source') {
      // One request gives the counts: the hits themselves are fetched per category when it is expanded.
      const source = node.source.name;
      const { categories } = await connection.sendRequest(Requests.registrySearch, { query: '', filters: { source: [source] }, limit: 1 });
      return categoriesByCount(categories).map(([category, count]) => ({ kind: 'category', source, category, count }));
    }
    if (node.kind !== 'category') return [];
    const result = await connection.sendRequest(Requests.registrySearch, { query: '', filters: { source: [node.source], category: [node.category] }, limit: PER_CATEGORY });
    return result.hits.map((entry) => ({ kind: 'entry', entry, source: node.source }));
  }
}
