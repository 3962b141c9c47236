/**
 * Filters applied before ranking: each entry's facets are computed once, as posting lists per facet value and
 * flat arrays, so that a filter costs one pass over a byte array per query, whatever the catalog.
 */
import { CATEGORIES, type CategoryId } from '../categories';
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
  /** Category ids (see categories.ts), e.g. `databases`. */
  category?: string[];
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
const CATEGORY_INDEX = new Map<string, number>(CATEGORIES.map((c, i) => [c.id, i]));
const OTHER = CATEGORY_INDEX.get('other')!;
const DEFAULT_STATUSES: ServerStatus[] = ['active', 'deprecated'];

/** Precomputed facets of a whole catalog, entries numbered by position. */
export class FacetTable {
  private readonly postings = new Map<string, number[]>();
  private readonly status: Uint8Array;
  private readonly remote: Uint8Array;
  /** Each entry's category, as its index in CATEGORIES. */
  private readonly category: Uint8Array;
  readonly trust: Float32Array;

  constructor(entries: CatalogEntry[], categories: CategoryId[]) {
    this.status = Uint8Array.from(entries, (e) => Math.max(0, STATUSES.indexOf(e.status)));
    this.trust = Float32Array.from(entries, (e) => e.trust.score);
    this.remote = new Uint8Array(entries.length);
    this.category = Uint8Array.from(categories, (c) => CATEGORY_INDEX.get(c) ?? OTHER);
    entries.forEach((entry, i) => {
      const facets = entryFacets(entry);
      this.remote[i] = facets.hasRemote ? 1 : 0;
      for (const s of facets.sources) this.post(`source:${s}`, i);
      for (const t of facets.transports) this.post(`transport:${t}`, i);
      for (const p of facets.packageTypes) this.post(`package:${p}`, i);
      this.post(`category:${categories[i]}`, i);
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
    this.intersect(keep, 'category', filters.category);
    return keep;
  }

  /** How many of the entries a mask keeps fall in each category (categories with none left out). */
  categoryCounts(keep: Uint8Array): Partial<Record<CategoryId, number>> {
    const counts = new Uint32Array(CATEGORIES.length);
    for (let i = 0; i < keep.length; i++) counts[this.category[i]] += keep[i];
    const out: Partial<Record<CategoryId, number>> = {};
    CATEGORIES.forEach((c, i) => counts[i] > 0 && (out[c.id] = counts[i]));
    return out;
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
