import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseMcpConfig, type McpConfig } from '../../common/servers';
import { SourceFile } from '../../common/source';
import { ToolCache } from '../mcp/tool-cache';

/** A workspace folder: where servers run, where .vscode/mcp.json lives and where run data is kept. */
export interface Workspace {
  folder: string;
  mcpConfig?: McpConfig;
  dataDir: string;
  toolCache: ToolCache;
}

/** The workspace folder of a file: the nearest folder above it with a .vscode/mcp.json, else the current directory when it holds the file, else the file's folder. */
export function findWorkspaceFolder(file: string, cwd = process.cwd()): string {
  const absolute = path.resolve(cwd, file);
  for (let dir = path.dirname(absolute); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, '.vscode', 'mcp.json'))) return dir;
    if (path.dirname(dir) === dir) break;
  }
  const relative = path.relative(cwd, absolute);
  return !relative.startsWith('..') && !path.isAbsolute(relative) ? cwd : path.dirname(absolute);
}

/** Opens a workspace: reads its .vscode/mcp.json (if any) and settles its data directory. */
export function openWorkspace(folder: string, dataDir?: string): Workspace {
  const mcpPath = path.join(folder, '.vscode', 'mcp.json');
  let mcpConfig: McpConfig | undefined;
  if (fs.existsSync(mcpPath)) {
    mcpConfig = parseMcpConfig(new SourceFile(displayPath(mcpPath), fs.readFileSync(mcpPath, 'utf8')));
  }
  const dir = dataDir ?? process.env.OPENCONDUCTOR_DATA_DIR ?? path.join(folder, '.openconductor');
  return { folder, ...(mcpConfig && { mcpConfig }), dataDir: dir, toolCache: new ToolCache(path.join(dir, 'tools')) };
}

/** Creates the data directory, with a .gitignore so that it never ends up in the repository. */
export function prepareDataDir(dataDir: string): void {
  fs.mkdirSync(dataDir, { recursive: true });
  const ignore = path.join(dataDir, '.gitignore');
  if (!fs.existsSync(ignore)) fs.writeFileSync(ignore, '# OpenConductor run data\n*\n');
}

/** A path as people want to read it: relative to the current directory when inside it. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** sha256 of a text, hex. */
export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The user's home folder, for `${userHome}`. */
export function userHome(): string {
  return os.homedir();
}
