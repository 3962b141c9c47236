import type { EmbeddingProvider } from '../../common/registry/search/embeddings';
import { postJson, SourceError } from './http';
import type { EmbeddingsSettings } from './settings';

/** An OpenAI-compatible embeddings client: `POST {url}/embeddings {model, input}` → `{data: [{index, embedding}]}`. */
export function embeddingsClient(settings: EmbeddingsSettings, token: string | undefined): EmbeddingProvider {
  return {
    id: `${settings.url}#${settings.model}`,
    /** One request per call: the caller (embedCatalog) batches. */
    async embed(texts: string[]): Promise<Float32Array[]> {
      const response = await postJson(`${settings.url}/embeddings`, { model: settings.model, input: texts }, { headers: token ? { authorization: `Bearer ${token}` } : {}, timeoutMs: 60_000 });
      return vectors(response.body, texts.length, settings.url);
    },
  };
}

/** The answer's vectors in input order, checked: one per input, all of one dimension, all finite. */
function vectors(body: unknown, expected: number, url: string): Float32Array[] {
  const data = (body as { data?: unknown })?.data;
  const fail = (why: string) => new SourceError('malformed', `the embeddings endpoint ${url} ${why}`, { url });
  if (!Array.isArray(data) || data.length !== expected) throw fail(`returned ${Array.isArray(data) ? data.length : 'no'} vectors for ${expected} texts`);
  const out: Float32Array[] = new Array(expected);
  let dimensions: number | undefined;
  data.forEach((item: unknown, position) => {
    const { index = position, embedding } = (item ?? {}) as { index?: unknown; embedding?: unknown };
    if (typeof index !== 'number' || index < 0 || index >= expected || out[index]) throw fail('returned vectors with invalid or repeated indexes');
    if (!Array.isArray(embedding) || embedding.some((x) => typeof x !== 'number' || !Number.isFinite(x))) throw fail('returned a vector that is not a list of numbers');
    dimensions ??= embedding.length;
    if (embedding.length !== dimensions || dimensions === 0) throw fail('returned vectors of different dimensions');
    out[index] = Float32Array.from(embedding as number[]);
  });
  return out;
}
