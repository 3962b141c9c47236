import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { BreakerState, RunEvent, RunStatus } from './events';
import type { RunDetails, RunSummary } from './runs';
import type { ServerDefinition } from './servers';
import type { Capabilities, SourceHealth } from './registry/model';
import type {
  OrchestrateResult,
  RegistryEntryDetails,
  RegistryIntrospectParams,
  RegistrySearchParams,
  RegistrySearchResult,
  RegistryShowParams,
  RegistrySourcesParams,
  RegistrySyncParams,
  RegistrySyncReport,
} from './registry/protocol';

/**
 * The JSON-RPC surface of an OpenConductor host (the sidecar, or a CLI process running workflows): the editor
 * talks to it over stdio, other CLI processes over a local socket. One definition here types both ends.
 */

/** Where a workflow comes from and what it is given. */
export interface StartParams {
  /** Absolute path of the workflow file. */
  file: string;
  /** Input values: typed (JSON) and as text (from the command line), text winning. */
  inputs?: { typed?: Record<string, unknown>; text?: Record<string, string> };
  /** Values of .vscode/mcp.json `${input:…}` variables the client already asked for. */
  serverInputs?: Record<string, string>;
}

export interface RunRef {
  runId: string;
}

export interface DecideParams extends RunRef {
  step: string;
  approved: boolean;
  comment?: string;
}

export interface SignalParams extends RunRef {
  name: string;
  payload?: unknown;
}

export interface ListParams {
  limit?: number;
  status?: RunStatus;
  workflow?: string;
}

/** How a run ended, or that it now only waits (for a person, a signal or a timer). */
export interface RunOutcome {
  runId: string;
  status: RunStatus;
  /** The run has not ended but has nothing to do until an approval, a signal or a timer. */
  waiting?: boolean;
  outputs?: Record<string, unknown>;
  error?: RunDetails['error'];
}

export interface HostInfo {
  pid: number;
  version: string;
  workspace: string;
  dataDir: string;
  /** Runs executing in this host. */
  runs: string[];
}

export interface BreakerInfo {
  server: string;
  state: BreakerState;
  since: number;
  reason: string;
}

/** A server the workspace declares, with its live state in this host. */
export interface ServerInfo {
  name: string;
  origin: 'mcp.json' | 'workflow';
  /** `file:line:col` of its declaration. */
  definedIn: string;
  type: string;
  target: string;
  state: 'stopped' | 'starting' | 'running' | 'crashed' | 'error';
  pid?: number;
  lastError?: string;
  calls: number;
  failures: number;
  latencyMs?: number;
  breaker?: BreakerState;
  /** For a workflow's server written without expressions: its definition, which a client can start as it is (VS Code's chat does). */
  definition?: ServerDefinition;
}

/** A tool as a server lists it. */
export interface ToolDescription {
  name: string;
  description?: string;
  inputSchema?: Record<string, unknown>;
}

export interface ServerRef {
  name: string;
  /** Values of .vscode/mcp.json `${input:…}` variables the client already asked for. */
  serverInputs?: Record<string, string>;
}

/** An error a host answers with: its `data` says what kind, so clients can exit with the right code. */
export interface HostErrorData {
  kind: 'invalid-workflow' | 'usage' | 'not-found' | 'refused' | 'internal';
  /** For invalid-workflow: the diagnostics, already formatted as `file:line:col: severity: message`. */
  diagnostics?: string[];
}

/** A registry sync's progress (one source, after a page). */
export interface RegistrySyncProgress {
  source: string;
  phase: 'started' | 'page' | 'done' | 'failed';
  records: number;
  pages: number;
  full: boolean;
  message?: string;
}

export const Requests = {
  info: new RequestType<void, HostInfo, HostErrorData>('host/info'),
  start: new RequestType<StartParams, RunRef, HostErrorData>('runs/start'),
  resume: new RequestType<RunRef, RunRef, HostErrorData>('runs/resume'),
  cancel: new RequestType<RunRef & { reason?: string }, void, HostErrorData>('runs/cancel'),
  decide: new RequestType<DecideParams, void, HostErrorData>('runs/decide'),
  signal: new RequestType<SignalParams, void, HostErrorData>('runs/signal'),
  /** Resolves when the run ends, or (with `untilWaiting`) when it only waits. */
  wait: new RequestType<RunRef & { untilWaiting?: boolean }, RunOutcome, HostErrorData>('runs/wait'),
  list: new RequestType<ListParams, RunSummary[], HostErrorData>('runs/list'),
  get: new RequestType<RunRef, RunDetails, HostErrorData>('runs/get'),
  history: new RequestType<RunRef, RunEvent[], HostErrorData>('runs/history'),
  breakers: new RequestType<void, BreakerInfo[], HostErrorData>('servers/breakers'),
  servers: new RequestType<void, ServerInfo[], HostErrorData>('servers/list'),
  serverTools: new RequestType<ServerRef, ToolDescription[], HostErrorData>('servers/tools'),
  callTool: new RequestType<ServerRef & { tool: string; arguments: Record<string, unknown> }, unknown, HostErrorData>('servers/callTool'),
  stopServer: new RequestType<ServerRef, void, HostErrorData>('servers/stop'),
  orchestrate: new RequestType<{ line: string }, OrchestrateResult, HostErrorData>('workflows/orchestrate'),
  registrySync: new RequestType<RegistrySyncParams, RegistrySyncReport, HostErrorData>('registry/sync'),
  registrySearch: new RequestType<RegistrySearchParams, RegistrySearchResult, HostErrorData>('registry/search'),
  registryShow: new RequestType<RegistryShowParams, RegistryEntryDetails, HostErrorData>('registry/show'),
  registrySources: new RequestType<RegistrySourcesParams, SourceHealth[], HostErrorData>('registry/sources'),
  registryIntrospect: new RequestType<RegistryIntrospectParams, Capabilities, HostErrorData>('registry/introspect'),
  /** Where the runs dashboard reads the lean run events directly (Server-Sent Events on a loopback port, with a token). */
  eventStream: new RequestType<void, { url: string }, HostErrorData>('events/stream'),
};

export const Notifications = {
  /** Every durable event of every run, in journal order. */
  event: new NotificationType<RunEvent>('runs/event'),
  /** A tool's progress during a call: live only, never journaled. */
  progress: new NotificationType<{ runId: string; step: string; index?: number; progress: number; total?: number; message?: string }>('runs/progress'),
  /** A server's state changed (started, stopped, crashed, a call completed). */
  serverStatus: new NotificationType<{ name: string; state: ServerInfo['state']; pid?: number; lastError?: string; calls: number; failures: number; latencyMs?: number }>('servers/status'),
  /** A registry sync's progress, after every page of every source. */
  registryProgress: new NotificationType<RegistrySyncProgress>('registry/progress'),
};
