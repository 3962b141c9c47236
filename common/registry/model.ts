/**
 * The catalog's vocabulary, in the official registry's terms (server.json, packages,
 * remotes, registryType, transport, isLatest, status). Every source is normalised into
 * these shapes; nothing here is invented: a field a source did not give is absent.
 */

/** Lifecycle status as the official registry reports it. */
export type ServerStatus = 'active' | 'deprecated' | 'deleted';

/** Package registries server.json knows (unknown ones are kept as given). */
export type RegistryType = 'npm' | 'pypi' | 'oci' | 'nuget' | 'mcpb' | (string & {});

/** How a client talks to a server. */
export type TransportType = 'stdio' | 'streamable-http' | 'sse';

/** A value the user supplies: an argument, an environment variable or a header. */
export interface Input {
  /** Environment variable or header name; for a named argument, the flag (e.g. `--port`). */
  name?: string;
  description?: string;
  /** Literal value; may hold `{variable}` placeholders described by `variables`. */
  value?: string;
  default?: string;
  /** Example text to show while the user types (2025-10-17 and later). */
  placeholder?: string;
  valueHint?: string;
  format?: string;
  choices?: string[];
  isRequired: boolean;
  isSecret: boolean;
  /** For arguments only. */
  type?: 'positional' | 'named';
  isRepeated?: boolean;
  variables?: Record<string, Input>;
}

/** A transport as server.json describes it (packages: stdio or local http; remotes: http). */
export interface Transport {
  type: TransportType | (string & {});
  url?: string;
  headers?: Input[];
}

/** One way to install and run a server locally. */
export interface Package {
  registryType: RegistryType;
  registryBaseUrl?: string;
  identifier: string;
  version?: string;
  runtimeHint?: string;
  fileSha256?: string;
  transport: Transport;
  runtimeArguments: Input[];
  packageArguments: Input[];
  environmentVariables: Input[];
}

/** A hosted endpoint. */
export interface Remote {
  type: TransportType | (string & {});
  url: string;
  headers: Input[];
  /** Values for `{variable}` placeholders in `url` (2025-12-11 and later). */
  variables?: Record<string, Input>;
}

/** An icon a UI may show (server.json `icons`, https only). */
export interface Icon {
  src: string;
  mimeType?: string;
  sizes?: string[];
  theme?: string;
}

/** Source code location. */
export interface Repository {
  url: string;
  source?: string;
  subfolder?: string;
  id?: string;
}

/** One version of one server, normalised from any server.json shape. */
export interface ServerVersion {
  name: string;
  version: string;
  title?: string;
  description: string;
  websiteUrl?: string;
  icons?: Icon[];
  repository?: Repository;
  packages: Package[];
  remotes: Remote[];
  /** Registry metadata (the `io.modelcontextprotocol.registry/official` block or its older forms). */
  status: ServerStatus;
  statusMessage?: string;
  publishedAt?: string;
  updatedAt?: string;
  isLatest: boolean;
  /** Which server.json schema the entry declared (or `legacy` for the 2025-05 snake_case shape). */
  schema?: string;
}

/** Facts about a repository from GitHub's API. */
export interface RepositoryFacts {
  fullName: string;
  url: string;
  description?: string;
  stars: number;
  forks?: number;
  license?: string;
  archived: boolean;
  pushedAt?: string;
  topics: string[];
  homepage?: string;
}

/** Facts about a server from a community directory (e.g. Glama). */
export interface DirectoryFacts {
  id: string;
  name: string;
  namespace?: string;
  slug?: string;
  description?: string;
  url?: string;
  repositoryUrl?: string;
  license?: string;
  /** Tool names and descriptions the directory lists. */
  tools: ToolSummary[];
  attributes: string[];
  environmentVariables: string[];
}

/** A tool, prompt or resource name with its description. */
export interface ToolSummary {
  name: string;
  description?: string;
}

/** Kinds of source adapter. */
export type SourceKind = 'official' | 'registry' | 'github' | 'glama';

/**
 * One record as a source gave it, normalised. A registry source yields one record per
 * server version; GitHub one per repository; a directory one per listed server.
 */
export type SourceRecord =
  | { source: string; kind: 'official' | 'registry'; key: string; fetchedAt: string; server: ServerVersion }
  | { source: string; kind: 'github'; key: string; fetchedAt: string; repository: RepositoryFacts }
  | { source: string; kind: 'glama'; key: string; fetchedAt: string; directory: DirectoryFacts };

/** Capabilities learnt by starting the server (introspection), only on request. */
export interface Capabilities {
  tools: ToolSummary[];
  prompts: ToolSummary[];
  resources: ToolSummary[];
  serverInfo?: { name: string; version?: string };
  introspectedAt: string;
}

/** One factor behind a trust score. */
export interface TrustFactor {
  /** Stable id, e.g. `official`, `verified-namespace`, `archived`. */
  id: string;
  /** Points it adds (may be negative). */
  points: number;
  /** What was observed, in words a user reads. */
  reason: string;
}

/** A trust score 0–100 with the factors behind it. */
export interface Trust {
  score: number;
  factors: TrustFactor[];
}

/** Where a canonical entry was seen. */
export interface EntrySource {
  source: string;
  kind: SourceKind;
  key: string;
  /** The name this source uses. */
  name: string;
  url?: string;
}

/**
 * A canonical catalog entry: one server, deduplicated across sources and versions.
 * `id` is stable across syncs (derived from the strongest identity available).
 */
export interface CatalogEntry {
  id: string;
  /** Canonical display name (the official registry name where there is one). */
  name: string;
  title?: string;
  description: string;
  /** The latest version (registry `isLatest`), when a registry source lists the server. */
  latest?: ServerVersion;
  /** Every version known, newest first. */
  versions: ServerVersion[];
  sources: EntrySource[];
  /** Other names the same server is listed under. */
  aliases: string[];
  repository?: Repository;
  repositoryFacts?: RepositoryFacts;
  directory?: DirectoryFacts;
  status: ServerStatus;
  statusMessage?: string;
  /** Tool names from introspection, else from a directory listing. */
  tools: ToolSummary[];
  capabilities?: Capabilities;
  trust: Trust;
}

/** How a source is doing, as `registry sources` shows it. */
export interface SourceHealth {
  name: string;
  kind: SourceKind;
  url: string;
  enabled: boolean;
  /** never: not synced yet; ok: last pass completed; failing: last attempt failed (its last good data stays); partial: a pass stopped midway and will resume. */
  state: 'never' | 'ok' | 'failing' | 'partial' | 'syncing';
  records: number;
  lastAttemptAt?: string;
  lastSuccessAt?: string;
  lastDurationMs?: number;
  lastError?: { kind: string; message: string; at: string };
  consecutiveFailures: number;
  /** Facts from the last pass (e.g. a result cap). */
  notes: string[];
  /** Entries of the last pass left out for defects, with a few examples. */
  skipped: number;
  skippedExamples: string[];
  /** A pass stopped midway: the next sync continues from its cursor. */
  resumable: boolean;
  tokenConfigured: boolean;
  /** When the sidecar syncs the source next on its own. */
  nextSyncAt?: string;
}
