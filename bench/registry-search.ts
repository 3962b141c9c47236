/**
 * Catalog search on synthetic catalogs grown from the real official registry:
 *   node bench/run.mjs bench/registry-search.ts
 * Prints a table. Targets (issue): search p95 ≤ 5 ms at 10,000 entries, ≤ 20 ms at 50,000; index build for 50,000
 * entries < 15 s and < 500 MB.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { mergeRecords } from '../common/registry/merge';
import type { CatalogEntry, ServerStatus, SourceRecord } from '../common/registry/model';
import { normalizeListItem } from '../common/registry/normalize';
import { CatalogSearch, type SearchOptions } from '../common/registry/search/catalog-search';
import { searchDocument } from '../common/registry/search/documents';
import { trainLsa } from '../common/registry/search/lsa';
import { seededRandom } from '../common/registry/search/random';
import { TextIndex } from '../common/registry/search/text-index';

const FIXTURE = path.join(__dirname, '..', 'test', 'fixtures', 'registry', 'derived', 'production_servers.v0.1-envelope.json');
const SIZES = [10_000, 50_000];
const QUERIES = 500;

type Row = [string, string, string];

function realCatalog(): CatalogEntry[] {
  const raw = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as { servers: unknown[] };
  const fetchedAt = '2025-10-01T00:00:00Z';
  const records = raw.servers.flatMap((item): SourceRecord[] => {
    const server = normalizeListItem(item).server;
    return server ? [{ source: 'official', kind: 'official', key: `${server.name}@${server.version}`, fetchedAt, server }] : [];
  });
  return mergeRecords(records, { now: new Date(fetchedAt) });
}

/**
 * `size` entries, each a real entry's shape (packages, remotes, sources, trust) with a new name and a description
 * of words sampled from real descriptions; every entry also gets a made-up brand word, as a real catalog of that size
 * would have tens of thousands of product names.
 */
function synthesize(real: CatalogEntry[], size: number): CatalogEntry[] {
  const random = seededRandom(size);
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)];
  const words = real.flatMap((e) => e.description.split(/\s+/).filter(Boolean));
  const syllables = ['ka', 'zor', 'vex', 'lin', 'tra', 'mo', 'qui', 'bel', 'dra', 'sen', 'fi', 'lux', 'nor', 'pel', 'ry', 'ton'];
  return Array.from({ length: size }, (_, i) => {
    const base = real[i % real.length];
    const brand = Array.from({ length: 2 + Math.floor(random() * 2) }, () => pick(syllables)).join('');
    const own = base.name.slice(base.name.lastIndexOf('/') + 1);
    const name = `${base.name.slice(0, base.name.lastIndexOf('/') + 1)}${brand}-${own}-${i}`;
    const sampled = Array.from({ length: 4 + Math.floor(random() * 10) }, () => pick(words));
    const mine = base.description.split(/\s+/).filter(() => random() < 0.7);
    const description = [brand, ...mine, ...sampled].sort(() => random() - 0.5).join(' ');
    const status: ServerStatus = random() < 0.02 ? 'deleted' : random() < 0.03 ? 'deprecated' : 'active';
    return { ...base, id: `${base.id}~${i}`, name, description, status, aliases: [], trust: { score: Math.round(random() * 100), factors: [] } };
  });
}

/** A realistic mix: names, single words, typos, prefixes (typing), multi-word phrases, filtered and browse queries. */
function queries(entries: CatalogEntry[]): Array<{ query: string; options: SearchOptions; kind: string }> {
  const random = seededRandom(42);
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)];
  const wordsOf = (e: CatalogEntry) => e.description.split(/[^\p{L}]+/u).filter((w) => w.length >= 4);
  const filters: SearchOptions['filters'][] = [{ transport: ['stdio'] }, { packageType: ['npm'] }, { minTrust: 50 }, { hasRemote: true }, { source: ['official'], transport: ['http'] }];
  const out: Array<{ query: string; options: SearchOptions; kind: string }> = [];
  for (let i = 0; i < QUERIES; i++) {
    const entry = pick(entries);
    const words = wordsOf(entry);
    const word = words.length ? pick(words).toLowerCase() : 'search';
    const own = entry.name.slice(entry.name.lastIndexOf('/') + 1).replace(/-\d+$/, '');
    const r = i % 10;
    if (r < 2) out.push({ query: own.split('-').slice(1, 3).join(' ') || own, options: {}, kind: 'name' });
    else if (r < 4) out.push({ query: word, options: {}, kind: 'word' });
    else if (r === 4) {
      const at = 1 + Math.floor(random() * (word.length - 2));
      out.push({ query: word.slice(0, at) + word.slice(at + 1), options: {}, kind: 'typo' });
    } else if (r === 5) out.push({ query: word.slice(0, 3 + Math.floor(random() * 3)), options: {}, kind: 'prefix' });
    else if (r < 8) out.push({ query: Array.from({ length: 2 + Math.floor(random() * 3) }, () => pick(words.length ? words : ['data'])).join(' ').toLowerCase(), options: {}, kind: 'multi-word' });
    else if (r === 8) out.push({ query: word, options: { filters: pick(filters) }, kind: 'filtered' });
    else out.push({ query: i % 20 === 9 ? '' : `${word} ${pick(words.length ? words : ['api'])}`.toLowerCase(), options: { filters: pick(filters) }, kind: i % 20 === 9 ? 'browse' : 'filtered' });
  }
  return out;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 0)} ms`;
const mb = (v: number) => `${(v / 2 ** 20).toFixed(0)} MB`;

/** Builds and queries one catalog size (in its own process, so that memory figures are its own). */
function measure(size: number): Row[] {
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  const entries = synthesize(realCatalog(), size);
  gc();
  const before = process.memoryUsage();
  const docs = entries.map(searchDocument);
  let t = performance.now();
  TextIndex.build(docs);
  const textMs = performance.now() - t;
  t = performance.now();
  const { lsa } = trainLsa(docs);
  const lsaMs = performance.now() - t;
  gc();
  t = performance.now();
  const index = CatalogSearch.build(entries);
  const buildMs = performance.now() - t;
  gc();
  const after = process.memoryUsage();
  const peakRss = process.resourceUsage().maxRSS * 1024;
  const list = queries(entries);
  for (const q of list.slice(0, 50)) index.search(q.query, q.options);
  const latencies: number[] = [];
  const byKind = new Map<string, number[]>();
  for (const q of list) {
    const start = performance.now();
    index.search(q.query, q.options);
    const took = performance.now() - start;
    latencies.push(took);
    byKind.set(q.kind, [...(byKind.get(q.kind) ?? []), took]);
  }
  t = performance.now();
  const json = JSON.stringify(index.toJSON());
  const saveMs = performance.now() - t;
  t = performance.now();
  CatalogSearch.fromJSON(JSON.parse(json), entries);
  const loadMs = performance.now() - t;
  const n = size.toLocaleString('en');
  const p95 = percentile(latencies, 0.95);
  const target = size <= 10_000 ? 5 : 20;
  const worst = [...byKind].map(([kind, values]) => `${kind} ${percentile(values, 0.95).toFixed(1)}`).join(', ');
  return [
    [`${n} entries: build, full text (MiniSearch)`, ms(textMs), ''],
    [`${n} entries: build, LSA (${lsa.vocabulary.length.toLocaleString('en')} terms × ${lsa.dimensions} dims)`, ms(lsaMs), ''],
    [`${n} entries: build, whole index`, ms(buildMs), size >= 50_000 ? `< 15 s ${buildMs < 15_000 ? 'met' : 'MISSED'}` : ''],
    [`${n} entries: heap used by the index / RSS / peak RSS`, `${mb(after.heapUsed - before.heapUsed)} / ${mb(after.rss)} / ${mb(peakRss)}`, size >= 50_000 ? `< 500 MB ${peakRss < 500 * 2 ** 20 ? 'met' : 'MISSED'}` : ''],
    [`${n} entries: search p50 / p95 / p99 (${QUERIES} queries)`, `${percentile(latencies, 0.5).toFixed(2)} / ${p95.toFixed(2)} / ${percentile(latencies, 0.99).toFixed(2)} ms`, `p95 ≤ ${target} ms ${p95 <= target ? 'met' : 'MISSED'}`],
    [`${n} entries:   p95 by kind (ms)`, worst, ''],
    [`${n} entries: toJSON + stringify / parse + fromJSON (${mb(json.length)})`, `${ms(saveMs)} / ${ms(loadMs)}`, ''],
  ];
}

function main(): void {
  const size = Number(process.argv[2]);
  if (size) {
    process.stdout.write(`${JSON.stringify(measure(size))}\n`);
    return;
  }
  const rows: Row[] = [];
  for (const n of SIZES) {
    const child = spawnSync(process.execPath, ['--expose-gc', process.argv[1], String(n)], { encoding: 'utf8', maxBuffer: 2 ** 26 });
    if (child.status !== 0) throw new Error(`size ${n} failed:\n${child.stderr}`);
    rows.push(...(JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Row[]));
  }
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log(`${'measure'.padEnd(w0)}  ${'value'.padStart(w1)}  target`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
  console.log('\n(synthetic catalogs from the 789 real official registry records; each size in a fresh process; one core)');
}

main();
