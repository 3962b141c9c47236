import { Host, HostError } from '../../host/host';
import { messageConnection } from '../../host/connect';
import { listen, serve } from '../../host/serve';
import { DataDirectoryBusyError } from '../../store/lock';
import { CommandFailure, EXIT } from '../errors';
import { VERSION, workspaceFor, type GlobalOptions } from '../session';

/**
 * `openconductor sidecar`: the long-running host of a workspace. It resumes every unfinished run at once, fires
 * their timers, and serves JSON-RPC on the workspace's local socket (and on stdio with --stdio, for the editor).
 * It stops on SIGTERM, SIGINT or, with --stdio, when stdin closes; open runs stay open for the next host.
 */
export async function sidecarCommand(options: { stdio: boolean; syncRegistry: boolean; restricted: boolean }, global: GlobalOptions): Promise<number> {
  const workspace = workspaceFor(undefined, global);
  let host: Host;
  try {
    host = await Host.open({ workspace, command: `openconductor sidecar (${options.stdio ? 'stdio' : 'socket'})`, version: VERSION, restricted: options.restricted });
  } catch (error) {
    if (error instanceof DataDirectoryBusyError) throw new CommandFailure(error.message);
    throw error;
  }
  const stopListening = await listen(host);
  const log = (line: string): void => void process.stderr.write(`[openconductor sidecar ${new Date().toISOString()}] ${line}\n`);
  log(`host of ${workspace.dataDir} (pid ${process.pid})`);
  const opened = host.store.recovery;
  if (opened.replayed > 0 || opened.tornTail || opened.snapshotFallback) {
    log(`recovered the store: snapshot at seq ${opened.snapshotSeq}, ${opened.replayed} event(s) replayed from the journal`);
  }
  if (opened.tornTail) log(`dropped a torn journal record (${opened.tornTail.bytes} bytes at ${opened.tornTail.segment}:${opened.tornTail.offset}): it was never acknowledged`);
  if (opened.snapshotFallback) log(`${opened.snapshotFallback}; recovered from the older snapshot and the journal`);
  if (options.stdio) {
    const connection = messageConnection(process.stdin, process.stdout);
    serve(host, connection);
    connection.listen();
  }
  if (options.restricted) {
    log('restricted (an untrusted workspace): no run is resumed or started, no server is started');
  } else {
    const recovery = await host.recover();
    log(`resumed ${recovery.resumed.length} unfinished run(s)${recovery.failed.length ? `; ${recovery.failed.length} could not resume` : ''}`);
    for (const failure of recovery.failed) log(`run ${failure.runId} cannot resume: ${failure.reason}`);
  }
  for (const problem of host.registry.settings.problems) log(`registry settings: ${problem}`);
  const stopSyncing = options.syncRegistry ? scheduleRegistrySync(host, log) : () => undefined;
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
    if (options.stdio) process.stdin.once('end', resolve);
  });
  log('stopping; unfinished runs stay open for the next host');
  stopSyncing();
  await stopListening();
  await host.close().catch((error: unknown) => log(`closing: ${error instanceof HostError ? error.message : String(error)}`));
  return EXIT.ok;
}

/** How often the sidecar looks for registry sources due a sync (each has its own interval). */
const REGISTRY_CHECK_MS = 60_000;
/** The first look waits: a starting editor wants its first answers before the catalog is pulled and rebuilt. */
const REGISTRY_FIRST_CHECK_MS = 3_000;

/** Syncs each registry source when its interval has passed (sooner after a failure); returns the stopper. */
function scheduleRegistrySync(host: Host, log: (line: string) => void): () => void {
  let busy = false;
  const tick = (): void => {
    const due = host.registry.dueSources();
    if (busy || due.length === 0) return;
    busy = true;
    host.registry
      .sync({ sources: due })
      .then((report) => {
        for (const r of report.results) log(`registry: ${r.source} ${r.ok ? `synced (${r.full ? 'full' : 'incremental'}, ${r.records} records)` : `failed: ${r.error?.message}`}`);
      })
      .catch((error: unknown) => log(`registry: sync failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => (busy = false));
  };
  const first = setTimeout(tick, REGISTRY_FIRST_CHECK_MS);
  const timer = setInterval(tick, REGISTRY_CHECK_MS);
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
