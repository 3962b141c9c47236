import * as vscode from 'vscode';
import type { RunSummary, StepDetails } from '../../common/runs';
import { formatDuration } from '../../common/workflow/duration';
import { escapeMarkdown } from '../markdown';
import type { RunsModel } from '../runs-model';

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
 * Live and past runs, newest first, with their steps as children. It follows the runs model: each pushed event
 * refreshes only its run's row (and its steps when they are shown), never the whole list by polling.
 */
export class RunsView implements vscode.TreeDataProvider<RunNode> {
  private readonly changed = new vscode.EventEmitter<RunNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** The row object of each run: VS Code matches rows to refresh by identity. */
  private nodes = new Map<string, RunNode & { kind: 'run' }>();

  constructor(private readonly model: RunsModel) {
    model.onDidChange((change) => {
      if (change.kind === 'list') return this.changed.fire(undefined);
      const runId = change.kind === 'event' ? change.event.runId : change.run.id;
      if (change.kind === 'event' && !change.applied) return;
      const node = this.nodes.get(runId);
      const summary = model.live.summary(runId);
      if (node && summary) {
        node.run = summary;
        this.changed.fire(node);
      } else this.changed.fire(undefined);
    });
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
    if (!node) {
      const nodes = new Map<string, RunNode & { kind: 'run' }>();
      for (const run of this.model.live.list()) nodes.set(run.id, Object.assign(this.nodes.get(run.id) ?? { kind: 'run' as const, run }, { run }));
      this.nodes = nodes;
      return [...nodes.values()];
    }
    if (node.kind !== 'run') return [];
    const details = await this.model.details(node.run.id);
    return (details?.steps ?? []).map((step) => ({ kind: 'step', runId: node.run.id, step }));
  }
}
