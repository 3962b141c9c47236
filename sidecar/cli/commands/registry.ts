import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RegistrySyncProgress } from '../../../common/protocol';
import { CATEGORIES, categoryLabel, isCategoryId } from '../../../common/registry/categories';
import { serverPart } from '../../../common/registry/identity';
import { recipeTarget, toMcpJsonEntry, type InstallRecipe, type RunnableRecipe } from '../../../common/registry/install';
import { addServerToMcpJson, freeServerKey } from '../../../common/registry/mcp-json-edit';
import type { CatalogEntry, ServerStatus } from '../../../common/registry/model';
import type { EntrySummary, RegistryEntryDetails } from '../../../common/registry/protocol';
import type { SearchFilters, TransportKind } from '../../../common/registry/search/filters';
import { writeFileAtomic } from '../../store/atomic-file';
import { displayPath } from '../../workspace/workspace';
import { CommandFailure, EXIT, UsageError } from '../errors';
import { obtainHost, type HostHandle } from '../host-handle';
import { workspaceFor, type GlobalOptions } from '../session';
import { Style, table, timestamp, truncate } from '../style';

/** Runs a registry command against the data directory's host (this process becomes it when none runs). */
async function withRegistry(global: GlobalOptions, command: string, body: (handle: HostHandle) => Promise<number>): Promise<number> {
  const handle = await obtainHost(workspaceFor(undefined, global), command);
  try {
    return await body(handle);
  } finally {
    await handle.close();
  }
}

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export interface SyncCommandOptions {
  source: string[];
  full: boolean;
  json: boolean;
}

/** `openconductor registry sync`: pulls every enabled source (or those named), concurrently, with progress on stderr. */
export async function registrySyncCommand(options: SyncCommandOptions, global: GlobalOptions): Promise<number> {
  return withRegistry(global, 'openconductor registry sync', async (handle) => {
    const err = Style.for(process.stderr, global.color);
    const onProgress = (p: RegistrySyncProgress) => {
      if (options.json) return;
      const what = p.phase === 'started' ? `${p.full ? 'full' : 'incremental'} pass${p.message ? ` (${p.message})` : ''}` : p.phase === 'failed' ? err.red(`failed: ${p.message}`) : p.phase === 'done' ? err.green(`done${p.message ? `, ${p.message}` : ''}`) : `page ${p.pages}`;
      process.stderr.write(`${err.dim(p.source.padEnd(12))} ${String(p.records).padStart(6)} records  ${what}\n`);
    };
    const report = await handle.registry.sync({ ...(options.source.length && { sources: options.source }), ...(options.full && { full: true }) }, onProgress);
    if (options.json) {
      print(JSON.stringify(report, null, 2));
    } else {
      const style = Style.for(process.stdout, global.color);
      for (const problem of report.problems) process.stderr.write(`${err.yellow('warning')}: ${problem}\n`);
      const rows = report.results.map((r) => [
        r.source,
        r.ok ? style.green('ok') : style.red('failed'),
        `${r.full ? 'full' : 'incremental'}${r.resumed ? ', resumed' : ''}`,
        String(r.records),
        String(r.removed),
        String(r.skipped),
        `${(r.durationMs / 1000).toFixed(1)} s`,
        r.error ? `${r.error.message}; its last good data is kept and the next sync continues from where it stopped` : r.notes.join('; '),
      ]);
      print(table(['SOURCE', 'RESULT', 'PASS', 'RECORDS', 'REMOVED', 'SKIPPED', 'TIME', 'NOTES'], rows, style));
      print(`${report.entries} servers in the catalog. Search it with: openconductor registry search <words>`);
    }
    return report.results.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
  });
}

export interface SearchCommandOptions {
  json: boolean;
  limit: string;
  source: string[];
  transport?: string;
  type: string[];
  minTrust?: string;
  remote?: boolean;
  status: string[];
  category: string[];
}

const STATUSES: ServerStatus[] = ['active', 'deprecated', 'deleted'];

/** The search filters of the command line, checked. */
export function searchFilters(options: SearchCommandOptions): SearchFilters {
  const filters: SearchFilters = {};
  if (options.source.length) filters.source = options.source;
  if (options.transport !== undefined) {
    if (options.transport !== 'stdio' && options.transport !== 'http') throw new UsageError(`--transport takes stdio or http, not ${JSON.stringify(options.transport)}.`);
    filters.transport = [options.transport as TransportKind];
  }
  if (options.type.length) filters.packageType = options.type.map((t) => t.toLowerCase());
  if (options.minTrust !== undefined) {
    const n = Number(options.minTrust);
    if (!Number.isFinite(n) || n < 0 || n > 100) throw new UsageError(`--min-trust takes a score from 0 to 100, not ${JSON.stringify(options.minTrust)}.`);
    filters.minTrust = n;
  }
  if (options.remote !== undefined) filters.hasRemote = options.remote;
  if (options.status.length) {
    const bad = options.status.find((s) => !STATUSES.includes(s as ServerStatus));
    if (bad) throw new UsageError(`--status takes ${STATUSES.join(', ')}, not ${JSON.stringify(bad)}.`);
    filters.status = options.status as ServerStatus[];
  }
  if (options.category.length) {
    const bad = options.category.find((c) => !isCategoryId(c));
    if (bad) throw new UsageError(`--category takes ${CATEGORIES.map((c) => c.id).join(', ')}, not ${JSON.stringify(bad)}.`);
    filters.category = options.category;
  }
  return filters;
}

/** `openconductor registry search`: one query over the catalog, full text and meaning combined, after filters. */
export async function registrySearchCommand(words: string[], options: SearchCommandOptions, global: GlobalOptions): Promise<number> {
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new UsageError(`--limit takes a whole number from 1 to 200, not ${JSON.stringify(options.limit)}.`);
  const filters = searchFilters(options);
  return withRegistry(global, 'openconductor registry search', async (handle) => {
    const result = await handle.registry.search({ query: words.join(' '), filters, limit });
    if (options.json) {
      print(JSON.stringify(result, null, 2));
      return EXIT.ok;
    }
    for (const notice of result.notices) process.stderr.write(`note: ${notice}\n`);
    if (result.hits.length === 0) {
      print(result.catalog === 0 ? 'The catalog is empty. Fill it with: openconductor registry sync' : 'No servers match. Try fewer words, or fewer filters.');
      return EXIT.ok;
    }
    const style = Style.for(process.stdout, global.color);
    const width = Math.max(40, (process.stdout.columns ?? 120) - 80);
    const rows = result.hits.map((h) => [nameCell(h, style), trustCell(h.trust, style), h.transports.join(',') || '-', h.sources.join(','), truncate(h.description, width)]);
    print(table(['NAME', 'TRUST', 'TRANSPORT', 'SOURCES', 'DESCRIPTION'], rows, style));
    print(style.dim(`${result.hits.length} of ${result.catalog} servers (${result.semantic} + full text, ${result.tookMs.toFixed(1)} ms). Details: openconductor registry show <name>`));
    return EXIT.ok;
  });
}

function nameCell(h: EntrySummary, style: Style): string {
  if (h.status === 'deprecated') return `${h.name} ${style.yellow('(deprecated)')}`;
  if (h.status === 'deleted') return `${h.name} ${style.red('(deleted)')}`;
  return h.name;
}

function trustCell(score: number, style: Style): string {
  const text = String(score).padStart(3);
  return score >= 70 ? style.green(text) : score >= 40 ? text : style.yellow(text);
}

/** `openconductor registry show`: everything known about one server, and how to install it. */
export async function registryShowCommand(name: string, options: { json: boolean }, global: GlobalOptions): Promise<number> {
  return withRegistry(global, 'openconductor registry show', async (handle) => {
    const details = await handle.registry.show(name);
    if (options.json) print(JSON.stringify(details, null, 2));
    else print(renderDetails(details, Style.for(process.stdout, global.color)));
    return EXIT.ok;
  });
}

/** An entry as text: identity, status, trust with its factors, sources, versions, recipes, tools, related. */
export function renderDetails(details: RegistryEntryDetails, style: Style): string {
  const { entry } = details;
  const lines: string[] = [];
  const heading = (text: string) => lines.push('', style.bold(text));
  lines.push(`${style.bold(entry.name)}${entry.title ? `  ${entry.title}` : ''}`);
  lines.push(entry.description);
  lines.push(style.dim(categoryLabel(details.category)));
  if (entry.status !== 'active') lines.push(style.yellow(`${entry.status}${entry.statusMessage ? `: ${entry.statusMessage}` : ''}`));
  if (entry.aliases.length) lines.push(style.dim(`also listed as ${entry.aliases.join(', ')}`));
  heading(`Trust ${entry.trust.score}/100`);
  for (const f of entry.trust.factors) lines.push(`  ${(f.points >= 0 ? `+${f.points}` : String(f.points)).padStart(4)}  ${f.reason}`);
  heading('Sources');
  for (const s of entry.sources) lines.push(`  ${s.source.padEnd(10)} ${s.name}${s.url ? `  ${style.dim(s.url)}` : ''}`);
  if (entry.repository || entry.repositoryFacts) {
    heading('Repository');
    const facts = entry.repositoryFacts;
    lines.push(`  ${entry.repository?.url ?? facts?.url}${entry.repository?.subfolder ? ` (${entry.repository.subfolder})` : ''}`);
    if (facts) lines.push(`  ${facts.stars} stars${facts.license ? `, ${facts.license}` : ', no license found'}${facts.archived ? ', archived' : ''}${facts.pushedAt ? `, last push ${timestamp(Date.parse(facts.pushedAt))}` : ''}`);
  }
  heading(`Versions (${entry.versions.length})`);
  for (const v of entry.versions.slice(0, 5)) lines.push(`  ${v.version}${v === entry.latest || v.isLatest ? ' (latest)' : ''}${v.status !== 'active' ? ` ${v.status}` : ''}${v.publishedAt ? `  ${style.dim(v.publishedAt.slice(0, 10))}` : ''}`);
  if (entry.versions.length > 5) lines.push(style.dim(`  … ${entry.versions.length - 5} more`));
  heading('Install');
  if (details.recipes.length === 0) lines.push('  No package or remote is listed: see the repository.');
  details.recipes.forEach((r, i) => lines.push(...recipeLines(r, i, style)));
  const tools = entry.capabilities?.tools ?? entry.tools;
  if (tools.length) {
    heading(`Tools (${tools.length})${entry.capabilities ? style.dim(` introspected ${entry.capabilities.introspectedAt.slice(0, 10)}`) : ''}`);
    for (const t of tools.slice(0, 30)) lines.push(`  ${t.name}${t.description ? style.dim(`  ${truncate(t.description, 90)}`) : ''}`);
  } else {
    lines.push('', style.dim(`Tools unknown. List them by starting the server: openconductor registry introspect ${entry.name}`));
  }
  if (details.usedIn.length) {
    heading('Used in this workspace');
    for (const f of details.usedIn) lines.push(`  ${f}`);
  }
  if (details.usedWith.length) {
    heading('Often used with');
    for (const r of details.usedWith) lines.push(`  ${r.name}  ${style.dim(`${r.workflows} workflow(s)`)}`);
  }
  if (details.related.length) {
    heading('Related');
    for (const r of details.related) lines.push(`  ${r.name}  ${style.dim(truncate(r.description, 80))}`);
  }
  return lines.join('\n');
}

function recipeLines(recipe: InstallRecipe, index: number, style: Style): string[] {
  if (!recipe.runnable) return [`  ${index}. ${recipe.label}: ${style.yellow(recipe.problem)}`];
  const lines = [`  ${index}. ${recipe.label}`, `     ${recipeTarget(recipe)}`];
  for (const [k, v] of Object.entries(recipe.env)) lines.push(`     env ${k}=${v}`);
  for (const [k, v] of Object.entries(recipe.headers)) lines.push(`     header ${k}: ${v}`);
  for (const input of recipe.inputs) lines.push(style.dim(`     needs ${input.id}${input.isSecret ? ' (secret)' : ''}${input.isRequired ? '' : ' (optional)'}: ${input.description}`));
  for (const note of recipe.notes) lines.push(style.dim(`     note: ${note}`));
  return lines;
}

/** `openconductor registry sources`: each source's health, record count and last sync. */
export async function registrySourcesCommand(options: { json: boolean }, global: GlobalOptions): Promise<number> {
  return withRegistry(global, 'openconductor registry sources', async (handle) => {
    const sources = await handle.registry.sources();
    if (options.json) {
      print(JSON.stringify(sources, null, 2));
      return EXIT.ok;
    }
    const style = Style.for(process.stdout, global.color);
    const state = (s: string) => (s === 'ok' ? style.green(s) : s === 'failing' ? style.red(s) : s === 'partial' ? style.yellow(s) : s);
    const rows = sources.map((s) => [
      s.name,
      s.kind,
      s.enabled ? state(s.state) : style.dim('disabled'),
      String(s.records),
      s.lastSuccessAt ? timestamp(Date.parse(s.lastSuccessAt)) : '-',
      s.lastError ? truncate(s.lastError.message, 70) : [...s.notes, s.skipped ? `${s.skipped} invalid entries skipped` : ''].filter(Boolean).join('; '),
    ]);
    print(table(['SOURCE', 'KIND', 'STATE', 'RECORDS', 'LAST SYNC', 'NOTES'], rows, style));
    return EXIT.ok;
  });
}

export interface IntrospectCommandOptions {
  json: boolean;
  recipe?: string;
  input: string[];
  timeout: string;
}

/** `openconductor registry introspect`: starts a server in a temporary folder and lists its tools, prompts and resources. */
export async function registryIntrospectCommand(name: string, options: IntrospectCommandOptions, global: GlobalOptions): Promise<number> {
  const inputs = keyValues(options.input, '--input');
  const timeout = Number(options.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError(`--timeout takes seconds, not ${JSON.stringify(options.timeout)}.`);
  const recipe = options.recipe === undefined ? undefined : Number(options.recipe);
  if (recipe !== undefined && !Number.isInteger(recipe)) throw new UsageError(`--recipe takes a recipe number from 'registry show', not ${JSON.stringify(options.recipe)}.`);
  return withRegistry(global, 'openconductor registry introspect', async (handle) => {
    if (!options.json) process.stderr.write(`Starting ${name} in a temporary folder (this runs its code) …\n`);
    const capabilities = await handle.registry.introspect({ name, inputs, timeoutMs: timeout * 1000, ...(recipe !== undefined && { recipe }) });
    if (options.json) {
      print(JSON.stringify(capabilities, null, 2));
      return EXIT.ok;
    }
    const style = Style.for(process.stdout, global.color);
    for (const [title, items] of [['Tools', capabilities.tools], ['Prompts', capabilities.prompts], ['Resources', capabilities.resources]] as const) {
      print(style.bold(`${title} (${items.length})`));
      for (const t of items) print(`  ${t.name}${t.description ? style.dim(`  ${truncate(t.description, 90)}`) : ''}`);
    }
    return EXIT.ok;
  });
}

export interface AddCommandOptions {
  recipe?: string;
  key?: string;
  replace: boolean;
}

/** `openconductor registry add`: writes a server into .vscode/mcp.json (comments kept); values it needs become inputs. */
export async function registryAddCommand(name: string, options: AddCommandOptions, global: GlobalOptions): Promise<number> {
  const workspace = workspaceFor(undefined, global);
  return withRegistry(global, 'openconductor registry add', async (handle) => {
    const details = await handle.registry.show(name);
    const runnable = details.recipes.filter((r): r is RunnableRecipe => r.runnable);
    const index = options.recipe === undefined ? 0 : Number(options.recipe);
    const recipe = runnable[index];
    if (!recipe) {
      if (runnable.length === 0) throw new CommandFailure(`${details.entry.name} has no package or remote that can be installed: ${details.recipes.map((r) => (r.runnable ? r.label : `${r.label}: ${r.problem}`)).join('; ') || 'none listed'}.`);
      throw new UsageError(`--recipe takes 0 to ${runnable.length - 1} (see openconductor registry show ${details.entry.name}).`);
    }
    const file = path.join(workspace.folder, '.vscode', 'mcp.json');
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    const wanted = options.key ?? defaultKey(details.entry);
    const key = options.replace ? wanted : freeServerKey(text, wanted);
    const result = addServerToMcpJson(text, toMcpJsonEntry(recipe, key), { replace: true });
    if ('error' in result) throw new CommandFailure(`${displayPath(file)}: ${result.error}`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, Buffer.from(result.text));
    print(`Added '${result.key}' (${recipe.label}) to ${displayPath(file)}.`);
    for (const id of result.addedInputs) print(`  input ${id}: asked when the server starts (secrets are never written to the file)`);
    for (const id of result.reusedInputs) print(`  input ${id}: already declared, reused`);
    return EXIT.ok;
  });
}

/** A server key for mcp.json: the last part of the name (`io.github.x/brave-search` → `brave-search`). */
function defaultKey(entry: CatalogEntry): string {
  return serverPart(entry.name).toLowerCase();
}

function keyValues(values: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} takes id=value, not ${JSON.stringify(value)}.`);
    out[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return out;
}


/** `openconductor orchestrate <name> --with a,b`: a starter workflow over those servers, and what it still needs. */
export async function orchestrateCommand(name: string, options: { with: string; json: boolean }, global: GlobalOptions): Promise<number> {
  return withRegistry(global, 'openconductor orchestrate', async (handle) => {
    const result = await handle.registry.orchestrate(`${name} --with ${options.with}`);
    if (options.json) {
      print(JSON.stringify(result, null, 2));
      return EXIT.ok;
    }
    const style = Style.for(process.stdout, global.color);
    print(`Wrote ${displayPath(result.file)}.`);
    for (const s of result.servers) print(`  ${s.name}: ${s.from === 'missing' ? style.red('not found') : s.from === 'workspace' ? `the workspace's (${s.detail})` : `from the catalog: ${s.detail}`}`);
    if (result.missing.length) {
      print(style.bold('Still missing:'));
      for (const m of result.missing) print(`  - ${m}`);
    }
    return result.servers.some((s) => s.from === 'missing') ? EXIT.failed : EXIT.ok;
  });
}
