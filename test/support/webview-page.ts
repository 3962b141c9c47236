import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { webviewPage } from '../../common/webview-page';
import { launchChromium } from './chromium';

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist', 'webview');
/** Where webview tests save their screenshots. */
export const RESULTS_DIR = path.join(ROOT, 'test-results', 'webview');

/** A webview app loaded in real chromium, in the page and under the CSP the extension gives it. */
export interface WebviewApp {
  page: Page;
  /** Messages the app posted to the extension, in order. */
  posted(): Promise<unknown[]>;
  /** Sends a message to the app, as the extension's webview.postMessage does. */
  send(message: unknown): Promise<void>;
  /** CSP violations the page reported. */
  violations(): Promise<string[]>;
  close(): Promise<void>;
}

/** Builds the bundles when an app's sources are newer than its bundle. */
function ensureBuilt(app: string): void {
  const bundle = path.join(DIST, `${app}.js`);
  const built = fs.existsSync(bundle) ? fs.statSync(bundle).mtimeMs : 0;
  const newest = (dir: string): number =>
    fs.readdirSync(dir, { withFileTypes: true }).reduce((max, e) => Math.max(max, e.isDirectory() ? newest(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs), 0);
  if (Math.max(newest(path.join(ROOT, 'webview')), newest(path.join(ROOT, 'common'))) > built) execFileSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, stdio: 'inherit' });
}

/**
 * What stands in for VS Code's webview host: acquireVsCodeApi, recording what the app posts, and CSP reports. A string,
 * not a function: tsx compiles test functions with helpers (__name) that do not exist in the page.
 */
const HOST_SHIM = `(() => {
  const posted = [];
  const violations = [];
  let state;
  window.__posted = posted;
  window.__violations = violations;
  window.acquireVsCodeApi = () => ({ postMessage: (m) => posted.push(structuredClone(m)), getState: () => state, setState: (s) => (state = s) });
  window.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective + ' ' + e.blockedURI));
})();`;

/** Opens dist/webview/<app>.js in chromium, served over loopback like VS Code serves webview resources; `connect` as the extension gives it. */
export async function openWebviewApp(app: string, browser?: Browser, connect?: string[]): Promise<WebviewApp> {
  ensureBuilt(app);
  const nonce = randomBytes(16).toString('base64');
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(webviewPage({ cspSource: origin, script: `${origin}/${app}.js`, style: `${origin}/${app}.css`, nonce, title: app, connect }));
      return;
    }
    const file = path.join(DIST, path.basename(url.pathname));
    if (url.pathname === '/favicon.ico') return void res.writeHead(204).end();
    if (!fs.existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file.endsWith('.css') ? 'text/css' : 'text/javascript' }).end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const own = !browser;
  const b = browser ?? (await launchChromium());
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const page = await b.newPage({ viewport: { width: 1200, height: 500 } });
  await page.addInitScript({ content: HOST_SHIM });
  await page.goto(origin);
  return {
    page,
    posted: () => page.evaluate(() => (globalThis as unknown as { __posted: unknown[] }).__posted),
    send: (message) => page.evaluate((m) => void (globalThis as unknown as { postMessage: (m: unknown, origin: string) => void }).postMessage(m, '*'), message),
    violations: () => page.evaluate(() => (globalThis as unknown as { __violations: string[] }).__violations),
    close: async () => {
      await page.close();
      if (own) await b.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
