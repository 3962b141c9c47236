/** Registry text is untrusted: terminals act on escape sequences in it, and some of it is huge. */

// ANSI/VT escape sequences (CSI, OSC, two-byte ESC), then the C0/C1 controls and bidi overrides left after them.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-_]?|\u009b[0-?]*[ -/]*[@-~]/g;
const CONTROL_INLINE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_MULTILINE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Strips escapes and control characters, trimmed; newlines survive only in multi-line text. */
export function stripUnsafe(text: string, multiline: boolean): string {
  const stripped = text.replace(ANSI, '').replace(multiline ? CONTROL_MULTILINE : CONTROL_INLINE, '');
  return multiline ? stripped.replace(/\r\n?/g, '\n').trim() : stripped.trim();
}

/** A string field made safe to show (see stripUnsafe), at most `max` characters; undefined for non-strings and empty text. */
export function cleanText(value: unknown, max: number, multiline = max > 255): string | undefined {
  if (typeof value !== 'string') return undefined;
  const clean = stripUnsafe(value, multiline);
  if (clean === '') return undefined;
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

const MAX_URL = 2048;

/** The URL if it is an absolute http or https URL without credentials, else undefined (javascript:, data:, file:, …). */
export function externalUrl(text: string | undefined): string | undefined {
  if (!text || text.length > MAX_URL) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) return undefined;
  return url.href;
}
