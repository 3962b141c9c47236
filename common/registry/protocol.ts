import type { CategoryId } from './categories';
import type { InstallRecipe } from './install';
import type { CatalogEntry, Capabilities, ServerStatus, SourceHealth } from './model';
import type { SearchFilters } from './search/filters';

/** The registry's part of the host's JSON-RPC surface: what the CLI and the editor send and get back. */

export interface RegistrySyncParams {
  /** Source names; all enabled sources when absent. */
  sources?: string[];
  /** Full passes even where an incremental one is possible. */
  full?: boolean;
  /** Tokens by source name, from the editor's SecretStorage (never stored by the sidecar). */
  tokens?: Record<string, string>;
}

/** How each source's sync ended, and the catalog after it. */
export interface RegistrySyncReport {
  results: Array<{
    source: string;
    ok: boolean;
    full: boolean;
    resumed: boolean;
    records: number;
    removed: number;
    skipped: number;
    notes: string[];
    durationMs: number;
    error?: { kind: string; message: string };
  }>;
  /** Canonical entries in the catalog after the sync. */
  entries: number;
  /** Settings problems, as `file:line:col: message`. */
  problems: string[];
}

export interface RegistrySearchParams {
  query: string;
  filters?: SearchFilters;
  limit?: number;
  offset?: number;
  /** Token for the embeddings endpoint, from the editor's SecretStorage. */
  embeddingsToken?: string;
}

/** What a list shows of an entry. */
export interface EntrySummary {
  id: string;
  name: string;
  title?: string;
  description: string;
  status: ServerStatus;
  statusMessage?: string;
  version?: string;
  trust: number;
  sources: string[];
  transports: string[];
  packageTypes: string[];
  hasRemote: boolean;
  stars?: number;
  /** What it is for (categories.ts), derived from its own text. */
  category: CategoryId;
}

export interface RegistrySearchHit extends EntrySummary {
  score: number;
  /** Full-text part of the score (0–1). */
  text: number;
  /** Semantic part (cosine, 0–1). */
  semantic: number;
  matched: string[];
}

export interface RegistrySearchResult {
  hits: RegistrySearchHit[];
  /** Entries in the catalog (before filters). */
  catalog: number;
  /** Entries the filters keep, by category, whatever the query (categories with none left out): a tree lists by category from one request. */
  categories: Partial<Record<CategoryId, number>>;
  /** `lsa`, or the embeddings endpoint used. */
  semantic: string;
  /** The query itself (the catalog was already loaded), embeddings requests included. */
  tookMs: number;
  /** Something the user should know (e.g. the embeddings endpoint failed and LSA was used). */
  notices: string[];
}

export interface RegistryShowParams {
  /** Entry id, registry name or any alias. */
  name: string;
}

/** An entry with everything known about it. */
export interface RegistryEntryDetails {
  entry: CatalogEntry;
  category: CategoryId;
  recipes: InstallRecipe[];
  /** Related by capability. */
  related: Array<EntrySummary & { similarity: number }>;
  /** Used together with this server in the workspace's workflows, blended with capability. */
  usedWith: Array<EntrySummary & { workflows: number }>;
  /** Workflow files of the workspace using this server. */
  usedIn: string[];
}

export interface RegistryIntrospectParams {
  name: string;
  /** Which install recipe (index into the entry's runnable recipes); the first runnable one by default. */
  recipe?: number;
  /** Values for the recipe's inputs (required arguments, environment variables, secrets), by input id. */
  inputs?: Record<string, string>;
  timeoutMs?: number;
}

export interface RegistrySourcesParams {
  tokens?: Record<string, string>;
}

export type { Capabilities, SourceHealth };

/** What `orchestrate` wrote and what is still missing. */
export interface OrchestrateResult {
  file: string;
  servers: Array<{ name: string; from: 'workspace' | 'catalog' | 'missing'; detail: string }>;
  missing: string[];
}
