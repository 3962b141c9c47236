/**
 * Federation: merges the records of every source into canonical catalog entries.
 *
 * Registry records (official and sub-registries) are grouped with union-find over their
 * identities; each identity is a key from identity.ts, and each is used only where it
 * really names one server:
 *  - the registry name (case-insensitive): every version of a name is one server;
 *  - the package (`npm:…`, `pypi:…`, `oci:…`, `nuget:…`, `mcpb:…`): one package is one
 *    server, whatever names list it (renames such as io.github.pkolawa/mcp-krs-poland);
 *    except launchers that run other servers (mcp-remote…) and any package listed under
 *    more than MAX_SHARED_NAMESPACES namespaces, which then is a launcher too;
 *  - the hosted endpoint (`https://host/path`), except loopback, private, example and
 *    `{placeholder}` URLs, and endpoints shared by more than MAX_SHARED_NAMESPACES namespaces;
 *  - the repository with its subfolder (`github.com/o/r#sub`): a root URL never swallows
 *    servers kept in subfolders, and a repository is no identity at all when one namespace
 *    lists several names under it: its publisher is telling us it holds several servers
 *    (waystation-ai/mcp holds 12, b1ff/atlassian-dc-mcp 3, smithery test copies 2).
 * Name similarity is only a weak signal: it breaks ties for the canonical name and picks
 * among entries sharing a repository when a directory record attaches; it never merges.
 *
 * GitHub and directory (Glama) records never merge registry records: they attach to the
 * entries with their repository (GitHub facts to every server in that repository,
 * directory facts to the one server at that exact repository and subfolder), else they
 * become entries of their own.
 */

import {
  isLocalOrPlaceholderUrl,
  isVerifiedNamespace,
  namespaceOf,
  normalizeRepositoryUrl,
  packageKey,
  remoteKey,
  repositoryOwner,
  repositoryRoot,
  serverPart,
} from './identity';
import type {
  CatalogEntry,
  DirectoryFacts,
  EntrySource,
  Repository,
  RepositoryFacts,
  ServerStatus,
  ServerVersion,
  SourceRecord,
} from './model';
import { scoreTrust } from './trust';

/** Options for a merge. */
export interface MergeOptions {
  /** The sync time, for trust (recent activity). */
  now: Date;
}

/** Beyond this many namespaces, a shared package or endpoint is infrastructure, not identity. */
const MAX_SHARED_NAMESPACES = 3;

/** Packages that launch or proxy other servers, so they identify none. */
const LAUNCHERS = new Set([
  'npm:mcp-remote',
  'npm:supergateway',
  'npm:@smithery/cli',
  'npm:@modelcontextprotocol/inspector',
  'pypi:mcp-proxy',
  'pypi:mcp-remote',
]);

/** A namespace listing servers from this many repository owners republishes others' work (ai.smithery). */
const REPUBLISHER_OWNERS = 3;

type RegistryRecord = Extract<SourceRecord, { kind: 'official' | 'registry' }>;
type GithubRecord = Extract<SourceRecord, { kind: 'github' }>;
type GlamaRecord = Extract<SourceRecord, { kind: 'glama' }>;

/** Identities of one registry record. */
interface Features {
  record: RegistryRecord;
  nameKey: string;
  namespace: string;
  repoKey?: string;
  packageKeys: string[];
  remoteKeys: string[];
}

/** Union-find with path halving and union by size. */
class DisjointSets {
  private readonly parent: Int32Array;
  private readonly size: Int32Array;
  constructor(count: number) {
    this.parent = new Int32Array(count).map((_, i) => i);
    this.size = new Int32Array(count).fill(1);
  }
  find(i: number): number {
    while (this.parent[i] !== i) {
      this.parent[i] = this.parent[this.parent[i]!]!;
      i = this.parent[i]!;
    }
    return i;
  }
  union(a: number, b: number): void {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return;
    if (this.size[ra]! < this.size[rb]!) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.size[ra]! += this.size[rb]!;
  }
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

// Every version repeats its repository and publication time; parsing each once keeps a
// 50,000-record merge well under a second.
const repoKeys = new WeakMap<Repository, string | undefined>();
const published = new WeakMap<ServerVersion, number>();

function repoKeyOf(repository: Repository | undefined): string | undefined {
  if (!repository) return undefined;
  if (repoKeys.has(repository)) return repoKeys.get(repository);
  const key = normalizeRepositoryUrl(repository.url, repository.subfolder);
  repoKeys.set(repository, key);
  return key;
}

function featuresOf(record: RegistryRecord): Features {
  const server = record.server;
  const packageKeys = new Set<string>();
  for (const pkg of server.packages) {
    const key = packageKey(pkg);
    if (key) packageKeys.add(key);
  }
  const remoteKeys = new Set<string>();
  for (const remote of server.remotes) {
    const key = isLocalOrPlaceholderUrl(remote.url) ? undefined : remoteKey(remote.url);
    if (key) remoteKeys.add(key);
  }
  const features: Features = {
    record,
    nameKey: server.name.toLowerCase(),
    namespace: namespaceOf(server.name),
    packageKeys: [...packageKeys],
    remoteKeys: [...remoteKeys],
  };
  const repoKey = repoKeyOf(server.repository);
  if (repoKey) features.repoKey = repoKey;
  return features;
}

/** Groups registry records into servers; returns the groups as lists of indices. */
function groupRecords(features: Features[]): number[][] {
  const namesByRepoNamespace = new Map<string, Set<string>>();
  const namespacesByKey = new Map<string, Set<string>>();
  for (const f of features) {
    if (f.repoKey) addTo(namesByRepoNamespace, `${f.repoKey}\n${f.namespace}`, f.nameKey);
    for (const key of [...f.packageKeys, ...f.remoteKeys]) addTo(namespacesByKey, key, f.namespace);
  }
  const monorepos = new Set<string>();
  for (const [key, names] of namesByRepoNamespace) if (names.size > 1) monorepos.add(key.slice(0, key.indexOf('\n')));
  const weak = (key: string) => LAUNCHERS.has(key) || namespacesByKey.get(key)!.size > MAX_SHARED_NAMESPACES;

  const sets = new DisjointSets(features.length);
  const firstWith = new Map<string, number>();
  const link = (key: string, i: number) => {
    const first = firstWith.get(key);
    if (first === undefined) firstWith.set(key, i);
    else sets.union(first, i);
  };
  features.forEach((f, i) => {
    link(`name:${f.nameKey}`, i);
    if (f.repoKey && !monorepos.has(f.repoKey)) link(`repo:${f.repoKey}`, i);
    for (const key of f.packageKeys) if (!weak(key)) link(key, i);
    for (const key of f.remoteKeys) if (!weak(key)) link(key, i);
  });
  const groups = new Map<number, number[]>();
  features.forEach((_, i) => {
    const root = sets.find(i);
    const group = groups.get(root);
    if (group) group.push(i);
    else groups.set(root, [i]);
  });
  return [...groups.values()];
}

/** Code-unit order: deterministic and far cheaper than locale collation on 50,000 ids. */
function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares versions as semver where they parse (a pre-release sorts before its release), else numerically aware text. */
function compareVersions(a: string, b: string): number {
  const pattern = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+.*)?$/;
  const ma = pattern.exec(a);
  const mb = pattern.exec(b);
  if (!ma || !mb) return a.localeCompare(b, 'en', { numeric: true });
  for (let i = 1; i <= 3; i++) {
    const diff = Number(ma[i] ?? 0) - Number(mb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  if (ma[4] === mb[4]) return 0;
  if (ma[4] === undefined) return 1;
  if (mb[4] === undefined) return -1;
  return ma[4].localeCompare(mb[4], 'en', { numeric: true });
}

function publishedMs(server: ServerVersion): number {
  let ms = published.get(server);
  if (ms === undefined) {
    const parsed = server.publishedAt ? Date.parse(server.publishedAt) : NaN;
    ms = Number.isNaN(parsed) ? -Infinity : parsed;
    published.set(server, ms);
  }
  return ms;
}

/** Newest first: by publication time, then by version. */
function newestFirst(a: ServerVersion, b: ServerVersion): number {
  return publishedMs(b) - publishedMs(a) || compareVersions(b.version, a.version);
}

const STOP_WORDS = new Set(['mcp', 'server', 'servers', 'the', 'model', 'context', 'protocol', 'io', 'github', 'ai', 'com']);

/** Distinctive words of the last part of a name or URL. */
function words(name: string): Set<string> {
  const tail = serverPart(name);
  return new Set(
    tail
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((word) => word && !STOP_WORDS.has(word)),
  );
}

/** Jaccard similarity of two names' distinctive words: the weak signal. */
function nameSimilarity(a: string, b: string): number {
  const wa = words(a);
  const wb = words(b);
  if (wa.size === 0 || wb.size === 0) return 0;
  let shared = 0;
  for (const word of wa) if (wb.has(word)) shared++;
  return shared / (wa.size + wb.size - shared);
}

/** Everything a group knows about one of its names, for choosing the canonical one. */
interface NameInfo {
  name: string;
  versions: ServerVersion[];
  official: boolean;
  verified: boolean;
  stars: number;
  republisher: boolean;
  /** How well the name fits its repository's name; computed only when names compete. */
  similarity: number;
  repoKey: string | undefined;
  newest: number;
}

/** Canonical order: official, verified namespace, stars, first-party publisher, name fits the repository, recency, name. */
function canonicalOrder(a: NameInfo, b: NameInfo): number {
  return (
    Number(b.official) - Number(a.official) ||
    Number(b.verified) - Number(a.verified) ||
    b.stars - a.stars ||
    Number(a.republisher) - Number(b.republisher) ||
    b.similarity - a.similarity ||
    b.newest - a.newest ||
    byText(a.name, b.name)
  );
}

/** The registry's latest: a version that claims it (official first, not deleted), else the newest. */
function chooseLatest(versions: ServerVersion[], official: Set<ServerVersion>): ServerVersion | undefined {
  const live = versions.filter((v) => v.status !== 'deleted');
  const pool = live.length > 0 ? live : versions;
  const claims = pool.filter((v) => v.isLatest);
  const ranked = (claims.length > 0 ? claims : pool).slice().sort((a, b) => Number(official.has(b)) - Number(official.has(a)) || newestFirst(a, b));
  return ranked[0];
}

/** Shared context while building entries. */
interface Context {
  factsByRoot: Map<string, { record: GithubRecord; facts: RepositoryFacts }>;
  ownersByNamespace: Map<string, Set<string>>;
}

function registryEntry(group: Features[], context: Context): Omit<CatalogEntry, 'trust'> {
  // One version per (name, version): the official copy wins over a sub-registry's.
  const byVersion = new Map<string, { server: ServerVersion; official: boolean }>();
  const sources = new Map<string, { source: EntrySource; published: number }>();
  const names = new Map<string, NameInfo>();
  const official = new Set<ServerVersion>();
  for (const f of group) {
    const { record } = f;
    const server = record.server;
    const isOfficial = record.kind === 'official';
    const versionKey = `${f.nameKey}@${server.version}`;
    const existing = byVersion.get(versionKey);
    if (!existing || (isOfficial && !existing.official)) byVersion.set(versionKey, { server, official: isOfficial });

    const sourceKey = `${record.source}\n${f.nameKey}`;
    const seen = sources.get(sourceKey);
    if (!seen || publishedMs(server) > seen.published) {
      sources.set(sourceKey, { source: { source: record.source, kind: record.kind, key: record.key, name: server.name }, published: publishedMs(server) });
    }

    let info = names.get(f.nameKey);
    if (!info) {
      const facts = f.repoKey ? context.factsByRoot.get(repositoryRoot(f.repoKey))?.facts : undefined;
      const owners = context.ownersByNamespace.get(f.namespace);
      info = {
        name: server.name,
        versions: [],
        official: false,
        verified: false,
        stars: facts?.stars ?? 0,
        republisher: (owners?.size ?? 0) >= REPUBLISHER_OWNERS,
        similarity: 0,
        repoKey: f.repoKey,
        newest: -Infinity,
      };
      names.set(f.nameKey, info);
    }
    info.official ||= isOfficial;
    info.verified ||= isVerifiedNamespace(server.name, f.repoKey);
    info.newest = Math.max(info.newest, publishedMs(server));
  }
  for (const { server, official: isOfficial } of byVersion.values()) {
    names.get(server.name.toLowerCase())!.versions.push(server);
    if (isOfficial) official.add(server);
  }

  if (names.size > 1) {
    for (const info of names.values()) if (info.repoKey) info.similarity = nameSimilarity(info.name, repositoryRoot(info.repoKey));
  }
  const ranked = [...names.values()].sort(canonicalOrder);
  const canonical = ranked[0]!;
  const versions = [...byVersion.values()].map((v) => v.server).sort(newestFirst);
  const latest = chooseLatest(canonical.versions, official);
  const repository = latest?.repository ?? versions.find((v) => v.repository)?.repository;
  const status: ServerStatus = versions.every((v) => v.status === 'deleted') ? 'deleted' : latest?.status === 'deprecated' ? 'deprecated' : 'active';

  const entry: Omit<CatalogEntry, 'trust'> = {
    id: canonical.name.toLowerCase(),
    name: canonical.name,
    description: latest?.description || versions.find((v) => v.description)?.description || '',
    versions,
    sources: [...sources.values()].map((s) => s.source).sort(bySourceThenName),
    aliases: ranked.slice(1).map((info) => info.name).sort(),
    status,
    tools: [],
  };
  if (latest) entry.latest = latest;
  if (latest?.title) entry.title = latest.title;
  if (repository) entry.repository = repository;
  if (status === 'deprecated' && latest?.statusMessage) entry.statusMessage = latest.statusMessage;
  const repoKey = repoKeyOf(repository);
  const facts = repoKey ? context.factsByRoot.get(repositoryRoot(repoKey)) : undefined;
  if (facts) attachFacts(entry, facts.record);
  return entry;
}

function bySourceThenName(a: EntrySource, b: EntrySource): number {
  return byText(a.source, b.source) || byText(a.name, b.name);
}

function attachFacts(entry: Omit<CatalogEntry, 'trust'>, record: GithubRecord): void {
  entry.repositoryFacts = record.repository;
  entry.sources.push({ source: record.source, kind: 'github', key: record.key, name: record.repository.fullName, url: record.repository.url });
  if (!entry.description && record.repository.description) entry.description = record.repository.description;
}

function attachDirectory(entry: Omit<CatalogEntry, 'trust'>, record: GlamaRecord): void {
  const directory = record.directory;
  entry.sources.push({ source: record.source, kind: 'glama', key: record.key, name: directoryName(directory), ...(directory.url ? { url: directory.url } : {}) });
  if (entry.directory) return;
  entry.directory = directory;
  if (entry.tools.length === 0) entry.tools = directory.tools;
  if (!entry.description && directory.description) entry.description = directory.description;
}

function directoryName(directory: DirectoryFacts): string {
  return directory.namespace ? `${directory.namespace}/${directory.slug ?? directory.name}` : directory.name;
}

function githubEntry(record: GithubRecord, root: string): Omit<CatalogEntry, 'trust'> {
  const facts = record.repository;
  const entry: Omit<CatalogEntry, 'trust'> = {
    id: `repo:${root}`,
    name: facts.fullName,
    description: '',
    versions: [],
    sources: [],
    aliases: [],
    repository: { url: facts.url, source: 'github' },
    status: 'active',
    tools: [],
  };
  attachFacts(entry, record);
  return entry;
}

function directoryEntry(record: GlamaRecord): Omit<CatalogEntry, 'trust'> {
  const directory = record.directory;
  const entry: Omit<CatalogEntry, 'trust'> = {
    id: `${record.kind}:${directory.id}`,
    name: directoryName(directory),
    description: '',
    versions: [],
    sources: [],
    aliases: [],
    status: 'active',
    tools: [],
  };
  if (directory.repositoryUrl) entry.repository = { url: directory.repositoryUrl };
  attachDirectory(entry, record);
  return entry;
}

/** Newest fetch of each repository, keyed by repository root. */
function githubFactsByRoot(records: GithubRecord[]): Map<string, { record: GithubRecord; facts: RepositoryFacts }> {
  const byRoot = new Map<string, { record: GithubRecord; facts: RepositoryFacts }>();
  for (const record of records) {
    const key = normalizeRepositoryUrl(record.repository.url || `https://github.com/${record.repository.fullName}`);
    if (!key) continue;
    const root = repositoryRoot(key);
    const existing = byRoot.get(root);
    if (!existing || record.fetchedAt > existing.record.fetchedAt) byRoot.set(root, { record, facts: record.repository });
  }
  return byRoot;
}

/** Deduplicates every source's records into canonical catalog entries, each listing its sources and scored for trust. */
export function mergeRecords(records: SourceRecord[], options: MergeOptions): CatalogEntry[] {
  const registry: RegistryRecord[] = [];
  const github: GithubRecord[] = [];
  const glama: GlamaRecord[] = [];
  for (const record of records) {
    if (record.kind === 'github') github.push(record);
    else if (record.kind === 'glama') glama.push(record);
    else registry.push(record);
  }

  const features = registry.map(featuresOf);
  const ownersByNamespace = new Map<string, Set<string>>();
  for (const f of features) {
    const owner = f.repoKey ? repositoryOwner(f.repoKey) : undefined;
    if (owner) addTo(ownersByNamespace, f.namespace, owner);
  }
  const context: Context = { factsByRoot: githubFactsByRoot(github), ownersByNamespace };
  const entries = groupRecords(features).map((group) => registryEntry(group.map((i) => features[i]!), context));

  addUnlistedRepositories(entries, context.factsByRoot);
  if (glama.length > 0) attachDirectories(entries, glama);
  return entries
    .map((entry) => Object.assign(entry, { trust: scoreTrust(entry, options.now) }))
    .sort((a, b) => byText(a.id, b.id));
}

/** GitHub repositories no registry lists become entries of their own. */
function addUnlistedRepositories(entries: Omit<CatalogEntry, 'trust'>[], factsByRoot: Context['factsByRoot']): void {
  if (factsByRoot.size === 0) return;
  const attachedRoots = new Set<string>();
  for (const entry of entries) {
    const key = repoKeyOf(entry.repository);
    if (key && entry.repositoryFacts) attachedRoots.add(repositoryRoot(key));
  }
  for (const [root, { record }] of factsByRoot) if (!attachedRoots.has(root)) entries.push(githubEntry(record, root));
}

/** Directory records attach to the one entry at their exact repository (and subfolder), else become entries. */
function attachDirectories(entries: Omit<CatalogEntry, 'trust'>[], records: GlamaRecord[]): void {
  const byRepoKey = new Map<string, Omit<CatalogEntry, 'trust'>[]>();
  for (const entry of entries) {
    const keys = new Set([entry.repository, ...entry.versions.map((v) => v.repository)].map(repoKeyOf).filter((k): k is string => k !== undefined));
    for (const key of keys) {
      const list = byRepoKey.get(key);
      if (list) list.push(entry);
      else byRepoKey.set(key, [entry]);
    }
  }
  const own = new Map<string, Omit<CatalogEntry, 'trust'>>();
  for (const record of records.slice().sort((a, b) => byText(a.key, b.key))) {
    const key = record.directory.repositoryUrl ? normalizeRepositoryUrl(record.directory.repositoryUrl) : undefined;
    const target = (key ? pickByName(byRepoKey.get(key) ?? [], directoryName(record.directory)) : undefined) ?? own.get(record.directory.id);
    if (target) attachDirectory(target, record);
    else own.set(record.directory.id, directoryEntry(record));
  }
  entries.push(...own.values());
}

/** The only candidate, or the one whose name is clearly the most similar; otherwise none. */
function pickByName<T extends { name: string; aliases: string[] }>(candidates: T[], name: string): T | undefined {
  if (candidates.length <= 1) return candidates[0];
  const scored = candidates
    .map((candidate) => ({ candidate, score: Math.max(...[candidate.name, ...candidate.aliases].map((n) => nameSimilarity(n, name))) }))
    .sort((a, b) => b.score - a.score);
  return scored[0]!.score > 0 && scored[0]!.score > scored[1]!.score ? scored[0]!.candidate : undefined;
}
