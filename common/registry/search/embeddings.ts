/**
 * Optional external embeddings (e.g. an OpenAI-compatible `/v1/embeddings` endpoint the sidecar calls) in place of
 * LSA. Vectors are keyed by entry id and a hash of the embedded text, so a cache survives syncs that change nothing.
 */
import type { CatalogEntry } from '../model';
import { searchDocument, type SearchDocument } from './documents';

/** Something that turns texts into vectors; `id` names the model, so vectors of different models never mix. */
export interface EmbeddingProvider {
  id: string;
  dimensions?: number;
  embed(texts: string[]): Promise<Float32Array[]>;
}

/** Document vectors from a provider, by `embeddingKey`. */
export interface ExternalEmbeddings {
  providerId: string;
  vectors: Map<string, Float32Array>;
}

/** The text embedded for an entry: what it is and what it does. */
export function embeddingText(doc: SearchDocument): string {
  return [doc.title || doc.name, doc.description, doc.tools, doc.toolDescriptions].filter(Boolean).join('\n');
}

/** `id#hash-of-embedded-text`: changes exactly when the entry's vector must be recomputed. */
export function embeddingKey(entry: CatalogEntry, doc: SearchDocument = searchDocument(entry)): string {
  return `${entry.id}#${contentHash(embeddingText(doc))}`;
}

/** Embeds the entries `cached` lacks, `batchSize` texts a request; returns every entry's vector by key. */
export async function embedCatalog(entries: CatalogEntry[], provider: EmbeddingProvider, cached = new Map<string, Float32Array>(), batchSize = 64): Promise<ExternalEmbeddings> {
  const vectors = new Map<string, Float32Array>();
  const missing: Array<{ key: string; text: string }> = [];
  for (const entry of entries) {
    const doc = searchDocument(entry);
    const key = embeddingKey(entry, doc);
    const vector = cached.get(key);
    if (vector) vectors.set(key, vector);
    else missing.push({ key, text: embeddingText(doc) });
  }
  for (let i = 0; i < missing.length; i += batchSize) {
    const batch = missing.slice(i, i + batchSize);
    const embedded = await provider.embed(batch.map((m) => m.text));
    if (embedded.length !== batch.length) throw new Error(`embedding provider ${provider.id} returned ${embedded.length} vectors for ${batch.length} texts`);
    batch.forEach((m, j) => vectors.set(m.key, embedded[j]));
  }
  return { providerId: provider.id, vectors };
}

/** A 64-bit FNV-1a hash of a text, as 16 hex digits (not cryptographic: it only detects change). */
export function contentHash(text: string): string {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (let i = 0; i < text.length; i++) {
    lo = (lo ^ text.charCodeAt(i)) >>> 0;
    // Multiply the 64-bit state by the FNV prime 0x100000001b3, in 32-bit halves.
    const a = lo * 0x1b3;
    const carry = Math.floor(a / 0x100000000);
    const nextLo = a >>> 0;
    hi = (Math.imul(hi, 0x1b3) + Math.imul(lo, 0x100) + carry) >>> 0;
    lo = nextLo;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
