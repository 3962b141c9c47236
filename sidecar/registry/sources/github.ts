import type { RepositoryFacts, SourceRecord } from '../../../common/registry/model';
import { cleanText } from '../../../common/registry/text';
import { asArray, getPage, type Page, type Pass, type PullContext, type SourceAdapter } from './source';

const PER_PAGE = 100;
/** GitHub's search returns at most this many results per query, whatever total_count says. */
const RESULT_CAP = 1000;

/**
 * GitHub repository search, one query per topic (`topic:a topic:b` would mean both), by stars. Each pass is full:
 * a repository that lost its topic disappears at the end of a completed pass. The cursor is `topic-index:page`.
 */
export const githubSearch: SourceAdapter = {
  incremental: false,
  async page(pass: Pass, context: PullContext): Promise<Page> {
    const topics = context.settings.topics ?? ['mcp-server'];
    const [topicIndex, page] = (pass.cursor ?? '0:1').split(':').map(Number) as [number, number];
    const topic = topics[topicIndex];
    if (topic === undefined) return { records: [], skipped: [], notes: [] };
    const url = new URL(`${context.settings.url}/search/repositories`);
    url.searchParams.set('q', `topic:${topic}`);
    url.searchParams.set('sort', 'stars');
    url.searchParams.set('order', 'desc');
    url.searchParams.set('per_page', String(PER_PAGE));
    url.searchParams.set('page', String(page));
    const headers: Record<string, string> = { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' };
    if (context.token) headers.authorization = `Bearer ${context.token}`;
    const { items, total } = await getPage(url, context, headers, (body) => {
      const list = asArray(body.items, "the answer's items");
      return { items: list, total: typeof body.total_count === 'number' ? body.total_count : list.length };
    });
    const fetchedAt = context.now().toISOString();
    const records: SourceRecord[] = [];
    const skipped: string[] = [];
    for (const item of items) {
      const repository = repositoryFacts(item);
      if (typeof repository === 'string') skipped.push(repository);
      else records.push({ source: context.settings.name, kind: 'github', key: repository.fullName.toLowerCase(), fetchedAt, repository });
    }
    const notes: string[] = [];
    const reachable = Math.min(total, RESULT_CAP);
    const last = items.length < PER_PAGE || page * PER_PAGE >= reachable;
    if (last && total > RESULT_CAP) notes.push(`topic:${topic} has ${total} repositories; GitHub's search returns the first ${RESULT_CAP} (by stars)`);
    const next = last ? (topicIndex + 1 < topics.length ? `${topicIndex + 1}:1` : undefined) : `${topicIndex}:${page + 1}`;
    return { records, skipped, notes, ...(next && { next }) };
  },
};

/** A search item as RepositoryFacts, or why it was left out. */
function repositoryFacts(item: unknown): RepositoryFacts | string {
  if (item === null || typeof item !== 'object') return 'an item that is not an object';
  const r = item as Record<string, unknown>;
  const fullName = cleanText(r.full_name, 200);
  if (!fullName || !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(fullName)) return `an item with an invalid full_name ${JSON.stringify(String(r.full_name).slice(0, 80))}`;
  const license = r.license && typeof r.license === 'object' ? (r.license as Record<string, unknown>) : undefined;
  const spdx = cleanText(license?.spdx_id, 64);
  const facts: RepositoryFacts = {
    fullName,
    url: `https://github.com/${fullName}`,
    stars: nonNegative(r.stargazers_count),
    archived: r.archived === true,
    topics: Array.isArray(r.topics) ? r.topics.map((t) => cleanText(t, 50)).filter((t): t is string => !!t).slice(0, 30) : [],
  };
  const description = cleanText(r.description, 1000);
  if (description) facts.description = description;
  if (typeof r.forks_count === 'number') facts.forks = nonNegative(r.forks_count);
  // GitHub says NOASSERTION when it found a license file it could not identify.
  if (spdx && spdx !== 'NOASSERTION') facts.license = spdx;
  const pushedAt = cleanText(r.pushed_at, 40);
  if (pushedAt && !Number.isNaN(Date.parse(pushedAt))) facts.pushedAt = pushedAt;
  const homepage = cleanText(r.homepage, 500);
  if (homepage && /^https?:\/\//.test(homepage)) facts.homepage = homepage;
  return facts;
}

function nonNegative(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}
