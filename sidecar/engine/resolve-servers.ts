import { normalizeServerDefinition, substituteVariables, VariableError, type McpInput } from '../../common/servers';
import { EvaluationError, evaluateValue } from '../../common/workflow/evaluate';
import type { ServerSpec } from '../mcp/connection';
import type { DeclaredServer } from '../workspace/declared-servers';
import { userHome } from '../workspace/workspace';

export interface ResolveContext {
  workspaceFolder: string;
  /** The run's inputs, for `${{ inputs.x }}` in a workflow's own server definitions. */
  inputs: Record<string, unknown>;
  env: Readonly<Record<string, string | undefined>>;
  /** The inputs declared by .vscode/mcp.json. */
  mcpInputs: readonly McpInput[];
  /** Asks for the value of an mcp.json `${input:id}`; undefined when it cannot be had. */
  askInput(input: McpInput): Promise<string | undefined>;
}

/** A server definition could not be turned into something to start. */
export class ServerResolutionError extends Error {
  override name = 'ServerResolutionError';
}

/** Resolves declared servers into definitions ready to start: expressions evaluated, `${…}` variables substituted, shape checked. */
export async function resolveServers(servers: DeclaredServer[], context: ResolveContext): Promise<Map<string, ServerSpec>> {
  const inputValues = new Map<string, string | undefined>();
  const resolved = new Map<string, ServerSpec>();
  for (const server of servers) {
    const where = server.file.location(server.range.start);
    let raw: unknown;
    if (server.origin === 'workflow') {
      try {
        raw = evaluateValue(server.declaration.definition, { inputs: context.inputs, env: context.env });
      } catch (error) {
        if (!(error instanceof EvaluationError)) throw error;
        throw new ServerResolutionError(`${server.file.location(error.range.start)}: server '${server.name}': ${error.message}`);
      }
    } else {
      raw = server.raw;
    }
    for (const id of inputReferences(raw)) {
      if (inputValues.has(id)) continue;
      const declared = context.mcpInputs.find((i) => i.id === id);
      if (!declared) throw new ServerResolutionError(`${where}: server '${server.name}' uses \${input:${id}}, but no input '${id}' is declared in the "inputs" of ${server.file.path}.`);
      const value = await context.askInput(declared);
      if (value === undefined) {
        throw new ServerResolutionError(
          `${where}: server '${server.name}' needs the input '${id}'${declared.description ? ` (${declared.description})` : ''}: set ${inputEnvironmentVariable(id)}, or run in a terminal to be asked.`,
        );
      }
      inputValues.set(id, value);
    }
    try {
      raw = substituteVariables(raw, {
        workspaceFolder: context.workspaceFolder,
        userHome: userHome(),
        env: context.env,
        input: (id) => inputValues.get(id),
      });
    } catch (error) {
      if (!(error instanceof VariableError)) throw error;
      throw new ServerResolutionError(`${where}: server '${server.name}' ${error.message}.`);
    }
    const definition = normalizeServerDefinition(raw);
    if ('error' in definition) throw new ServerResolutionError(`${where}: server '${server.name}': ${definition.error}.`);
    resolved.set(server.name, { name: server.name, definition, origin: where });
  }
  return resolved;
}

/** The environment variable that gives the value of an mcp.json input without asking: OPENCONDUCTOR_INPUT_<ID>. */
export function inputEnvironmentVariable(id: string): string {
  return `OPENCONDUCTOR_INPUT_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

function inputReferences(value: unknown): string[] {
  const ids: string[] = [];
  const visit = (v: unknown): void => {
    if (typeof v === 'string') for (const m of v.matchAll(/\$\{input:([^}]+)\}/g)) ids.push(m[1]);
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(value);
  return ids;
}
