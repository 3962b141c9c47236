/**
 * Hybrid ranking: a weighted sum of the full-text score and the cosine similarity, plus a small trust prior. The
 * full-text score is BM25 scaled to the query's best, times coverage² (the share of query terms matched), so that
 * when no entry matches the whole query, text evidence is worth less and similarity more.
 *
 * Why a weighted sum rather than reciprocal rank fusion: RRF keeps only ranks, so the 20th semantic neighbour of
 * a query weighs as much as the 20th text hit, and an exact name match ranks no higher than a vague neighbour that
 * happens to be first in the other list. Scores keep the confidence: a name hit is worth far more than a description
 * hit, and a cosine of 0.8 far more than 0.3. BM25 is unbounded, hence divided by the query's best; cosines are
 * already on a fixed scale and are used as they are (scaling them to the best too would make the nearest
 * neighbour of a nonsense query look perfect).
 */
import type { TextHit } from './text-index';
import { topK } from './vectors';

/** The knobs of the ranking. */
export interface RankWeights {
  /** Weight of the full-text score (0–1: BM25 / best BM25 × coverage²). */
  text: number;
  /** Weight of the cosine similarity (negative cosines count as 0). */
  semantic: number;
  /** Weight of trust/100: small, to break ties between otherwise equal hits. */
  trust: number;
  /** Entries found only semantically must be at least this similar. */
  minSemantic: number;
  /** How many nearest neighbours join the full-text hits as candidates. */
  semanticCandidates: number;
}

export const DEFAULT_RANK_WEIGHTS: RankWeights = { text: 0.6, semantic: 0.4, trust: 0.05, minSemantic: 0.35, semanticCandidates: 100 };

/** One ranked document with the parts of its score. */
export interface Ranked {
  doc: number;
  score: number;
  text: number;
  semantic: number;
  /** The full-text hit, if any. */
  hit?: TextHit;
}

/**
 * The `count` best of the full-text hits and the nearest neighbours combined (`similarity` covers every document;
 * `trust` too). Scores go to one array indexed by document and are selected with a heap: a common word can match
 * tens of thousands of entries, and sorting them all would cost more than the search.
 */
export function fuse(textHits: TextHit[], neighbours: number[], similarity: Float32Array | undefined, trust: Float32Array, weights: RankWeights, count: number): Ranked[] {
  const best = textHits.reduce((m, h) => Math.max(m, h.score), 0) || 1;
  const text = (hit: TextHit | undefined) => (hit ? (hit.score / best) * hit.coverage ** 2 : 0);
  const semantic = (doc: number) => (similarity ? Math.max(0, similarity[doc]) : 0);
  const score = (doc: number, text: number) => weights.text * text + weights.semantic * semantic(doc) + (weights.trust * trust[doc]) / 100;
  const scores = new Float64Array(trust.length).fill(-Infinity);
  const hits = new Map<number, TextHit>();
  for (const hit of textHits) {
    hits.set(hit.doc, hit);
    scores[hit.doc] = score(hit.doc, text(hit));
  }
  for (const doc of neighbours) if (!hits.has(doc)) scores[doc] = score(doc, 0);
  return topK(scores, count).map((doc) => {
    const hit = hits.get(doc);
    return { doc, score: scores[doc], text: text(hit), semantic: semantic(doc), hit };
  });
}
