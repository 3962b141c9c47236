/**
 * Latent semantic analysis computed from the catalog itself: TF-IDF over what entries say they do, reduced by a
 * randomized truncated SVD (Halko, Martinsson & Tropp 2011, algorithms 4.4 and 5.1) to a few dozen dimensions in
 * which servers about the same thing lie close even when they share no word.
 */
import { SingularValueDecomposition } from 'ml-matrix';
import { decodeFloat32, encodeFloat32 } from './binary';
import type { SearchDocument } from './documents';
import { gaussian, seededRandom } from './random';
import { gram, multiply, multiplySmall, multiplyTransposed, type Csr } from './sparse';
import { terms } from './tokens';
import { normalizeRows } from './vectors';

/** How the model is computed. */
export interface LsaOptions {
  /** Dimensions kept (fewer when the catalog has fewer independent directions). */
  dimensions: number;
  /** Extra random directions sampled beyond `dimensions`, for accuracy. */
  oversampling: number;
  /** Power iterations: each sharpens the separation of the leading singular directions. */
  powerIterations: number;
  seed: number;
  /** Terms in fewer documents are dropped (they relate nothing to anything); 0 picks 2 from 200 documents, else 1. */
  minDocumentFrequency: number;
  /** Terms in a larger share of documents are dropped (they relate everything to everything). */
  maxDocumentShare: number;
}

export const DEFAULT_LSA_OPTIONS: LsaOptions = { dimensions: 64, oversampling: 10, powerIterations: 2, seed: 0x5eed, minDocumentFrequency: 0, maxDocumentShare: 0.5 };

/** The model as `toJSON` gives it. */
export interface SerializedLsa {
  vocabulary: string[];
  idf: string;
  projection: string;
  dimensions: number;
}

/** A trained model: maps any text's terms into the latent space. */
export class Lsa {
  private readonly termIndex: Map<string, number>;

  /** `projection` is V, terms × dimensions: row j is term j's coordinates on the right singular vectors. */
  constructor(
    readonly vocabulary: string[],
    readonly idf: Float32Array,
    readonly projection: Float32Array,
    readonly dimensions: number,
  ) {
    this.termIndex = new Map(vocabulary.map((t, i) => [t, i]));
  }

  /** Restores a model saved by `toJSON`. */
  static fromJSON(json: SerializedLsa): Lsa {
    return new Lsa(json.vocabulary, decodeFloat32(json.idf), decodeFloat32(json.projection), json.dimensions);
  }

  /** A compact form: the vocabulary as strings, numbers as base64 of float32. */
  toJSON(): SerializedLsa {
    return { vocabulary: this.vocabulary, idf: encodeFloat32(this.idf), projection: encodeFloat32(this.projection), dimensions: this.dimensions };
  }

  /**
   * The latent vector of some normalised terms (a query), or undefined when none is known. Its length is the share
   * of the query's TF-IDF vector the latent space captures (‖qᵀV‖ / ‖q‖ ≤ 1), so that cosines with it are damped
   * for a query the model barely represents (a term seen in two entries) instead of being taken at face value.
   */
  foldIn(queryTerms: string[]): Float32Array | undefined {
    const counts = new Map<number, number>();
    for (const term of queryTerms) {
      const j = this.termIndex.get(term);
      if (j !== undefined) counts.set(j, (counts.get(j) ?? 0) + 1);
    }
    if (!counts.size) return undefined;
    const d = this.dimensions;
    const vector = new Float32Array(d);
    let norm = 0;
    for (const [j, count] of counts) {
      const weight = (1 + Math.log(count)) * this.idf[j];
      norm += weight * weight;
      for (let c = 0; c < d; c++) vector[c] += weight * this.projection[j * d + c];
    }
    const scale = 1 / Math.sqrt(norm);
    for (let c = 0; c < d; c++) vector[c] *= scale;
    return vector;
  }
}

/**
 * The terms that say what a server does, with field weights: its name and title count double. Namespaces and
 * repository owners are left out: they say who publishes, not what, and would pull every `ai.smithery/*` together.
 */
export function documentTerms(doc: SearchDocument): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (text: string, weight: number, identifier: boolean) => {
    for (const term of terms(text, identifier)) counts.set(term, (counts.get(term) ?? 0) + weight);
  };
  add(doc.name, 2, true);
  add(doc.title, 2, false);
  add(doc.aliases, 1, true);
  add(doc.description, 1, false);
  add(doc.tools, 1, true);
  add(doc.toolDescriptions, 1, false);
  return counts;
}

/** Trains a model on documents; also returns their unit vectors, `dimensions` numbers per document, in order. */
export function trainLsa(documents: SearchDocument[], options: Partial<LsaOptions> = {}): { lsa: Lsa; vectors: Float32Array } {
  const o = { ...DEFAULT_LSA_OPTIONS, ...options };
  const { matrix, vocabulary, idf } = tfidf(documents.map(documentTerms), o);
  const { projection, dimensions } = truncatedSvd(matrix, o);
  // Documents are folded in exactly like queries (A·V), so that both are compared on the same footing.
  const vectors = Float32Array.from(multiply(matrix, Float64Array.from(projection), dimensions));
  normalizeRows(vectors, dimensions);
  return { lsa: new Lsa(vocabulary, idf, projection, dimensions), vectors };
}

/** Sublinear TF (1 + ln tf) × smoothed IDF, each row l2-normalised; the vocabulary sorted, for determinism. */
function tfidf(docs: Array<Map<string, number>>, o: LsaOptions): { matrix: Csr; vocabulary: string[]; idf: Float32Array } {
  const n = docs.length;
  const df = new Map<string, number>();
  for (const doc of docs) for (const term of doc.keys()) df.set(term, (df.get(term) ?? 0) + 1);
  const minDf = o.minDocumentFrequency || (n >= 200 ? 2 : 1);
  const maxDf = n >= 20 ? o.maxDocumentShare * n : n;
  const vocabulary = [...df].filter(([, f]) => f >= minDf && f <= maxDf).map(([t]) => t).sort();
  const index = new Map(vocabulary.map((t, i) => [t, i]));
  const idf = Float32Array.from(vocabulary, (t) => Math.log((1 + n) / (1 + df.get(t)!)) + 1);
  const indptr = new Uint32Array(n + 1);
  const indices: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const row: Array<[number, number]> = [];
    for (const [term, count] of docs[i]) {
      const j = index.get(term);
      if (j !== undefined) row.push([j, (1 + Math.log(count)) * idf[j]]);
    }
    row.sort((a, b) => a[0] - b[0]);
    const norm = Math.hypot(...row.map(([, v]) => v)) || 1;
    for (const [j, v] of row) {
      indices.push(j);
      values.push(v / norm);
    }
    indptr[i + 1] = indices.length;
  }
  return { matrix: { rows: n, cols: vocabulary.length, indptr, indices: Uint32Array.from(indices), values: Float32Array.from(values) }, vocabulary, idf };
}

/**
 * The leading right singular vectors V of A, terms × dimensions. A text is projected as qᵀ·V (not qᵀ·V·Σ⁻¹, which
 * would weigh weak, noisy directions up): cosines then approximate TF-IDF cosines with the noise removed, as with
 * scikit-learn's TruncatedSVD.
 *
 * The range finder runs on Aᵀ (terms × documents), whose range is spanned by V directly, so that every dense
 * orthonormalisation is on the term side (a catalog has far fewer terms that occur twice than entries) and the
 * document side only sees sparse products and one Gram matrix: Y = (AᵀA)^q·Aᵀ·Ω, Q = orth(Y), B = Qᵀ·Aᵀ, and
 * V = Q·U_B with U_B, Σ² the eigenvectors and eigenvalues of B·Bᵀ = (A·Q)ᵀ(A·Q), which is small.
 */
function truncatedSvd(a: Csr, o: LsaOptions): { projection: Float32Array; dimensions: number } {
  const width = Math.min(o.dimensions + o.oversampling, a.rows, a.cols);
  if (width === 0) return { projection: new Float32Array(0), dimensions: 0 };
  const normal = gaussian(seededRandom(o.seed));
  const omega = new Float64Array(a.rows * width);
  for (let i = 0; i < omega.length; i++) omega[i] = normal();
  // Between power iterations one orthonormalisation pass keeps the columns from collapsing onto the leading
  // direction; the final basis gets two, so that it is orthonormal to working precision.
  let range = orthonormalize(multiplyTransposed(a, omega, width), a.cols, width, o.powerIterations ? 1 : 2);
  for (let i = 0; i < o.powerIterations; i++) {
    range = orthonormalize(multiplyTransposed(a, multiply(a, range.q, range.width), range.width), a.cols, range.width, i === o.powerIterations - 1 ? 2 : 1);
  }
  const svd = new SingularValueDecomposition(gram(multiply(a, range.q, range.width), a.rows, range.width));
  const sigma2 = svd.diagonal;
  const dimensions = Math.min(o.dimensions, sigma2.filter((s) => s > sigma2[0] * 1e-10).length);
  const u = svd.leftSingularVectors.to2DArray().map((row) => row.slice(0, dimensions));
  return { projection: Float32Array.from(multiplySmall(range.q, a.cols, range.width, u, dimensions)), dimensions };
}

/**
 * An orthonormal basis of the columns of a tall dense matrix Y (rows × width). Householder QR in ml-matrix takes
 * ~10 s on 50,000 × 80 (element accessors), so this is CholeskyQR in its rank-revealing form: the eigenvectors W,
 * eigenvalues Λ of YᵀY (small, by ml-matrix) give Q = Y·W·Λ^-½, directions with Λ ≈ 0 dropped. One pass squares
 * the condition number and loses some orthogonality; a second pass restores it (CholeskyQR2).
 */
function orthonormalize(y: Float64Array, rows: number, width: number, passes: number): { q: Float64Array; width: number } {
  let q = y;
  let w = width;
  for (let pass = 0; pass < passes && w > 0; pass++) {
    const svd = new SingularValueDecomposition(gram(q, rows, w));
    const lambda = svd.diagonal;
    const keep = lambda.filter((l) => l > lambda[0] * 1e-12).length;
    const u = svd.leftSingularVectors.to2DArray();
    q = multiplySmall(q, rows, w, u.map((row) => row.slice(0, keep).map((v, c) => v / Math.sqrt(lambda[c]))), keep);
    w = keep;
  }
  return { q, width: w };
}
