import { formatDiagnostic, sortDiagnostics, type Diagnostic } from '../../common/diagnostics';
import type { SourceFile } from '../../common/source';
import type { Style } from './style';

/** Prints diagnostics as `file:line:col: severity: message`, coloured on a terminal. */
export function printDiagnostics(stream: NodeJS.WritableStream, file: SourceFile, diagnostics: Diagnostic[], style: Style): void {
  for (const d of sortDiagnostics([...diagnostics])) {
    const line = formatDiagnostic(file, d);
    stream.write(`${d.severity === 'error' ? line.replace(': error:', `: ${style.red('error')}:`) : line.replace(': warning:', `: ${style.yellow('warning')}:`)}\n`);
  }
}
