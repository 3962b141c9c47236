import * as fs from 'node:fs';
import * as path from 'node:path';
import { installRecipes } from '../../common/registry/install';
import { mergeRecords } from '../../common/registry/merge';
import type { CatalogEntry, Capabilities, SourceHealth } from '../../common/registry/model';
import type {
  EntrySummary,
  RegistryEntryDetails,
  RegistryIntrospectParams,
  RegistrySearchParams,
  RegistrySearchResult,
  RegistrySyncParams,
  RegistrySyncReport,
} from '../../common/registry/protocol';
import { CatalogSearch, type SerializedCatalogSearch } from '../../common/registry/search/catalog-search';
import { embedCatalog, type EmbeddingProvider } from '../../common/registry/search/embeddings';
import { entryFacets } from '../../common/registry/search/filters';
import { writeFileAtomic } from '../store/atomic-file';
import { CatalogDatabase } from './catalog-db';
import { embeddingsClient } from './embeddings';
import { RegistryError } from './errors';
import { introspect } from './introspect';
import { readRegistrySettings, type RegistrySettings } from './settings';
import { nextSyncAt, sourceHealth, syncSources, type SyncOptions, type SyncProgress } from './sync';
import { workspaceUsage, type WorkspaceUsage } from './usage';
import { Listeners } from '../../common/listeners';

interface Built {
  revision: number;
  entries: CatalogEntry[];
  byId: Map<string, CatalogEntry>;
  /** Lower-cased names and aliases to ids. */
  byName: Map<string, string>;
  search: CatalogSearch;
  /** The index over an embeddings endpoint's vectors, built once per catalog and endpoint. */
  external?: { providerId: string; search: CatalogSearch };
}

export interface RegistryOptions {
  dataDir: string;
  workspaceFolder: string;
  /** The client version servers see when introspected. */
  clientVersion: string;
  /** Read from the workspace (settings.json, environment) when absent. */
  settings?: RegistrySettings;
  now?: () => Date;
  /** Sync tuning (tests shorten timeouts). */
  sync?: Pick<SyncOptions, 'timeoutMs' | 'maxRetryWaitMs' | 'checkpointEveryMs'>;
}

/**
 * The federated catalog of a data directory: syncs its sources into `registry.db`, merges their records into
 * canonical entries and searches them. The catalog and its search index are rebuilt only when the records changed,
 * and the index is saved beside the database so that the next process loads it instead of rebuilding.
 */
export class Registry {
  private built?: Built;
  private syncing: Promise<unknown> = Promise.resolve();
  private readonly progressListeners = new Listeners<SyncProgress>();
  private readonly now: () => Date;

  private constructor(
    private readonly options: RegistryOptions,
    private readonly db: CatalogDatabase,
    readonly settings: RegistrySettings,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** Opens the catalog database of a data directory (empty the first time). */
  static async open(options: RegistryOptions): Promise<Registry> {
    fs.mkdirSync(options.dataDir, { recursive: true });
    const db = await CatalogDatabase.open(path.join(options.dataDir, 'registry.db'));
    const settings = options.settings ?? readRegistrySettings(options.workspaceFolder);
    return new Registry(options, db, db.recovered ? { ...settings, problems: [...settings.problems, db.recovered] } : settings);
  }

  /** Every configured source with its health. */
  sources(tokens?: Record<string, string>): SourceHealth[] {
    const counts = this.db.counts();
    return this.settings.sources.map((s) => sourceHealth(this.db, s, counts, tokens));
  }

  /**
   * Syncs sources (all enabled ones, or those named) concurrently. Syncs asked for while one runs wait for it: a
   * source is never pulled by two passes at once.
   */
  /** Calls `listener` with the progress of every sync, whoever asked for it (views follow scheduled syncs too). */
  onProgress(listener: (progress: SyncProgress) => void): () => void {
    return this.progressListeners.add(listener);
  }

  sync(params: RegistrySyncParams, onProgress?: (progress: SyncProgress) => void): Promise<RegistrySyncReport> {
    const run = this.syncing.then(() => this.syncNow(params, onProgress));
    this.syncing = run.catch(() => undefined);
    return run;
  }

  /** Sources whose interval has passed (or that failed and are due a retry), for the sidecar's own schedule. */
  dueSources(): string[] {
    const now = this.now().getTime();
    return this.settings.sources.filter((s) => s.enabled && (nextSyncAt(s, this.db.state(s.name))?.getTime() ?? 0) <= now).map((s) => s.name);
  }

  private async syncNow(params: RegistrySyncParams, onProgress?: (progress: SyncProgress) => void): Promise<RegistrySyncReport> {
    const known = new Map(this.settings.sources.map((s) => [s.name, s]));
    for (const name of params.sources ?? []) {
      if (!known.has(name)) throw new RegistryError(`no registry source named '${name}'. Sources: ${[...known.keys()].join(', ')}`, 'not-found');
    }
    const chosen = params.sources?.length ? params.sources.map((n) => known.get(n)!) : this.settings.sources.filter((s) => s.enabled);
    const results = await syncSources(this.db, chosen, {
      ...this.options.sync,
      now: this.now,
      ...(params.full && { full: true }),
      ...(params.tokens && { tokens: params.tokens }),
      onProgress: (progress) => {
        onProgress?.(progress);
        this.progressListeners.emit(progress);
      },
    });
    return {
      results: results.map(({ pages: _pages, ...r }) => r),
      entries: this.catalog().entries.length,
      problems: this.settings.problems,
    };
  }

  /** Searches the catalog: full text and semantic similarity, after filters. */
  async search(params: RegistrySearchParams): Promise<RegistrySearchResult> {
    const catalog = this.catalog();
    // Timed from here: loading the catalog is once per process, the query is what the user waits for each time.
    const started = performance.now();
    const notices: string[] = [];
    let search = catalog.search;
    let queryVector: Float32Array | undefined;
    const embeddings = this.settings.embeddings;
    const token = embeddings && (params.embeddingsToken ?? (embeddings.tokenEnv ? process.env[embeddings.tokenEnv] : undefined));
    if (embeddings && params.query.trim()) {
      try {
        const provider = embeddingsClient(embeddings, token);
        search = await this.externalSearch(catalog, provider);
        [queryVector] = await provider.embed([params.query]);
      } catch (error) {
        notices.push(`the embeddings endpoint ${embeddings.url} failed (${(error as Error).message}); semantic ranking used the local LSA vectors instead`);
        search = catalog.search;
        queryVector = undefined;
      }
    }
    const hits = search.search(params.query, {
      ...(params.filters && { filters: params.filters }),
      limit: Math.min(Math.max(params.limit ?? 20, 1), 200),
      ...(params.offset !== undefined && { offset: params.offset }),
      ...(queryVector && { queryVector }),
    });
    if (catalog.entries.length === 0) notices.push('the catalog is empty: run `openconductor registry sync` first');
    return {
      hits: hits.map((h) => ({ ...summarize(catalog.byId.get(h.id)!, search), score: h.score, text: h.text, semantic: h.semantic, matched: h.matched })),
      catalog: catalog.entries.length,
      categories: search.categoryCounts(params.filters),
      semantic: search.semantic,
      tookMs: performance.now() - started,
      notices,
    };
  }

  /** An entry with its install recipes, related servers, and how the workspace uses it. */
  async show(name: string): Promise<RegistryEntryDetails> {
    const catalog = this.catalog();
    const entry = this.find(name);
    const usage = await this.usage(catalog);
    const related = catalog.search.related(entry.id, 8).map((r) => ({ ...summarize(catalog.byId.get(r.id)!, catalog.search), similarity: r.similarity }));
    const usedWith = catalog.search
      .recommend([entry.id], usage.coUsage, 8)
      .filter((r) => r.coUsage > 0)
      .map((r) => ({ ...summarize(catalog.byId.get(r.id)!, catalog.search), workflows: r.coUsage }));
    const version = entry.latest ?? entry.versions[0];
    return { entry, category: catalog.search.category(entry.id), recipes: version ? installRecipes(version) : [], related, usedWith, usedIn: usage.files.get(entry.id) ?? [] };
  }

  /** Starts a server from one of its recipes in a temporary directory, lists its capabilities, stops it; remembered in the catalog. */
  async introspect(params: RegistryIntrospectParams): Promise<Capabilities> {
    const entry = this.find(params.name);
    const capabilities = await introspect(entry, params, this.options.clientVersion);
    this.db.setCapabilities(entry.id, capabilities);
    this.db.checkpoint();
    return capabilities;
  }

  /** The entry with this id, name or alias. */
  find(name: string): CatalogEntry {
    const catalog = this.catalog();
    const id = catalog.byId.has(name) ? name : catalog.byName.get(name.toLowerCase());
    if (id) return catalog.byId.get(id)!;
    const guesses = catalog.search.search(name, { limit: 3 }).map((h) => catalog.byId.get(h.id)!.name);
    const hint = catalog.entries.length === 0 ? ' The catalog is empty: run `openconductor registry sync` first.' : guesses.length ? ` Did you mean ${guesses.join(', ')}?` : '';
    throw new RegistryError(`no server named '${name}' in the catalog.${hint}`, 'not-found');
  }

  /** The merged catalog and its index, rebuilt when the records changed since. */
  catalog(): Built {
    if (this.built && this.built.revision === this.db.revision) return this.built;
    const capabilities = this.db.capabilities();
    const entries = mergeRecords(this.db.records(), { now: this.now() });
    for (const entry of entries) {
      const found = capabilities.get(entry.id);
      if (!found) continue;
      entry.capabilities = found;
      if (entry.tools.length === 0) entry.tools = found.tools;
    }
    const byId = new Map(entries.map((e) => [e.id, e]));
    const byName = new Map<string, string>();
    for (const e of entries) for (const n of [e.name, ...e.aliases]) if (!byName.has(n.toLowerCase())) byName.set(n.toLowerCase(), e.id);
    this.built = { revision: this.db.revision, entries, byId, byName, search: this.loadOrBuildIndex(entries) };
    return this.built;
  }

  /** Closes the database (after a checkpoint). */
  async close(): Promise<void> {
    await this.syncing;
    this.db.close();
  }

  private indexFile(): string {
    return path.join(this.options.dataDir, 'registry-index.json');
  }

  /** The saved index when it is for these entries, else a new one (saved for next time). */
  private loadOrBuildIndex(entries: CatalogEntry[]): CatalogSearch {
    try {
      const saved = JSON.parse(fs.readFileSync(this.indexFile(), 'utf8')) as SerializedCatalogSearch;
      return CatalogSearch.fromJSON(saved, entries);
    } catch {
      const search = CatalogSearch.build(entries);
      try {
        writeFileAtomic(this.indexFile(), Buffer.from(JSON.stringify(search.toJSON())));
      } catch {
        // The saved index only saves time.
      }
      return search;
    }
  }

  /** The catalog indexed with an endpoint's vectors: embedded (what the cache file lacks) and built once per catalog. */
  private async externalSearch(catalog: Built, provider: EmbeddingProvider): Promise<CatalogSearch> {
    if (catalog.external?.providerId === provider.id) return catalog.external.search;
    const vectors = await embedCatalog(catalog.entries, provider, this.embeddingCache(provider.id));
    this.saveEmbeddingCache(provider.id, vectors.vectors);
    const search = CatalogSearch.build(catalog.entries, { embeddings: vectors });
    catalog.external = { providerId: provider.id, search };
    return search;
  }

  private embeddingCacheFile(): string {
    return path.join(this.options.dataDir, 'registry-embeddings.json');
  }

  private embeddingCache(providerId: string): Map<string, Float32Array> {
    try {
      const saved = JSON.parse(fs.readFileSync(this.embeddingCacheFile(), 'utf8')) as { provider: string; vectors: Record<string, number[]> };
      if (saved.provider !== providerId) return new Map();
      return new Map(Object.entries(saved.vectors).map(([k, v]) => [k, Float32Array.from(v)]));
    } catch {
      return new Map();
    }
  }

  private saveEmbeddingCache(providerId: string, vectors: Map<string, Float32Array>): void {
    const body = { provider: providerId, vectors: Object.fromEntries([...vectors].map(([k, v]) => [k, Array.from(v)])) };
    try {
      writeFileAtomic(this.embeddingCacheFile(), Buffer.from(JSON.stringify(body)));
    } catch {
      // A cache.
    }
  }

  private usage(catalog: Built): Promise<WorkspaceUsage> {
    return workspaceUsage(this.options.workspaceFolder, catalog.entries);
  }
}

/** What a list shows of an entry (its category as the index computed it). */
export function summarize(entry: CatalogEntry, search: CatalogSearch): EntrySummary {
  const facets = entryFacets(entry);
  const version = entry.latest ?? entry.versions[0];
  return {
    id: entry.id,
    name: entry.name,
    ...(entry.title && { title: entry.title }),
    description: entry.description,
    status: entry.status,
    ...(entry.statusMessage && { statusMessage: entry.statusMessage }),
    ...(version && { version: version.version }),
    trust: entry.trust.score,
    sources: facets.sources,
    transports: facets.transports,
    packageTypes: facets.packageTypes,
    hasRemote: facets.hasRemote,
    ...(entry.repositoryFacts && { stars: entry.repositoryFacts.stars }),
    category: search.category(entry.id),
  };
}

