/** Unit vectors stored row after row in one Float32Array, compared by cosine (a dot product, since rows are unit). */

/** Scales each `dimensions`-long row to unit length in place (zero rows stay zero). */
export function normalizeRows(data: Float32Array, dimensions: number): void {
  for (let start = 0; start < data.length; start += dimensions) {
    let sum = 0;
    for (let c = 0; c < dimensions; c++) sum += data[start + c] * data[start + c];
    if (sum === 0) continue;
    const scale = 1 / Math.sqrt(sum);
    for (let c = 0; c < dimensions; c++) data[start + c] *= scale;
  }
}

/** The cosine of `query` with every row that `allowed` marks with 1 (others score -Infinity). */
export function cosines(data: Float32Array, dimensions: number, query: Float32Array, allowed?: Uint8Array): Float32Array {
  const count = dimensions ? data.length / dimensions : 0;
  const scores = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    if (allowed && allowed[i] !== 1) {
      scores[i] = -Infinity;
      continue;
    }
    // Four running sums: independent additions pipeline (about twice as fast as one sum in V8).
    const start = i * dimensions;
    let a = 0;
    let b = 0;
    let c2 = 0;
    let d = 0;
    let c = 0;
    for (; c + 3 < dimensions; c += 4) {
      a += data[start + c] * query[c];
      b += data[start + c + 1] * query[c + 1];
      c2 += data[start + c + 2] * query[c + 2];
      d += data[start + c + 3] * query[c + 3];
    }
    for (; c < dimensions; c++) a += data[start + c] * query[c];
    scores[i] = a + b + c2 + d;
  }
  return scores;
}

/** Indices of the `k` highest finite scores above `floor`, best first (ties by index), via a min-heap. */
export function topK(scores: Float32Array | Float64Array, k: number, floor = -Infinity): number[] {
  const heap: number[] = [];
  // Heap order: lowest score on top; among equal scores, the highest index, so that lower indices win ties.
  const below = (a: number, b: number) => scores[a] < scores[b] || (scores[a] === scores[b] && a > b);
  const siftDown = (at: number) => {
    for (;;) {
      const l = 2 * at + 1;
      const r = l + 1;
      let m = at;
      if (l < heap.length && below(heap[l], heap[m])) m = l;
      if (r < heap.length && below(heap[r], heap[m])) m = r;
      if (m === at) return;
      [heap[at], heap[m]] = [heap[m], heap[at]];
      at = m;
    }
  };
  for (let i = 0; i < scores.length && k > 0; i++) {
    const s = scores[i];
    if (!(s > floor) || s === Infinity) continue;
    if (heap.length < k) {
      heap.push(i);
      for (let at = heap.length - 1; at > 0; ) {
        const parent = (at - 1) >> 1;
        if (!below(heap[at], heap[parent])) break;
        [heap[at], heap[parent]] = [heap[parent], heap[at]];
        at = parent;
      }
    } else if (below(heap[0], i)) {
      heap[0] = i;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => scores[b] - scores[a] || a - b);
}
