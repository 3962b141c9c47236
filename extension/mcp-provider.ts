import * as vscode from 'vscode';
import { normalizeServerDefinition } from '../common/servers';
import { SourceFile } from '../common/source';
import { evaluateValue } from '../common/workflow/evaluate';
import { parseWorkflow } from '../common/workflow/parse';
import type { WorkflowsView } from './views/workflows';

/** The part of VS Code's MCP API (1.100: `vscode.lm.registerMcpServerDefinitionProvider`) this uses; absent in older hosts. */
interface McpApi {
  lm: { registerMcpServerDefinitionProvider(id: string, provider: { onDidChangeMcpServerDefinitions?: vscode.Event<void>; provideMcpServerDefinitions(): Promise<unknown[]> }): vscode.Disposable };
  McpStdioServerDefinition: new (label: string, command: string, args: string[], env: Record<string, string | number | null>) => unknown;
  McpHttpServerDefinition: new (label: string, uri: vscode.Uri, headers: Record<string, string>) => unknown;
}

/**
 * Offers VS Code's chat the servers that only workflow files declare (their `servers:` blocks); the servers of
 * .vscode/mcp.json VS Code reads itself. Only definitions without expressions are offered: one that depends on a
 * run's inputs has no value outside a run. Registered only where the host has the API.
 */
export function registerMcpProvider(workflows: WorkflowsView): vscode.Disposable | undefined {
  const api = vscode as unknown as Partial<McpApi>;
  if (typeof api.lm?.registerMcpServerDefinitionProvider !== 'function' || !api.McpStdioServerDefinition || !api.McpHttpServerDefinition) return undefined;
  const { McpStdioServerDefinition, McpHttpServerDefinition } = api as McpApi;
  const changed = new vscode.EventEmitter<void>();
  const subscription = workflows.onDidChangeTreeData(() => changed.fire());
  const registration = api.lm.registerMcpServerDefinitionProvider('openconductor.workflowServers', {
    onDidChangeMcpServerDefinitions: changed.event,
    async provideMcpServerDefinitions() {
      const out: unknown[] = [];
      const seen = new Set<string>();
      for (const uri of await workflows.list()) {
        if (!/\.ya?ml$/.test(uri.fsPath)) continue;
        const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
        const { workflow } = parseWorkflow(new SourceFile(uri.fsPath, text));
        for (const declaration of workflow?.servers ?? []) {
          let raw: unknown;
          try {
            raw = evaluateValue(declaration.definition, {});
          } catch {
            continue;
          }
          const definition = normalizeServerDefinition(raw);
          if ('error' in definition || seen.has(declaration.name)) continue;
          seen.add(declaration.name);
          const label = `${declaration.name} (${vscode.workspace.asRelativePath(uri)})`;
          if (definition.type === 'stdio') {
            out.push(new McpStdioServerDefinition(label, definition.command, definition.args, definition.env));
          } else {
            out.push(new McpHttpServerDefinition(label, vscode.Uri.parse(definition.url), definition.headers));
          }
        }
      }
      return out;
    },
  });
  return vscode.Disposable.from(registration, subscription, changed);
}
