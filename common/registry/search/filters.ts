/**
 * Filters applied before ranking: each entry's facets are computed once, as posting lists per facet value and
 * flat arrays, so that a filter costs one pass over a byte array per query, whatever the catalog.
 */
import type { CatalogEntry, ServerStatus } from '../model';

/** How a client reaches the server: a local process, or over HTTP (streamable HTTP or SSE). */
export type TransportKind = 'stdio' | 'http';

/** What to keep; every given condition must hold, and within a list any value may. */
export interface SearchFilters {
  /** Source names (`entry.sources[].source`), e.g. `official`. */
  source?: string[];
  transport?: TransportKind[];
  /** Package registry types, e.g. `npm`, `pypi`, `oci`, `nuget`, `mcpb`. */
  packageType?: string[];
  minTrust?: number;
  /** true: only servers with a hosted endpoint; false: only those without. */
  hasRemote?: boolean;
  /** Statuses shown; by default active and deprecated (deprecated ones are flagged on each hit), never deleted. */
  status?: ServerStatus[];
}

/** An entry's facets, as filters see them. */
export interface EntryFacets {
  sources: string[];
  transports: TransportKind[];
  packageTypes: string[];
  hasRemote: boolean;
}

/** The facets of an entry, from its latest version (else its newest). */
export function entryFacets(entry: CatalogEntry): EntryFacets {
  const version = entry.latest ?? entry.versions[0];
  const packages = version?.packages ?? [];
  const remotes = version?.remotes ?? [];
  const transports = new Set<TransportKind>();
  for (const type of [...packages.map((p) => p.transport.type), ...remotes.map((r) => r.type)]) {
    transports.add(type === 'stdio' ? 'stdio' : 'http');
  }
  return {
    sources: [...new Set(entry.sources.map((s) => s.source))],
    transports: [...transports],
    packageTypes: [...new Set(packages.map((p) => p.registryType))],
    hasRemote: remotes.length > 0,
  };
}

const STATUSES: ServerStatus[] = ['active', 'deprecated', 'deleted'];
const DEFAULT_STATUSES: ServerStatus[] = ['active', 'deprecated'];

/** Precomputed facets of a whole catalog, entries numbered by position. */
export class FacetTable {
  private readonly postings = new Map<string, number[]>();
  private readonly status: Uint8Array;
  private readonly remote: Uint8Array;
  readonly trust: Float32Array;

  constructor(entries: CatalogEntry[]) {
    this.status = Uint8Array.from(entries, (e) => Math.max(0, STATUSES.indexOf(e.status)));
    this.trust = Float32Array.from(entries, (e) => e.trust.score);
    this.remote = new Uint8Array(entries.length);
    entries.forEach((entry, i) => {
      const facets = entryFacets(entry);
      this.remote[i] = facets.hasRemote ? 1 : 0;
      for (const s of facets.sources) this.post(`source:${s}`, i);
      for (const t of facets.transports) this.post(`transport:${t}`, i);
      for (const p of facets.packageTypes) this.post(`package:${p}`, i);
    });
  }

  /** 1 for each entry the filters keep, 0 for the others (a fresh array: the caller may change it). */
  mask(filters: SearchFilters = {}): Uint8Array {
    const n = this.status.length;
    const keep = new Uint8Array(n);
    const shown = new Uint8Array(STATUSES.length);
    for (const s of filters.status ?? DEFAULT_STATUSES) shown[STATUSES.indexOf(s)] = 1;
    const minTrust = filters.minTrust ?? -Infinity;
    const remote = filters.hasRemote === undefined ? -1 : filters.hasRemote ? 1 : 0;
    for (let i = 0; i < n; i++) keep[i] = shown[this.status[i]] & (this.trust[i] >= minTrust ? 1 : 0) & (remote < 0 || this.remote[i] === remote ? 1 : 0);
    this.intersect(keep, 'source', filters.source);
    this.intersect(keep, 'transport', filters.transport);
    this.intersect(keep, 'package', filters.packageType);
    return keep;
  }

  /** Keeps only entries in the union of the given values' posting lists. */
  private intersect(keep: Uint8Array, facet: string, values: string[] | undefined): void {
    if (!values) return;
    const any = new Uint8Array(keep.length);
    for (const value of values) for (const i of this.postings.get(`${facet}:${value}`) ?? []) any[i] = 1;
    for (let i = 0; i < keep.length; i++) keep[i] &= any[i];
  }

  private post(key: string, i: number): void {
    const list = this.postings.get(key);
    if (list) list.push(i);
    else this.postings.set(key, [i]);
  }
}
