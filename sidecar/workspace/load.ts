import * as fs from 'node:fs';
import type { Diagnostic } from '../../common/diagnostics';
import { SourceFile } from '../../common/source';
import type { WorkflowDefinition } from '../../common/workflow/model';
import { parseWorkflow, type ParsedWorkflow } from '../../common/workflow/parse';
import type { ToolInfo } from '../../common/workflow/tool-arguments';
import { validateWorkflow } from '../../common/workflow/validate';
import { declaredServers, type DeclaredServer } from './declared-servers';
import { displayPath, hashText, type Workspace } from './workspace';

/** A workflow file read, parsed and validated. */
export interface LoadedWorkflow {
  path: string;
  file: SourceFile;
  parsed: ParsedWorkflow;
  workflow?: WorkflowDefinition;
  /** The servers it can use, by name. */
  servers: Map<string, DeclaredServer>;
  diagnostics: Diagnostic[];
  /** sha256 of the source: the version a run is pinned to. */
  hash: string;
}

/** The file could not be read at all. */
export class WorkflowFileError extends Error {
  override name = 'WorkflowFileError';
}

/** Reads a workflow file, or says plainly why it cannot. */
export function readWorkflowFile(filePath: string): SourceFile {
  try {
    return new SourceFile(displayPath(filePath), fs.readFileSync(filePath, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    throw new WorkflowFileError(`cannot read workflow ${displayPath(filePath)}: ${reason}`);
  }
}

/**
 * Reads, parses and validates a workflow file. Tools are checked against `toolsOf` when given (live lists),
 * else against the tools cached from earlier runs of each server.
 */
export function loadWorkflow(filePath: string, workspace: Workspace, toolsOf?: (server: DeclaredServer) => readonly ToolInfo[] | undefined): LoadedWorkflow {
  const file = readWorkflowFile(filePath);
  const parsed = parseWorkflow(file);
  const servers = declaredServers(workspace, { file, ...(parsed.workflow && { definition: parsed.workflow }) });
  const tools = toolsOf ?? ((server: DeclaredServer) => workspace.toolCache.get(server.name, server.hash));
  const diagnostics = [
    ...parsed.diagnostics,
    ...validateWorkflow(parsed, {
      externalServers: workspace.mcpConfig?.servers.keys() ?? [],
      toolsOf: (name) => {
        const server = servers.get(name);
        return server ? tools(server) : undefined;
      },
    }),
  ];
  return { path: filePath, file, parsed, ...(parsed.workflow && { workflow: parsed.workflow }), servers, diagnostics, hash: hashText(file.text) };
}
