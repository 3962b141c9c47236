import { resolveServers, ServerResolutionError } from '../../engine/resolve-servers';
import { toolInfo } from '../../mcp/tool-cache';
import { displayPath } from '../../workspace/workspace';
import { allServers, describeServer, findServer } from '../../workspace/workspace-servers';
import { CommandFailure, EXIT } from '../errors';
import { askInput } from '../prompt';
import { createPool, workspaceFor, type GlobalOptions } from '../session';
import { Style, table, truncate } from '../style';

interface ServerRow {
  name: string;
  type: string;
  target: string;
  definedIn: string;
  tools?: number;
}

/** `openconductor servers list`: the servers of .vscode/mcp.json and of the workspace's workflow files. */
export async function serversListCommand(options: { json: boolean }, global: GlobalOptions): Promise<number> {
  const workspace = workspaceFor(undefined, global);
  const rows: ServerRow[] = (await allServers(workspace)).map((server) => {
    const shape = describeServer(server);
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

/** `openconductor servers tools <name>`: starts the server and lists its tools with their arguments. */
export async function serversToolsCommand(name: string, options: { json: boolean; file?: string }, global: GlobalOptions): Promise<number> {
  const workspace = workspaceFor(options.file, global);
  const found = await findServer(workspace, name, options.file);
  if (!found) throw new CommandFailure(`no server '${name}' in .vscode/mcp.json or in the workspace's workflow files. List them with: openconductor servers list`);
  const { server, inputs } = found;
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
