import type { McpInput } from '../../common/servers';
import type { WorkflowDefinition } from '../../common/workflow/model';
import type { PreparedDefinition } from '../engine/execution';
import { resolveServers, ServerResolutionError } from '../engine/resolve-servers';
import type { ServerSpec } from '../mcp/connection';
import { StepFailure } from '../mcp/errors';
import type { DeclaredServer } from '../workspace/declared-servers';
import type { Workspace } from '../workspace/workspace';
import { codeDefinition } from './execution';

export interface PrepareCode {
  workspace: Workspace;
  /** The path the run records. */
  filePath: string;
  bundle: string;
  definitionHash: string;
  workflow: WorkflowDefinition;
  /** Every server the workflow may call, by name. */
  servers: Map<string, DeclaredServer>;
  /** The run's inputs, for `${{ inputs.x }}` in the workflow's own server definitions. */
  inputs: Record<string, unknown>;
  /** The value of a .vscode/mcp.json `${input:id}`. */
  askInput(input: McpInput): Promise<string | undefined>;
  log?(level: string, text: string): void;
}

/**
 * Makes a compiled workflow ready to run: its own servers resolved now (a problem with one stops the run before
 * it starts, as in YAML); the servers of .vscode/mcp.json resolved when a call first needs them, since the code
 * decides which it calls (one that cannot be resolved fails that call, as ServerStartFailed). `used` fills up
 * with the servers resolved, for the tool cache once the run ends.
 */
export async function prepareCodeDefinition(options: PrepareCode): Promise<{ prepared: PreparedDefinition; used: DeclaredServer[] }> {
  const context = {
    workspaceFolder: options.workspace.folder,
    inputs: options.inputs,
    env: process.env,
    mcpInputs: options.workspace.mcpConfig?.inputs ?? [],
    askInput: options.askInput,
  };
  const own = [...options.servers.values()].filter((s) => s.origin === 'workflow');
  const eager = await resolveServers(own, context);
  const used: DeclaredServer[] = [...own];
  const lazy = new Map<string, Promise<ServerSpec>>();
  const server = (name: string): Promise<ServerSpec> => {
    const ready = eager.get(name);
    if (ready) return Promise.resolve(ready);
    let pending = lazy.get(name);
    if (!pending) {
      const declared = options.servers.get(name);
      pending = declared
        ? resolveServers([declared], context).then(
            (specs) => {
              used.push(declared);
              return specs.get(name)!;
            },
            (error: unknown) => {
              if (error instanceof ServerResolutionError) throw new StepFailure('ServerStartFailed', error.message, { server: name });
              throw error;
            },
          )
        : Promise.reject(
            new StepFailure('UnknownTool', `server '${name}' is neither in the workflow's servers nor in .vscode/mcp.json.${options.servers.size ? ` Servers: ${[...options.servers.keys()].join(', ')}.` : ''}`, { server: name }),
          );
      lazy.set(name, pending);
    }
    return pending;
  };
  const prepared = codeDefinition({
    filePath: options.filePath,
    bundle: options.bundle,
    definitionHash: options.definitionHash,
    workflow: options.workflow,
    servers: eager,
    server,
    ...(options.log && { log: options.log }),
  });
  return { prepared, used };
}
