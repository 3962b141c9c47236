/** The real official registry data of test/fixtures/registry as catalog entries, for tests of the pure registry code. */
import { mergeRecords } from '../../common/registry/merge';
import type { CatalogEntry, SourceRecord } from '../../common/registry/model';
import { normalizeListItem } from '../../common/registry/normalize';
import { loadOfficialItems } from './registry-replay';

/** The real official registry (789 records, 2025-09), normalised and merged as a sync would. */
export function realCatalog(): CatalogEntry[] {
  const fetchedAt = '2025-10-01T00:00:00Z';
  const records = loadOfficialItems().flatMap((item): SourceRecord[] => {
    const server = normalizeListItem(item).server;
    return server ? [{ source: 'official', kind: 'official', key: `${server.name}@${server.version}`, fetchedAt, server }] : [];
  });
  return mergeRecords(records, { now: new Date(fetchedAt) });
}
