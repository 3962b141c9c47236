import * as vscode from 'vscode';
import type { RunEvent } from '../../common/events';
import { Requests } from '../../common/protocol';
import type { RunDetails, RunSummary, StepDetails } from '../../common/runs';
import { formatDuration } from '../../common/workflow/duration';
import { escapeMarkdown } from '../markdown';
import type { Sidecar } from '../sidecar';

/** A row of the Runs view: a run, or one of its steps. */
export type RunNode = { kind: 'run'; run: RunSummary } | { kind: 'step'; runId: string; step: StepDetails };

const RUN_ICONS: Record<RunSummary['status'], [string, string]> = {
  running: ['sync~spin', 'charts.blue'],
  completed: ['pass', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  cancelled: ['circle-slash', 'disabledForeground'],
};

const STEP_ICONS: Record<StepDetails['status'], [string, string | undefined]> = {
  pending: ['circle-outline', undefined],
  running: ['sync~spin', 'charts.blue'],
  waiting: ['watch', 'charts.yellow'],
  completed: ['pass', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  skipped: ['debug-step-over', 'disabledForeground'],
};

/**
 * Live and past runs, newest first, with their steps as children. It follows the sidecar's event stream: each
 * durable event refreshes only its run's row (and its steps when they are shown), never the whole list by polling.
 */
export class RunsView implements vscode.TreeDataProvider<RunNode> {
  private readonly changed = new vscode.EventEmitter<RunNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private runs = new Map<string, RunNode & { kind: 'run' }>();
  private details = new Map<string, RunDetails>();
  /** Runs being refreshed, and whether another event came meanwhile. */
  private refreshing = new Map<string, boolean>();
  /** Called after a run's row changed (benchmarks and the status bar listen). */
  readonly onRunChanged = new vscode.EventEmitter<RunSummary>();

  constructor(private readonly sidecar: Sidecar) {
    sidecar.onNotification<RunEvent>('runs/event', (event) => void this.onEvent(event));
    sidecar.onConnect(() => void this.reload());
  }

  /** Runs in flight and steps waiting for approval (for the status bar). */
  counts(): { running: number; approvals: Array<{ runId: string; step: string }> } {
    const running = [...this.runs.values()].filter((n) => n.run.status === 'running').length;
    const approvals = [...this.details.values()].filter((d) => d.status === 'running').flatMap((d) => d.steps.filter((s) => s.status === 'waiting' && s.waiting?.approval).map((s) => ({ runId: d.id, step: s.id })));
    return { running, approvals };
  }

  /** Reloads the list from the sidecar. */
  async reload(): Promise<void> {
    const connection = this.sidecar.connection;
    if (!connection) return;
    const list = await connection.sendRequest(Requests.list, { limit: 100 });
    this.runs = new Map(list.map((run) => [run.id, { kind: 'run', run }]));
    // Details of running runs are kept: the status bar counts their pending approvals.
    await Promise.all(list.filter((r) => r.status === 'running').map((r) => this.fetchDetails(r.id)));
    this.changed.fire(undefined);
  }

  getTreeItem(node: RunNode): vscode.TreeItem {
    if (node.kind === 'run') {
      const run = node.run;
      const item = new vscode.TreeItem(run.workflow, vscode.TreeItemCollapsibleState.Collapsed);
      item.id = run.id;
      const [icon, color] = RUN_ICONS[run.status];
      item.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
      const duration = run.endedAt ? formatDuration(run.endedAt - run.startedAt) : '';
      item.description = [run.status, duration, new Date(run.startedAt).toLocaleTimeString()].filter(Boolean).join(' · ');
      item.tooltip = new vscode.MarkdownString(`**${escapeMarkdown(run.workflow)}** \`${run.id}\`\n\n${run.status}${run.error ? `: ${escapeMarkdown(run.error.message)}` : ''}\n\n${escapeMarkdown(run.file)}`);
      item.contextValue = `run-${run.status}`;
      return item;
    }
    const step = node.step;
    const label = step.id;
    const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
    item.id = `${node.runId}/${step.id}`;
    const [icon, color] = STEP_ICONS[step.status];
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    const duration = step.startedAt && step.endedAt ? formatDuration(step.endedAt - step.startedAt) : '';
    const attempts = step.attempts > 1 ? `${step.attempts} attempts` : '';
    const items = step.items ? `${step.itemsDone}/${step.items}` : '';
    const waiting = step.waiting?.approval ? 'waiting for approval' : step.waiting?.signal ? `waiting for signal ${step.waiting.signal.name}` : step.waiting?.timer ? 'waiting for a timer' : '';
    item.description = [step.status === 'waiting' ? waiting : step.status, items, duration, attempts, step.error?.message ?? ''].filter(Boolean).join(' · ');
    item.tooltip = new vscode.MarkdownString(`**${escapeMarkdown(step.id)}**${step.server ? ` — ${escapeMarkdown(step.server)}/${escapeMarkdown(step.tool ?? '')}` : ''}\n\n${step.error ? `Error: ${escapeMarkdown(step.error.message)}` : step.reason ? escapeMarkdown(step.reason) : ''}`);
    item.contextValue = step.status === 'waiting' && step.waiting?.approval ? 'step-approval' : 'step';
    return item;
  }

  async getChildren(node?: RunNode): Promise<RunNode[]> {
    if (!node) return [...this.runs.values()].sort((a, b) => b.run.startedAt - a.run.startedAt);
    if (node.kind !== 'run') return [];
    const details = this.details.get(node.run.id) ?? (await this.fetchDetails(node.run.id));
    return (details?.steps ?? []).map((step) => ({ kind: 'step', runId: node.run.id, step }));
  }

  /** A run's details, fetched afresh. */
  async fetchDetails(runId: string): Promise<RunDetails | undefined> {
    const connection = this.sidecar.connection;
    if (!connection) return undefined;
    const details = await connection.sendRequest(Requests.get, { runId });
    this.details.set(runId, details);
    return details;
  }

  private async onEvent(event: RunEvent): Promise<void> {
    // One refresh at a time per run; events arriving meanwhile are folded into one more refresh after it.
    if (this.refreshing.has(event.runId)) {
      this.refreshing.set(event.runId, true);
      return;
    }
    this.refreshing.set(event.runId, false);
    try {
      await this.refresh(event.runId);
      while (this.refreshing.get(event.runId)) {
        this.refreshing.set(event.runId, false);
        await this.refresh(event.runId);
      }
    } catch {
      // The next event refreshes it.
    } finally {
      this.refreshing.delete(event.runId);
    }
  }

  /** Fetches a run's details and updates its row (and its steps, which VS Code asks for again). */
  private async refresh(runId: string): Promise<void> {
    const details = await this.fetchDetails(runId);
    if (!details) return;
    const { language: _language, inputs: _inputs, outputs: _outputs, steps: _steps, signals: _signals, cancelRequested: _cancel, compensating: _compensating, ...summary } = details;
    const existing = this.runs.get(details.id);
    if (existing) {
      existing.run = summary;
      this.changed.fire(existing);
    } else {
      this.runs.set(details.id, { kind: 'run', run: summary });
      this.changed.fire(undefined);
    }
    this.onRunChanged.fire(summary);
  }
}
