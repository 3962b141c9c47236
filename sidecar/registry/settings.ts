import * as fs from 'node:fs';
import * as path from 'node:path';
import { findNodeAtLocation, getNodeValue, parseTree, type Node, type ParseError } from 'jsonc-parser';
import { resolveSources, type SourceSettings } from '../../common/registry/sources';
import { SourceFile } from '../../common/source';
import { displayPath } from '../workspace/workspace';

/** An OpenAI-compatible embeddings endpoint (`POST {url}/embeddings`), used instead of the local LSA vectors. */
export interface EmbeddingsSettings {
  url: string;
  model: string;
  /** Environment variable holding the API key (the editor passes it from SecretStorage instead). */
  tokenEnv?: string;
}

/** The registry's settings and what was wrong with them (as `file:line:col: message`). */
export interface RegistrySettings {
  sources: SourceSettings[];
  embeddings?: EmbeddingsSettings;
  problems: string[];
}

const SOURCES_KEY = 'openconductor.registry.sources';
const EMBEDDINGS_KEY = 'openconductor.registry.embeddings';

/**
 * Reads the registry settings: `openconductor.registry.sources` and `.embeddings` from the workspace's
 * .vscode/settings.json (the editor's own settings file), then $OPENCONDUCTOR_REGISTRY_SOURCES (a JSON list of the
 * same shape, for terminals and CI) over them. A bad entry is reported and left out; the rest still work.
 */
export function readRegistrySettings(workspaceFolder: string, env: NodeJS.ProcessEnv = process.env): RegistrySettings {
  const problems: string[] = [];
  const file = path.join(workspaceFolder, '.vscode', 'settings.json');
  let fromFile: unknown[] = [];
  let locate = (_index: number, _property?: string): string => '';
  let embeddings: EmbeddingsSettings | undefined;
  if (fs.existsSync(file)) {
    const source = new SourceFile(displayPath(file), fs.readFileSync(file, 'utf8'));
    const errors: ParseError[] = [];
    const tree = parseTree(source.text, errors, { allowTrailingComma: true });
    if (!tree || errors.length > 0) problems.push(`${source.location(errors[0]?.offset ?? 0)}: not valid JSON; the registry settings in it were ignored`);
    else {
      const sourcesNode = findNodeAtLocation(tree, [SOURCES_KEY]);
      if (sourcesNode) {
        const value: unknown = getNodeValue(sourcesNode);
        if (Array.isArray(value)) fromFile = value;
        else problems.push(`${source.location(sourcesNode.offset)}: ${SOURCES_KEY}: must be a list of sources`);
        locate = (index, property) => source.location(problemOffset(sourcesNode, index, property));
      }
      const embeddingsNode = findNodeAtLocation(tree, [EMBEDDINGS_KEY]);
      if (embeddingsNode) {
        const parsed = parseEmbeddings(getNodeValue(embeddingsNode));
        if (typeof parsed === 'string') problems.push(`${source.location(embeddingsNode.offset)}: ${EMBEDDINGS_KEY}: ${parsed}`);
        else embeddings = parsed;
      }
    }
  }
  let fromEnv: unknown[] = [];
  if (env.OPENCONDUCTOR_REGISTRY_SOURCES) {
    try {
      const list: unknown = JSON.parse(env.OPENCONDUCTOR_REGISTRY_SOURCES);
      if (Array.isArray(list)) fromEnv = list;
      else problems.push('$OPENCONDUCTOR_REGISTRY_SOURCES: must be a JSON list of sources');
    } catch {
      problems.push('$OPENCONDUCTOR_REGISTRY_SOURCES: not valid JSON; ignored');
    }
  }
  const resolved = resolveSources([...fromFile, ...fromEnv]);
  for (const p of resolved.problems) {
    const where = p.index < fromFile.length ? `${locate(p.index, p.property)}: ${SOURCES_KEY}[${p.index}]` : `$OPENCONDUCTOR_REGISTRY_SOURCES[${p.index - fromFile.length}]`;
    problems.push(`${where}: ${p.message}`);
  }
  return { sources: resolved.sources, problems, ...(embeddings && { embeddings }) };
}

/** Where a problem points: the property of the entry, else the entry, else the setting. */
function problemOffset(node: Node, index: number, property?: string): number {
  const entry = index >= 0 ? node.children?.[index] : undefined;
  if (!entry) return node.offset;
  const prop = property ? findNodeAtLocation(entry, [property]) : undefined;
  return (prop ?? entry).offset;
}

function parseEmbeddings(value: unknown): EmbeddingsSettings | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'must be an object with url and model';
  const r = value as Record<string, unknown>;
  if (typeof r.url !== 'string' || !/^https?:\/\/[^\s]+$/.test(r.url)) return 'url must be an http(s) URL (the API root, e.g. https://api.openai.com/v1)';
  if (typeof r.model !== 'string' || r.model.trim() === '') return 'model must name an embeddings model';
  if (r.tokenEnv !== undefined && (typeof r.tokenEnv !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(r.tokenEnv))) return 'tokenEnv must be an environment variable name';
  return { url: r.url.replace(/\/+$/, ''), model: r.model, ...(typeof r.tokenEnv === 'string' && { tokenEnv: r.tokenEnv }) };
}
