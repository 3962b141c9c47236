/**
 * Servers related by capability: nearest neighbours in the embedding space, and recommendations that blend those
 * with how often servers are used together (counts the caller supplies).
 */
import type { CatalogEntry } from '../model';
import { cosines, topK } from './vectors';

/** The embedding space of a catalog, with what is shown and which entries are one server under several names. */
export interface Neighbourhood {
  vectors: Float32Array;
  dimensions: number;
  /** 1 for entries that may be suggested (not deleted). */
  visible: Uint8Array;
  /** Entries with the same group are the same server (a shared name or alias). */
  group: Int32Array;
}

/** A suggested document and why. */
export interface Suggestion {
  doc: number;
  score: number;
  similarity: number;
  coUsage: number;
}

/**
 * Groups entries that are one server under several names (a name of one is an alias of another). Entries are
 * already merged, so this only catches what the merge left apart; a shared repository is no sign (one repository
 * often holds several servers).
 */
export function sameServerGroups(entries: CatalogEntry[]): Int32Array {
  const parent = Int32Array.from(entries, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  const owner = new Map<string, number>();
  entries.forEach((entry, i) => {
    for (const name of [entry.name, ...entry.aliases]) {
      const key = name.toLowerCase();
      const other = owner.get(key);
      if (other === undefined) owner.set(key, i);
      else parent[find(i)] = find(other);
    }
  });
  return Int32Array.from(parent, (_, i) => find(i));
}

/** The `k` visible entries nearest to `doc`, excluding the same server under other names. */
export function nearest(space: Neighbourhood, doc: number, k: number): Suggestion[] {
  const { dimensions: d } = space;
  const similarity = cosines(space.vectors, d, space.vectors.subarray(doc * d, (doc + 1) * d), candidates(space, [doc]));
  return topK(similarity, k, 0).map((i) => ({ doc: i, score: similarity[i], similarity: similarity[i], coUsage: 0 }));
}

/**
 * Suggestions for a set of servers (e.g. a workflow's): `blend` × co-usage with the set (scaled to the most
 * co-used) + (1 − blend) × mean similarity to the set. Co-usage says what people combine; similarity fills in
 * for servers nobody has combined yet.
 */
export function recommend(space: Neighbourhood, seeds: number[], coUsage: Map<number, number>, k: number, blend = 0.6): Suggestion[] {
  const { dimensions: d } = space;
  const allowed = candidates(space, seeds);
  const mean = new Float32Array(allowed.length);
  for (const seed of seeds) {
    const similarity = cosines(space.vectors, d, space.vectors.subarray(seed * d, (seed + 1) * d), allowed);
    for (let i = 0; i < mean.length; i++) if (allowed[i]) mean[i] += Math.max(0, similarity[i]) / seeds.length;
  }
  let most = 0;
  for (const [doc, count] of coUsage) if (allowed[doc]) most = Math.max(most, count);
  const scores = new Float32Array(allowed.length).fill(-Infinity);
  for (let i = 0; i < scores.length; i++) {
    if (allowed[i]) scores[i] = blend * (most ? (coUsage.get(i) ?? 0) / most : 0) + (1 - blend) * mean[i];
  }
  return topK(scores, k, 0).map((i) => ({ doc: i, score: scores[i], similarity: mean[i], coUsage: coUsage.get(i) ?? 0 }));
}

/** Visible entries that are not one of `seeds` nor the same server as one. */
function candidates(space: Neighbourhood, seeds: number[]): Uint8Array {
  const groups = new Set(seeds.map((s) => space.group[s]));
  return Uint8Array.from(space.visible, (v, i) => (v && !groups.has(space.group[i]) ? 1 : 0));
}
