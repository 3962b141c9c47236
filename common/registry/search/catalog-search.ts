/**
 * Catalog search: one query ranked by full text (MiniSearch) and semantic similarity (LSA computed from the
 * catalog, or vectors from an external embedding provider), after filters, with each result's score explained.
 */
import type { AsPlainObject } from 'minisearch';
import { categorize, isCategoryId, type CategoryId } from '../categories';
import type { CatalogEntry, ServerStatus } from '../model';
import { decodeFloat32, encodeFloat32 } from './binary';
import { searchDocument, type SearchDocument } from './documents';
import { contentHash, embeddingKey, type ExternalEmbeddings } from './embeddings';
import { FacetTable, type SearchFilters } from './filters';
import { Lsa, trainLsa, type LsaOptions, type SerializedLsa } from './lsa';
import { DEFAULT_RANK_WEIGHTS, fuse, type RankWeights } from './ranking';
import { nearest, recommend, sameServerGroups, type Neighbourhood, type Suggestion } from './related';
import { matchedTerms, TextIndex } from './text-index';
import { terms } from './tokens';
import { cosines, normalizeRows, topK } from './vectors';

export type { EmbeddingProvider, ExternalEmbeddings } from './embeddings';
export type { SearchFilters, TransportKind } from './filters';
export type { RankWeights } from './ranking';

/** How an index is built. */
export interface CatalogSearchOptions {
  lsa?: Partial<LsaOptions>;
  /** Document vectors from an external provider, used instead of LSA; queries then need `queryVector`. */
  embeddings?: ExternalEmbeddings;
}

/** One query's options. */
export interface SearchOptions {
  filters?: SearchFilters;
  /** 20 by default. */
  limit?: number;
  offset?: number;
  /** The query's embedding, computed by the caller with the provider the index was built with. */
  queryVector?: Float32Array;
  weights?: Partial<RankWeights>;
}

/** One result, with the parts of its score. */
export interface SearchHit {
  id: string;
  score: number;
  /** Full-text score scaled to the query's best (0–1). */
  text: number;
  /** Cosine similarity with the query (0–1; with LSA, damped by how much of the query the model captures). */
  semantic: number;
  /** `field:term` pairs the full text matched. */
  matched: string[];
  /** `deprecated` entries are shown, flagged by this. */
  status: ServerStatus;
}

/** A related or recommended server. */
export interface RelatedHit {
  id: string;
  score: number;
  similarity: number;
  coUsage: number;
}

/** What `toJSON` saves: everything computed, nothing that is cheap to derive from the entries. */
export interface SerializedCatalogSearch {
  version: 2;
  /** Hash of the entries' ids and searchable text: a saved index only loads for the same catalog. */
  fingerprint: string;
  /** `lsa`, or the embedding provider's id. */
  semantic: string;
  dimensions: number;
  vectors: string;
  lsa?: SerializedLsa;
  text: AsPlainObject;
  /** Each entry's category, in index order: derived from the same text the fingerprint covers, kept to spare a load recomputing it. */
  categories: CategoryId[];
}

/** A searchable catalog. Entries are ordered by id internally, so the same entries always give the same index. */
export class CatalogSearch {
  private readonly docs = new Map<string, number>();
  private readonly facets: FacetTable;
  private readonly space: Neighbourhood;
  /** Documents by trust, then name: the order of browsing. */
  private readonly byTrust: Uint32Array;

  private constructor(
    private readonly entries: CatalogEntry[],
    private readonly fingerprint: string,
    private readonly text: TextIndex,
    /** `lsa` or the embedding provider's id. */
    readonly semantic: string,
    private readonly lsa: Lsa | undefined,
    private readonly vectors: Float32Array,
    readonly dimensions: number,
    private readonly categories: CategoryId[],
  ) {
    entries.forEach((e, i) => this.docs.set(e.id, i));
    this.facets = new FacetTable(entries, categories);
    this.space = { vectors, dimensions, visible: this.facets.mask(), group: sameServerGroups(entries) };
    const trust = this.facets.trust;
    const name = (i: number) => entries[i].name;
    this.byTrust = Uint32Array.from(entries.keys()).sort((a, b) => trust[b] - trust[a] || (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : a - b));
  }

  /** Builds the full-text index and the semantic vectors (LSA unless `options.embeddings` gives them). */
  static build(entries: CatalogEntry[], options: CatalogSearchOptions = {}): CatalogSearch {
    const sorted = byId(entries);
    const docs = sorted.map(searchDocument);
    const text = TextIndex.build(docs);
    const categories = docs.map(categorize);
    const external = options.embeddings;
    if (!external) {
      const { lsa, vectors } = trainLsa(docs, options.lsa);
      return new CatalogSearch(sorted, fingerprint(sorted, docs), text, 'lsa', lsa, vectors, lsa.dimensions, categories);
    }
    const found = sorted.map((entry, i) => external.vectors.get(embeddingKey(entry, docs[i])));
    const dimensions = found.find(Boolean)?.length ?? 0;
    // An entry the provider has no vector for gets a zero vector: found by text only, never as a neighbour.
    const vectors = new Float32Array(sorted.length * dimensions);
    found.forEach((v, i) => v?.length === dimensions && vectors.set(v, i * dimensions));
    normalizeRows(vectors, dimensions);
    return new CatalogSearch(sorted, fingerprint(sorted, docs), text, external.providerId, undefined, vectors, dimensions, categories);
  }

  /** Restores an index saved by `toJSON` for the same entries; throws if they changed since (rebuild then). */
  static fromJSON(json: SerializedCatalogSearch, entries: CatalogEntry[]): CatalogSearch {
    const sorted = byId(entries);
    const valid = json.version === 2 && json.categories?.length === sorted.length && json.categories.every(isCategoryId);
    if (!valid || json.fingerprint !== fingerprint(sorted, sorted.map(searchDocument))) throw new Error('the saved search index is for another catalog; rebuild it');
    const lsa = json.lsa && Lsa.fromJSON(json.lsa);
    return new CatalogSearch(sorted, json.fingerprint, TextIndex.fromJSON(json.text), json.semantic, lsa, decodeFloat32(json.vectors), json.dimensions, json.categories);
  }

  /** The computed parts of the index, JSON-ready. */
  toJSON(): SerializedCatalogSearch {
    return { version: 2, fingerprint: this.fingerprint, semantic: this.semantic, dimensions: this.dimensions, vectors: encodeFloat32(this.vectors), lsa: this.lsa?.toJSON(), text: this.text.toJSON(), categories: this.categories };
  }

  /** The category of an entry of the index (`other` for an id it does not hold). */
  category(id: string): CategoryId {
    const doc = this.docs.get(id);
    return doc === undefined ? 'other' : this.categories[doc];
  }

  /** How many entries the filters keep in each category, whatever the query. */
  categoryCounts(filters?: SearchFilters): Partial<Record<CategoryId, number>> {
    return this.facets.categoryCounts(this.facets.mask(filters));
  }

  /** Entries matching a query, best first; an empty query lists the filtered entries by trust. */
  search(query: string, options: SearchOptions = {}): SearchHit[] {
    const weights = { ...DEFAULT_RANK_WEIGHTS, ...options.weights };
    const allowed = this.facets.mask(options.filters);
    const queryTerms = terms(query);
    const queryVector = options.queryVector ?? (this.lsa && this.lsa.foldIn(queryTerms));
    const limit = options.limit ?? 20;
    const offset = options.offset ?? 0;
    if (!queryTerms.length && !options.queryVector) return this.browse(allowed, offset + limit).slice(offset);
    const textHits = this.text.search(query, allowed);
    let similarity: Float32Array | undefined;
    let neighbours: number[] = [];
    if (queryVector && queryVector.length === this.dimensions) {
      similarity = cosines(this.vectors, this.dimensions, queryVector, allowed);
      neighbours = topK(similarity, weights.semanticCandidates, weights.minSemantic);
    }
    return fuse(textHits, neighbours, similarity, this.facets.trust, weights, offset + limit)
      .slice(offset)
      .map((r) => ({ id: this.entries[r.doc].id, score: r.score, text: r.text, semantic: r.semantic, matched: r.hit ? matchedTerms(r.hit) : [], status: this.entries[r.doc].status }));
  }

  /** The `k` servers most similar in capability, excluding the same server under other names. */
  related(id: string, k = 10): RelatedHit[] {
    const doc = this.docs.get(id);
    return doc === undefined ? [] : nearest(this.space, doc, k).map((s) => this.relatedHit(s));
  }

  /**
   * Servers to add to a set (`ids`), blending how often each was used with the set (`coUsage`: id → id → count,
   * as the caller counts it, e.g. across workflows) with capability similarity; `blend` is co-usage's share.
   */
  recommend(ids: string[], coUsage: Map<string, Map<string, number>>, k = 10, blend?: number): RelatedHit[] {
    const seeds = ids.map((id) => this.docs.get(id)).filter((d): d is number => d !== undefined);
    if (!seeds.length) return [];
    const counts = new Map<number, number>();
    for (const id of ids) {
      for (const [other, count] of coUsage.get(id) ?? []) {
        const doc = this.docs.get(other);
        if (doc !== undefined) counts.set(doc, (counts.get(doc) ?? 0) + count);
      }
    }
    return recommend(this.space, seeds, counts, k, blend).map((s) => this.relatedHit(s));
  }

  private relatedHit(s: Suggestion): RelatedHit {
    return { id: this.entries[s.doc].id, score: s.score, similarity: s.similarity, coUsage: s.coUsage };
  }

  /** The first `count` allowed entries by trust, then name. */
  private browse(allowed: Uint8Array, count: number): SearchHit[] {
    const hits: SearchHit[] = [];
    for (let j = 0; j < this.byTrust.length && hits.length < count; j++) {
      const i = this.byTrust[j];
      if (allowed[i]) hits.push({ id: this.entries[i].id, score: this.facets.trust[i] / 100, text: 0, semantic: 0, matched: [], status: this.entries[i].status });
    }
    return hits;
  }
}

function byId(entries: CatalogEntry[]): CatalogEntry[] {
  return [...entries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A hash of every entry's id and searchable text, in index order. */
function fingerprint(entries: CatalogEntry[], docs: SearchDocument[]): string {
  return contentHash(entries.map((e, i) => `${e.id}\u0000${JSON.stringify(docs[i])}`).join('\u0001'));
}
