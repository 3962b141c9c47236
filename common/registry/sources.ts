import type { SourceKind } from './model';

/**
 * Which registries the catalog is built from. The official registry, GitHub and Glama are on by default;
 * settings add sub-registries (a private or enterprise registry implementing the official API) and may turn
 * any source off. Tokens are never part of a source's settings: a source names the environment variable that
 * holds its token, and the editor passes tokens from its SecretStorage with each sync request.
 */
export interface SourceSettings {
  name: string;
  kind: SourceKind;
  /** Base URL: the registry root (without /v0.1), GitHub's API root, Glama's API root. */
  url: string;
  /** Environment variable holding a bearer token. */
  tokenEnv?: string;
  /** GitHub: repository topics searched (one search per topic). */
  topics?: string[];
  enabled: boolean;
  /** How often the sidecar syncs the source on its own. */
  intervalMinutes: number;
}

/** The sources every catalog starts from. */
export const DEFAULT_SOURCES: readonly SourceSettings[] = [
  { name: 'official', kind: 'official', url: 'https://registry.modelcontextprotocol.io', enabled: true, intervalMinutes: 60 },
  { name: 'github', kind: 'github', url: 'https://api.github.com', tokenEnv: 'GITHUB_TOKEN', topics: ['mcp-server', 'model-context-protocol'], enabled: true, intervalMinutes: 24 * 60 },
  { name: 'glama', kind: 'glama', url: 'https://glama.ai/api/mcp', enabled: true, intervalMinutes: 24 * 60 },
];

const KINDS: SourceKind[] = ['official', 'registry', 'github', 'glama'];
const NAME = /^[a-z0-9][a-z0-9._-]{0,39}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A problem with one source's settings, with the index of the entry it is about. */
export interface SourceSettingsProblem {
  index: number;
  /** The property at fault, if one is. */
  property?: string;
  message: string;
}

/**
 * Reads the `openconductor.registry.sources` setting (a list) over the defaults: an entry with a default's name
 * changes that source, one with a new name adds a source. Invalid entries are left out and reported.
 */
export function resolveSources(setting: unknown): { sources: SourceSettings[]; problems: SourceSettingsProblem[] } {
  const sources = new Map(DEFAULT_SOURCES.map((s) => [s.name, { ...s }]));
  const problems: SourceSettingsProblem[] = [];
  if (setting === undefined || setting === null) return { sources: [...sources.values()], problems };
  if (!Array.isArray(setting)) return { sources: [...sources.values()], problems: [{ index: -1, message: 'must be a list of sources' }] };
  setting.forEach((raw: unknown, index) => {
    const problem = (message: string, property?: string) => problems.push({ index, message, ...(property && { property }) });
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return problem('a source must be an object with name, kind and url');
    const r = raw as Record<string, unknown>;
    if (typeof r.name !== 'string' || !NAME.test(r.name)) return problem('name must be lowercase letters, digits, ".", "_" or "-" (at most 40)', 'name');
    const base = sources.get(r.name);
    const kind = r.kind ?? base?.kind;
    if (typeof kind !== 'string' || !KINDS.includes(kind as SourceKind)) return problem(`kind must be one of ${KINDS.join(', ')}`, 'kind');
    const url = r.url ?? base?.url;
    if (typeof url !== 'string' || !isHttpUrl(url)) return problem('url must be an http(s) URL', 'url');
    if (/^[a-z]+:\/\/[^/]*@/i.test(url)) return problem('url must not hold credentials: put the token in an environment variable and name it in tokenEnv', 'url');
    if (r.tokenEnv !== undefined && (typeof r.tokenEnv !== 'string' || !ENV_NAME.test(r.tokenEnv))) return problem('tokenEnv must be an environment variable name', 'tokenEnv');
    if (r.topics !== undefined && (!Array.isArray(r.topics) || r.topics.some((t) => typeof t !== 'string' || !/^[a-z0-9][a-z0-9-]{0,49}$/.test(t)))) {
      return problem('topics must be a list of GitHub topics (lowercase letters, digits and "-")', 'topics');
    }
    if (r.enabled !== undefined && typeof r.enabled !== 'boolean') return problem('enabled must be true or false', 'enabled');
    if (r.intervalMinutes !== undefined && (typeof r.intervalMinutes !== 'number' || !(r.intervalMinutes >= 5))) return problem('intervalMinutes must be a number of minutes, at least 5', 'intervalMinutes');
    const merged: SourceSettings = {
      name: r.name,
      kind: kind as SourceKind,
      url: url.replace(/\/+$/, ''),
      enabled: (r.enabled as boolean | undefined) ?? base?.enabled ?? true,
      intervalMinutes: (r.intervalMinutes as number | undefined) ?? base?.intervalMinutes ?? 60,
    };
    const tokenEnv = (r.tokenEnv as string | undefined) ?? base?.tokenEnv;
    const topics = (r.topics as string[] | undefined) ?? base?.topics ?? (kind === 'github' ? ['mcp-server', 'model-context-protocol'] : undefined);
    if (tokenEnv) merged.tokenEnv = tokenEnv;
    if (topics) merged.topics = topics;
    sources.set(r.name, merged);
  });
  return { sources: [...sources.values()], problems };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
