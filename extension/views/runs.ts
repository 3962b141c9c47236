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
 * refreshes only the rows it changed (a step's row, or its run's when the run's own status moved), never the whole
 * list by polling. Refreshing a run's row makes VS Code fetch and redraw all its steps, so a step's event does not.
 */
export class RunsView implements vscode.TreeDataProvider<RunNode> {
  private readonly changed = new vscode.EventEmitter<RunNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** The row object of each run: VS Code matches rows to refresh by identity. */
  private nodes = new Map<string, RunNode & { kind: 'run' }>();
  /** The row object of each step shown, by run id then step id. */
  private readonly stepNodes = new Map<string, Map<string, RunNode & { kind: 'step' }>>();

  constructor(private readonly model: RunsModel) {
    model.onDidChange((change) => {
      if (change.kind === 'list') return this.changed.fire(undefined);
      if (change.kind === 'event' && !change.applied) return;
      const runId = change.kind === 'event' ? change.event.runId : change.run.id;
      const node = this.nodes.get(runId);
      const summary = model.live.summary(runId);
      if (!node || !summary) return this.changed.fire(undefined);
      const before = node.run;
      node.run = summary;
      if (change.kind === 'run' || runRowChanged(before, summary)) return this.changed.fire(node);
      const stepId = 'step' in change.event ? change.event.step : undefined;
      const shown = this.stepNodes.get(runId);
      const step = shown && model.live.get(runId)?.steps.find((s) => s.id === stepId);
      if (!shown || !step) return;
      const stepNode = shown.get(step.id);
      // A step the run added as it went (code-first workflows): the run's rows change.
      if (!stepNode) return this.changed.fire(node);
      stepNode.step = step;
      this.changed.fire(stepNode);
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
      for (const id of this.stepNodes.keys()) if (!nodes.has(id)) this.stepNodes.delete(id);
      return [...nodes.values()];
    }
    if (node.kind !== 'run') return [];
    const details = await this.model.details(node.run.id);
    const known = this.stepNodes.get(node.run.id);
    const shown = new Map<string, RunNode & { kind: 'step' }>();
    for (const step of details?.steps ?? []) shown.set(step.id, Object.assign(known?.get(step.id) ?? { kind: 'step' as const, runId: node.run.id, step }, { step }));
    this.stepNodes.set(node.run.id, shown);
    return [...shown.values()];
  }
}

/** Whether a run's own row shows something different. */
function runRowChanged(a: RunSummary, b: RunSummary): boolean {
  return a.status !== b.status || a.endedAt !== b.endedAt || a.error?.message !== b.error?.message;
}
