import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { webviewPage } from '../common/webview-page';

/** The options every OpenConductor webview gets: scripts on, resources only from dist/webview. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')] };
}

/** The page of a webview app (dist/webview/<app>.js and .css) under the strict CSP of common/webview-page.ts. */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, app: string, title: string, connect?: string[]): string {
  const asset = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', file)).toString();
  return webviewPage({ cspSource: webview.cspSource, script: asset(`${app}.js`), style: asset(`${app}.css`), nonce: randomBytes(16).toString('base64'), title, connect });
}
