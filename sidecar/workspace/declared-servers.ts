import type { SourceFile, Range } from '../../common/source';
import type { ServerDeclaration, WorkflowDefinition } from '../../common/workflow/model';
import { hashText, type Workspace } from './workspace';

/** A server as declared (not yet resolved): in a workflow's `servers:` block or in .vscode/mcp.json. */
export type DeclaredServer =
  | { name: string; origin: 'workflow'; file: SourceFile; range: Range; hash: string; declaration: ServerDeclaration }
  | { name: string; origin: 'mcp.json'; file: SourceFile; range: Range; hash: string; raw: unknown };

/** The servers a workflow can use, by name: its own `servers:` first, then the workspace's .vscode/mcp.json. */
export function declaredServers(workspace: Workspace, workflow?: { file: SourceFile; definition?: WorkflowDefinition }): Map<string, DeclaredServer> {
  const servers = new Map<string, DeclaredServer>();
  for (const declaration of workflow?.definition?.servers ?? []) {
    const { start, end } = declaration.definition.range;
    servers.set(declaration.name, {
      name: declaration.name,
      origin: 'workflow',
      file: workflow!.file,
      range: declaration.range,
      hash: hashText(workflow!.file.text.slice(start, end)),
      declaration,
    });
  }
  const config = workspace.mcpConfig;
  for (const [name, entry] of config?.servers ?? []) {
    if (servers.has(name)) continue;
    servers.set(name, { name, origin: 'mcp.json', file: config!.file, range: entry.range, hash: hashText(JSON.stringify(entry.raw)), raw: entry.raw });
  }
  return servers;
}
