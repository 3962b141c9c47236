import * as path from 'node:path';
import { normalizeServerDefinition, type ServerDefinition } from '../../common/servers';
import { resolveInputs } from '../../common/workflow/inputs';
import type { ValueTemplate } from '../../common/workflow/model';
import { parseWorkflow } from '../../common/workflow/parse';
import { isCodeWorkflowFile, loadCodeWorkflow } from '../code-first/load';
import { declaredServers, type DeclaredServer } from './declared-servers';
import { findWorkflowFiles } from './find-workflows';
import { readWorkflowFile } from './load';
import type { Workspace } from './workspace';

/** Every server the workspace knows: .vscode/mcp.json, then each workflow file's own `servers:` (a file that cannot be read or compiled adds none). */
export async function allServers(workspace: Workspace): Promise<DeclaredServer[]> {
  const list = [...declaredServers(workspace).values()];
  for (const file of findWorkflowFiles(workspace.folder)) list.push(...(await ownServers(file, workspace).catch(() => ({ servers: [] }))).servers);
  return list;
}

/** The servers a workflow file declares itself (YAML's `servers:`, a code-first workflow's `servers` option), with its default inputs. */
export async function ownServers(file: string, workspace: Workspace): Promise<{ servers: DeclaredServer[]; inputs: Record<string, unknown> }> {
  if (isCodeWorkflowFile(file)) {
    const loaded = await loadCodeWorkflow(file, workspace);
    if (!loaded.workflow) return { servers: [], inputs: {} };
    return { servers: [...loaded.servers.values()].filter((s) => s.origin === 'workflow'), inputs: resolveInputs(loaded.workflow, {}).values };
  }
  const source = readWorkflowFile(file);
  const parsed = parseWorkflow(source);
  if (!parsed.workflow) return { servers: [], inputs: {} };
  return { servers: [...declaredServers({ ...workspace, mcpConfig: undefined }, { file: source, definition: parsed.workflow }).values()], inputs: resolveInputs(parsed.workflow, {}).values };
}

/**
 * The server a name means outside a run: the given workflow's own, else .vscode/mcp.json's, else the first workflow
 * of the workspace declaring it; with the default inputs of its workflow (its definition may use them).
 */
export async function findServer(workspace: Workspace, name: string, file?: string): Promise<{ server: DeclaredServer; inputs: Record<string, unknown> } | undefined> {
  let candidates = [...declaredServers(workspace).values()].filter((s) => s.name === name);
  let inputs: Record<string, unknown> = {};
  if (file || candidates.length === 0) {
    const files = file ? [path.resolve(file)] : findWorkflowFiles(workspace.folder);
    for (const f of files) {
      const own = await ownServers(f, workspace);
      const found = own.servers.find((s) => s.name === name);
      if (found) {
        candidates = [found];
        inputs = own.inputs;
        break;
      }
    }
  }
  return candidates[0] && { server: candidates[0], inputs };
}

/** A workflow server's definition when it has no expressions (one that uses a run's inputs has no value outside a run). */
export function staticDefinition(server: DeclaredServer): ServerDefinition | undefined {
  if (server.origin !== 'workflow') return undefined;
  const template = server.declaration.definition;
  // The parser precomputes the value of objects and arrays without any `${{ }}` inside.
  const raw = template.kind === 'literal' ? template.value : template.kind === 'template' ? undefined : template.constant?.value;
  if (raw === undefined) return undefined;
  const definition = normalizeServerDefinition(raw);
  return 'error' in definition ? undefined : definition;
}

/** A server's transport and command line or URL, as written (expressions shown as their source). */
export function describeServer(server: DeclaredServer): { type: string; target: string } {
  if (server.origin === 'workflow') {
    const definition = server.declaration.definition;
    const field = (key: string): ValueTemplate | undefined => (definition.kind === 'object' ? definition.entries.find((e) => e.key === key)?.value : undefined);
    const text = (value: ValueTemplate | undefined): string => {
      if (!value) return '';
      if (value.kind === 'literal') return String(value.value);
      if (value.kind === 'array') return value.items.map(text).join(' ');
      return server.file.text.slice(value.range.start, value.range.end);
    };
    const url = field('url');
    const type = text(field('type')) || (url ? 'http' : 'stdio');
    return { type, target: url ? text(url) : [text(field('command')), text(field('args'))].filter(Boolean).join(' ') };
  }
  const definition = normalizeServerDefinition(server.raw);
  if ('error' in definition) return { type: '?', target: `invalid: ${definition.error}` };
  return definition.type === 'stdio' ? { type: 'stdio', target: [definition.command, ...definition.args].join(' ') } : { type: definition.type, target: definition.url };
}

