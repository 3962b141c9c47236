/**
 * Registry sync from a local replay of the official registry API (v0.1 semantics, 100 per page), over synthetic
 * catalogs made from the 789 real entries:
 *   node bench/run.mjs bench/registry-sync.ts          (npm run bench:registry)
 * Prints a table. Target (issue 4): a full sync of 10,000 entries in < 10 s. Also measured: an incremental sync
 * of 100 changes, and building the catalog from the synced records (merge + search index).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { mergeRecords } from '../common/registry/merge';
import { CatalogSearch } from '../common/registry/search/catalog-search';
import type { SourceSettings } from '../common/registry/sources';
import { CatalogDatabase } from '../sidecar/registry/catalog-db';
import { syncSources } from '../sidecar/registry/sync';
import { startOfficialRegistry, syntheticOfficialItems } from '../test/support/registry-replay';

type Row = [string, string, string];

async function measure(entries: number): Promise<Row[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-bench-registry-'));
  const items = syntheticOfficialItems(entries);
  const registry = await startOfficialRegistry({ items });
  const source: SourceSettings = { name: 'official', kind: 'official', url: registry.url, enabled: true, intervalMinutes: 60 };
  const db = await CatalogDatabase.open(path.join(dir, 'registry.db'));
  try {
    let started = performance.now();
    const [full] = await syncSources(db, [source]);
    const fullMs = performance.now() - started;
    if (!full.ok || full.records !== entries) throw new Error(`full sync: ${JSON.stringify(full)}`);
    const size = fs.statSync(path.join(dir, 'registry.db')).size;

    const changedAt = new Date(Date.now() + 60_000).toISOString();
    for (const item of items.slice(0, 100)) registry.setStatus(item.server.name, item.server.version, 'deprecated', 'bench', changedAt);
    started = performance.now();
    const [incremental] = await syncSources(db, [source]);
    const incrementalMs = performance.now() - started;
    if (!incremental.ok || incremental.records !== 100 || incremental.full) throw new Error(`incremental sync: ${JSON.stringify(incremental)}`);

    started = performance.now();
    const records = db.records();
    const merged = mergeRecords(records, { now: new Date() });
    const mergeMs = performance.now() - started;
    started = performance.now();
    CatalogSearch.build(merged);
    const indexMs = performance.now() - started;
    const n = entries.toLocaleString('en');
    return [
      [`full sync, ${n} versions (${full.pages} pages)`, `${(fullMs / 1000).toFixed(2)} s`, entries === 10_000 ? '< 10 s' : ''],
      [`  throughput`, `${Math.round(entries / (fullMs / 1000)).toLocaleString('en')} /s`, ''],
      [`  registry.db size`, `${(size / 1024 / 1024).toFixed(1)} MB`, ''],
      [`incremental sync, 100 changes in ${n}`, `${incrementalMs.toFixed(0)} ms`, ''],
      [`catalog: read + merge ${n} records → ${merged.length.toLocaleString('en')} entries`, `${mergeMs.toFixed(0)} ms`, ''],
      [`catalog: search index (full text + LSA)`, `${(indexMs / 1000).toFixed(2)} s`, ''],
    ];
  } finally {
    db.close();
    await registry.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const entries of (process.env.BENCH_ENTRIES ?? '10000,50000').split(',').map(Number)) rows.push(...(await measure(entries)));
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length), 5);
  console.log(`${'measure'.padEnd(w0)}  ${'value'.padStart(w1)}  target`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
  console.log(`\n(replay server and client in one process on loopback; 100 entries per page as the official API allows; every page checkpointed at most every 2 s, atomically)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
