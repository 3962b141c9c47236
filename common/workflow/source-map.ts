/**
 * Where each character of a YAML scalar's value stands in the document. The value differs from its source
 * text by quotes, `''` and backslash escapes, line folding and block indentation; aligning the two greedily
 * (each value character matched to the next equal source character, a short way ahead) recovers the
 * position of every character that the source writes literally, which is every character of an expression.
 *
 * Returns `value.length + 1` offsets: the last one is just after the value.
 */
export function scalarSourceMap(value: string, source: string, sourceStart: number): number[] {
  const map = new Array<number>(value.length + 1);
  let j = 0;
  for (let i = 0; i < value.length; i++) {
    const limit = i === 0 ? source.length : Math.min(source.length, j + LOOKAHEAD);
    let k = j;
    while (k < limit && source[k] !== value[i]) k++;
    if (k < limit) {
      map[i] = sourceStart + k;
      j = k + 1;
    } else {
      // A character made by an escape (\n, \u0041…) has no literal twin nearby: keep the position.
      map[i] = sourceStart + Math.min(j, source.length);
    }
  }
  map[value.length] = sourceStart + Math.min(j, source.length);
  return map;
}

/** How far ahead a value character may be found: past a fold's newline and indentation, or an escape. */
const LOOKAHEAD = 128;
