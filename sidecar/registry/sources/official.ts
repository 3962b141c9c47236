import { normalizeListItem } from '../../../common/registry/normalize';
import type { SourceRecord } from '../../../common/registry/model';
import { asArray, asObject, checkCursorMoves, getPage, type Page, type Pass, type PullContext, type SourceAdapter } from './source';

/** The official API's largest page. */
const PAGE_SIZE = 100;

/**
 * The official registry's API v0.1, and any sub-registry implementing it: `/v0.1/servers` in (name, version)
 * order with cursor paging. A full pass lists every version including deleted ones (so the catalog can hide
 * them); an incremental pass asks for what changed after the last pass (`updated_since` is strict and brings
 * deleted entries too).
 */
export const officialRegistry: SourceAdapter = {
  incremental: true,
  async page(pass: Pass, context: PullContext): Promise<Page> {
    const url = new URL(`${context.settings.url}/v0.1/servers`);
    url.searchParams.set('limit', String(PAGE_SIZE));
    if (pass.cursor) url.searchParams.set('cursor', pass.cursor);
    if (pass.since) url.searchParams.set('updated_since', pass.since);
    else url.searchParams.set('include_deleted', 'true');
    const { items, next } = await getPage(url, context, context.token ? { authorization: `Bearer ${context.token}` } : {}, (body) => {
      const metadata = body.metadata === undefined || body.metadata === null ? {} : asObject(body.metadata, "the answer's metadata");
      return { items: asArray(body.servers, "the answer's servers"), next: typeof metadata.nextCursor === 'string' && metadata.nextCursor !== '' ? metadata.nextCursor : undefined };
    });
    checkCursorMoves(next, pass, url);
    const fetchedAt = context.now().toISOString();
    const records: SourceRecord[] = [];
    const skipped: string[] = [];
    let highWater = pass.highWater;
    items.forEach((item, index) => {
      const { server, problems } = normalizeListItem(item);
      if (!server) {
        skipped.push(`item ${index + 1} of the page after ${pass.cursor ?? 'the start'}: ${problems.join('; ') || 'unusable'}`);
        return;
      }
      const kind = context.settings.kind === 'official' ? 'official' : 'registry';
      records.push({ source: context.settings.name, kind, key: `${server.name}@${server.version}`, fetchedAt, server });
      if (server.updatedAt && later(server.updatedAt, highWater)) highWater = server.updatedAt;
    });
    return { records, skipped, notes: [], ...(next && { next }), ...(highWater && { highWater }) };
  },
};

/** Whether RFC 3339 time `a` is after `b` (nanosecond strings compare as text when the milliseconds tie). */
export function later(a: string, b: string | undefined): boolean {
  if (b === undefined) return true;
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  if (Number.isNaN(ta)) return false;
  if (Number.isNaN(tb) || ta !== tb) return Number.isNaN(tb) || ta > tb;
  return a > b;
}
