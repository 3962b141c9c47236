/**
 * A trust score for a catalog entry, built only from what the sources said: nothing is
 * guessed, and a fact no source gave (stars, activity) adds no factor at all.
 *
 * | factor               | points | when                                                        |
 * |----------------------|--------|-------------------------------------------------------------|
 * | official             |   +25  | listed in the official registry                             |
 * | verified-namespace   |   +20  | io.github.<owner> or reverse-DNS domain matches repo owner   |
 * | domain-namespace     |    +8  | else, an official listing under a domain the registry proved |
 * | repository           |   +10  | a source repository is given                                |
 * | no-repository        |   -10  | none is (or it is no http(s) address, e.g. `javascript:`)  |
 * | archived             |   -30  | GitHub says the repository is archived                      |
 * | license              |    +5  | GitHub or the directory names a license                     |
 * | recently-active      |   +10  | pushed within 90 days (GitHub facts only)                   |
 * | stale                |   -10  | not pushed for over a year (GitHub facts only)              |
 * | stars                | 0..+15 | 5 × log10(stars + 1), capped (GitHub facts only)            |
 * | package-checksummed  |   +10  | an MCPB bundle with a SHA-256 to verify                     |
 * | package-public       |    +8  | npm / PyPI / NuGet / OCI package from a public registry     |
 * | nothing-to-run       |    -5  | no package and no remote                                    |
 * | remote-https         |    +5  | every remote uses https                                     |
 * | remote-http          |   -10  | a remote sends traffic unencrypted over the internet        |
 * | deprecated           |   -20  | the registry marks the latest version deprecated            |
 * | deleted              |  -100  | every version was deleted (score forced to 0)               |
 *
 * The sum is clamped to 0–100.
 */

import { isLocalOrPlaceholderUrl, isVerifiedNamespace, namespaceOf, normalizeRepositoryUrl } from './identity';
import type { CatalogEntry, ServerVersion, Trust, TrustFactor } from './model';
import { externalUrl } from './text';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Registries server.json names as public, by registry type. */
const PUBLIC_REGISTRIES: Record<string, string[]> = {
  npm: ['registry.npmjs.org'],
  pypi: ['pypi.org'],
  nuget: ['api.nuget.org'],
  oci: ['docker.io', 'ghcr.io', 'quay.io', 'mcr.microsoft.com', 'gcr.io', 'public.ecr.aws'],
};

const REGISTRY_LABELS: Record<string, string> = { npm: 'npm', pypi: 'PyPI', nuget: 'NuGet', oci: 'an OCI registry' };

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

function namespaceFactor(entry: Omit<CatalogEntry, 'trust'>, official: boolean): TrustFactor | undefined {
  const repoKey = entry.repository ? normalizeRepositoryUrl(entry.repository.url, entry.repository.subfolder) : undefined;
  const namespace = namespaceOf(entry.name);
  if (entry.versions.length > 0 && isVerifiedNamespace(entry.name, repoKey)) {
    return { id: 'verified-namespace', points: 20, reason: `The namespace ${namespace} belongs to the repository's owner.` };
  }
  if (official && entry.versions.length > 0 && !namespace.startsWith('io.github.')) {
    const domain = namespace.split('.').reverse().join('.');
    return {
      id: 'domain-namespace',
      points: 8,
      reason: `The official registry checked that the publisher controls ${domain}, though it is not the repository's owner.`,
    };
  }
  return undefined;
}

function activityFactors(entry: Omit<CatalogEntry, 'trust'>, now: Date): TrustFactor[] {
  const facts = entry.repositoryFacts;
  if (!facts) return [];
  const factors: TrustFactor[] = [];
  if (facts.archived) factors.push({ id: 'archived', points: -30, reason: 'The repository is archived: nobody maintains it.' });
  const pushed = facts.pushedAt ? Date.parse(facts.pushedAt) : NaN;
  if (!Number.isNaN(pushed)) {
    const days = Math.floor((now.getTime() - pushed) / DAY_MS);
    if (days <= 90) factors.push({ id: 'recently-active', points: 10, reason: `Code was pushed ${Math.max(days, 0)} days ago.` });
    else if (days > 365) factors.push({ id: 'stale', points: -10, reason: `No code pushed for ${Math.floor(days / 30)} months.` });
  }
  if (facts.stars > 0) {
    const points = Math.min(15, Math.round(5 * Math.log10(facts.stars + 1)));
    factors.push({ id: 'stars', points, reason: `${facts.stars} GitHub stars.` });
  }
  return factors;
}

function packageFactor(server: ServerVersion): TrustFactor | undefined {
  const checksummed = server.packages.find((pkg) => pkg.registryType === 'mcpb' && pkg.fileSha256);
  if (checksummed) return { id: 'package-checksummed', points: 10, reason: 'An MCPB bundle with a SHA-256 checksum to verify the download.' };
  const publicPackage = server.packages.find((pkg) => {
    const hosts = PUBLIC_REGISTRIES[pkg.registryType];
    if (!hosts) return false;
    const host = hostOf(pkg.registryBaseUrl);
    return host === undefined || hosts.includes(host);
  });
  if (publicPackage) {
    return { id: 'package-public', points: 8, reason: `Published to ${REGISTRY_LABELS[publicPackage.registryType]} as ${publicPackage.identifier}.` };
  }
  return undefined;
}

function remoteFactor(server: ServerVersion): TrustFactor | undefined {
  if (server.remotes.length === 0) return undefined;
  const plain = server.remotes.find((remote) => remote.url.startsWith('http://') && !isLocalOrPlaceholderUrl(remote.url));
  if (plain) return { id: 'remote-http', points: -10, reason: `The endpoint ${plain.url} is not encrypted (http).` };
  if (server.remotes.every((remote) => remote.url.startsWith('https://'))) {
    return { id: 'remote-https', points: 5, reason: 'Hosted endpoints use https.' };
  }
  return undefined;
}

/** Scores an entry 0–100 with the factors behind the score; deterministic given `now`. */
export function scoreTrust(entry: Omit<CatalogEntry, 'trust'>, now: Date): Trust {
  const factors: TrustFactor[] = [];
  const official = entry.sources.some((source) => source.kind === 'official');
  if (official) factors.push({ id: 'official', points: 25, reason: 'Listed in the official MCP registry.' });
  const namespace = namespaceFactor(entry, official);
  if (namespace) factors.push(namespace);
  // Only a web address is somewhere to read the code: `javascript:` or `file:` is a claim, not a repository.
  if (entry.repository && externalUrl(entry.repository.url)) factors.push({ id: 'repository', points: 10, reason: `Source code at ${entry.repository.url}.` });
  else factors.push({ id: 'no-repository', points: -10, reason: entry.repository ? 'The source repository given is not a web address.' : 'No source repository is given.' });
  factors.push(...activityFactors(entry, now));
  const license = entry.repositoryFacts?.license ?? entry.directory?.license;
  if (license && !['NOASSERTION', 'other'].includes(license)) factors.push({ id: 'license', points: 5, reason: `Licensed ${license}.` });
  const server = entry.latest ?? entry.versions[0];
  if (server) {
    const pkg = packageFactor(server);
    if (pkg) factors.push(pkg);
    const remote = remoteFactor(server);
    if (remote) factors.push(remote);
    if (server.packages.length === 0 && server.remotes.length === 0) {
      factors.push({ id: 'nothing-to-run', points: -5, reason: 'The listing gives no package to install and no endpoint to connect to.' });
    }
  }
  if (entry.status === 'deprecated') {
    factors.push({ id: 'deprecated', points: -20, reason: `Deprecated${entry.statusMessage ? `: ${entry.statusMessage}` : '.'}` });
  }
  if (entry.status === 'deleted') {
    factors.push({ id: 'deleted', points: -100, reason: 'Every version was deleted from the registry.' });
    return { score: 0, factors };
  }
  const sum = factors.reduce((total, factor) => total + factor.points, 0);
  return { score: Math.max(0, Math.min(100, sum)), factors };
}
