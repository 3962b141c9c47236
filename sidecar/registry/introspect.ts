import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installRecipes, type RunnableRecipe } from '../../common/registry/install';
import type { Capabilities, CatalogEntry, ToolSummary } from '../../common/registry/model';
import type { RegistryIntrospectParams } from '../../common/registry/protocol';
import { cleanText } from '../../common/registry/text';
import type { ServerDefinition } from '../../common/servers';
import { ServerConnection } from '../mcp/connection';
import { RegistryError } from './errors';

const DEFAULT_TIMEOUT_MS = 60_000;
const INPUT = /\$\{input:([^}]+)\}/g;

/**
 * Starts a catalog server from one of its install recipes, in an empty temporary directory and with a startup
 * timeout, asks what it offers (tools, prompts, resources) and stops it. Only ever on an explicit request: this
 * runs code from a registry.
 */
export async function introspect(entry: CatalogEntry, params: RegistryIntrospectParams, clientVersion: string): Promise<Capabilities> {
  const version = entry.latest ?? entry.versions[0];
  const recipes = (version ? installRecipes(version) : []).filter((r): r is RunnableRecipe => r.runnable);
  if (recipes.length === 0) throw new RegistryError(`${entry.name} has no package or remote that can be started here.`, 'refused');
  const index = params.recipe ?? 0;
  const recipe = recipes[index];
  if (!recipe) throw new RegistryError(`${entry.name} has ${recipes.length} runnable recipe(s); --recipe takes 0 to ${recipes.length - 1}.`, 'usage');
  const given = params.inputs ?? {};
  const missing = recipe.inputs.filter((i) => i.isRequired && !given[i.id]);
  if (missing.length > 0) {
    const list = missing.map((i) => `${i.id}${i.isSecret ? ' (secret)' : ''}: ${i.description}`).join('; ');
    throw new RegistryError(`${recipe.label} needs ${list}. Give them with --input <id>=<value> (secrets are best passed from the environment: --input <id>=$VAR).`, 'usage');
  }
  const timeoutMs = params.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const definition = serverDefinition(recipe, given, timeoutMs);
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'openconductor-introspect-'));
  const connection = new ServerConnection({ name: entry.name, definition, origin: `the catalog (${recipe.label})` }, { cwd, clientVersion, defaultStartupTimeoutMs: timeoutMs }, () => undefined);
  try {
    const described = await withTimeout(connection.describe(), timeoutMs, `${entry.name} did not list its capabilities within ${timeoutMs / 1000} s`);
    const summary = (items: Array<{ name: string; description?: string }>): ToolSummary[] =>
      items.slice(0, 500).flatMap((t) => {
        const name = cleanText(t.name, 200);
        const description = cleanText(t.description, 1000);
        return name ? [{ name, ...(description && { description }) }] : [];
      });
    const serverName = described.serverInfo && cleanText(described.serverInfo.name, 200);
    const serverVersion = described.serverInfo && cleanText(described.serverInfo.version, 100);
    return {
      tools: summary(described.tools),
      prompts: summary(described.prompts),
      resources: summary(described.resources),
      ...(serverName && { serverInfo: { name: serverName, ...(serverVersion && { version: serverVersion }) } }),
      introspectedAt: new Date().toISOString(),
    };
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw new RegistryError(`introspecting ${entry.name} (${recipe.label}) failed: ${(error as Error).message}`, 'refused');
  } finally {
    await connection.close().catch(() => undefined);
    connection.kill();
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}

/** The recipe with its inputs filled in; optional values not given are left out (the env var, header or argument). */
function serverDefinition(recipe: RunnableRecipe, given: Record<string, string>, timeoutMs: number): ServerDefinition {
  const fill = (text: string): string | undefined => {
    let complete = true;
    const out = text.replace(INPUT, (_, id: string) => {
      if (given[id] === undefined) complete = false;
      return given[id] ?? '';
    });
    return complete ? out : undefined;
  };
  const fillAll = (record: Record<string, string>) => Object.fromEntries(Object.entries(record).flatMap(([k, v]) => (fill(v) === undefined ? [] : [[k, fill(v)!]])));
  if (recipe.transport === 'stdio' || !recipe.url) {
    return { type: 'stdio', command: recipe.command!, args: recipe.args.flatMap((a) => fill(a) ?? []), env: fillAll(recipe.env), startupTimeoutMs: timeoutMs };
  }
  const url = fill(recipe.url);
  if (url === undefined) throw new RegistryError(`${recipe.label}: its URL needs inputs that were not given`, 'usage');
  return { type: recipe.transport === 'sse' ? 'sse' : 'http', url, headers: fillAll(recipe.headers), startupTimeoutMs: timeoutMs };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new RegistryError(message, 'refused')), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
