import * as vscode from 'vscode';
import { Requests } from '../common/protocol';
import { SIDECAR_WAIT_MS, type Sidecar } from './sidecar';
import type { WorkflowsView } from './views/workflows';

/** The part of VS Code's MCP API (1.100: `vscode.lm.registerMcpServerDefinitionProvider`) this uses; absent in older hosts. */
interface McpApi {
  lm: { registerMcpServerDefinitionProvider(id: string, provider: { onDidChangeMcpServerDefinitions?: vscode.Event<void>; provideMcpServerDefinitions(): Promise<unknown[]> }): vscode.Disposable };
  McpStdioServerDefinition: new (label: string, command: string, args: string[], env: Record<string, string | number | null>) => unknown;
  McpHttpServerDefinition: new (label: string, uri: vscode.Uri, headers: Record<string, string>) => unknown;
}

/**
 * Offers VS Code's chat the servers that only workflow files declare (their `servers:` blocks); the servers of
 * .vscode/mcp.json VS Code reads itself. The sidecar reads the workflows (the editor does not load the workflow
 * language for this); only definitions without expressions are offered, since one that depends on a run's inputs
 * has no value outside a run. Nothing is offered in an untrusted workspace. Registered only where the host has the API.
 */
export function registerMcpProvider(workflows: WorkflowsView, sidecar: Sidecar): vscode.Disposable | undefined {
  const api = vscode as unknown as Partial<McpApi>;
  if (typeof api.lm?.registerMcpServerDefinitionProvider !== 'function' || !api.McpStdioServerDefinition || !api.McpHttpServerDefinition) return undefined;
  const { McpStdioServerDefinition, McpHttpServerDefinition } = api as McpApi;
  const changed = new vscode.EventEmitter<void>();
  const subscriptions = [workflows.onDidChangeTreeData(() => changed.fire()), vscode.workspace.onDidGrantWorkspaceTrust(() => changed.fire())];
  const registration = api.lm.registerMcpServerDefinitionProvider('openconductor.workflowServers', {
    onDidChangeMcpServerDefinitions: changed.event,
    async provideMcpServerDefinitions() {
      if (!vscode.workspace.isTrusted) return [];
      await sidecar.whenReady(SIDECAR_WAIT_MS);
      const servers = await sidecar.connection!.sendRequest(Requests.servers, undefined);
      return servers.flatMap((server) => {
        const definition = server.origin === 'workflow' ? server.definition : undefined;
        if (!definition) return [];
        const label = `${server.name} (${vscode.workspace.asRelativePath(server.definedIn.replace(/(:\d+){2}$/, ''))})`;
        return definition.type === 'stdio'
          ? [new McpStdioServerDefinition(label, definition.command, definition.args, definition.env)]
          : [new McpHttpServerDefinition(label, vscode.Uri.parse(definition.url), definition.headers)];
      });
    },
  });
  return vscode.Disposable.from(registration, changed, ...subscriptions);
}
