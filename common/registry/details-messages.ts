/**
 * The registry details panel: what the extension sends the webview (a view of one entry, shaped here so that the
 * webview only lays it out) and what the webview may ask for. Everything in a view comes from registries and is
 * untrusted: the webview renders it as text, and only links this module accepted (http and https) are links.
 */
import { categoryLabel, type CategoryId } from './categories';
import { recipeTarget, type InstallRecipe } from './install';
import type { ServerStatus, ToolSummary } from './model';
import type { RegistryEntryDetails } from './protocol';
import { externalUrl } from './text';

/** A link whose text is shown as is; `url` only when it is an http(s) URL that may be opened. */
export interface DetailsLink {
  text: string;
  url?: string;
}

/** One install recipe as the panel shows it. */
export type DetailsRecipe =
  | { runnable: true; label: string; transport: string; commandLine: string; env: string[]; headers: string[]; inputs: Array<{ id: string; description: string; secret: boolean; required: boolean }>; notes: string[] }
  | { runnable: false; label: string; problem: string };

/** Everything the panel shows of one entry. */
export interface DetailsView {
  id: string;
  name: string;
  title?: string;
  description: string;
  category: { id: CategoryId; label: string };
  status: ServerStatus;
  statusMessage?: string;
  aliases: string[];
  trust: { score: number; factors: Array<{ id: string; points: number; reason: string }> };
  sources: Array<{ source: string; kind: string; name: string; link?: DetailsLink }>;
  recipes: DetailsRecipe[];
  /** Newest first, at most MAX_VERSIONS of `versionCount`; `listedAs` when published under another of its names. */
  versions: Array<{ version: string; latest: boolean; status: ServerStatus; publishedAt?: string; listedAs?: string }>;
  versionCount: number;
  repository?: DetailsLink;
  website?: DetailsLink;
  stars?: number;
  license?: string;
  /** Tools (and, when introspected, prompts and resources); `from` says how they are known. */
  capabilities?: { from: 'introspection' | 'directory'; introspectedAt?: string; tools: ToolSummary[]; prompts: ToolSummary[]; resources: ToolSummary[] };
  usedIn: string[];
  /** Whether Add to Workspace, Add to User Profile and Introspect are offered: a trusted workspace and a runnable recipe. */
  canAdd: boolean;
  /** Why those buttons are not offered, when they are not. */
  addBlocked?: string;
}

/** Extension → webview. */
export type DetailsUpdate = { type: 'show'; view: DetailsView };

/** Webview → extension. */
export type DetailsRequest =
  | { type: 'ready' }
  | { type: 'addToWorkspace' }
  | { type: 'addToUserProfile' }
  | { type: 'introspect' }
  | { type: 'openLink'; url: string }
  | { type: 'copy'; text: string };

const MAX_VERSIONS = 30;
const MAX_COPY = 16_384;

function link(text: string | undefined): DetailsLink | undefined {
  if (!text) return undefined;
  const url = externalUrl(text);
  return url ? { text, url } : { text };
}

function recipeView(recipe: InstallRecipe): DetailsRecipe {
  if (!recipe.runnable) return { runnable: false, label: recipe.label, problem: recipe.problem };
  return {
    runnable: true,
    label: recipe.label,
    transport: recipe.transport,
    commandLine: recipeTarget(recipe),
    env: Object.entries(recipe.env).map(([k, v]) => `${k}=${v}`),
    headers: Object.entries(recipe.headers).map(([k, v]) => `${k}: ${v}`),
    inputs: recipe.inputs.map((i) => ({ id: i.id, description: i.description, secret: i.isSecret, required: i.isRequired })),
    notes: recipe.notes,
  };
}

/** The panel's view of an entry; `trusted` is the workspace's trust (nothing is added to an untrusted one). */
export function detailsView(details: RegistryEntryDetails, trusted: boolean): DetailsView {
  const { entry } = details;
  const facts = entry.repositoryFacts;
  const recipes = details.recipes.map(recipeView);
  const runnable = recipes.some((r) => r.runnable);
  const introspected = entry.capabilities;
  const capabilities: DetailsView['capabilities'] = introspected
    ? { from: 'introspection', introspectedAt: introspected.introspectedAt, tools: introspected.tools, prompts: introspected.prompts, resources: introspected.resources }
    : entry.tools.length
      ? { from: 'directory', tools: entry.tools, prompts: [], resources: [] }
      : undefined;
  const repository = link(entry.repository?.url ?? facts?.url);
  const website = link(entry.latest?.websiteUrl ?? facts?.homepage);
  const addBlocked = !trusted ? 'This workspace is not trusted: servers can be browsed, not added.' : !runnable ? 'No package or remote of this server can be installed.' : undefined;
  return {
    id: entry.id,
    name: entry.name,
    ...(entry.title && { title: entry.title }),
    description: entry.description,
    category: { id: details.category, label: categoryLabel(details.category) },
    status: entry.status,
    ...(entry.statusMessage && { statusMessage: entry.statusMessage }),
    aliases: entry.aliases.filter((a) => a !== entry.name),
    trust: { score: entry.trust.score, factors: entry.trust.factors.map((f) => ({ id: f.id, points: f.points, reason: f.reason })) },
    sources: entry.sources.map((s) => ({ source: s.source, kind: s.kind, name: s.name, ...(s.url && { link: link(s.url) }) })),
    recipes,
    // The entry's latest only: each other name of a merged entry has a latest of its own.
    versions: entry.versions.slice(0, MAX_VERSIONS).map((v) => ({
      version: v.version,
      latest: v.name === entry.latest?.name && v.version === entry.latest.version,
      status: v.status,
      ...(v.publishedAt && { publishedAt: v.publishedAt }),
      ...(v.name !== entry.name && { listedAs: v.name }),
    })),
    versionCount: entry.versions.length,
    ...(repository && { repository }),
    ...(website && { website }),
    ...(facts && { stars: facts.stars }),
    ...((facts?.license ?? entry.directory?.license) && { license: facts?.license ?? entry.directory?.license }),
    ...(capabilities && { capabilities }),
    usedIn: details.usedIn,
    canAdd: addBlocked === undefined,
    ...(addBlocked && { addBlocked }),
  };
}

/** A message from the webview if it is one the panel understands, else undefined (a webview is not trusted either). */
export function parseDetailsRequest(message: unknown): DetailsRequest | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const { type, url, text } = message as Record<string, unknown>;
  switch (type) {
    case 'ready':
    case 'addToWorkspace':
    case 'addToUserProfile':
    case 'introspect':
      return { type };
    case 'openLink': {
      const safe = typeof url === 'string' ? externalUrl(url) : undefined;
      return safe ? { type, url: safe } : undefined;
    }
    case 'copy':
      return typeof text === 'string' && text.length <= MAX_COPY ? { type, text } : undefined;
    default:
      return undefined;
  }
}
