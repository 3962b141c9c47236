import type { Range, SourceFile } from './source';

export type Severity = 'error' | 'warning';

/** A problem found in a source file, with the range it is about. */
export interface Diagnostic {
  severity: Severity;
  message: string;
  range: Range;
  /** A stable identifier of the kind of problem, e.g. `unknown-step`. */
  code: string;
}

/** Whether any diagnostic is an error. */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** `file:line:col: severity: message`, the format compilers print and editors link. */
export function formatDiagnostic(file: SourceFile, d: Diagnostic): string {
  return `${file.location(d.range.start)}: ${d.severity}: ${d.message}`;
}

/** The order of diagnostics in one file: by position, errors first at equal positions. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return a.range.start - b.range.start || (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1);
}

/** Orders diagnostics by position, errors first at equal positions. */
export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.sort(compareDiagnostics);
}
