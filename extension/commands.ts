import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import { Requests } from '../common/protocol';
import { serverPart } from '../common/registry/identity';
import { recipeTarget, toMcpJsonEntry, type RunnableRecipe } from '../common/registry/install';
import { addServerToMcpJson, freeServerKey } from '../common/registry/mcp-json-edit';
import type { EntrySummary } from '../common/registry/protocol';
import { runsToCsv } from '../common/runs-csv';
import { argumentQuestions, parseAnswer } from '../common/tool-input';
import { showRegistryDetails } from './registry-details-panel';
import { SIDECAR_WAIT_MS, type Sidecar } from './sidecar';
import type { RegistryNode } from './views/registry';
import type { RunsModel } from './runs-model';
import type { RunNode } from './views/runs';
import type { ServerNode, ServersView } from './views/servers';
import type { WorkflowsView } from './views/workflows';

/** What the commands work with. */
export interface CommandContext {
  sidecar: Sidecar;
  runs: RunsModel;
  workflows: WorkflowsView;
  servers: ServersView;
  log: vscode.LogOutputChannel;
  /** Tokens for registry sources, from the secret storage. */
  tokens(): Promise<Record<string, string>>;
  /** Names of the configured registry sources. */
  sourceNames(): string[];
  secrets: vscode.SecretStorage;
  /** The extension's folder (its webview bundles). */
  extensionUri: vscode.Uri;
}

/** Where a registry source's token (or, for `embeddings`, the embeddings endpoint's key) is kept in the secret storage. */
export function tokenKey(source: string): string {
  return `openconductor.registry.token.${source}`;
}

/** Commands that work without the sidecar, and so never wait for it to start. */
const NO_SIDECAR_NEEDED = new Set(['showLog', 'restartSidecar', 'showDashboard', 'setRegistryToken', 'workflow.open']);

/** Registers every command; returns their disposables. */
export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  const register = (id: string, fn: (...args: never[]) => unknown) =>
    vscode.commands.registerCommand(`openconductor.${id}`, async (...args: never[]) => {
      try {
        // The views show before the sidecar answers: a command chosen meanwhile waits for it.
        if (ctx.sidecar.state === 'starting' && !NO_SIDECAR_NEEDED.has(id)) await ctx.sidecar.whenReady(SIDECAR_WAIT_MS);
        return await fn(...args);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        ctx.log.error(`${id}: ${message}`);
        void vscode.window.showErrorMessage(`OpenConductor: ${message}`);
        return undefined;
      }
    });
  const connection = () => {
    if (!ctx.sidecar.connection) throw new Error('the sidecar is not running yet; see OpenConductor: Show Log');
    return ctx.sidecar.connection;
  };
  const requireTrust = () => {
    if (!vscode.workspace.isTrusted) throw new Error('this workspace is not trusted: OpenConductor runs no workflow and starts no server in it');
  };

  const runFile = async (uri: vscode.Uri) => {
    requireTrust();
    const { runId } = await connection().sendRequest(Requests.start, { file: uri.fsPath });
    ctx.log.info(`started run ${runId} of ${vscode.workspace.asRelativePath(uri)}`);
    void vscode.commands.executeCommand('openconductor.runs.focus');
    void vscode.window.showInformationMessage(`Started ${path.basename(uri.fsPath)} (run ${runId}).`);
    return runId;
  };

  return [
    register('runWorkflow', async (uri?: vscode.Uri) => {
      requireTrust();
      const target = uri instanceof vscode.Uri ? uri : await pickWorkflow(ctx.workflows);
      return target ? runFile(target) : undefined;
    }),
    register('workflow.run', (uri: vscode.Uri) => runFile(uri)),
    register('workflow.open', (uri: vscode.Uri) => vscode.commands.executeCommand('vscode.open', uri)),
    register('workflow.validate', async (uri: vscode.Uri) => {
      const document = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(document);
      void vscode.commands.executeCommand('workbench.actions.view.problems');
    }),
    register('syncRegistries', async () => {
      const tokens = await ctx.tokens();
      const report = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Syncing registries', cancellable: false }, async (progress) => {
        const stop = ctx.sidecar.onNotification<{ source: string; phase: string; records: number }>('registry/progress', (p) => progress.report({ message: `${p.source}: ${p.records} records${p.phase === 'done' ? ', done' : ''}` }));
        try {
          return await connection().sendRequest(Requests.registrySync, { tokens });
        } finally {
          stop();
        }
      });
      const failed = report.results.filter((r) => !r.ok);
      const summary = `${report.entries} servers in the catalog.${failed.length ? ` Failed: ${failed.map((f) => `${f.source} (${f.error?.message})`).join('; ')}; their last good data is kept.` : ''}`;
      if (failed.length) void vscode.window.showWarningMessage(summary);
      else void vscode.window.showInformationMessage(summary);
    }),
    register('searchRegistry', () => searchRegistry(ctx, connection)),
    register('orchestrate', async () => {
      const line = await vscode.window.showInputBox({
        title: 'Orchestrate',
        prompt: 'A new workflow over these servers: <name> --with <server>,<server> (from the workspace, else the registry)',
        placeHolder: 'memory-agent --with memory,filesystem',
        ignoreFocusOut: true,
      });
      if (!line) return;
      const result = await connection().sendRequest(Requests.orchestrate, { line });
      await vscode.window.showTextDocument(vscode.Uri.file(result.file));
      ctx.workflows.refresh();
      const notFound = result.servers.filter((s) => s.from === 'missing').map((s) => s.name);
      const summary = `Wrote ${path.basename(result.file)}.${notFound.length ? ` Not found: ${notFound.join(', ')}.` : ''}${result.missing.length ? ` Still missing: ${result.missing.join('; ')}` : ''}`;
      if (result.missing.length || notFound.length) void vscode.window.showWarningMessage(summary);
      else void vscode.window.showInformationMessage(summary);
    }),
    register('registry.showDetails', async (node: RegistryNode | EntrySummary) => showRegistryDetails(connection(), entryOf(node).name, ctx.extensionUri, ctx.log)),
    register('registry.addToWorkspace', async (node: RegistryNode | EntrySummary) => {
      requireTrust();
      await addToWorkspace(ctx, connection, entryOf(node).name);
    }),
    register('registry.introspect', async (node: RegistryNode | EntrySummary) => {
      requireTrust();
      await introspect(ctx, connection, entryOf(node).name);
    }),
    register('registry.addToUserProfile', async (node: RegistryNode | EntrySummary) => {
      requireTrust();
      await addToUserProfile(ctx, connection, entryOf(node).name);
    }),
    register('approvePending', async () => {
      requireTrust();
      const pending = ctx.runs.counts().approvals;
      if (pending.length === 0) return void vscode.window.showInformationMessage('No step is waiting for approval.');
      const pick = await vscode.window.showQuickPick(
        pending.map((p) => ({ label: p.step, description: `run ${p.runId}`, pending: p })),
        { placeHolder: 'Approve which step?' },
      );
      if (pick) await decide(connection, pick.pending.runId, pick.pending.step, true);
    }),
    register('run.approve', (node: RunNode) => node.kind === 'step' && decide(connection, node.runId, node.step.id, true)),
    register('run.reject', (node: RunNode) => node.kind === 'step' && decide(connection, node.runId, node.step.id, false)),
    register('run.cancel', async (node: RunNode) => {
      requireTrust();
      if (node.kind === 'run') await connection().sendRequest(Requests.cancel, { runId: node.run.id, reason: 'cancelled from VS Code' });
    }),
    register('run.rerun', async (node: RunNode) => node.kind === 'run' && runFile(vscode.Uri.file(node.run.file))),
    register('run.history', (node: RunNode) => node.kind === 'run' && showHistory(connection, node.run.id)),
    register('showRunHistory', async () => {
      const runs = await connection().sendRequest(Requests.list, { limit: 100 });
      const pick = await vscode.window.showQuickPick(
        runs.map((r) => ({ label: r.workflow, description: `${r.status} · ${new Date(r.startedAt).toLocaleString()}`, detail: r.id, id: r.id })),
        { placeHolder: 'Which run?' },
      );
      if (pick) await showHistory(connection, pick.id);
    }),
    register('exportRuns', async () => {
      const runs = await connection().sendRequest(Requests.list, { limit: 10_000 });
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      const target = await vscode.window.showSaveDialog({ filters: { CSV: ['csv'] }, ...(folder && { defaultUri: vscode.Uri.joinPath(folder, 'runs.csv') }) });
      if (!target) return;
      await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(runsToCsv(runs)));
      void vscode.window.showInformationMessage(`Exported ${runs.length} runs to ${vscode.workspace.asRelativePath(target)}.`);
    }),
    register('refresh', () => {
      ctx.workflows.refresh();
      void ctx.runs.reload();
      void vscode.commands.executeCommand('openconductor.registry.refresh');
    }),
    register('restartSidecar', () => ctx.sidecar.restart()),
    register('server.start', async (node: ServerNode) => {
      requireTrust();
      await ctx.servers.listTools(node.kind === 'server' ? node.server.name : node.server);
    }),
    register('server.stop', (node: ServerNode) => ctx.servers.stop(node.kind === 'server' ? node.server.name : node.server)),
    register('server.restart', async (node: ServerNode) => {
      requireTrust();
      const name = node.kind === 'server' ? node.server.name : node.server;
      await ctx.servers.stop(name);
      await ctx.servers.listTools(name);
    }),
    register('server.callTool', async (node: ServerNode) => {
      requireTrust();
      await callTool(ctx, connection, node);
    }),
    register('setRegistryToken', async () => {
      const source = await vscode.window.showQuickPick([...ctx.sourceNames(), 'embeddings'], { placeHolder: 'The token of which registry source (or the embeddings endpoint)?' });
      if (!source) return;
      const token = await vscode.window.showInputBox({ prompt: `Token for ${source} (kept in VS Code's secret storage; empty to remove it)`, password: true, ignoreFocusOut: true });
      if (token === undefined) return;
      if (token) await ctx.secrets.store(tokenKey(source), token);
      else await ctx.secrets.delete(tokenKey(source));
      void vscode.window.showInformationMessage(token ? `Saved the token for ${source}.` : `Removed the token for ${source}.`);
    }),
    register('showLog', () => ctx.log.show()),
    register('showDashboard', () => vscode.commands.executeCommand('openconductor.dashboard.focus')),
  ];
}

/** Asks for a tool (if a server was given) and its arguments from its inputSchema, calls it, shows the result. */
async function callTool(ctx: CommandContext, connection: () => MessageConnection, node: ServerNode): Promise<void> {
  const server = node.kind === 'server' ? node.server.name : node.server;
  let tool = node.kind === 'tool' ? node.tool : undefined;
  if (!tool) {
    const tools = await ctx.servers.listTools(server);
    const pick = await vscode.window.showQuickPick(
      tools.map((t) => ({ label: t.name, detail: t.description?.split('\n')[0], tool: t })),
      { placeHolder: `Call which tool of ${server}?`, matchOnDetail: true },
    );
    if (!pick) return;
    tool = pick.tool;
  }
  const args: Record<string, unknown> = {};
  for (const question of argumentQuestions(tool.inputSchema)) {
    let text: string | undefined;
    if (question.choices) {
      text = await vscode.window.showQuickPick(question.required ? question.choices : ['(leave out)', ...question.choices], { placeHolder: `${tool.name}: ${question.name}${question.description ? ` — ${question.description}` : ''}` });
      if (text === '(leave out)') continue;
    } else {
      text = await vscode.window.showInputBox({
        title: `${server} / ${tool.name}`,
        prompt: `${question.name} (${question.type}${question.required ? ', required' : ', optional: leave empty to leave out'})${question.description ? ` — ${question.description}` : ''}`,
        ignoreFocusOut: true,
        validateInput: (value) => {
          if (value === '') return question.required ? `${question.name} is required` : undefined;
          const parsed = parseAnswer(value, question.type);
          return 'error' in parsed ? parsed.error : undefined;
        },
      });
    }
    if (text === undefined) return;
    if (text === '' && !question.required) continue;
    const parsed = parseAnswer(text, question.type);
    if ('value' in parsed) args[question.name] = parsed.value;
  }
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Calling ${server}/${tool.name}` }, () =>
    connection().sendRequest(Requests.callTool, { name: server, tool: tool.name, arguments: args }),
  );
  const document = await vscode.workspace.openTextDocument({ content: JSON.stringify(result, null, 2), language: 'json' });
  await vscode.window.showTextDocument(document, { preview: true });
}

function entryOf(node: RegistryNode | EntrySummary): EntrySummary {
  return 'kind' in node ? (node.kind === 'entry' ? node.entry : (() => { throw new Error('pick a server, not a source'); })()) : node;
}

async function pickWorkflow(workflows: WorkflowsView): Promise<vscode.Uri | undefined> {
  const files = await workflows.list();
  if (files.length === 0) throw new Error('there is no *.workflow.yaml or *.workflow.ts file in this workspace');
  const pick = await vscode.window.showQuickPick(
    files.map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(path.dirname(uri.fsPath)), uri })),
    { placeHolder: 'Run which workflow?' },
  );
  return pick?.uri;
}

async function decide(connection: () => MessageConnection, runId: string, step: string, approved: boolean): Promise<void> {
  if (!vscode.workspace.isTrusted) throw new Error('this workspace is not trusted');
  const comment = await vscode.window.showInputBox({ prompt: `${approved ? 'Approve' : 'Reject'} ${step}: a comment (optional)` });
  if (comment === undefined) return;
  await connection().sendRequest(Requests.decide, { runId, step, approved, ...(comment && { comment }) });
  void vscode.window.showInformationMessage(`${approved ? 'Approved' : 'Rejected'} ${step}.`);
}

async function showHistory(connection: () => MessageConnection, runId: string): Promise<void> {
  const events = await connection().sendRequest(Requests.history, { runId });
  const lines = events.map((e) => `${String(e.seq).padStart(6)}  ${new Date(e.time).toISOString()}  ${e.type.padEnd(22)}  ${JSON.stringify({ ...e, seq: undefined, time: undefined, type: undefined, runId: undefined })}`);
  const document = await vscode.workspace.openTextDocument({ content: `Run ${runId}: ${events.length} events\n\n${lines.join('\n')}\n`, language: 'log' });
  await vscode.window.showTextDocument(document, { preview: true });
}

/** A QuickPick that searches the catalog as the user types (results replace each other; stale answers are dropped). */
async function searchRegistry(ctx: CommandContext, connection: () => MessageConnection): Promise<void> {
  const quickPick = vscode.window.createQuickPick<vscode.QuickPickItem & { entry: EntrySummary }>();
  quickPick.placeholder = 'Search MCP servers by name, words or meaning (typos are fine)';
  quickPick.matchOnDescription = false;
  quickPick.matchOnDetail = false;
  let latest = 0;
  const search = async (query: string) => {
    const ticket = ++latest;
    quickPick.busy = true;
    try {
      const embeddingsToken = await ctx.secrets.get(tokenKey('embeddings'));
      const result = await connection().sendRequest(Requests.registrySearch, { query, limit: 50, ...(embeddingsToken && { embeddingsToken }) });
      if (ticket !== latest) return;
      // alwaysShow: the catalog ranked them; VS Code's own fuzzy filter must not hide hits found by meaning.
      quickPick.items = result.hits.map((h) => ({ label: h.title ?? h.name, description: `${h.trust}/100 · ${h.transports.join(', ') || 'no package'}${h.status !== 'active' ? ` · ${h.status}` : ''}`, detail: h.description, alwaysShow: true, entry: h }));
      if (result.catalog === 0) quickPick.placeholder = 'The catalog is empty: run OpenConductor: Sync Registries';
    } catch (error) {
      ctx.log.warn(`search: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      if (ticket === latest) quickPick.busy = false;
    }
  };
  quickPick.onDidChangeValue((value) => void search(value));
  const chosen = await new Promise<EntrySummary | undefined>((resolve) => {
    quickPick.onDidAccept(() => resolve(quickPick.selectedItems[0]?.entry));
    quickPick.onDidHide(() => resolve(undefined));
    quickPick.show();
    void search('');
  });
  quickPick.dispose();
  if (!chosen) return;
  const action = await vscode.window.showQuickPick(['Show Details', 'Add to Workspace', 'Add to User Profile'], { placeHolder: chosen.name });
  if (action === 'Show Details') await showRegistryDetails(connection(), chosen.name, ctx.extensionUri, ctx.log);
  else if (action === 'Add to Workspace') await vscode.commands.executeCommand('openconductor.registry.addToWorkspace', chosen);
  else if (action === 'Add to User Profile') await vscode.commands.executeCommand('openconductor.registry.addToUserProfile', chosen);
}

/** Adds a server to .vscode/mcp.json: required values asked now, secrets left as password inputs VS Code asks for. */
async function addToWorkspace(ctx: CommandContext, connection: () => MessageConnection, name: string): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('open a folder first: servers are added to its .vscode/mcp.json');
  const details = await connection().sendRequest(Requests.registryShow, { name });
  const recipe = await pickRecipe(details.recipes.filter((r): r is RunnableRecipe => r.runnable), details.entry.name);
  if (!recipe) return;
  const uri = vscode.Uri.joinPath(folder.uri, '.vscode', 'mcp.json');
  let text = '';
  try {
    text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  } catch {
    // No mcp.json yet: it is created.
  }
  const key = freeServerKey(text, serverPart(details.entry.name).toLowerCase());
  const entry = toMcpJsonEntry(recipe, key);
  // Required values that are not secret are asked now and written; secrets stay ${input:…} prompts.
  for (const input of recipe.inputs.filter((i) => i.isRequired && !i.isSecret)) {
    const id = `${key.replace(/[^A-Za-z0-9_.-]/g, '-')}.${input.id}`;
    const value = await vscode.window.showInputBox({ title: `${details.entry.name}: ${input.id}`, prompt: input.description, ignoreFocusOut: true });
    if (value === undefined) return;
    const replace = (s: string) => s.split(`\${input:${id}}`).join(value);
    const server = entry.server as { args?: string[]; env?: Record<string, string>; headers?: Record<string, string>; url?: string };
    if (server.args) server.args = server.args.map(replace);
    for (const map of [server.env, server.headers]) if (map) for (const k of Object.keys(map)) map[k] = replace(map[k]);
    if (server.url) server.url = replace(server.url);
    entry.inputs = entry.inputs.filter((i) => i.id !== id);
  }
  const result = addServerToMcpJson(text, entry, { replace: true });
  if ('error' in result) throw new Error(`.vscode/mcp.json: ${result.error}`);
  await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(result.text));
  ctx.log.info(`added ${result.key} (${recipe.label}) to .vscode/mcp.json`);
  const open = await vscode.window.showInformationMessage(`Added '${result.key}' to .vscode/mcp.json${result.addedInputs.length ? `; VS Code asks for ${result.addedInputs.join(', ')} when it starts` : ''}.`, 'Open mcp.json');
  if (open) await vscode.window.showTextDocument(uri);
}

/**
 * Starts a catalog server in a scratch folder (the sidecar's introspection), lists its tools, prompts and resources,
 * and shows them in its details panel. Required values are asked for (secrets hidden) and used for this start only.
 */
async function introspect(ctx: CommandContext, connection: () => MessageConnection, name: string): Promise<void> {
  const details = await connection().sendRequest(Requests.registryShow, { name });
  const runnable = details.recipes.filter((r): r is RunnableRecipe => r.runnable);
  const recipe = await pickRecipe(runnable, details.entry.name, 'Introspect');
  if (!recipe) return;
  const inputs: Record<string, string> = {};
  for (const input of recipe.inputs.filter((i) => i.isRequired)) {
    const value = await vscode.window.showInputBox({ title: `Introspect ${details.entry.name}: ${input.id}`, prompt: `${input.description} (used for this start only, not kept)`, password: input.isSecret, ignoreFocusOut: true });
    if (value === undefined) return;
    inputs[input.id] = value;
  }
  const found = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Introspecting ${details.entry.name} (${recipe.label})` }, () =>
    connection().sendRequest(Requests.registryIntrospect, { name: details.entry.name, recipe: runnable.indexOf(recipe), inputs }),
  );
  ctx.log.info(`introspected ${details.entry.name} (${recipe.label}): ${found.tools.length} tools, ${found.prompts.length} prompts, ${found.resources.length} resources`);
  await showRegistryDetails(connection(), details.entry.name, ctx.extensionUri, ctx.log);
  void vscode.window.showInformationMessage(`${details.entry.name}: ${found.tools.length} tools, ${found.prompts.length} prompts, ${found.resources.length} resources.`);
}

/** Hands the server to VS Code's own MCP install (its user profile), through its `mcp/install` link. */
async function addToUserProfile(ctx: CommandContext, connection: () => MessageConnection, name: string): Promise<void> {
  const details = await connection().sendRequest(Requests.registryShow, { name });
  const recipe = await pickRecipe(details.recipes.filter((r): r is RunnableRecipe => r.runnable), details.entry.name);
  if (!recipe) return;
  const key = serverPart(details.entry.name).toLowerCase();
  const entry = toMcpJsonEntry(recipe, key);
  const payload = { name: entry.key, ...entry.server, ...(entry.inputs.length && { inputs: entry.inputs }) };
  const link = `${vscode.env.uriScheme}:mcp/install?${encodeURIComponent(JSON.stringify(payload))}`;
  // The link holds ${input:…} references, never a secret's value.
  ctx.log.info(`handed ${entry.key} (${recipe.label}) to VS Code's MCP install: ${link}`);
  await vscode.env.openExternal(vscode.Uri.parse(link));
}

async function pickRecipe(recipes: RunnableRecipe[], name: string, verb = 'Install'): Promise<RunnableRecipe | undefined> {
  if (recipes.length === 0) throw new Error(`${name} has no package or remote that can be ${verb === 'Install' ? 'installed' : 'started'}`);
  if (recipes.length === 1) return recipes[0];
  const pick = await vscode.window.showQuickPick(
    recipes.map((r) => ({ label: r.label, description: r.transport, detail: recipeTarget(r), recipe: r })),
    { placeHolder: `${verb} ${name} how?` },
  );
  return pick?.recipe;
}
