import { copyWorkspace, ensureCodeServer, ensureVsix, startVsCode } from './support/vscode';
(async () => {
  ensureCodeServer(); ensureVsix();
  const workspace = copyWorkspace('examples');
  const vscode = await startVsCode({ workspace, name: 'prof', env: { OPENCONDUCTOR_SIDECAR_NODE_OPTIONS: '1' } });
  try {
    await vscode.waitForLog(/connected to host pid \d+/, 60_000);
    await new Promise((r) => setTimeout(r, 3000));
    console.log(vscode.extensionLog().split('\n').slice(0, 6).join('\n'));
  } finally {
    await vscode.close();
  }
})();
