/**
 * Which text of a catalog entry is searched, field by field. The full-text index weighs the fields differently;
 * the semantic side keeps only what says what a server does (not who publishes it).
 */
import type { CatalogEntry, ToolSummary } from '../model';

/** The searchable text of one entry. */
export interface SearchDocument {
  /** The server's own part of its name: `kubernetes-mcp-server` of `io.github.containers/kubernetes-mcp-server`. */
  name: string;
  /** The publisher's own labels of the namespace: `containers` of `io.github.containers`, `smithery` of `ai.smithery`. */
  namespace: string;
  title: string;
  /** Own parts of the other names it is listed under. */
  aliases: string;
  description: string;
  /** Tool names. */
  tools: string;
  /** Tool descriptions. */
  toolDescriptions: string;
  /** Repository owner and name, e.g. `containers kubernetes-mcp-server`. */
  repository: string;
}

/** The text of an entry's fields. */
export function searchDocument(entry: CatalogEntry): SearchDocument {
  const tools: ToolSummary[] = [...entry.tools, ...(entry.capabilities?.tools ?? [])];
  const facts = entry.repositoryFacts;
  const description = [entry.description, facts?.description !== entry.description ? facts?.description : undefined, facts?.topics.join(' ')];
  const slash = entry.name.lastIndexOf('/');
  return {
    name: entry.name.slice(slash + 1),
    namespace: slash < 0 ? '' : publisherLabels(entry.name.slice(0, slash)),
    title: entry.title ?? entry.latest?.title ?? '',
    aliases: unique(entry.aliases.filter((a) => a !== entry.name).map((a) => a.slice(a.lastIndexOf('/') + 1))).join(' '),
    description: description.filter(Boolean).join('\n'),
    tools: unique(tools.map((t) => t.name)).join(' '),
    toolDescriptions: unique(tools.flatMap((t) => (t.description ? [t.description] : []))).join('\n'),
    repository: repositoryWords(entry.repository?.url ?? facts?.url),
  };
}

/**
 * A reverse-DNS namespace without its top-level domain and code-hosting labels, which nearly every entry shares
 * (`io`, `ai`, `com`, `github`): they would make a search for `ai` or `github` match half the catalog.
 */
function publisherLabels(namespace: string): string {
  const labels = namespace.split('.');
  return labels
    .slice(labels.length > 1 ? 1 : 0)
    .filter((l, i) => !(i === 0 && HOSTING.has(l)))
    .join('.');
}

const HOSTING = new Set(['github', 'gitlab', 'bitbucket']);

/** `https://github.com/containers/kubernetes-mcp-server.git` → `containers kubernetes-mcp-server`. */
function repositoryWords(url: string | undefined): string {
  const match = url && /^[a-z+]+:\/\/[^/]+\/([^/]+)\/([^/#?]+)/i.exec(url);
  return match ? `${match[1]} ${match[2].replace(/\.git$/, '')}` : '';
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
