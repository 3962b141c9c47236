import { stringify } from 'yaml';
import type { RecipeInput, RunnableRecipe } from './install';

/** A server the new workflow uses: already in the workspace (by name), or declared from a catalog recipe. */
export interface TemplateServer {
  key: string;
  /** Absent for a server of .vscode/mcp.json or another workflow: the workflow uses it by name. */
  recipe?: RunnableRecipe;
  /** Tools known without starting the server (tool cache, catalog), first one used for a starter step. */
  tools: Array<{ name: string; description?: string; inputSchema?: Record<string, unknown> }>;
}

/** The workflow text and what the user still has to provide. */
export interface Template {
  text: string;
  /** Environment variables to set, inputs to give, tools to find: each in words. */
  missing: string[];
}

const KEY = /[^A-Za-z0-9_]/g;

interface TemplateInput {
  type: 'string';
  description: string;
  default?: string;
}

/** Parses `orchestrate <name> --with a,b` (the leading word optional). */
export function parseOrchestrateLine(line: string): { name: string; servers: string[] } | { error: string } {
  const match = /^\s*(?:orchestrate\s+)?([A-Za-z0-9][A-Za-z0-9_-]*)\s+--with\s+([^\s]+)\s*$/.exec(line);
  if (!match) return { error: 'write it as: orchestrate <name> --with <server>,<server> (e.g. orchestrate memory-agent --with memory,filesystem)' };
  const servers = [...new Set(match[2].split(',').map((s) => s.trim()).filter(Boolean))];
  if (servers.length === 0) return { error: 'name at least one server after --with' };
  return { name: match[1], servers };
}

/**
 * A starter workflow: catalog servers declared with their recipe (secrets read from environment variables, other
 * required values from workflow inputs), one step per server whose tools are known (its first tool, required
 * arguments taken from inputs), and an approval step when no tool is known yet, so the file is valid as it is.
 */
export function workflowTemplate(name: string, description: string, servers: TemplateServer[]): Template {
  const missing: string[] = [];
  const inputs: Record<string, TemplateInput> = {};
  const declared: Record<string, Record<string, unknown>> = {};
  const steps: Array<Record<string, unknown>> = [];
  for (const server of servers) {
    if (server.recipe) declared[server.key] = declaration(server, inputs, missing);
    const tool = server.tools[0];
    if (!tool) {
      missing.push(`the tools of '${server.key}' are not known yet: list them with \`openconductor servers tools ${server.key}\`, then add its steps`);
      continue;
    }
    const properties = (tool.inputSchema?.properties ?? {}) as Record<string, { description?: string }>;
    const required = Array.isArray(tool.inputSchema?.required) ? (tool.inputSchema.required as string[]) : [];
    const args: Record<string, string> = {};
    for (const arg of required) {
      const id = `${server.key}_${arg}`.replace(KEY, '_');
      inputs[id] = { type: 'string', description: properties[arg]?.description ?? `${arg} for ${server.key}/${tool.name}` };
      args[arg] = `\${{ inputs.${id} }}`;
    }
    steps.push({ id: `${server.key}-${tool.name}`.replace(/[^A-Za-z0-9_-]/g, '-'), server: server.key, tool: tool.name, with: args });
  }
  if (steps.length === 0) steps.push({ id: 'start', approval: { message: `Add the steps of ${name}, then remove this one.` } });
  const workflow = { name, description, ...(Object.keys(inputs).length && { inputs }), ...(Object.keys(declared).length && { servers: declared }), steps };
  const header = `# Created by OpenConductor: orchestrate ${name} --with ${servers.map((s) => s.key).join(',')}\n`;
  return { text: header + stringify(workflow, { lineWidth: 0 }), missing };
}

/** A catalog recipe as a workflow `servers:` entry: secrets from `${env:…}`, other values from workflow inputs. */
function declaration(server: TemplateServer, inputs: Record<string, TemplateInput>, missing: string[]): Record<string, unknown> {
  const recipe = server.recipe!;
  const values = new Map<string, string>();
  for (const input of recipe.inputs) values.set(input.id, valueFor(server.key, input, inputs, missing));
  const fill = (text: string) => text.replace(/\$\{input:([^}]+)\}/g, (_, id: string) => values.get(id) ?? '');
  const fillAll = (record: Record<string, string>) => Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fill(v)]));
  if (recipe.transport === 'stdio' || !recipe.url) return { command: recipe.command, args: recipe.args.map(fill), ...(Object.keys(recipe.env).length && { env: fillAll(recipe.env) }) };
  return { type: recipe.transport === 'sse' ? 'sse' : 'http', url: fill(recipe.url), ...(Object.keys(recipe.headers).length && { headers: fillAll(recipe.headers) }) };
}

function valueFor(key: string, input: RecipeInput, inputs: Record<string, TemplateInput>, missing: string[]): string {
  if (input.isSecret) {
    const variable = input.id.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
    missing.push(`set ${variable} in the environment (${input.description}; a secret of '${key}')`);
    return `\${env:${variable}}`;
  }
  const id = `${key}_${input.id}`.replace(KEY, '_');
  // An optional value gets an empty default, so that the workflow runs without it.
  inputs[id] = { type: 'string', description: input.description, ...(!input.isRequired && { default: '' }) };
  if (input.isRequired) missing.push(`give the input ${id} when you run it (${input.description})`);
  return `\${{ inputs.${id} }}`;
}
