import * as vscode from 'vscode';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import { type DashboardMessage, type DashboardRequest, FRAME_MS, leanEvent, leanRun, parseDashboardRequest } from '../common/dashboard';
import type { RunEvent } from '../common/events';
import { Requests } from '../common/protocol';
import type { RunsChange, RunsModel } from './runs-model';
import type { Sidecar } from './sidecar';
import type { RunNode } from './views/runs';
import { webviewHtml, webviewOptions } from './webview-html';

/**
 * The runs dashboard: a dense, terminal-style live table of runs and their steps, in a webview so that an event
 * shows within milliseconds (tree views redraw at most every 200 ms while events keep coming). It is shown in the
 * panel (next to the terminal) and, on request, in an editor tab; each page folds the pushed events itself.
 */
export class Dashboard implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewType = 'openconductor.dashboard';
  /** Every page shown, and those that said they are ready (and so receive messages). */
  private readonly pages = new Set<vscode.Webview>();
  private readonly ready = new Set<vscode.Webview>();
  /** Where the pages read the events straight from the sidecar; undefined until it tells (or if it cannot). */
  private stream?: string;
  /** The connection whose stream was asked for. */
  private streamOf?: MessageConnection;
  private readonly disposables: vscode.Disposable[] = [];
  private panel?: vscode.WebviewPanel;
  /** Events not yet posted: those that arrive in one turn of the event loop go in one message. */
  private pending: RunEvent[] = [];
  private flushTimer?: NodeJS.Timeout;
  private lastFlush = 0;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly model: RunsModel,
    private readonly sidecar: Sidecar,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(model.onDidChange((change) => (change.kind === 'event' ? this.queue(leanEvent(change.event)) : this.broadcast(messageOf(change)))));
    const offState = sidecar.onState((state) => this.broadcast({ type: 'sidecar', state }));
    const offConnect = sidecar.onConnect(() => {
      // A new sidecar: its stream is another one, asked for when a page is shown.
      if (this.pages.size === 0) this.stream = undefined;
      this.askStream();
    });
    this.disposables.push({ dispose: offState }, { dispose: offConnect });
  }

  /** Asks the sidecar for its event stream, once per connection, and only while a page is shown (it opens a port). */
  private askStream(): Promise<void> | undefined {
    const connection = this.sidecar.connection;
    if (!connection || this.pages.size === 0 || this.streamOf === connection) return undefined;
    this.streamOf = connection;
    return connection
      .sendRequest(Requests.eventStream, undefined)
      .then(({ url }) => reachable(url))
      .then(
        (url) => this.useStream(url),
        (error: unknown) => {
          this.log.warn(`dashboard: no direct event stream (${error instanceof Error ? error.message : String(error)}); events come through the extension`);
          this.useStream(undefined);
        },
      );
  }

  /** A new stream (a new sidecar): the pages load again, their CSP allowing its origin only. */
  private useStream(url: string | undefined): void {
    if (url === this.stream) return;
    this.stream = url;
    for (const webview of this.pages) this.render(webview);
  }

  private render(webview: vscode.Webview): void {
    this.ready.delete(webview);
    webview.html = webviewHtml(webview, this.extensionUri, 'dashboard', 'OpenConductor Runs', this.stream ? [new URL(this.stream).origin] : undefined);
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.attach(view.webview, view.onDidDispose);
  }

  /** Shows the dashboard in an editor tab (one at a time). */
  openInEditor(): void {
    if (this.panel) return this.panel.reveal();
    const panel = vscode.window.createWebviewPanel('openconductor.dashboardPanel', 'OpenConductor Runs', vscode.ViewColumn.Active, { ...webviewOptions(this.extensionUri), retainContextWhenHidden: false });
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'resources', 'openconductor.svg');
    this.panel = panel;
    panel.onDidDispose(() => (this.panel = undefined));
    this.attach(panel.webview, panel.onDidDispose);
  }

  private attach(webview: vscode.Webview, onDispose: vscode.Event<void>): void {
    webview.options = webviewOptions(this.extensionUri);
    this.pages.add(webview);
    // The first page waits for the stream's address (a moment), so that it does not load twice.
    const asking = this.askStream();
    if (asking) void asking.then(() => this.pages.has(webview) && !webview.html && this.render(webview));
    else this.render(webview);
    const listener = webview.onDidReceiveMessage((raw: unknown) => {
      const request = parseDashboardRequest(raw);
      if (!request) return this.log.warn(`dashboard: ignored a malformed message ${JSON.stringify(raw)?.slice(0, 200)}`);
      void this.handle(webview, request).catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.log.error(`dashboard ${request.type}: ${message}`);
        void vscode.window.showErrorMessage(`OpenConductor: ${message}`);
      });
    });
    onDispose(() => {
      this.pages.delete(webview);
      this.ready.delete(webview);
      listener.dispose();
    });
  }

  private async handle(webview: vscode.Webview, request: DashboardRequest): Promise<void> {
    switch (request.type) {
      case 'ready':
        this.flush();
        this.ready.add(webview);
        await webview.postMessage({
          type: 'snapshot',
          runs: this.model.live.list(),
          details: this.model.live.held().map(leanRun),
          trusted: vscode.workspace.isTrusted,
          sidecar: this.sidecar.state,
          lastEvent: this.model.lastEvent,
          ...(this.stream && { stream: this.stream }),
        } satisfies DashboardMessage);
        return;
      case 'details': {
        const run = await this.model.details(request.runId);
        if (run) await webview.postMessage({ type: 'run', run: leanRun(run) } satisfies DashboardMessage);
        return;
      }
      case 'runWorkflow':
        return void (await vscode.commands.executeCommand('openconductor.runWorkflow'));
      case 'open': {
        const run = this.runNode(request.runId);
        return void (await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(run.run.file)));
      }
      case 'cancel':
      case 'history':
      case 'rerun':
        return void (await vscode.commands.executeCommand(`openconductor.run.${request.type}`, this.runNode(request.runId)));
      case 'approve':
      case 'reject': {
        const details = await this.model.details(request.runId);
        const step = details?.steps.find((s) => s.id === request.step);
        if (!step) throw new Error(`run ${request.runId} has no step ${request.step}`);
        const node: RunNode = { kind: 'step', runId: request.runId, step };
        return void (await vscode.commands.executeCommand(`openconductor.run.${request.type}`, node));
      }
    }
  }

  private runNode(runId: string): RunNode & { kind: 'run' } {
    const run = this.model.live.summary(runId);
    if (!run) throw new Error(`run ${runId} is not listed any more`);
    return { kind: 'run', run };
  }

  /**
   * Events go out at once, but at most one message per frame: a burst (a chain of quick calls) makes one message per
   * frame, not one per event, which would queue up on the way to the page.
   */
  private queue(event: RunEvent): void {
    this.pending.push(event);
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => this.flush(), Math.max(0, this.lastFlush + FRAME_MS - Date.now()));
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    this.lastFlush = Date.now();
    const events = this.pending;
    this.pending = [];
    for (const webview of this.ready) void webview.postMessage({ type: 'events', events } satisfies DashboardMessage);
  }

  /** Posts a message to every ready page, after the events that came before it. */
  private broadcast(message: DashboardMessage): void {
    this.flush();
    for (const webview of this.ready) void webview.postMessage(message);
  }

  dispose(): void {
    clearTimeout(this.flushTimer);
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

function messageOf(change: Exclude<RunsChange, { kind: 'event' }>): DashboardMessage {
  switch (change.kind) {
    case 'run':
      return { type: 'run', run: leanRun(change.run) };
    case 'list':
      return { type: 'list', runs: change.runs, details: change.details.map(leanRun) };
  }
}

/**
 * The stream's URL as the page can reach it: the sidecar listens on the extension host's machine, and the page may be
 * elsewhere (a remote window, code-server in a browser): VS Code forwards the port (or proxies it) and says where.
 */
async function reachable(url: string): Promise<string> {
  const local = new URL(url);
  const base = await vscode.env.asExternalUri(vscode.Uri.parse(`${local.protocol}//${local.host}/`));
  return new URL(`${local.pathname.slice(1)}${local.search}`, base.toString(true)).toString();
}
