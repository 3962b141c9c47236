import { UsageError } from '../errors';
import { follow, withHost } from '../follow';
import type { HostHandle } from '../host-handle';
import { workspaceFor, type GlobalOptions } from '../session';

/**
 * Runs an action on a run through the data directory's host. When another process hosts it, the action is sent
 * and that is all; when this process becomes the host, it resumes the run and carries it on in the foreground,
 * until it ends or (with `untilWaiting`) only waits again.
 */
async function control(
  id: string,
  global: GlobalOptions,
  json: boolean,
  command: string,
  action: (handle: HostHandle, runId: string) => Promise<string>,
  untilWaiting: boolean,
): Promise<number> {
  const workspace = workspaceFor(undefined, global);
  return withHost(workspace, command, async (handle, buffer) => {
    const runId = await handle.runId(id);
    const before = handle.local ? await handle.get(runId) : undefined;
    if (handle.local && before?.status === 'running') await handle.resume(runId);
    const said = await action(handle, runId);
    if (!handle.local) {
      process.stderr.write(`${said} (the run continues in its host)\n`);
      await handle.close();
      return 0;
    }
    process.stderr.write(`${said}\n`);
    return follow(handle, buffer, runId, workspace, { json, global, untilWaiting, ...(before && { before }) });
  });
}

/** `openconductor runs resume <id>`: carries an unfinished run on (after a crash, or one left waiting). */
export function resumeCommand(id: string, options: { json: boolean }, global: GlobalOptions): Promise<number> {
  return control(id, global, options.json, `openconductor runs resume ${id}`, async (handle, runId) => {
    await handle.resume(runId); // refuses a run that has ended
    return `resuming run ${runId}`;
  }, false);
}

/** `openconductor runs cancel <id>`: cancels a run; its completed steps are compensated. */
export function cancelCommand(id: string, options: { json: boolean; reason?: string }, global: GlobalOptions): Promise<number> {
  return control(
    id,
    global,
    options.json,
    `openconductor runs cancel ${id}`,
    async (handle, runId) => {
      await handle.cancel(runId, options.reason ?? 'cancelled from the command line');
      return `cancelling run ${runId}`;
    },
    false,
  );
}

/** `openconductor approve|reject <run> <step>`: decides a step waiting for approval. */
export function decideCommand(approved: boolean, id: string, step: string, options: { json: boolean; comment?: string }, global: GlobalOptions): Promise<number> {
  return control(
    id,
    global,
    options.json,
    `openconductor ${approved ? 'approve' : 'reject'} ${id} ${step}`,
    async (handle, runId) => {
      await handle.decide(runId, step, approved, options.comment);
      return `${approved ? 'approved' : 'rejected'} step '${step}' of run ${runId}`;
    },
    true,
  );
}

/** `openconductor signal <run> <name> [--payload json]`: sends a signal to a run. */
export function signalCommand(id: string, name: string, options: { json: boolean; payload?: string }, global: GlobalOptions): Promise<number> {
  let payload: unknown = null;
  if (options.payload !== undefined) {
    try {
      payload = JSON.parse(options.payload);
    } catch (error) {
      throw new UsageError(`--payload must be JSON (e.g. '{"id": 42}' or '"text"'): ${(error as Error).message}.`);
    }
  }
  return control(
    id,
    global,
    options.json,
    `openconductor signal ${id} ${name}`,
    async (handle, runId) => {
      await handle.signal(runId, name, payload);
      return `sent signal '${name}' to run ${runId}`;
    },
    true,
  );
}
