import type { DirectoryFacts, SourceRecord, ToolSummary } from '../../../common/registry/model';
import { cleanText } from '../../../common/registry/text';
import { asArray, asObject, checkCursorMoves, getPage, type Page, type Pass, type PullContext, type SourceAdapter } from './source';

const PAGE_SIZE = 100;

/** Glama's MCP directory (`GET /v1/servers?first=&after=`, Relay-style cursors). Every pass is full. */
export const glamaDirectory: SourceAdapter = {
  incremental: false,
  async page(pass: Pass, context: PullContext): Promise<Page> {
    const url = new URL(`${context.settings.url}/v1/servers`);
    url.searchParams.set('first', String(PAGE_SIZE));
    if (pass.cursor) url.searchParams.set('after', pass.cursor);
    const { items, next } = await getPage(url, context, context.token ? { authorization: `Bearer ${context.token}` } : {}, (body) => {
      const pageInfo = asObject(body.pageInfo, "the answer's pageInfo");
      return { items: asArray(body.servers, "the answer's servers"), next: pageInfo.hasNextPage === true && typeof pageInfo.endCursor === 'string' ? pageInfo.endCursor : undefined };
    });
    checkCursorMoves(next, pass, url);
    const fetchedAt = context.now().toISOString();
    const records: SourceRecord[] = [];
    const skipped: string[] = [];
    for (const item of items) {
      const directory = directoryFacts(item);
      if (typeof directory === 'string') skipped.push(directory);
      else records.push({ source: context.settings.name, kind: 'glama', key: directory.id, fetchedAt, directory });
    }
    return { records, skipped, notes: [], ...(next && { next }) };
  },
};

/** A Glama server as DirectoryFacts, or why it was left out. */
function directoryFacts(item: unknown): DirectoryFacts | string {
  if (item === null || typeof item !== 'object') return 'an item that is not an object';
  const r = item as Record<string, unknown>;
  const id = cleanText(r.id, 64);
  const name = cleanText(r.name, 200);
  if (!id || !/^[a-z0-9]+$/.test(id)) return `an item with an invalid id ${JSON.stringify(String(r.id).slice(0, 40))}`;
  if (!name) return `item ${id} has no name`;
  const repository = r.repository && typeof r.repository === 'object' ? cleanText((r.repository as Record<string, unknown>).url, 500) : undefined;
  const license = r.spdxLicense && typeof r.spdxLicense === 'object' ? cleanText((r.spdxLicense as Record<string, unknown>).name, 64) : undefined;
  const schema = r.environmentVariablesJsonSchema && typeof r.environmentVariablesJsonSchema === 'object' ? (r.environmentVariablesJsonSchema as Record<string, unknown>) : undefined;
  const variables = schema?.properties && typeof schema.properties === 'object' ? Object.keys(schema.properties).filter((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) : [];
  const facts: DirectoryFacts = {
    id,
    name,
    tools: Array.isArray(r.tools) ? r.tools.map(tool).filter((t): t is ToolSummary => !!t).slice(0, 200) : [],
    attributes: Array.isArray(r.attributes) ? r.attributes.map((a) => cleanText(a, 60)).filter((a): a is string => !!a) : [],
    environmentVariables: variables.slice(0, 100),
  };
  const optional = {
    namespace: cleanText(r.namespace, 100),
    slug: cleanText(r.slug, 200),
    description: cleanText(r.description, 2000),
    url: httpUrl(cleanText(r.url, 500)),
    repositoryUrl: httpUrl(repository),
    license,
  };
  for (const [key, value] of Object.entries(optional)) if (value) (facts as unknown as Record<string, string>)[key] = value;
  return facts;
}

function tool(value: unknown): ToolSummary | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const r = value as Record<string, unknown>;
  const name = cleanText(r.name, 200);
  if (!name) return undefined;
  const description = cleanText(r.description, 1000);
  return description ? { name, description } : { name };
}

function httpUrl(value: string | undefined): string | undefined {
  return value && /^https?:\/\/[^\s]+$/.test(value) ? value : undefined;
}
