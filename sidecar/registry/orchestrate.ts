import * as fs from 'node:fs';
import * as path from 'node:path';
import { serverPart } from '../../common/registry/identity';
import type { RunnableRecipe } from '../../common/registry/install';
import { installRecipes } from '../../common/registry/install';
import type { OrchestrateResult } from '../../common/registry/protocol';
import { parseOrchestrateLine, workflowTemplate, type TemplateServer } from '../../common/registry/workflow-template';
import { writeFileAtomic } from '../store/atomic-file';
import { findServer } from '../workspace/workspace-servers';
import { displayPath, type Workspace } from '../workspace/workspace';
import { RegistryError } from './errors';
import type { Registry } from './registry';

/**
 * `orchestrate <name> --with a,b`: resolves each server (the workspace's own by name, else the catalog's by name,
 * alias or best search hit), writes `<name>.workflow.yaml` from a template, and says what is still missing.
 */
export async function orchestrate(line: string, workspace: Workspace, registry: Registry): Promise<OrchestrateResult> {
  const plan = parseOrchestrateLine(line);
  if ('error' in plan) throw new RegistryError(plan.error, 'usage');
  const file = path.join(workspace.folder, `${plan.name}.workflow.yaml`);
  if (fs.existsSync(file)) throw new RegistryError(`${displayPath(file)} exists already; choose another name (nothing was written)`, 'refused');
  const servers: TemplateServer[] = [];
  const resolved: OrchestrateResult['servers'] = [];
  const missing: string[] = [];
  for (const name of plan.servers) {
    const own = await findServer(workspace, name);
    if (own) {
      servers.push({ key: name, tools: workspace.toolCache.get(name, own.server.hash) ?? [] });
      resolved.push({ name, from: 'workspace', detail: own.server.file.location(own.server.range.start) });
      continue;
    }
    const entry = catalogEntry(registry, name);
    const version = entry && (entry.latest ?? entry.versions[0]);
    const recipe = version && installRecipes(version).find((r): r is RunnableRecipe => r.runnable);
    if (!entry || !recipe) {
      missing.push(entry ? `'${name}' (${entry.name}) has no package or remote that can be installed` : `no server '${name}' in the workspace or the catalog (sync it with \`openconductor registry sync\`)`);
      resolved.push({ name, from: 'missing', detail: entry?.name ?? '' });
      continue;
    }
    // A workflow's server names hold only letters, digits, '_', '.' and '-': a registry name becomes its last part.
    const key = /^[A-Za-z0-9_.-]+$/.test(name) ? name : serverPart(entry.name).replace(/[^A-Za-z0-9_.-]/g, '-');
    servers.push({ key, recipe, tools: entry.capabilities?.tools ?? entry.tools });
    resolved.push({ name, from: 'catalog', detail: `${entry.name} (${recipe.label}, trust ${entry.trust.score})` });
  }
  const template = workflowTemplate(plan.name, `Uses ${plan.servers.join(', ')}.`, servers);
  writeFileAtomic(file, Buffer.from(template.text));
  return { file, servers: resolved, missing: [...missing, ...template.missing] };
}

/** The catalog entry a short name means: exact name or alias, else the best search hit naming it. */
function catalogEntry(registry: Registry, name: string) {
  try {
    return registry.find(name);
  } catch {
    const catalog = registry.catalog();
    const hit = catalog.search.search(name, { limit: 5 }).find((h) => catalog.byId.get(h.id)!.name.toLowerCase().includes(name.toLowerCase()));
    return hit && catalog.byId.get(hit.id);
  }
}
