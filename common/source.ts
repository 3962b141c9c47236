/** A half-open range of character offsets into a source text. */
export interface Range {
  start: number;
  end: number;
}

/** A 1-based line and column, as editors and compilers print them. */
export interface Position {
  line: number;
  column: number;
}

/** A text with its path, able to turn offsets into line:column. */
export class SourceFile {
  private lineStarts: number[] | undefined;

  constructor(
    readonly path: string,
    readonly text: string,
  ) {}

  /** The 1-based line and column of an offset. */
  position(offset: number): Position {
    const starts = (this.lineStarts ??= computeLineStarts(this.text));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo] + 1 };
  }

  /** `path:line:col` for an offset. */
  location(offset: number): string {
    const { line, column } = this.position(offset);
    return `${this.path}:${line}:${column}`;
  }
}

function computeLineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === 10) starts.push(i + 1);
  }
  return starts;
}
