import * as path from 'node:path';
import { packageKey, remoteKey } from '../../common/registry/identity';
import type { CatalogEntry } from '../../common/registry/model';
import { normalizeServerDefinition } from '../../common/servers';
import { evaluateValue } from '../../common/workflow/evaluate';
import { calledServers } from '../../common/workflow/graph';
import { parseWorkflow } from '../../common/workflow/parse';
import { isCodeWorkflowFile, loadCodeWorkflow } from '../code-first/load';
import { declaredServers, type DeclaredServer } from '../workspace/declared-servers';
import { findWorkflowFiles } from '../workspace/find-workflows';
import { readWorkflowFile } from '../workspace/load';
import { openWorkspace, type Workspace } from '../workspace/workspace';

/** Which catalog servers the workspace's workflows use, and which they use together. */
export interface WorkspaceUsage {
  /** entry id → entry id → number of workflows using both. */
  coUsage: Map<string, Map<string, number>>;
  /** entry id → workflow files (relative to the workspace) using it. */
  files: Map<string, string[]>;
}

/**
 * Reads every workflow of the workspace and maps the servers it uses to catalog entries by what they run: the
 * npm/PyPI/NuGet package or OCI image of a stdio command, the URL of an http server. A YAML workflow uses the
 * servers its steps call; a code-first one the servers it declares itself (its calls are code).
 */
export async function workspaceUsage(folder: string, entries: CatalogEntry[]): Promise<WorkspaceUsage> {
  const workspace = openWorkspace(folder);
  const identities = identityIndex(entries);
  const coUsage = new Map<string, Map<string, number>>();
  const files = new Map<string, string[]>();
  for (const file of findWorkflowFiles(folder)) {
    let servers: DeclaredServer[];
    try {
      servers = await usedServers(file, workspace);
    } catch {
      continue;
    }
    const ids = [...new Set(servers.map((s) => identityOf(s)).map((key) => key && identities.get(key)).filter((id): id is string => !!id))];
    for (const id of ids) {
      files.set(id, [...(files.get(id) ?? []), path.relative(folder, file)]);
      for (const other of ids) {
        if (other === id) continue;
        const row = coUsage.get(id) ?? new Map<string, number>();
        row.set(other, (row.get(other) ?? 0) + 1);
        coUsage.set(id, row);
      }
    }
  }
  return { coUsage, files };
}

async function usedServers(file: string, workspace: Workspace): Promise<DeclaredServer[]> {
  if (isCodeWorkflowFile(file)) {
    const loaded = await loadCodeWorkflow(file, workspace);
    return [...loaded.servers.values()].filter((s) => s.origin === 'workflow');
  }
  const source = readWorkflowFile(file);
  const { workflow } = parseWorkflow(source);
  if (!workflow) return [];
  const declared = declaredServers(workspace, { file: source, definition: workflow });
  return calledServers(workflow).flatMap((name) => declared.get(name) ?? []);
}

/** Package and remote keys of every version of every entry → entry id. */
function identityIndex(entries: CatalogEntry[]): Map<string, string> {
  const index = new Map<string, string>();
  for (const entry of entries) {
    for (const version of entry.versions) {
      for (const pkg of version.packages) {
        const key = packageKey(pkg);
        if (key && !index.has(key)) index.set(key, entry.id);
      }
      for (const remote of version.remotes) {
        const key = remoteKey(remote.url);
        if (key && !index.has(key)) index.set(key, entry.id);
      }
    }
  }
  return index;
}

/** Flags of `docker run` that take a value (so the value is not the image). */
const DOCKER_VALUE_FLAGS = new Set(['-e', '--env', '-v', '--volume', '-p', '--publish', '--name', '--network', '--mount', '-w', '--workdir', '--env-file', '-u', '--user', '--entrypoint', '--platform', '-l', '--label']);

/** What a declared server runs, as a package or remote key, when that can be read without evaluating expressions. */
export function identityOf(server: DeclaredServer): string | undefined {
  let raw: unknown;
  try {
    raw = server.origin === 'mcp.json' ? server.raw : evaluateValue(server.declaration.definition, {});
  } catch {
    return undefined;
  }
  const definition = normalizeServerDefinition(raw);
  if ('error' in definition) return undefined;
  if (definition.type !== 'stdio') return remoteKey(definition.url);
  const command = path.basename(definition.command).replace(/\.(cmd|exe)$/i, '');
  const args = definition.args;
  const firstPlain = (from = 0) => args.slice(from).find((a) => !a.startsWith('-'));
  switch (command) {
    case 'npx':
    case 'bunx': {
      const spec = firstPlain();
      return spec && packageKey({ registryType: 'npm', identifier: spec });
    }
    case 'uvx':
    case 'pipx': {
      const spec = command === 'pipx' ? firstPlain(args.indexOf('run') + 1) : firstPlain();
      return spec && packageKey({ registryType: 'pypi', identifier: spec });
    }
    case 'dnx': {
      const spec = firstPlain();
      return spec && packageKey({ registryType: 'nuget', identifier: spec.replace(/@.*$/, '') });
    }
    case 'docker':
    case 'podman': {
      const run = args.indexOf('run');
      for (let i = run + 1; run >= 0 && i < args.length; i++) {
        if (DOCKER_VALUE_FLAGS.has(args[i])) i++;
        else if (!args[i].startsWith('-')) return packageKey({ registryType: 'oci', identifier: args[i] });
      }
      return undefined;
    }
    default:
      return undefined;
  }
}
