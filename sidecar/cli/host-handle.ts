import { setTimeout as sleep } from 'node:timers/promises';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import { ResponseError } from 'vscode-jsonrpc/node';
import type { RunEvent } from '../../common/events';
import { Notifications, Requests, type HostErrorData, type RegistrySyncProgress, type RunOutcome, type RunRef, type StartParams } from '../../common/protocol';
import type { Capabilities, SourceHealth } from '../../common/registry/model';
import type {
  OrchestrateResult,
  RegistryEntryDetails,
  RegistryIntrospectParams,
  RegistrySearchParams,
  RegistrySearchResult,
  RegistrySyncParams,
  RegistrySyncReport,
} from '../../common/registry/protocol';
import { RegistryError } from '../registry/errors';
import type { RunDetails } from '../../common/runs';
import type { ProgressNotice } from '../engine/engine';
import { Host, HostError } from '../host/host';
import { connectToHost } from '../host/connect';
import { listen } from '../host/serve';
import { DataDirectoryBusyError } from '../store/lock';
import type { Workspace } from '../workspace/workspace';
import { CommandFailure, UsageError } from './errors';
import { askInput } from './prompt';
import { VERSION } from './session';

/**
 * What a CLI command asks of the host of its data directory: the host in this process, or the one another
 * process runs (the editor's sidecar, another terminal), reached over the directory's local socket.
 */
export interface HostHandle {
  /** True when this process is the host: it executes the runs, and must stay up while they need it. */
  readonly local: boolean;
  start(params: StartParams): Promise<RunRef>;
  resume(runId: string): Promise<RunRef>;
  cancel(runId: string, reason: string): Promise<void>;
  decide(runId: string, step: string, approved: boolean, comment?: string): Promise<void>;
  signal(runId: string, name: string, payload: unknown): Promise<void>;
  wait(runId: string, untilWaiting: boolean): Promise<RunOutcome>;
  get(runId: string): Promise<RunDetails>;
  runId(idOrPrefix: string): Promise<string>;
  onEvent(listener: (event: RunEvent) => void): () => void;
  onProgress(listener: (notice: ProgressNotice) => void): () => void;
  /** Called when a remote host goes away (it exited or crashed). */
  onLost(listener: () => void): void;
  /** The host's registry: the federated catalog. */
  registry: RegistryHandle;
  /** Runs executing here that still have work to do (not waiting): a local host stays up for them. */
  busyRuns(): string[];
  close(): Promise<void>;
}

/** What a CLI command asks of the host's registry. */
export interface RegistryHandle {
  sync(params: RegistrySyncParams, onProgress: (progress: RegistrySyncProgress) => void): Promise<RegistrySyncReport>;
  search(params: RegistrySearchParams): Promise<RegistrySearchResult>;
  show(name: string): Promise<RegistryEntryDetails>;
  sources(): Promise<SourceHealth[]>;
  introspect(params: RegistryIntrospectParams): Promise<Capabilities>;
  orchestrate(line: string): Promise<OrchestrateResult>;
}

/** Reaches the host of the workspace's data directory, or becomes it. */
export async function obtainHost(workspace: Workspace, command: string): Promise<HostHandle> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const connection = await connectToHost(workspace.dataDir);
    if (connection) return remote(connection);
    try {
      const host = await Host.open({ workspace, command, version: VERSION, askInput });
      const stopListening = await listen(host);
      return local(host, stopListening);
    } catch (error) {
      // Another process took the directory a moment ago: its socket comes up right after.
      if (!(error instanceof DataDirectoryBusyError)) throw error;
      if (attempt === 9) throw new CommandFailure(error.message);
      await sleep(200);
    }
  }
  throw new CommandFailure('could not reach or become the host of the data directory');
}

function local(host: Host, stopListening: () => Promise<void>): HostHandle {
  const call = async <T>(fn: () => T | Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw toCommandError(error);
    }
  };
  return {
    local: true,
    start: (params) => call(() => host.start(params)),
    resume: (runId) => call(() => host.resume(runId)),
    cancel: (runId, reason) => call(() => host.cancel(runId, reason)),
    decide: (runId, step, approved, comment) => call(() => host.decide(runId, step, approved, comment)),
    signal: (runId, name, payload) => call(() => host.signal(runId, name, payload)),
    wait: (runId, untilWaiting) => call(() => host.wait(runId, untilWaiting)),
    get: (runId) => call(() => host.get(runId)),
    runId: (idOrPrefix) => call(() => host.runId(idOrPrefix)),
    onEvent: (listener) => host.store.subscribe(listener),
    onProgress: (listener) => host.engine.onProgress(listener),
    onLost: () => undefined,
    registry: {
      sync: (params, onProgress) => call(() => host.registry.sync(params, onProgress)),
      search: (params) => call(() => host.registry.search(params)),
      show: (name) => call(() => host.registry.show(name)),
      sources: () => call(() => host.registry.sources()),
      introspect: (params) => call(() => host.introspect(params)),
      orchestrate: (line) => call(() => host.orchestrate(line)),
    },
    busyRuns: () => host.engine.runIds().filter((id) => !host.engine.isWaitingOnly(id)),
    close: async () => {
      await stopListening();
      await host.close();
    },
  };
}

function remote(connection: MessageConnection): HostHandle {
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw toCommandError(error);
    }
  };
  const lost = new Set<() => void>();
  connection.onClose(() => {
    for (const listener of lost) listener();
  });
  return {
    local: false,
    start: (params) => call(() => connection.sendRequest(Requests.start, params)),
    resume: (runId) => call(() => connection.sendRequest(Requests.resume, { runId })),
    cancel: (runId, reason) => call(() => connection.sendRequest(Requests.cancel, { runId, reason })),
    decide: (runId, step, approved, comment) => call(() => connection.sendRequest(Requests.decide, { runId, step, approved, ...(comment !== undefined && { comment }) })),
    signal: (runId, name, payload) => call(() => connection.sendRequest(Requests.signal, { runId, name, payload })),
    wait: (runId, untilWaiting) => call(() => connection.sendRequest(Requests.wait, { runId, untilWaiting })),
    get: (runId) => call(() => connection.sendRequest(Requests.get, { runId })),
    runId: async (idOrPrefix) => (await call(() => connection.sendRequest(Requests.get, { runId: idOrPrefix }))).id,
    onEvent: (listener) => {
      const disposable = connection.onNotification(Notifications.event, listener);
      return () => disposable.dispose();
    },
    onProgress: (listener) => {
      const disposable = connection.onNotification(Notifications.progress, listener);
      return () => disposable.dispose();
    },
    onLost: (listener) => lost.add(listener),
    registry: {
      sync: async (params, onProgress) => {
        const disposable = connection.onNotification(Notifications.registryProgress, onProgress);
        try {
          return await call(() => connection.sendRequest(Requests.registrySync, params));
        } finally {
          disposable.dispose();
        }
      },
      search: (params) => call(() => connection.sendRequest(Requests.registrySearch, params)),
      show: (name) => call(() => connection.sendRequest(Requests.registryShow, { name })),
      sources: () => call(() => connection.sendRequest(Requests.registrySources, {})),
      introspect: (params) => call(() => connection.sendRequest(Requests.registryIntrospect, params)),
      orchestrate: (line) => call(() => connection.sendRequest(Requests.orchestrate, { line })),
    },
    busyRuns: () => [],
    close: async () => {
      lost.clear();
      connection.dispose();
    },
  };
}

/** A host's refusal as the CLI reports it: usage problems exit 2, the rest 1; never a stack trace. */
export function toCommandError(error: unknown): Error {
  if (error instanceof RegistryError) return error.kind === 'usage' ? new UsageError(error.message) : new CommandFailure(error.message);
  const data = error instanceof HostError ? error.data : error instanceof ResponseError ? (error.data as HostErrorData | undefined) : undefined;
  if (!data) return error as Error;
  const message = (error as Error).message;
  if (data.kind === 'usage') return new UsageError(message);
  const details = data.diagnostics?.length ? `${data.diagnostics.join('\n')}\n` : '';
  return new CommandFailure(`${details}${message}`);
}
