import * as http from 'node:http';
import { copyWorkspace, ensureCodeServer, ensureVsix, startVsCode } from '../test/support/vscode';

async function main(): Promise<void> {
  const server = http.createServer((req, res) => {
    console.log('request', req.url, 'origin', req.headers.origin);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', 'Access-Control-Allow-Origin': req.headers.origin ?? '*' });
    let n = 0;
    const timer = setInterval(() => res.write(`data: ${JSON.stringify({ n: n++, t: Date.now() })}\n\n`), 50);
    req.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  ensureCodeServer();
  ensureVsix();
  const vscode = await startVsCode({ workspace: copyWorkspace('examples'), name: 'sse-probe' });
  try {
    await vscode.waitForLog(/connected to host pid \d+/, 60_000);
    await vscode.runCommand('OpenConductor: Show Runs Dashboard');
    const frame = await vscode.webviewFrame('.dashboard', 60_000);
    console.log('frame url', frame.url());
    const result = await frame.evaluate(async (url: string) => {
      const g = globalThis as any;
      return await new Promise((resolve) => {
        const lat: number[] = [];
        const es = new g.EventSource(url);
        es.onmessage = (m: any) => { lat.push(Date.now() - JSON.parse(m.data).t); if (lat.length >= 20) { es.close(); resolve({ ok: true, lat }); } };
        es.onerror = () => { es.close(); resolve({ ok: false, state: es.readyState }); };
        setTimeout(() => resolve({ ok: false, timeout: true, lat }), 5000);
      });
    }, `http://127.0.0.1:${port}/events`);
    console.log(JSON.stringify(result));
  } finally {
    await vscode.close();
    server.close();
  }
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
