/** Terminal styling that switches itself off for pipes, NO_COLOR and --no-color. */
export class Style {
  constructor(readonly enabled: boolean) {}

  /** Whether a stream should get colours. */
  static for(stream: NodeJS.WriteStream, allowed = true): Style {
    return new Style(allowed && stream.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb');
  }

  private wrap(code: string, text: string): string {
    return this.enabled ? `\x1b[${code}m${text}\x1b[0m` : text;
  }

  bold = (t: string): string => this.wrap('1', t);
  dim = (t: string): string => this.wrap('2', t);
  red = (t: string): string => this.wrap('31', t);
  green = (t: string): string => this.wrap('32', t);
  yellow = (t: string): string => this.wrap('33', t);
  blue = (t: string): string => this.wrap('34', t);
  cyan = (t: string): string => this.wrap('36', t);
}

/** The visible width of a string, ignoring colour codes. */
export function visibleLength(text: string): number {
  return text.replace(/\x1b\[[0-9;]*m/g, '').length;
}

/** A line cut to a visible width, keeping its colour codes intact. */
export function fitLine(line: string, width: number): string {
  if (visibleLength(line) <= width) return line;
  let out = '';
  let visible = 0;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\x1b') {
      const end = line.indexOf('m', i);
      if (end > 0) {
        out += line.slice(i, end + 1);
        i = end;
        continue;
      }
    }
    if (visible === width - 1) break;
    out += line[i];
    visible++;
  }
  return `${out}…\x1b[0m`;
}

/** Text cut to a width with an ellipsis. */
export function truncate(text: string, width: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length <= width ? oneLine : `${oneLine.slice(0, Math.max(0, width - 1))}…`;
}

/** A plain-text table: columns padded to their widest cell. */
export function table(headers: string[], rows: string[][], style: Style): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i] - visibleLength(c)))).join('  ').trimEnd();
  return [style.bold(line(headers)), ...rows.map(line)].join('\n');
}

/** A compact, single-line JSON rendering cut to a width. */
export function preview(value: unknown, width: number): string {
  if (value === undefined) return '';
  return truncate(typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? 'null'), width);
}

/** A local time of day, to the millisecond. */
export function clock(time: number): string {
  const d = new Date(time);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A date and time, in the local zone, for lists. */
export function timestamp(time: number): string {
  const d = new Date(time);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
