/**
 * Turns any server.json shape a registry has served into a `ServerVersion`: the legacy
 * 2025-05 snake_case seed, 2025-07-09, the 2025-09-16 flat list item (status at top level,
 * `_meta` official block), 2025-09-29, 2025-10-17, 2025-12-11 and unknown `$schema`s.
 * Registry data is untrusted and often defective, so this never throws: it keeps what
 * it can use and says what it dropped or repaired in `problems`.
 */

import type {
  Icon,
  Input,
  Package,
  Remote,
  Repository,
  ServerStatus,
  ServerVersion,
  Transport,
} from './model';
import { stripUnsafe } from './text';

/** The outcome of normalising one entry: no server when it cannot be used at all. */
export interface Normalized {
  server?: ServerVersion;
  problems: string[];
}

/** The official registry's metadata key (older servers used the bare prefix). */
const OFFICIAL_META = 'io.modelcontextprotocol.registry/official';
const OLD_OFFICIAL_META = 'io.modelcontextprotocol.registry';

/** Length limits: generous for real data, small enough to keep a hostile entry from bloating the catalog. */
const MAX = { name: 200, short: 255, text: 2000, url: 2048 } as const;

const NAME_PATTERN = /^[A-Za-z0-9.-]+\/[A-Za-z0-9._\/-]+$/;
const SHA256 = /^[a-f0-9]{64}$/;

/** Collects problems with the path they were found at. */
class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(path ? `${path}: ${message}` : message);
  }
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The first of `keys` that `obj` defines (camelCase first, then older snake_case spellings). */
function pick(obj: Obj, ...keys: string[]): unknown {
  for (const key of keys) if (obj[key] !== undefined && obj[key] !== null) return obj[key];
  return undefined;
}

interface TextOptions {
  max?: number;
  multiline?: boolean;
}

/** A cleaned string, or undefined (with a problem) for non-string values; numbers and booleans are written out. */
function text(value: unknown, path: string, problems: Problems, options: TextOptions = {}): string | undefined {
  if (value === undefined || value === null) return undefined;
  let raw: string;
  if (typeof value === 'string') raw = value;
  else if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') raw = String(value);
  else {
    problems.add(path, `expected text, got ${Array.isArray(value) ? 'an array' : typeof value}; dropped`);
    return undefined;
  }
  let cleaned = stripUnsafe(raw, options.multiline ?? false);
  const max = options.max ?? MAX.short;
  if (cleaned.length > max) {
    problems.add(path, `longer than ${max} characters; truncated`);
    cleaned = cleaned.slice(0, max);
  }
  return cleaned;
}

/** Like `text` but an empty result counts as absent. */
function nonEmpty(value: unknown, path: string, problems: Problems, options?: TextOptions): string | undefined {
  const result = text(value, path, problems, options);
  return result ? result : undefined;
}

function flag(value: unknown): boolean {
  return value === true || value === 'true';
}

/** An array, or [] (with a problem when something else was given). */
function list(value: unknown, path: string, problems: Problems): unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  problems.add(path, 'expected a list; dropped');
  return [];
}

/** An RFC 3339 timestamp, or undefined with a problem. */
function timestamp(value: unknown, path: string, problems: Problems): string | undefined {
  const result = nonEmpty(value, path, problems);
  if (result === undefined) return undefined;
  if (Number.isNaN(Date.parse(result))) {
    problems.add(path, `not a timestamp (${JSON.stringify(result)}); dropped`);
    return undefined;
  }
  return result;
}

function normalizeInput(raw: unknown, path: string, problems: Problems, kind: 'argument' | 'keyValue' | 'variable'): Input | undefined {
  if (!isObject(raw)) {
    problems.add(path, 'not an object; dropped');
    return undefined;
  }
  const input: Input = {
    isRequired: flag(pick(raw, 'isRequired', 'is_required', 'required')),
    isSecret: flag(pick(raw, 'isSecret', 'is_secret', 'secret')),
  };
  const name = nonEmpty(raw.name, `${path}.name`, problems);
  if (name !== undefined) input.name = name;
  const description = nonEmpty(raw.description, `${path}.description`, problems, { max: MAX.text, multiline: true });
  if (description !== undefined) input.description = description;
  const value = text(raw.value, `${path}.value`, problems, { max: MAX.url });
  if (value !== undefined) input.value = value;
  const defaultValue = text(raw.default, `${path}.default`, problems, { max: MAX.url });
  if (defaultValue !== undefined) input.default = defaultValue;
  const placeholder = nonEmpty(raw.placeholder, `${path}.placeholder`, problems);
  if (placeholder !== undefined) input.placeholder = placeholder;
  const valueHint = nonEmpty(pick(raw, 'valueHint', 'value_hint'), `${path}.valueHint`, problems);
  if (valueHint !== undefined) input.valueHint = valueHint;
  const format = nonEmpty(raw.format, `${path}.format`, problems);
  if (format !== undefined) input.format = format;
  const choices = list(raw.choices, `${path}.choices`, problems)
    .map((choice, i) => text(choice, `${path}.choices[${i}]`, problems))
    .filter((choice): choice is string => choice !== undefined);
  if (choices.length > 0) input.choices = choices;
  if (kind === 'argument') {
    const type = pick(raw, 'type');
    if (type === 'positional' || type === 'named') input.type = type;
    else {
      // The schema requires `type`; a flag-like or named entry is a named argument.
      input.type = name !== undefined ? 'named' : 'positional';
      if (type !== undefined) problems.add(`${path}.type`, `unknown argument type ${JSON.stringify(type)}; treated as ${input.type}`);
    }
    if (input.type === 'named' && name === undefined) {
      problems.add(path, 'named argument without a name; dropped');
      return undefined;
    }
    if (flag(pick(raw, 'isRepeated', 'is_repeated'))) input.isRepeated = true;
  }
  if (kind === 'keyValue' && name === undefined) {
    problems.add(path, 'no name; dropped');
    return undefined;
  }
  const variables = normalizeVariables(raw.variables, `${path}.variables`, problems);
  if (variables) input.variables = variables;
  return input;
}

function normalizeVariables(raw: unknown, path: string, problems: Problems): Record<string, Input> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) {
    problems.add(path, 'not an object; dropped');
    return undefined;
  }
  const variables: Record<string, Input> = {};
  for (const [key, value] of Object.entries(raw)) {
    const name = stripUnsafe(key, false);
    const variable = normalizeInput(value, `${path}.${name}`, problems, 'variable');
    if (name && variable) variables[name] = variable;
  }
  return Object.keys(variables).length > 0 ? variables : undefined;
}

function normalizeInputs(raw: unknown, path: string, problems: Problems, kind: 'argument' | 'keyValue'): Input[] {
  return list(raw, path, problems)
    .map((item, i) => normalizeInput(item, `${path}[${i}]`, problems, kind))
    .filter((item): item is Input => item !== undefined);
}

/** A transport given as an object, a bare type string, or not at all (stdio for packages). */
function normalizeTransport(raw: unknown, path: string, problems: Problems): Transport {
  if (raw === undefined || raw === null) return { type: 'stdio' };
  if (typeof raw === 'string') return { type: nonEmpty(raw, path, problems) ?? 'stdio' };
  if (!isObject(raw)) {
    problems.add(path, 'not an object; stdio assumed');
    return { type: 'stdio' };
  }
  const transport: Transport = { type: nonEmpty(pick(raw, 'type', 'transport_type'), `${path}.type`, problems) ?? 'stdio' };
  const url = nonEmpty(raw.url, `${path}.url`, problems, { max: MAX.url });
  if (url !== undefined) transport.url = url;
  const headers = normalizeInputs(raw.headers, `${path}.headers`, problems, 'keyValue');
  if (headers.length > 0) transport.headers = headers;
  return transport;
}

/** Older data says `docker` and writes registry names in any case. */
function registryTypeOf(value: string): string {
  const lower = value.toLowerCase();
  return lower === 'docker' ? 'oci' : lower;
}

const VERSIONED_REGISTRIES = new Set(['npm', 'pypi', 'nuget']);

function normalizePackage(raw: unknown, path: string, problems: Problems): Package | undefined {
  if (!isObject(raw)) {
    problems.add(path, 'not an object; dropped');
    return undefined;
  }
  const type = nonEmpty(pick(raw, 'registryType', 'registry_type', 'registry_name'), `${path}.registryType`, problems);
  const identifier = nonEmpty(pick(raw, 'identifier', 'name'), `${path}.identifier`, problems, { max: MAX.url });
  if (type === undefined || identifier === undefined) {
    problems.add(path, `no ${type === undefined ? 'registryType' : 'identifier'}; dropped`);
    return undefined;
  }
  const registryType = registryTypeOf(type);
  if (!['npm', 'pypi', 'oci', 'nuget', 'mcpb'].includes(registryType)) {
    problems.add(`${path}.registryType`, `unknown registry type ${JSON.stringify(type)}`);
  }
  const pkg: Package = {
    registryType,
    identifier,
    transport: normalizeTransport(pick(raw, 'transport', 'transport_type'), `${path}.transport`, problems),
    runtimeArguments: normalizeInputs(pick(raw, 'runtimeArguments', 'runtime_arguments'), `${path}.runtimeArguments`, problems, 'argument'),
    packageArguments: normalizeInputs(pick(raw, 'packageArguments', 'package_arguments'), `${path}.packageArguments`, problems, 'argument'),
    environmentVariables: normalizeInputs(
      pick(raw, 'environmentVariables', 'environment_variables'),
      `${path}.environmentVariables`,
      problems,
      'keyValue',
    ),
  };
  const baseUrl = nonEmpty(pick(raw, 'registryBaseUrl', 'registry_base_url'), `${path}.registryBaseUrl`, problems, { max: MAX.url });
  if (baseUrl !== undefined) pkg.registryBaseUrl = baseUrl;
  const version = nonEmpty(raw.version, `${path}.version`, problems);
  if (version !== undefined) pkg.version = version;
  else if (VERSIONED_REGISTRIES.has(registryType)) problems.add(`${path}.version`, 'missing');
  const runtimeHint = nonEmpty(pick(raw, 'runtimeHint', 'runtime_hint'), `${path}.runtimeHint`, problems);
  if (runtimeHint !== undefined) pkg.runtimeHint = runtimeHint;
  const sha = nonEmpty(pick(raw, 'fileSha256', 'file_sha256'), `${path}.fileSha256`, problems);
  if (sha !== undefined) {
    if (SHA256.test(sha.toLowerCase())) pkg.fileSha256 = sha.toLowerCase();
    else problems.add(`${path}.fileSha256`, 'not a SHA-256 hex digest; dropped');
  }
  return pkg;
}

function normalizeRemote(raw: unknown, path: string, problems: Problems): Remote | undefined {
  if (!isObject(raw)) {
    problems.add(path, 'not an object; dropped');
    return undefined;
  }
  const url = nonEmpty(raw.url, `${path}.url`, problems, { max: MAX.url });
  if (url === undefined) {
    problems.add(path, 'no url; dropped');
    return undefined;
  }
  // 2025-05 remotes say `transport_type`; some say `transport` as a string or object.
  const transport = pick(raw, 'type', 'transport_type', 'transport');
  const typeValue = isObject(transport) ? transport.type : transport;
  let type = nonEmpty(typeValue, `${path}.type`, problems);
  if (type === undefined) {
    type = 'streamable-http';
    problems.add(`${path}.type`, 'missing; streamable-http assumed');
  }
  const remote: Remote = { type, url, headers: normalizeInputs(raw.headers, `${path}.headers`, problems, 'keyValue') };
  const variables = normalizeVariables(raw.variables, `${path}.variables`, problems);
  if (variables) remote.variables = variables;
  return remote;
}

function normalizeRepository(raw: unknown, problems: Problems): Repository | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') raw = { url: raw };
  if (!isObject(raw)) {
    problems.add('repository', 'not an object; dropped');
    return undefined;
  }
  const url = nonEmpty(raw.url, 'repository.url', problems, { max: MAX.url });
  if (url === undefined) {
    // Real entries carry `{url:"", source:""}`: that is no repository at all.
    problems.add('repository', 'empty; ignored');
    return undefined;
  }
  const repository: Repository = { url };
  const source = nonEmpty(raw.source, 'repository.source', problems);
  if (source !== undefined) repository.source = source;
  const subfolder = nonEmpty(raw.subfolder, 'repository.subfolder', problems);
  if (subfolder !== undefined) repository.subfolder = subfolder;
  const id = nonEmpty(raw.id, 'repository.id', problems);
  if (id !== undefined) repository.id = id;
  return repository;
}

function normalizeIcons(raw: unknown, problems: Problems): Icon[] {
  const icons: Icon[] = [];
  list(raw, 'icons', problems).forEach((item, i) => {
    const path = `icons[${i}]`;
    const src = isObject(item) ? nonEmpty(item.src, `${path}.src`, problems, { max: MAX.url }) : undefined;
    if (!isObject(item) || src === undefined || !src.startsWith('https://')) {
      problems.add(path, 'no https src; dropped');
      return;
    }
    const icon: Icon = { src };
    const mimeType = nonEmpty(item.mimeType, `${path}.mimeType`, problems);
    if (mimeType !== undefined) icon.mimeType = mimeType;
    const sizes = list(item.sizes, `${path}.sizes`, problems).filter((size): size is string => typeof size === 'string' && /^(\d+x\d+|any)$/.test(size));
    if (sizes.length > 0) icon.sizes = sizes;
    const theme = nonEmpty(item.theme, `${path}.theme`, problems);
    if (theme !== undefined) icon.theme = theme;
    icons.push(icon);
  });
  return icons;
}

const STATUSES: readonly ServerStatus[] = ['active', 'deprecated', 'deleted'];

/** Registry metadata from every place a version has kept it, later ones winning. */
function gatherMeta(raw: Obj, registryMeta: unknown): Obj {
  const meta: Obj = {};
  // 2025-09-16 flat items: status at top level; legacy seed: version_detail.
  if (raw.status !== undefined) meta.status = raw.status;
  const detail = raw.version_detail;
  if (isObject(detail)) {
    if (detail.release_date !== undefined) meta.publishedAt = detail.release_date;
    if (detail.is_latest !== undefined) meta.isLatest = detail.is_latest;
  }
  const rawMeta = isObject(raw._meta) ? raw._meta : {};
  for (const block of [rawMeta[OLD_OFFICIAL_META], rawMeta[OFFICIAL_META], registryMeta]) {
    if (!isObject(block)) continue;
    const official = isObject(block[OFFICIAL_META]) ? block[OFFICIAL_META] : block;
    for (const [key, value] of Object.entries(official)) if (value !== undefined && value !== null) meta[key] = value;
  }
  return meta;
}

function applyMeta(server: ServerVersion, meta: Obj, problems: Problems): void {
  const status = pick(meta, 'status');
  if (status !== undefined) {
    const value = typeof status === 'string' ? status.toLowerCase() : status;
    if (STATUSES.includes(value as ServerStatus)) server.status = value as ServerStatus;
    else problems.add('status', `unknown status ${JSON.stringify(status)}; treated as active`);
  }
  const statusMessage = nonEmpty(pick(meta, 'statusMessage', 'status_message'), 'statusMessage', problems, { max: MAX.text, multiline: true });
  if (statusMessage !== undefined) server.statusMessage = statusMessage;
  const publishedAt = timestamp(pick(meta, 'publishedAt', 'published_at', 'release_date'), 'publishedAt', problems);
  if (publishedAt !== undefined) server.publishedAt = publishedAt;
  const updatedAt = timestamp(pick(meta, 'updatedAt', 'updated_at'), 'updatedAt', problems);
  if (updatedAt !== undefined) server.updatedAt = updatedAt;
  server.isLatest = flag(pick(meta, 'isLatest', 'is_latest'));
}

/** Normalises one server.json (any version) plus optional registry metadata (`_meta` of a list item). */
export function normalizeServer(raw: unknown, registryMeta?: unknown): Normalized {
  const problems = new Problems();
  if (!isObject(raw)) {
    problems.add('', 'entry is not an object');
    return { problems: problems.list };
  }
  // A name must be text: a number would be "repaired" into a name nobody published.
  const name = typeof raw.name === 'string' ? nonEmpty(raw.name, 'name', problems, { max: MAX.name }) : undefined;
  if (name === undefined) {
    problems.add('name', 'missing; entry unusable');
    return { problems: problems.list };
  }
  if (!NAME_PATTERN.test(name)) problems.add('name', `not a registry name (namespace/name): ${JSON.stringify(name)}`);

  const detail = isObject(raw.version_detail) ? raw.version_detail : {};
  let version = nonEmpty(pick(raw, 'version') ?? detail.version, 'version', problems);
  if (version === undefined) {
    problems.add('version', 'missing');
    version = '';
  }
  let description = text(raw.description, 'description', problems, { max: MAX.text, multiline: true });
  if (!description) {
    problems.add('description', 'missing');
    description = '';
  }

  const server: ServerVersion = {
    name,
    version,
    description,
    packages: list(raw.packages, 'packages', problems)
      .map((item, i) => normalizePackage(item, `packages[${i}]`, problems))
      .filter((item): item is Package => item !== undefined),
    remotes: list(raw.remotes, 'remotes', problems)
      .map((item, i) => normalizeRemote(item, `remotes[${i}]`, problems))
      .filter((item): item is Remote => item !== undefined),
    status: 'active',
    isLatest: false,
  };
  const title = nonEmpty(raw.title, 'title', problems);
  if (title !== undefined) server.title = title;
  const websiteUrl = nonEmpty(pick(raw, 'websiteUrl', 'website_url'), 'websiteUrl', problems, { max: MAX.url });
  if (websiteUrl !== undefined) server.websiteUrl = websiteUrl;
  const icons = normalizeIcons(raw.icons, problems);
  if (icons.length > 0) server.icons = icons;
  const repository = normalizeRepository(raw.repository, problems);
  if (repository) server.repository = repository;
  const schema = nonEmpty(raw.$schema, '$schema', problems, { max: MAX.url });
  if (schema !== undefined) server.schema = schema;
  else if (isObject(raw.version_detail)) server.schema = 'legacy';
  applyMeta(server, gatherMeta(raw, registryMeta), problems);
  return { server, problems: problems.list };
}

/** Normalises one list item: the v0.1 envelope `{server, _meta}` or a flat server.json with its metadata inside. */
export function normalizeListItem(item: unknown): Normalized {
  if (isObject(item) && isObject(item.server)) return normalizeServer(item.server, item._meta);
  return normalizeServer(item);
}
