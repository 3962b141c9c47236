import * as path from 'node:path';
import { normalizeServerDefinition } from '../../../common/servers';
import type { ValueTemplate } from '../../../common/workflow/model';
import { parseWorkflow } from '../../../common/workflow/parse';
import { resolveServers, ServerResolutionError } from '../../engine/resolve-servers';
import { declaredServers, type DeclaredServer } from '../../workspace/declared-servers';
import { isCodeWorkflowFile, loadCodeWorkflow } from '../../code-first/load';
import { findWorkflowFiles } from '../../workspace/find-workflows';
import { readWorkflowFile } from '../../workspace/load';
import { displayPath, type Workspace } from '../../workspace/workspace';
import { resolveInputs } from '../../../common/workflow/inputs';
import { CommandFailure, EXIT } from '../errors';
import { askInput } from '../prompt';
import { toolInfo } from '../../mcp/tool-cache';
import { createPool, workspaceFor, type GlobalOptions } from '../session';
import { Style, table, truncate } from '../style';

interface ServerRow {
  name: string;
  type: string;
  target: string;
  definedIn: string;
  tools?: number;
}

/** Every server the workspace knows: .vscode/mcp.json, then each workflow file's own `servers:`. */
async function allServers(workspace: Workspace): Promise<DeclaredServer[]> {
  const list = [...declaredServers(workspace).values()];
  for (const file of findWorkflowFiles(workspace.folder)) list.push(...(await ownServers(file, workspace)).servers);
  return list;
}

/** The servers a workflow file declares itself (YAML's `servers:`, a code-first workflow's `servers` option), with its default inputs. */
async function ownServers(file: string, workspace: Workspace): Promise<{ servers: DeclaredServer[]; inputs: Record<string, unknown> }> {
  if (isCodeWorkflowFile(file)) {
    const loaded = await loadCodeWorkflow(file, workspace);
    if (!loaded.workflow) return { servers: [], inputs: {} };
    return { servers: [...loaded.servers.values()].filter((s) => s.origin === 'workflow'), inputs: resolveInputs(loaded.workflow, {}).values };
  }
  const source = readWorkflowFile(file);
  const parsed = parseWorkflow(source);
  if (!parsed.workflow) return { servers: [], inputs: {} };
  return { servers: [...declaredServers({ ...workspace, mcpConfig: undefined }, { file: source, definition: parsed.workflow }).values()], inputs: resolveInputs(parsed.workflow, {}).values };
}

/** `openconductor servers list`: the servers of .vscode/mcp.json and of the workspace's workflow files. */
export async function serversListCommand(options: { json: boolean }, global: GlobalOptions): Promise<number> {
  const workspace = workspaceFor(undefined, global);
  const rows: ServerRow[] = (await allServers(workspace)).map((server) => {
    const shape = describe(server);
    const tools = workspace.toolCache.get(server.name, server.hash);
    return { name: server.name, ...shape, definedIn: server.file.location(server.range.start), ...(tools && { tools: tools.length }) };
  });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return EXIT.ok;
  }
  if (rows.length === 0) {
    process.stdout.write(`No servers in ${displayPath(workspace.folder) || '.'}: add them to .vscode/mcp.json or to a workflow's servers: block.\n`);
    return EXIT.ok;
  }
  const style = Style.for(process.stdout, global.color);
  process.stdout.write(`${table(['NAME', 'TYPE', 'COMMAND / URL', 'TOOLS', 'DEFINED IN'], rows.map((r) => [r.name, r.type, truncate(r.target, 60), r.tools === undefined ? '?' : String(r.tools), r.definedIn]), style)}\n`);
  return EXIT.ok;
}

/** A server's transport and command line or URL, as written (expressions shown as their source). */
function describe(server: DeclaredServer): { type: string; target: string } {
  if (server.origin === 'workflow') {
    const definition = server.declaration.definition;
    const field = (key: string): ValueTemplate | undefined => (definition.kind === 'object' ? definition.entries.find((e) => e.key === key)?.value : undefined);
    const text = (value: ValueTemplate | undefined): string => {
      if (!value) return '';
      if (value.kind === 'literal') return String(value.value);
      if (value.kind === 'array') return value.items.map(text).join(' ');
      return server.file.text.slice(value.range.start, value.range.end);
    };
    const url = field('url');
    const type = text(field('type')) || (url ? 'http' : 'stdio');
    return { type, target: url ? text(url) : [text(field('command')), text(field('args'))].filter(Boolean).join(' ') };
  }
  const definition = normalizeServerDefinition(server.raw);
  if ('error' in definition) return { type: '?', target: `invalid: ${definition.error}` };
  return definition.type === 'stdio' ? { type: 'stdio', target: [definition.command, ...definition.args].join(' ') } : { type: definition.type, target: definition.url };
}

/** `openconductor servers tools <name>`: starts the server and lists its tools with their arguments. */
export async function serversToolsCommand(name: string, options: { json: boolean; file?: string }, global: GlobalOptions): Promise<number> {
  const workspace = workspaceFor(options.file, global);
  // A workflow's own server of that name comes first (as in a run of it); .vscode/mcp.json's otherwise.
  let candidates = [...declaredServers(workspace).values()].filter((s) => s.name === name);
  let inputs: Record<string, unknown> = {};
  if (options.file || candidates.length === 0) {
    const files = options.file ? [path.resolve(options.file)] : findWorkflowFiles(workspace.folder);
    for (const file of files) {
      const own = await ownServers(file, workspace);
      const found = own.servers.find((s) => s.name === name);
      if (found) {
        candidates = [found];
        inputs = own.inputs;
        break;
      }
    }
  }
  const server = candidates[0];
  if (!server) throw new CommandFailure(`no server '${name}' in .vscode/mcp.json or in the workspace's workflow files. List them with: openconductor servers list`);
  let spec;
  try {
    spec = (await resolveServers([server], { workspaceFolder: workspace.folder, inputs, env: process.env, mcpInputs: workspace.mcpConfig?.inputs ?? [], askInput })).get(name)!;
  } catch (error) {
    if (error instanceof ServerResolutionError) throw new CommandFailure(error.message);
    throw error;
  }
  const pool = createPool(workspace, false);
  let tools;
  try {
    tools = (await pool.connection(spec).listTools()).map(toolInfo);
  } catch (error) {
    throw new CommandFailure((error as Error).message);
  } finally {
    await pool.closeAll();
  }
  workspace.toolCache.put(name, server.hash, tools);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(tools, null, 2)}\n`);
    return EXIT.ok;
  }
  const style = Style.for(process.stdout, global.color);
  const rows = tools.map((t) => {
    const properties = Object.keys((t.inputSchema?.properties as object | undefined) ?? {});
    const required = new Set((t.inputSchema?.required as string[] | undefined) ?? []);
    return [t.name, properties.map((p) => (required.has(p) ? `${p}*` : p)).join(', '), truncate(t.description ?? '', 70)];
  });
  process.stdout.write(`${style.bold(name)} ${style.dim(`(${server.file.location(server.range.start)})`)}: ${tools.length} tools\n`);
  process.stdout.write(`${table(['TOOL', 'ARGUMENTS (* required)', 'DESCRIPTION'], rows, style)}\n`);
  return EXIT.ok;
}
