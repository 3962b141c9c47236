import type { RunSummary } from './runs';

const COLUMNS = ['id', 'workflow', 'file', 'status', 'startedAt', 'endedAt', 'durationMs', 'error'] as const;

/**
 * Runs as CSV (RFC 4180: quoted where needed, CRLF lines). A cell that a spreadsheet would read as a formula
 * (starting with = + - @, tab or carriage return) is prefixed with a quote: run errors quote servers' text.
 */
export function runsToCsv(runs: RunSummary[]): string {
  const rows = runs.map((r) => [
    r.id,
    r.workflow,
    r.file,
    r.status,
    new Date(r.startedAt).toISOString(),
    r.endedAt ? new Date(r.endedAt).toISOString() : '',
    r.endedAt ? String(r.endedAt - r.startedAt) : '',
    r.error ? `${r.error.type}: ${r.error.message}` : '',
  ]);
  return [[...COLUMNS], ...rows].map((row) => row.map(cell).join(',')).join('\r\n') + '\r\n';
}

function cell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
