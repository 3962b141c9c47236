import * as path from 'node:path';
import pkg from '../../package.json';
import { McpPool } from '../mcp/pool';
import { DataDirectoryBusyError } from '../store/lock';
import { Store } from '../store/store';
import { findWorkspaceFolder, openWorkspace, prepareDataDir, type Workspace } from '../workspace/workspace';
import { CommandFailure } from './errors';

/** Options every command takes. */
export interface GlobalOptions {
  workspace?: string;
  dataDir?: string;
  color: boolean;
}

export const VERSION: string = pkg.version;

/** The workspace a command works in: --workspace, else the one around `file`, else the current directory. */
export function workspaceFor(file: string | undefined, options: GlobalOptions): Workspace {
  const folder = options.workspace ? path.resolve(options.workspace) : file ? findWorkspaceFolder(file) : process.cwd();
  return openWorkspace(folder, options.dataDir ? path.resolve(options.dataDir) : undefined);
}

/** Opens the workspace's run store; a directory held by another process is a clear failure, not a stack trace. */
export async function openStore(workspace: Workspace, mode: 'writer' | 'reader', command: string): Promise<Store> {
  if (mode === 'writer') prepareDataDir(workspace.dataDir);
  try {
    return await Store.open({ dataDir: workspace.dataDir, mode, command });
  } catch (error) {
    if (error instanceof DataDirectoryBusyError) throw new CommandFailure(error.message);
    throw error;
  }
}

/** A server pool for the workspace: servers run in its folder and log to its data directory, and none outlives this process. */
export function createPool(workspace: Workspace, logs: boolean): McpPool {
  const pool = new McpPool({
    cwd: workspace.folder,
    ...(logs && { logDir: path.join(workspace.dataDir, 'logs') }),
    clientVersion: VERSION,
    defaultStartupTimeoutMs: 60_000,
  });
  process.on('exit', () => pool.killAll());
  return pool;
}
