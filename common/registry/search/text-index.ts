/**
 * Full-text ranking with MiniSearch (BM25 over weighted fields, prefix and typo-tolerant matching).
 */
import MiniSearch, { type AsPlainObject, type Options, type SearchOptions } from 'minisearch';
import type { SearchDocument } from './documents';
import { normalizeTerm, terms, tokenize } from './tokens';

/** One full-text match. */
export interface TextHit {
  /** Position of the document in the index. */
  doc: number;
  /** BM25 score (which MiniSearch multiplies by the number of query terms matched). */
  score: number;
  /** Share of the query's terms matched (0–1]. */
  coverage: number;
  /** Document terms that matched, with the fields they matched in. */
  match: Record<string, string[]>;
}

/** The indexed fields, several document fields folded into one where they weigh the same (fewer fields, faster). */
const FIELDS = {
  name: (d: SearchDocument) => d.name,
  title: (d: SearchDocument) => d.title,
  aliases: (d: SearchDocument) => d.aliases,
  tools: (d: SearchDocument) => d.tools,
  publisher: (d: SearchDocument) => `${d.namespace} ${d.repository}`,
  description: (d: SearchDocument) => `${d.description}\n${d.toolDescriptions}`,
};
type Field = keyof typeof FIELDS;

/** Field boosts: a hit in the name says most about relevance, one deep in a description least. */
export const FIELD_BOOSTS: Record<Field, number> = { name: 5, title: 4, aliases: 3, tools: 2, publisher: 1.5, description: 1 };

/** Fields of identifiers, also split at camelCase boundaries (`XcodeBuildMCP`); user and org names are left whole. */
const IDENTIFIERS = new Set<string>(['name', 'aliases', 'tools']);

const INDEX_OPTIONS: Options<SearchDocument & { id: number }> = {
  fields: Object.keys(FIELDS),
  extractField: (doc, field) => (field === 'id' ? doc.id : FIELDS[field as Field](doc)),
  // A query is tokenised with no field, hence as prose: typing `xcodebuild` finds the name `XcodeBuildMCP` by prefix.
  tokenize: (text, field) => tokenize(text, field !== undefined && IDENTIFIERS.has(field)),
  processTerm: (term) => normalizeTerm(term) ?? undefined,
};

/** The full-text index of a catalog; documents are numbered by position. */
export class TextIndex {
  /**
   * One OR query, ranked by BM25 × coverage² (coverage: the share of query terms matched): documents with every
   * term come first (AND-like precision for `brave search`), yet a natural-language query that no entry matches
   * word for word (`query a postgres database`) still returns the entries matching most of it — an AND with an OR
   * fallback in one pass, where MiniSearch's `combineWith: 'AND'` would return nothing and a second OR query would
   * cost twice.
   */
  private readonly options: SearchOptions = {
    boost: FIELD_BOOSTS,
    combineWith: 'OR',
    // Only the last term may be unfinished (search as you type); prefixes of 1–2 letters match too much.
    prefix: (term, i, all) => i === all.length - 1 && term.length >= 3,
    // Typos are looked for only in terms the catalog does not contain (a known word is no typo, and fuzzy matching a
    // common one would drag in thousands of entries: `data` → `date`), and only from 4 letters: 1 edit up to 6
    // letters, 2 from 7 (`kubernets`, `filesytem`, `postgress`, and transpositions such as `discrod`).
    fuzzy: (term) => (term.length < 4 || this.vocabulary.has(term) ? false : term.length < 7 ? 1 : 2),
  };

  private constructor(
    private readonly index: MiniSearch<SearchDocument & { id: number }>,
    private readonly vocabulary: Set<string>,
  ) {}

  /** Indexes documents; document `i` is reported as `doc: i`. */
  static build(documents: SearchDocument[]): TextIndex {
    const vocabulary = new Set<string>();
    // Records the indexed terms (MiniSearch passes a field when indexing, none when processing a query).
    const processTerm = (term: string, field?: string) => {
      const processed = normalizeTerm(term);
      if (processed && field !== undefined) vocabulary.add(processed);
      return processed ?? undefined;
    };
    const index = new MiniSearch<SearchDocument & { id: number }>({ ...INDEX_OPTIONS, processTerm });
    index.addAll(documents.map((d, id) => ({ ...d, id })));
    return new TextIndex(index, vocabulary);
  }

  /** Restores an index saved by `toJSON`. */
  static fromJSON(json: AsPlainObject): TextIndex {
    return new TextIndex(MiniSearch.loadJS(json, INDEX_OPTIONS), new Set(json.index.map(([term]) => term)));
  }

  /** MiniSearch's own serialisation. */
  toJSON(): AsPlainObject {
    return this.index.toJSON();
  }

  /** Documents matching a query, among those `allowed` marks with 1 (in no particular order). */
  search(query: string, allowed: Uint8Array): TextHit[] {
    const wanted = new Set(terms(query)).size;
    if (!wanted) return [];
    return this.index
      .search(query, { ...this.options, filter: (r) => allowed[r.id as number] === 1 })
      .map((r) => ({ doc: r.id as number, score: r.score, coverage: Math.min(1, r.queryTerms.length / wanted), match: r.match }));
  }
}

/** `field:term` pairs of a hit, e.g. `name:kubernete`. */
export function matchedTerms(hit: TextHit): string[] {
  return Object.entries(hit.match).flatMap(([term, fields]) => fields.map((f) => `${f}:${term}`));
}
