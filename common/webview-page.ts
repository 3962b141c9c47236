/** Where a webview page's bundle is, as its host serves it. */
export interface WebviewPageOptions {
  /** The origin the host serves resources from (VS Code's `webview.cspSource`). */
  cspSource: string;
  script: string;
  style: string;
  /** A fresh random value per page: only scripts carrying it run. */
  nonce: string;
  title: string;
  /** Origins the page may open connections to (CSP connect-src); none by default. */
  connect?: string[];
}

/**
 * The page of a webview app under a strict CSP: nothing loads but the app's own bundle and stylesheet, which run only
 * with this page's nonce; no inline script, no remote content, no eval; connections only to the origins given.
 */
export function webviewPage(o: WebviewPageOptions): string {
  const csp = [`default-src 'none'`, `script-src 'nonce-${o.nonce}'`, `style-src ${o.cspSource} 'nonce-${o.nonce}'`, `img-src ${o.cspSource} data:`, `font-src ${o.cspSource}`, ...(o.connect?.length ? [`connect-src ${o.connect.join(' ')}`] : [])].join('; ');
  const attr = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${attr(o.title)}</title>
<link rel="stylesheet" href="${attr(o.style)}" nonce="${attr(o.nonce)}">
</head>
<body>
<div id="root"></div>
<script nonce="${attr(o.nonce)}" src="${attr(o.script)}"></script>
</body>
</html>`;
}
