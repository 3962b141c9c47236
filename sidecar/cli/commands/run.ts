import * as fs from 'node:fs';
import * as path from 'node:path';
import { hasErrors } from '../../../common/diagnostics';
import { calledServers, stepNeeds } from '../../../common/workflow/graph';
import { resolveInputs } from '../../../common/workflow/inputs';
import { inputEnvironmentVariable } from '../../engine/resolve-servers';
import { diagnosticsOf, isCodeWorkflowFile, loadCodeWorkflow } from '../../code-first/load';
import { loadWorkflow } from '../../workspace/load';
import { displayPath } from '../../workspace/workspace';
import { printDiagnostics } from '../diagnostics-output';
import { CommandFailure, UsageError } from '../errors';
import { follow, withHost } from '../follow';
import { askInput } from '../prompt';
import { workspaceFor, type GlobalOptions } from '../session';
import { Style } from '../style';

export interface RunOptions {
  input: string[];
  inputs?: string;
  json: boolean;
}

/**
 * `openconductor run`: validates here (showing every diagnostic), then has the data directory's host run it
 * (this process, or the editor's sidecar or another terminal when one runs) and follows it to its end.
 */
export async function runCommand(file: string, options: RunOptions, global: GlobalOptions): Promise<number> {
  const err = Style.for(process.stderr, global.color);
  const workspace = workspaceFor(file, global);
  if (workspace.mcpConfig && hasErrors(workspace.mcpConfig.diagnostics)) {
    printDiagnostics(process.stderr, workspace.mcpConfig.file, workspace.mcpConfig.diagnostics, err);
  }
  let given: { typed?: Record<string, unknown>; text: Record<string, string> };
  let serverInputs: Record<string, string>;
  let dependencies: Map<string, string[]> | undefined;
  if (isCodeWorkflowFile(file)) {
    // Code-first: compiled and checked here too, so that problems print before anything starts.
    const loaded = await loadCodeWorkflow(path.resolve(file), workspace);
    for (const { file: source, diagnostics } of diagnosticsOf(loaded.problems)) printDiagnostics(process.stderr, source, diagnostics, err);
    if (!loaded.bundle || !loaded.workflow) throw new CommandFailure(`${loaded.file.path} is not valid; nothing was run.`);
    given = { typed: readInputsFile(options.inputs), text: parseInputFlags(options.input) };
    const inputs = resolveInputs(loaded.workflow, given);
    if (inputs.problems.length > 0) throw new UsageError(inputs.problems.join('\n'));
    // The code decides which servers it calls: ask for the inputs of those it names.
    const bundle = loaded.bundle;
    const named = [...loaded.servers.keys()].filter((name) => ['"', "'", '`'].some((q) => bundle.includes(`${q}${name}${q}`)));
    serverInputs = await askServerInputs(loaded.servers, named, workspace.mcpConfig?.inputs ?? []);
  } else {
    const loaded = loadWorkflow(path.resolve(file), workspace);
    printDiagnostics(process.stderr, loaded.file, loaded.diagnostics, err);
    if (!loaded.workflow || hasErrors(loaded.diagnostics)) throw new CommandFailure(`${loaded.file.path} is not valid; nothing was run.`);
    given = { typed: readInputsFile(options.inputs), text: parseInputFlags(options.input) };
    const inputs = resolveInputs(loaded.workflow, given);
    if (inputs.problems.length > 0) throw new UsageError(inputs.problems.join('\n'));
    serverInputs = await askServerInputs(loaded.servers, calledServers(loaded.workflow), workspace.mcpConfig?.inputs ?? []);
    dependencies = stepNeeds(loaded.workflow);
  }

  return withHost(workspace, `openconductor run ${displayPath(path.resolve(file))}`, async (handle, buffer) => {
    const { runId } = await handle.start({ file: path.resolve(file), inputs: given, serverInputs });
    return follow(handle, buffer, runId, workspace, { json: options.json, global, ...(dependencies && { dependencies }) });
  });
}

/** Values of the .vscode/mcp.json inputs the used servers need: from OPENCONDUCTOR_INPUT_<ID>, or asked on the terminal. */
async function askServerInputs(
  servers: ReturnType<typeof loadWorkflow>['servers'],
  used: string[],
  declared: Array<{ id: string; description?: string; password: boolean; type: string }>,
): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const name of new Set(used)) {
    const server = servers.get(name);
    if (server?.origin !== 'mcp.json') continue;
    for (const match of JSON.stringify(server.raw).matchAll(/\$\{input:([^}]+)\}/g)) {
      const id = match[1];
      if (id in values || process.env[inputEnvironmentVariable(id)] !== undefined) continue;
      const input = declared.find((i) => i.id === id);
      const value = input ? await askInput(input) : undefined;
      if (value !== undefined) values[id] = value;
    }
  }
  return values;
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
