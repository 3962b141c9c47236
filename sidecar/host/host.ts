import * as path from 'node:path';
import { formatDiagnostic, hasErrors, sortDiagnostics } from '../../common/diagnostics';
import type { HostErrorData, HostInfo, RunOutcome, RunRef, ServerInfo, ServerRef, StartParams, ToolDescription } from '../../common/protocol';
import type { McpInput } from '../../common/servers';
import { SourceFile } from '../../common/source';
import type { RunDetails, RunSummary } from '../../common/runs';
import type { RunEvent, RunStatus } from '../../common/events';
import { resolveInputs } from '../../common/workflow/inputs';
import type { WorkflowDefinition } from '../../common/workflow/model';
import { parseWorkflow } from '../../common/workflow/parse';
import { validateWorkflow } from '../../common/workflow/validate';
import type { ToolConnection } from '../engine/calls';
import { Engine } from '../engine/engine';
import type { PreparedDefinition } from '../engine/execution';
import { inputEnvironmentVariable, resolveServers, ServerResolutionError } from '../engine/resolve-servers';
import { RunRequestError, yamlDefinition } from '../engine/run';
import type { ServerSpec } from '../mcp/connection';
import { McpPool } from '../mcp/pool';
import { Store } from '../store/store';
import { Registry } from '../registry/registry';
import type { ServerConnection } from '../mcp/connection';
import { allServers, describeServer, findServer, staticDefinition } from '../workspace/workspace-servers';
import type { Capabilities } from '../../common/registry/model';
import type { OrchestrateResult, RegistryIntrospectParams } from '../../common/registry/protocol';
import { orchestrate } from '../registry/orchestrate';
import { declaredServers, type DeclaredServer } from '../workspace/declared-servers';
import { loadWorkflow, WorkflowFileError } from '../workspace/load';
import { hashText, openWorkspace, prepareDataDir, type Workspace } from '../workspace/workspace';
import { toolInfo } from '../mcp/tool-cache';
import { codeDeclaredServers, diagnosticsOf, evaluateBundle, isCodeWorkflowFile, loadCodeWorkflow } from '../code-first/load';
import { prepareCodeDefinition } from '../code-first/prepare';
import { SiteMapper } from '../code-first/sandbox';
import { calledServers } from '../../common/workflow/graph';
import { EventStream } from './event-stream';

/** A pinned definition version made ready for its runs: parsed and validated, or evaluated from its bundle. */
type Pinned =
  | { language: 'yaml'; file: SourceFile; workflow: WorkflowDefinition; used: DeclaredServer[] }
  | { language: 'ts'; workflow: WorkflowDefinition; servers: Map<string, DeclaredServer> };

/** How many pinned versions a host keeps ready (a long-lived sidecar sees many; recovery needs the few in use). */
const PINNED_VERSIONS = 64;

/** A request a host refuses, with what kind of problem it is (for exit codes) and a message for people. */
export class HostError extends Error {
  override name = 'HostError';
  constructor(
    message: string,
    readonly data: HostErrorData,
  ) {
    super(message);
  }
}

export interface HostOptions {
  workspace: Workspace;
  /** What this process is, shown to a process that finds the data directory taken. */
  command: string;
  version: string;
  /** Asks for a .vscode/mcp.json input that neither the request nor the environment gives (a terminal can). */
  askInput?: (input: McpInput) => Promise<string | undefined>;
  /** In-process tools instead of MCP servers (benchmarks). */
  connection?: (spec: ServerSpec) => ToolConnection;
  /** An untrusted workspace: runs, servers and introspection are refused; the registry and run history can be browsed. */
  restricted?: boolean;
}

/**
 * A host: the one process that writes a data directory's journal and executes its runs. The sidecar is one, and
 * so is a CLI process that finds no other; everything that changes a run goes through it.
 */
export class Host {
  private readonly pinned = new Map<string, Pinned | string>();
  /** The servers() read in progress, shared by the calls that come meanwhile. */
  private listing?: Promise<ServerInfo[]>;
  /** The dashboard's event stream, opened on the first request for it. */
  private stream?: Promise<EventStream>;

  private constructor(
    private readonly options: HostOptions,
    readonly store: Store,
    readonly pool: McpPool,
    readonly engine: Engine,
    /** The federated catalog of MCP servers, kept in the same data directory. */
    readonly registry: Registry,
  ) {}

  /** Takes the data directory (its lock) and starts an engine over it. */
  static async open(options: HostOptions): Promise<Host> {
    prepareDataDir(options.workspace.dataDir);
    const store = await Store.open({ dataDir: options.workspace.dataDir, mode: 'writer', command: options.command });
    const pool = new McpPool({ cwd: options.workspace.folder, logDir: path.join(options.workspace.dataDir, 'logs'), clientVersion: options.version, defaultStartupTimeoutMs: 60_000 });
    const engine = new Engine(store, { connection: options.connection ?? ((spec) => pool.connection(spec)) });
    const registry = await Registry.open({ dataDir: options.workspace.dataDir, workspaceFolder: options.workspace.folder, clientVersion: options.version });
    return new Host(options, store, pool, engine, registry);
  }

  get workspace(): Workspace {
    return this.options.workspace;
  }

  info(): HostInfo {
    return { pid: process.pid, version: this.options.version, workspace: this.workspace.folder, dataDir: this.workspace.dataDir, runs: this.engine.runIds() };
  }

  /** Validates a workflow file and starts a run of it. */
  async start(params: StartParams): Promise<RunRef> {
    this.refuseIfRestricted('run a workflow');
    if (isCodeWorkflowFile(params.file)) return this.startCode(params);
    let loaded;
    try {
      loaded = loadWorkflow(params.file, this.workspace);
    } catch (error) {
      if (error instanceof WorkflowFileError) throw new HostError(error.message, { kind: 'usage' });
      throw error;
    }
    const problems = [...(this.workspace.mcpConfig?.diagnostics ?? []).map((d) => formatDiagnostic(this.workspace.mcpConfig!.file, d)), ...sortDiagnostics(loaded.diagnostics).map((d) => formatDiagnostic(loaded.file, d))];
    if (!loaded.workflow || hasErrors(loaded.diagnostics)) {
      throw new HostError(`${loaded.file.path} is not valid; nothing was run.`, { kind: 'invalid-workflow', diagnostics: problems });
    }
    const inputs = resolveInputs(loaded.workflow, params.inputs ?? {});
    if (inputs.problems.length > 0) throw new HostError(inputs.problems.join('\n'), { kind: 'usage' });
    const { prepared, used } = await this.resolve(loaded.file, loaded.file.path, loaded.workflow, this.usedServers(loaded.file, loaded.workflow), loaded.hash, inputs.values, params.serverInputs);
    const { runId, done } = await this.engine.start({ definition: prepared, inputs: inputs.values });
    this.afterRun(used, done);
    return { runId };
  }

  /** Resumes a run from the journal (its pinned definition, its history), unless it executes here already. */
  resume(runId: string, serverInputs?: Record<string, string>): Promise<RunRef> {
    return this.resumeRun(this.runId(runId), serverInputs);
  }

  /** Resumes every unfinished run; the ones that cannot resume are reported, not fatal. */
  async recover(): Promise<{ resumed: string[]; failed: Array<{ runId: string; reason: string }> }> {
    const resumed: string[] = [];
    const failed: Array<{ runId: string; reason: string }> = [];
    for (const [runId, history] of this.store.openRunHistories()) {
      try {
        await this.resumeRun(runId, undefined, history);
        resumed.push(runId);
      } catch (error) {
        failed.push({ runId, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    return { resumed, failed };
  }

  private async resumeRun(id: string, serverInputs: Record<string, string> | undefined, history?: RunEvent[]): Promise<RunRef> {
    if (this.engine.has(id)) return { runId: id };
    this.refuseIfRestricted('carry a run on');
    // A history given comes from the open runs (recovery): asking each one's status again would only cost time.
    const status = history ? 'running' : this.store.runStatus(id);
    if (status && status !== 'running') throw new HostError(`run ${id} has ended (${status}); there is nothing to resume.`, { kind: 'refused' });
    let used: DeclaredServer[] = [];
    try {
      const { done } = await this.engine.resume(
        id,
        async ({ file, source, definitionHash, inputs, language }) => {
          const pinned = language === 'ts' ? this.pinnedCode(file, source, definitionHash) : this.pinnedYaml(file, source, definitionHash);
          if (typeof pinned === 'string') throw new HostError(`run ${id} cannot resume: ${pinned}`, { kind: 'refused' });
          const resolved =
            pinned.language === 'ts'
              ? await this.prepareCode(file, source, definitionHash, pinned.workflow, pinned.servers, inputs, serverInputs)
              : await this.resolve(pinned.file, file, pinned.workflow, pinned.used, definitionHash, inputs, serverInputs);
          used = resolved.used;
          return resolved.prepared;
        },
        history,
      );
      this.afterRun(used, done);
    } catch (error) {
      if (error instanceof RunRequestError) throw new HostError(error.message, { kind: 'not-found' });
      throw error;
    }
    return { runId: id };
  }

  /** A pinned YAML definition parsed and validated, or why it no longer validates; once per version and path. */
  private pinnedYaml(file: string, source: string, definitionHash: string): Pinned | string {
    return this.pinnedOnce(`${definitionHash}\0${file}`, () => {
      const sourceFile = new SourceFile(file, source);
      const parsed = parseWorkflow(sourceFile);
      const diagnostics = [...parsed.diagnostics, ...validateWorkflow(parsed, { externalServers: this.workspace.mcpConfig?.servers.keys() ?? [] })];
      if (!parsed.workflow || hasErrors(diagnostics)) {
        return `its definition no longer validates here:\n${sortDiagnostics(diagnostics).map((d) => formatDiagnostic(sourceFile, d)).join('\n')}`;
      }
      return { language: 'yaml', file: sourceFile, workflow: parsed.workflow, used: this.usedServers(sourceFile, parsed.workflow) };
    });
  }

  /** A pinned code-first bundle evaluated (never the file as it is now), or why it no longer loads; once per version and path. */
  private pinnedCode(file: string, bundle: string, definitionHash: string): Pinned | string {
    return this.pinnedOnce(`${definitionHash}\0${file}`, () => {
      const evaluated = evaluateBundle(bundle, file);
      if (!evaluated.workflow) return `its pinned definition no longer loads here: ${evaluated.problems.map((p) => p.message).join(' ')}`;
      // The workflow's source as the bundle embeds it: for the positions of its servers in messages.
      const text = new SiteMapper(bundle, file).sourceContent(path.basename(file)) ?? '';
      return { language: 'ts', workflow: evaluated.workflow, servers: codeDeclaredServers(this.workspace, new SourceFile(file, text), evaluated.workflow, evaluated.rawServers) };
    });
  }

  /** Recovery resumes many runs of few versions: each version is parsed or evaluated once, not once per run. */
  private pinnedOnce(key: string, load: () => Pinned | string): Pinned | string {
    let pinned = this.pinned.get(key);
    if (pinned === undefined) {
      pinned = load();
      this.pinned.set(key, pinned);
      if (this.pinned.size > PINNED_VERSIONS) this.pinned.delete(this.pinned.keys().next().value!);
    }
    return pinned;
  }

  /** Cancels a run; a run not executing here is resumed first, so that its compensations run. */
  async cancel(runId: string, reason: string): Promise<void> {
    const id = await this.ensureRunning(runId);
    await this.request(() => this.engine.cancel(id, reason));
  }

  /** Approves or rejects a step waiting for approval. */
  async decide(runId: string, step: string, approved: boolean, comment?: string): Promise<void> {
    const id = await this.ensureRunning(runId);
    await this.request(() => this.engine.decide(id, step, approved, comment));
  }

  /** Sends a signal to a run. */
  async signal(runId: string, name: string, payload: unknown): Promise<void> {
    const id = await this.ensureRunning(runId);
    await this.request(() => this.engine.signal(id, name, payload));
  }

  /**
   * The servers the workspace declares (.vscode/mcp.json read afresh, then the workflows'), with their live state here.
   * Calls that come while one is reading the workflows share its answer:
   * an editor asks twice as it starts (its Servers view and VS Code's MCP support), and each read compiles every
   * *.workflow.ts.
   */
  servers(): Promise<ServerInfo[]> {
    this.listing ??= this.listServers().finally(() => (this.listing = undefined));
    return this.listing;
  }

  private async listServers(): Promise<ServerInfo[]> {
    const workspace = openWorkspace(this.workspace.folder, this.workspace.dataDir);
    const statuses = new Map(this.pool.statuses().map((s) => [s.name, s]));
    const breakers = new Map(this.store.breakers().map((b) => [b.server, b.state]));
    const seen = new Set<string>();
    const out: ServerInfo[] = [];
    for (const server of await allServers(workspace)) {
      if (seen.has(server.name)) continue;
      seen.add(server.name);
      const { state = 'stopped', pid, lastError, calls = 0, failures = 0, latencyMs } = statuses.get(server.name) ?? {};
      const breaker = breakers.get(server.name);
      const definition = staticDefinition(server);
      out.push({
        name: server.name,
        origin: server.origin,
        definedIn: server.file.location(server.range.start),
        ...describeServer(server),
        state,
        calls,
        failures,
        ...(pid !== undefined && { pid }),
        ...(lastError !== undefined && { lastError }),
        ...(latencyMs !== undefined && { latencyMs }),
        ...(breaker && { breaker }),
        ...(definition && { definition }),
      });
    }
    return out;
  }

  /** Starts a server (if it is not running) and lists its tools. */
  async serverTools(ref: ServerRef): Promise<ToolDescription[]> {
    const connection = await this.serverConnection(ref);
    try {
      return (await connection.listTools()).map(toolInfo);
    } catch (error) {
      throw new HostError((error as Error).message, { kind: 'refused' });
    }
  }

  /** Calls one tool of a server outside any run (the editor's Call Tool…); the result as the server sent it. */
  async callTool(ref: ServerRef, tool: string, args: Record<string, unknown>): Promise<unknown> {
    const connection = await this.serverConnection(ref);
    try {
      return await connection.callTool(tool, args, { timeoutMs: 60_000 });
    } catch (error) {
      throw new HostError((error as Error).message, { kind: 'refused' });
    }
  }

  /** Stops a server (the next use starts it again). */
  stopServer(name: string): Promise<void> {
    return this.pool.close(name);
  }

  private async serverConnection(ref: ServerRef): Promise<ServerConnection> {
    this.refuseIfRestricted('start a server');
    const workspace = openWorkspace(this.workspace.folder, this.workspace.dataDir);
    const found = await findServer(workspace, ref.name);
    if (!found) throw new HostError(`no server '${ref.name}' in .vscode/mcp.json or in the workspace's workflow files`, { kind: 'not-found' });
    try {
      const specs = await resolveServers([found.server], {
        workspaceFolder: workspace.folder,
        inputs: found.inputs,
        env: process.env,
        mcpInputs: workspace.mcpConfig?.inputs ?? [],
        askInput: this.askInput(ref.serverInputs),
      });
      return this.pool.connection(specs.get(ref.name)!);
    } catch (error) {
      if (error instanceof ServerResolutionError) throw new HostError(error.message, { kind: 'refused' });
      throw error;
    }
  }

  /** Writes a starter workflow using the servers named (the workspace's or the catalog's); says what is missing. */
  orchestrate(line: string): Promise<OrchestrateResult> {
    return orchestrate(line, openWorkspace(this.workspace.folder, this.workspace.dataDir), this.registry);
  }

  /** The URL of the run events as Server-Sent Events (see EventStream): one stream for every client, opened once. */
  async eventStream(): Promise<{ url: string }> {
    // A failed open is not kept: the next request tries again.
    this.stream ??= EventStream.open(this.store).catch((error: unknown) => {
      this.stream = undefined;
      throw error;
    });
    return { url: (await this.stream).url };
  }

  /** Starts a catalog server to list its capabilities (runs code from a registry: never in an untrusted workspace). */
  introspect(params: RegistryIntrospectParams): Promise<Capabilities> {
    this.refuseIfRestricted('start a server from the registry');
    return this.registry.introspect(params);
  }

  private refuseIfRestricted(what: string): void {
    if (this.options.restricted) throw new HostError(`this workspace is not trusted: OpenConductor does not ${what} in it. Trust the workspace to allow it.`, { kind: 'refused' });
  }

  /** Resolves when a run executing here ends, or (untilWaiting) only waits; for a run that ended, at once. */
  async wait(runId: string, untilWaiting: boolean): Promise<RunOutcome> {
    const id = this.runId(runId);
    if (this.engine.has(id)) return this.engine.waitFor(id, untilWaiting);
    const run = this.get(id);
    return { runId: id, status: run.status, ...(run.status === 'running' && { waiting: true }), ...(run.outputs && { outputs: run.outputs }), ...(run.error && { error: run.error }) };
  }

  list(options: { limit?: number; status?: RunStatus; workflow?: string }): RunSummary[] {
    return this.store.listRuns(options);
  }

  get(runId: string): RunDetails {
    const run = this.store.getRun(this.runId(runId));
    if (!run) throw new HostError(`no run '${runId}' in this workspace.`, { kind: 'not-found' });
    return run;
  }

  history(runId: string): RunEvent[] {
    return this.store.events(this.runId(runId));
  }

  /** Stops executing: runs still open stay open in the journal, resumed by the next host. */
  async close(): Promise<void> {
    await (await this.stream)?.close();
    this.engine.close();
    await this.pool.closeAll();
    await this.registry.close();
    await this.store.close();
  }

  /** A run id from a unique prefix of it. */
  runId(idOrPrefix: string): string {
    if (this.engine.has(idOrPrefix) || this.store.runStatus(idOrPrefix)) return idOrPrefix;
    const ids = idOrPrefix.length >= 4 ? this.store.findRunIds(idOrPrefix) : [];
    if (ids.length === 1) return ids[0];
    if (ids.length > 1) throw new HostError(`run id '${idOrPrefix}' is ambiguous: ${ids.join(', ')}. Give more of it.`, { kind: 'usage' });
    throw new HostError(`no run '${idOrPrefix}' in this workspace. List runs with: openconductor runs list`, { kind: 'not-found' });
  }

  private async ensureRunning(runId: string): Promise<string> {
    const id = this.runId(runId);
    if (!this.engine.has(id)) await this.resume(id);
    return id;
  }

  private async request(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (error) {
      if (error instanceof RunRequestError) throw new HostError(error.message, { kind: 'refused' });
      throw error;
    }
  }

  /** Compiles a code-first workflow (*.workflow.ts) and starts a run of it. */
  private async startCode(params: StartParams): Promise<RunRef> {
    let loaded;
    try {
      loaded = await loadCodeWorkflow(params.file, this.workspace);
    } catch (error) {
      if (error instanceof WorkflowFileError) throw new HostError(error.message, { kind: 'usage' });
      throw error;
    }
    const problems = [
      ...(this.workspace.mcpConfig?.diagnostics ?? []).map((d) => formatDiagnostic(this.workspace.mcpConfig!.file, d)),
      ...diagnosticsOf(loaded.problems).flatMap(({ file, diagnostics }) => sortDiagnostics(diagnostics).map((d) => formatDiagnostic(file, d))),
    ];
    if (!loaded.bundle || !loaded.hash || !loaded.workflow) {
      throw new HostError(`${loaded.file.path} is not valid; nothing was run.`, { kind: 'invalid-workflow', diagnostics: problems });
    }
    const inputs = resolveInputs(loaded.workflow, params.inputs ?? {});
    if (inputs.problems.length > 0) throw new HostError(inputs.problems.join('\n'), { kind: 'usage' });
    const { prepared, used } = await this.prepareCode(loaded.file.path, loaded.bundle, loaded.hash, loaded.workflow, loaded.servers, inputs.values, params.serverInputs);
    const { runId, done } = await this.engine.start({ definition: prepared, inputs: inputs.values });
    this.afterRun(used, done);
    return { runId };
  }

  private async prepareCode(
    filePath: string,
    bundle: string,
    definitionHash: string,
    workflow: WorkflowDefinition,
    servers: Map<string, DeclaredServer>,
    inputs: Record<string, unknown>,
    serverInputs: Record<string, string> | undefined,
  ): Promise<{ prepared: PreparedDefinition; used: DeclaredServer[] }> {
    try {
      return await prepareCodeDefinition({
        workspace: this.workspace,
        filePath,
        bundle,
        definitionHash,
        workflow,
        servers,
        inputs,
        askInput: this.askInput(serverInputs),
        log: (_level, text) => process.stderr.write(`[${workflow.name}] ${text}\n`),
      });
    } catch (error) {
      if (error instanceof ServerResolutionError) throw new HostError(error.message, { kind: 'refused' });
      throw error;
    }
  }

  /** The servers of .vscode/mcp.json and of the workflow that its steps and compensations call. */
  private usedServers(file: SourceFile, workflow: WorkflowDefinition): DeclaredServer[] {
    const declared = declaredServers(this.workspace, { file, definition: workflow });
    return calledServers(workflow).map((name) => declared.get(name)).filter((s): s is DeclaredServer => s !== undefined);
  }

  /** Resolves the servers a definition uses, for a run with these inputs. */
  private async resolve(
    file: SourceFile,
    filePath: string,
    workflow: WorkflowDefinition,
    used: DeclaredServer[],
    definitionHash: string,
    inputs: Record<string, unknown>,
    serverInputs: Record<string, string> | undefined,
  ): Promise<{ prepared: PreparedDefinition; used: DeclaredServer[] }> {
    let servers;
    try {
      servers = await resolveServers(used, {
        workspaceFolder: this.workspace.folder,
        inputs,
        env: process.env,
        mcpInputs: this.workspace.mcpConfig?.inputs ?? [],
        askInput: this.askInput(serverInputs),
      });
    } catch (error) {
      if (error instanceof ServerResolutionError) throw new HostError(error.message, { kind: 'refused' });
      throw error;
    }
    return { prepared: yamlDefinition({ file, filePath, workflow, definitionHash: definitionHash || hashText(file.text), servers }), used };
  }

  /** The value of a .vscode/mcp.json input: from the request, the environment, or (a terminal) the user. */
  private askInput(serverInputs: Record<string, string> | undefined): (input: McpInput) => Promise<string | undefined> {
    return async (input) => serverInputs?.[input.id] ?? process.env[inputEnvironmentVariable(input.id)] ?? (await this.options.askInput?.(input));
  }

  /** Remembers the tools of the servers a run used, for validation without starting them. */
  private afterRun(used: DeclaredServer[], done: Promise<unknown>): void {
    void done.finally(() => {
      for (const server of used) {
        const tools = this.pool.knownTools(server.name);
        if (tools) this.workspace.toolCache.put(server.name, server.hash, tools.map(toolInfo));
      }
    });
  }
}
