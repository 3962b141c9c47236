/**
 * The few matrix products LSA needs, on a sparse document×term matrix (CSR) and dense row-major Float64Arrays.
 * Written by hand: no JavaScript library multiplies sparse matrices efficiently, and these loops are short.
 */

/** A sparse matrix in compressed sparse row form. */
export interface Csr {
  rows: number;
  cols: number;
  /** Row `i` holds entries `indptr[i]` to `indptr[i + 1]` of `indices` and `values`. */
  indptr: Uint32Array;
  indices: Uint32Array;
  values: Float32Array;
}

/** A·X, with X dense `a.cols × width`: a dense `a.rows × width` matrix. */
export function multiply(a: Csr, x: Float64Array, width: number): Float64Array {
  const y = new Float64Array(a.rows * width);
  for (let i = 0; i < a.rows; i++) {
    const yi = i * width;
    for (let p = a.indptr[i]; p < a.indptr[i + 1]; p++) {
      const v = a.values[p];
      const xj = a.indices[p] * width;
      for (let c = 0; c < width; c++) y[yi + c] += v * x[xj + c];
    }
  }
  return y;
}

/** Aᵀ·Y, with Y dense `a.rows × width`: a dense `a.cols × width` matrix. */
export function multiplyTransposed(a: Csr, y: Float64Array, width: number): Float64Array {
  const z = new Float64Array(a.cols * width);
  for (let i = 0; i < a.rows; i++) {
    const yi = i * width;
    for (let p = a.indptr[i]; p < a.indptr[i + 1]; p++) {
      const v = a.values[p];
      const zj = a.indices[p] * width;
      for (let c = 0; c < width; c++) z[zj + c] += v * y[yi + c];
    }
  }
  return z;
}

/** XᵀX of a dense `rows × width` matrix: `width × width`, as rows of numbers (the form ml-matrix takes). */
export function gram(x: Float64Array, rows: number, width: number): number[][] {
  const g = new Float64Array(width * width);
  for (let i = 0; i < rows; i++) {
    const xi = i * width;
    for (let r = 0; r < width; r++) {
      const v = x[xi + r];
      if (v === 0) continue;
      const gr = r * width;
      for (let c = r; c < width; c++) g[gr + c] += v * x[xi + c];
    }
  }
  return Array.from({ length: width }, (_, r) => Array.from({ length: width }, (_, c) => (c >= r ? g[r * width + c] : g[c * width + r])));
}

/** X·M, with X dense `rows × width` and M a small `width × out` matrix given as rows. */
export function multiplySmall(x: Float64Array, rows: number, width: number, m: number[][], out: number): Float64Array {
  const flat = new Float64Array(width * out);
  for (let r = 0; r < width; r++) for (let c = 0; c < out; c++) flat[r * out + c] = m[r][c];
  const y = new Float64Array(rows * out);
  for (let i = 0; i < rows; i++) {
    const xi = i * width;
    const yi = i * out;
    for (let r = 0; r < width; r++) {
      const v = x[xi + r];
      if (v === 0) continue;
      const fr = r * out;
      for (let c = 0; c < out; c++) y[yi + c] += v * flat[fr + c];
    }
  }
  return y;
}
