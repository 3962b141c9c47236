/**
 * Canonical keys for the things that identify a server across sources: its source
 * repository, its packages and its hosted endpoints. Two records with the same key
 * point at the same thing; merge.ts decides which keys are strong enough to merge on.
 */

import type { Package } from './model';

/** Forges whose URLs are `host/owner/repo[/tree/<branch>/<path>]`. */
const OWNER_REPO_HOSTS = new Set(['github.com', 'gitlab.com', 'bitbucket.org', 'codeberg.org', 'gitee.com']);

/** Path segments that introduce a branch and a path inside a repository on the forges above. */
const TREE_MARKERS = new Set(['tree', 'blob', 'src']);

const PLAIN_GITHUB = /^https:\/\/(?:www\.)?github\.com\/([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/i;

/** A subfolder as a clean relative path (lowercase, no `.`/`..`, no surrounding slashes). */
function cleanSubfolder(subfolder: string | undefined): string {
  if (!subfolder) return '';
  return subfolder
    .replace(/\\/g, '/')
    .split('/')
    .filter((segment) => segment !== '' && segment !== '.' && segment !== '..')
    .join('/')
    .toLowerCase();
}

/** Rewrites ssh and scp-like git remotes into https URLs so one parser handles all. */
function toHttpsForm(url: string): string {
  let result = url.trim().replace(/^git\+/i, '');
  const scp = /^(?:[\w.-]+@)?([\w.-]+\.[a-z]{2,}):(?!\/\/)(.+)$/i.exec(result);
  if (scp) return `https://${scp[1]}/${scp[2]}`;
  result = result.replace(/^(?:ssh|git):\/\/(?:[^@/]+@)?([^/:]+)(?::\d+)?\//i, 'https://$1/');
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(result)) result = `https://${result}`;
  return result;
}

/** A repository URL as `host/owner/repo[#subfolder]` (lowercase, no `.git`, `www.` or branch), or undefined. */
export function normalizeRepositoryUrl(url: string, subfolder?: string): string | undefined {
  if (typeof url !== 'string' || url.trim() === '') return undefined;
  // Nearly every URL is a plain GitHub one: skip the URL parser for those (merge runs at every sync).
  const plain = PLAIN_GITHUB.exec(url);
  if (plain) {
    const key = `github.com/${plain[1]}/${plain[2]}`.toLowerCase();
    const sub = cleanSubfolder(subfolder);
    return sub ? `${key}#${sub}` : key;
  }
  let parsed: URL;
  try {
    parsed = new URL(toHttpsForm(url));
  } catch {
    return undefined;
  }
  const host = parsed.hostname.toLowerCase().replace(/^www\./, '');
  if (!host) return undefined;
  const segments = parsed.pathname
    .split('/')
    .filter(Boolean)
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    });
  let repoPath: string[];
  let pathInRepo = '';
  if (OWNER_REPO_HOSTS.has(host)) {
    // GitLab groups nest and mark the end of the project path with `/-/`; the others are owner/repo.
    const dash = host === 'gitlab.com' ? segments.indexOf('-') : -1;
    const split = host === 'gitlab.com' ? (dash < 0 ? segments.length : dash) : 2;
    repoPath = segments.slice(0, split);
    const tail = segments.slice(dash < 0 ? split : dash + 1);
    if (tail.length >= 2 && TREE_MARKERS.has(tail[0]!)) pathInRepo = tail.slice(2).join('/');
  } else {
    repoPath = segments;
  }
  if (repoPath.length === 0) return undefined;
  const last = repoPath.length - 1;
  repoPath[last] = repoPath[last]!.replace(/\.git$/i, '');
  const key = [host, ...repoPath].join('/').toLowerCase();
  const sub = cleanSubfolder(subfolder) || cleanSubfolder(pathInRepo);
  return sub ? `${key}#${sub}` : key;
}

/** The repository part of a key from `normalizeRepositoryUrl`, without the subfolder. */
export function repositoryRoot(key: string): string {
  const hash = key.indexOf('#');
  return hash < 0 ? key : key.slice(0, hash);
}

/** The owner (first path segment) in a repository key. */
export function repositoryOwner(key: string): string | undefined {
  return repositoryRoot(key).split('/')[1];
}

/** PEP 503 normalised name. */
function pep503(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** An OCI image as `registry/path` without tag or digest (Docker Hub defaults made explicit). */
function ociName(identifier: string, registryBaseUrl?: string): string {
  let reference = identifier.trim().toLowerCase().replace(/^[a-z]+:\/\//, '');
  reference = reference.replace(/@.*$/, '');
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  if (colon > slash) reference = reference.slice(0, colon);
  const parts = reference.split('/');
  const first = parts[0]!;
  let registry: string;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    parts.shift();
  } else {
    registry = registryBaseUrl ? registryBaseUrl.toLowerCase().replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '') : 'docker.io';
  }
  if (['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com', 'hub.docker.com'].includes(registry)) registry = 'docker.io';
  if (registry === 'docker.io' && parts.length === 1) parts.unshift('library');
  return `${registry}/${parts.join('/')}`;
}

/** A package's identity as `<registryType>:<canonical name>`, or undefined for unknown registries. */
export function packageKey(pkg: Pick<Package, 'registryType' | 'identifier' | 'registryBaseUrl'>): string | undefined {
  const identifier = pkg.identifier?.trim();
  if (!identifier) return undefined;
  switch (pkg.registryType) {
    case 'npm':
      // Drop a version some entries append (`name@1.2.3`), keeping the scope's `@`.
      return `npm:${identifier.replace(/(.)@[^/]*$/, '$1').toLowerCase()}`;
    case 'pypi':
      return `pypi:${pep503(identifier.replace(/\[.*$|[=<>!~;@ ].*$/, ''))}`;
    case 'oci':
      return `oci:${ociName(identifier, pkg.registryBaseUrl)}`;
    case 'nuget':
      return `nuget:${identifier.toLowerCase()}`;
    case 'mcpb':
      return `mcpb:${remoteKey(identifier) ?? identifier}`;
    default:
      return undefined;
  }
}

/** A remote URL as `scheme://host[:port]/path` (lowercase host, default port, query and trailing slash dropped), or undefined. */
export function remoteKey(url: string): string | undefined {
  if (typeof url !== 'string') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  const host = parsed.host.toLowerCase();
  const path = parsed.pathname.replace(/\/+$/, '');
  return `${parsed.protocol}//${host}${path}`;
}

/** True for URLs that name no particular server: placeholders, loopback, private networks, example domains. */
export function isLocalOrPlaceholderUrl(url: string): boolean {
  if (/[{}]|\$\{/.test(url)) return true;
  const match = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^/:?#]*)/i.exec(url.trim());
  if (!match || !match[1]) return true;
  const host = match[1].toLowerCase().replace(/^\[|\]$/g, '');
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host.endsWith('.local') ||
    host === '0.0.0.0' ||
    host === '::1' ||
    /^127\./.test(host) ||
    /^10\./.test(host) ||
    /^192\.168\./.test(host) ||
    /^172\.(1[6-9]|2\d|3[01])\./.test(host) ||
    /^(?:.*\.)?example\.(com|org|net)$/.test(host) ||
    host.endsWith('.example') ||
    host.endsWith('.test') ||
    host.endsWith('.invalid')
  );
}

/** The namespace of a registry name (`io.github.owner` in `io.github.owner/server`), lowercase. */
export function namespaceOf(name: string): string {
  const slash = name.indexOf('/');
  return (slash < 0 ? name : name.slice(0, slash)).toLowerCase();
}

/** The server part of a registry name (`server` in `io.github.owner/server`), as given: a short key for configs. */
export function serverPart(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

function alnum(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * True when a name's namespace belongs to the repository's owner: `io.github.<owner>` (or
 * gitlab) with that owner, or a reverse-DNS domain whose main label is the owner
 * (`com.blockscout/…` for github.com/blockscout/…).
 */
export function isVerifiedNamespace(name: string, repositoryKey: string | undefined): boolean {
  if (!repositoryKey) return false;
  const owner = repositoryOwner(repositoryKey);
  const host = repositoryRoot(repositoryKey).split('/')[0];
  if (!owner || !host) return false;
  const labels = namespaceOf(name).split('.');
  if (labels[0] === 'io' && (labels[1] === 'github' || labels[1] === 'gitlab')) {
    return labels.length === 3 && host === `${labels[1]}.com` && labels[2] === owner;
  }
  // Reverse DNS: `com.example.sub` → main label `example`.
  return labels.length >= 2 && alnum(labels[1]!) === alnum(owner);
}
