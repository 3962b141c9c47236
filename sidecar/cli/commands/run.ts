import * as fs from 'node:fs';
import * as path from 'node:path';
import { hasErrors } from '../../../common/diagnostics';
import { stepDependencies } from '../../../common/workflow/graph';
import { resolveInputs } from '../../../common/workflow/inputs';
import { Engine } from '../../engine/engine';
import { resolveServers, ServerResolutionError } from '../../engine/resolve-servers';
import type { RunResult } from '../../engine/run';
import { loadWorkflow } from '../../workspace/load';
import { displayPath } from '../../workspace/workspace';
import { printDiagnostics } from '../diagnostics-output';
import { CommandFailure, EXIT, UsageError } from '../errors';
import { JsonProgress, PlainProgress, TtyProgress, errorLine, type ProgressDisplay } from '../progress';
import { askInput } from '../prompt';
import { createPool, openStore, toolInfo, workspaceFor, type GlobalOptions } from '../session';
import { Style } from '../style';

export interface RunOptions {
  input: string[];
  inputs?: string;
  json: boolean;
}

/** `openconductor run`: validates, resolves inputs and servers, runs with live progress, prints the outputs. */
export async function runCommand(file: string, options: RunOptions, global: GlobalOptions): Promise<number> {
  const out = Style.for(process.stdout, global.color);
  const err = Style.for(process.stderr, global.color);
  const workspace = workspaceFor(file, global);
  const loaded = loadWorkflow(path.resolve(file), workspace);
  if (workspace.mcpConfig && hasErrors(workspace.mcpConfig.diagnostics)) {
    printDiagnostics(process.stderr, workspace.mcpConfig.file, workspace.mcpConfig.diagnostics, err);
  }
  printDiagnostics(process.stderr, loaded.file, loaded.diagnostics, err);
  if (!loaded.workflow || hasErrors(loaded.diagnostics)) {
    throw new CommandFailure(`${loaded.file.path} is not valid; nothing was run.`);
  }
  const workflow = loaded.workflow;
  const given = { typed: readInputsFile(options.inputs), text: parseInputFlags(options.input) };
  const inputs = resolveInputs(workflow, given);
  if (inputs.problems.length > 0) throw new UsageError(inputs.problems.join('\n'));

  const used = [...new Set(workflow.steps.map((s) => s.server.name))].map((name) => loaded.servers.get(name)!);
  let servers;
  try {
    servers = await resolveServers(used, {
      workspaceFolder: workspace.folder,
      inputs: inputs.values,
      env: process.env,
      mcpInputs: workspace.mcpConfig?.inputs ?? [],
      askInput,
    });
  } catch (error) {
    if (error instanceof ServerResolutionError) throw new CommandFailure(error.message);
    throw error;
  }

  const store = await openStore(workspace, 'writer', `openconductor run ${displayPath(path.resolve(file))}`);
  const pool = createPool(workspace, true);
  const engine = new Engine(store, pool);
  const display = progressDisplay(options.json, global, stepDependencies(workflow));
  let runId: string | undefined;
  // This process starts one run; its first events may be durable before start() returns, so learn its id from them.
  const unsubscribe = store.subscribe((event) => {
    if (runId === undefined && event.type === 'WorkflowStarted') runId = event.runId;
    if (event.runId === runId) display.event(event);
  });
  const stopProgress = engine.onProgress((notice) => notice.runId === runId && display.progress(notice));
  let interrupts = 0;
  const onInterrupt = (): void => {
    interrupts++;
    if (interrupts === 1 && runId) {
      process.stderr.write(`\n${err.yellow('Cancelling')} run ${runId} (press Ctrl-C again to stop at once)…\n`);
      engine.cancel(runId, 'cancelled from the terminal (Ctrl-C)');
    } else {
      pool.killAll();
      process.exit(130);
    }
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  let result: RunResult | undefined;
  try {
    const started = await engine.start({
      file: loaded.file,
      filePath: loaded.file.path,
      workflow,
      definitionHash: loaded.hash,
      inputs: inputs.values,
      servers,
    });
    runId = started.runId;
    result = await started.done;
  } finally {
    display.close();
    unsubscribe();
    stopProgress();
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
    for (const server of used) {
      const spec = servers.get(server.name);
      const tools = spec && pool.connection(spec).knownTools();
      if (tools) workspace.toolCache.put(server.name, server.hash, tools.map(toolInfo));
    }
    await pool.closeAll();
    await store.close();
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ type: 'RunResult', ...result })}\n`);
  } else {
    printResult(result, out, err);
  }
  return result.status === 'completed' ? EXIT.ok : EXIT.failed;
}

function progressDisplay(json: boolean, global: GlobalOptions, deps: ReturnType<typeof stepDependencies>): ProgressDisplay {
  if (json) return new JsonProgress(process.stdout);
  if (process.stderr.isTTY && process.env.TERM !== 'dumb') {
    const names = new Map([...deps].map(([id, list]) => [id, [...new Set(list.map((d) => d.step))]]));
    return new TtyProgress(process.stderr, Style.for(process.stderr, global.color), names);
  }
  return new PlainProgress(process.stderr);
}

function printResult(result: RunResult, out: Style, err: Style): void {
  if (result.status === 'completed') {
    process.stderr.write(`${err.green('✓')} run ${result.runId} completed\n`);
    const outputs = result.outputs ?? {};
    if (Object.keys(outputs).length > 0) process.stdout.write(`${out.bold('outputs')}\n${JSON.stringify(outputs, null, 2)}\n`);
    return;
  }
  const error = result.error;
  process.stderr.write(`${err.red('✗')} run ${result.runId} ${result.status}${error?.step ? ` at step '${error.step}'` : ''}\n`);
  if (error) {
    process.stderr.write(`  ${errorLine(error)}\n`);
    for (const line of error.message.split('\n').slice(1)) process.stderr.write(`  ${line}\n`);
    if (error.location) process.stderr.write(`  at ${error.location}\n`);
  }
  process.stderr.write(`  details: openconductor runs show ${result.runId}\n`);
}

/** `--input name=value` flags as a map; a flag without '=' is a usage error. */
export function parseInputFlags(flags: string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new UsageError(`--input takes name=value, not ${JSON.stringify(flag)}.`);
    values[flag.slice(0, eq)] = flag.slice(eq + 1);
  }
  return values;
}

function readInputsFile(file: string | undefined): Record<string, unknown> | undefined {
  if (!file) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --inputs file ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--inputs file ${file} is not valid JSON: ${(error as Error).message}.`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`--inputs file ${file} must hold a JSON object of input names to values.`);
  return value as Record<string, unknown>;
}
