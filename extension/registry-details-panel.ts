import * as vscode from 'vscode';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import { Requests } from '../common/protocol';
import { detailsView, parseDetailsRequest, type DetailsUpdate } from '../common/registry/details-messages';
import { externalUrl } from '../common/registry/text';
import type { RegistryEntryDetails } from '../common/registry/protocol';
import { webviewHtml, webviewOptions } from './webview-html';

/** Open panels by entry id: showing an entry again reveals its panel instead of opening another. */
const panels = new Map<string, DetailsPanel>();

/** Shows a registry entry's details in its webview panel (the React app webview/registry-details). */
export async function showRegistryDetails(connection: MessageConnection, name: string, extensionUri: vscode.Uri, log: vscode.LogOutputChannel): Promise<void> {
  const details = await connection.sendRequest(Requests.registryShow, { name });
  const open = panels.get(details.entry.id);
  if (open) {
    open.update(details);
    open.panel.reveal();
    return;
  }
  panels.set(details.entry.id, new DetailsPanel(details, extensionUri, log));
}

/** One entry's panel: renders its view, runs what its buttons ask for, forgets itself when closed. */
class DetailsPanel {
  readonly panel: vscode.WebviewPanel;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private details: RegistryEntryDetails,
    extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const title = details.entry.title ?? details.entry.name;
    this.panel = vscode.window.createWebviewPanel('openconductor.registryDetails', title, vscode.ViewColumn.Active, webviewOptions(extensionUri));
    this.panel.webview.html = webviewHtml(this.panel.webview, extensionUri, 'registry-details', title);
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((message: unknown) => void this.receive(message)),
      // Granting trust enables the Add buttons of panels already open.
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.post()),
      this.panel.onDidDispose(() => this.dispose()),
    );
  }

  /** Shows newer details of the same entry. */
  update(details: RegistryEntryDetails): void {
    this.details = details;
    this.post();
  }

  private post(): void {
    const update: DetailsUpdate = { type: 'show', view: detailsView(this.details, vscode.workspace.isTrusted) };
    void this.panel.webview.postMessage(update);
  }

  private async receive(message: unknown): Promise<void> {
    const request = parseDetailsRequest(message);
    if (!request) {
      this.log.warn(`registry details: ignored a message the panel does not send: ${JSON.stringify(message)?.slice(0, 200)}`);
      return;
    }
    const name = this.details.entry.name;
    switch (request.type) {
      case 'ready':
        return this.post();
      case 'addToWorkspace':
      case 'addToUserProfile':
      case 'introspect':
        await vscode.commands.executeCommand(`openconductor.registry.${request.type}`, { name });
        return;
      case 'openLink': {
        // Checked again here: whatever the webview sends, only http(s) leaves the editor.
        const url = externalUrl(request.url);
        if (url) await vscode.env.openExternal(vscode.Uri.parse(url, true));
        return;
      }
      case 'copy':
        await vscode.env.clipboard.writeText(request.text);
        vscode.window.setStatusBarMessage('Copied to the clipboard', 3000);
        return;
    }
  }

  private dispose(): void {
    panels.delete(this.details.entry.id);
    for (const d of this.disposables) d.dispose();
  }
}
