/**
 * How catalog text becomes terms, the same way for the full-text index, the LSA model and queries, so that a
 * query term can only ever be compared with terms produced by the same rules.
 */

/**
 * Words that say nothing about what a server does. `mcp` and `server` are on nearly every entry; the rest are
 * ordinary English function words.
 */
const STOP_WORDS = new Set(
  (
    'a an and are as at be but by can for from has have how i if in into is it its me my no not of on or our so ' +
    'such than that the their them then there these they this to too up us via was we what when where which who ' +
    'will with you your yours mcp server'
  ).split(' '),
);

/**
 * Splits on anything that is not a letter or digit. Identifiers (names, tool names) are also split at camelCase
 * boundaries, keeping the whole word too (`XcodeBuildMCP` → XcodeBuildMCP, Xcode, Build, MCP); prose is not, or
 * every `GitHub` in a description would match a search for `git`.
 */
export function tokenize(text: string, identifier = false): string[] {
  const tokens: string[] = [];
  for (const word of text.split(/[^\p{L}\p{N}]+/u)) {
    if (!word) continue;
    tokens.push(word);
    if (!identifier) continue;
    const parts = word.split(/(?<=\p{Ll})(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll})|(?<=\p{L})(?=\p{N})|(?<=\p{N})(?=\p{L})/u);
    if (parts.length > 1) tokens.push(...parts);
  }
  return tokens;
}

/**
 * Lower-cases, drops stop words and one-letter terms, and folds plurals (`databases` → `database`, `queries` →
 * `query`): a deliberately light stemmer, since names and product words (`redis`, `postgres`) must survive.
 */
export function normalizeTerm(token: string): string | null {
  const term = token.toLowerCase();
  if (term.length < 2 || STOP_WORDS.has(term)) return null;
  if (term.length > 4 && term.endsWith('ies')) return `${term.slice(0, -3)}y`;
  if (term.length > 3 && term.endsWith('s') && !term.endsWith('ss') && !term.endsWith('us')) return term.slice(0, -1);
  return term;
}

/** The normalised terms of a text, in order, with repetitions. */
export function terms(text: string, identifier = false): string[] {
  const out: string[] = [];
  for (const token of tokenize(text, identifier)) {
    const term = normalizeTerm(token);
    if (term) out.push(term);
  }
  return out;
}
