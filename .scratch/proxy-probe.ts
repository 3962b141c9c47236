import { copyWorkspace, ensureCodeServer, ensureVsix, startVsCode } from '../test/support/vscode';

async function main(): Promise<void> {
  ensureCodeServer();
  ensureVsix();
  const vscode = await startVsCode({ workspace: copyWorkspace('examples'), name: 'proxy-probe' });
  try {
    await vscode.waitForLog(/connected to host pid \d+/, 60_000);
    await vscode.runCommand('OpenConductor: Show Runs Dashboard');
    const frame = await vscode.webviewFrame('.dashboard', 60_000);
    await new Promise((r) => setTimeout(r, 3000));
    const csp = await frame.evaluate(() => (globalThis as any).document.querySelector('meta[http-equiv]').content);
    console.log('CSP', csp);
    const origin = new URL(frame.url()).origin;
    const port = /connect-src (\S+)/.exec(csp)?.[1];
    console.log('frame origin', origin, 'connect', port);
    // Use the page's own knowledge: fetch through the proxy to a bogus path to see the status
    const r = await frame.evaluate(async (o: string) => {
      const out: any = {};
      try { const res = await fetch(o + '/proxy/1/'); out.status = res.status; } catch (e: any) { out.err = String(e); }
      return out;
    }, origin);
    console.log('fetch probe', JSON.stringify(r));
    const url = /DEBUGURL (\S+)/.exec(vscode.extensionLog())?.[1];
    console.log('url', url);
    const r2 = await frame.evaluate(async (u: string) => {
      const out: any = {};
      const ctl = new AbortController();
      setTimeout(() => ctl.abort(), 3000);
      try { const res = await fetch(u, { signal: ctl.signal }); out.status = res.status; out.type = res.headers.get('content-type'); const reader = res.body!.getReader(); const { value } = await reader.read(); out.first = new TextDecoder().decode(value); } catch (e: any) { out.err = String(e); }
      return out;
    }, url!);
    console.log('fetch stream', JSON.stringify(r2));
    const r3 = await frame.evaluate(async (u: string) => new Promise((resolve) => { const es = new (globalThis as any).EventSource(u); const t = setTimeout(() => resolve({ timeout: true, state: es.readyState }), 4000); es.addEventListener('hello', (m: any) => { clearTimeout(t); resolve({ hello: m.data }); }); es.onerror = () => { clearTimeout(t); resolve({ error: true, state: es.readyState }); }; }), url!);
    console.log('eventsource', JSON.stringify(r3));
  } finally {
    await vscode.close();
  }
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
