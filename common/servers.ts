import { findNodeAtLocation, getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import type { Diagnostic } from './diagnostics';
import type { Range, SourceFile } from './source';
import { parseDuration } from './workflow/duration';

/** A server ready to start: every variable and expression already substituted. */
export type ServerDefinition = StdioServerDefinition | HttpServerDefinition;

export interface StdioServerDefinition {
  type: 'stdio';
  command: string;
  args: string[];
  /** Variables set for the server; null unsets an inherited one. */
  env: Record<string, string | null>;
  envFile?: string;
  cwd?: string;
  startupTimeoutMs?: number;
}

export interface HttpServerDefinition {
  type: 'http' | 'sse';
  url: string;
  headers: Record<string, string>;
  startupTimeoutMs?: number;
}

/** Where a server's definition came from. */
export type ServerOrigin = { kind: 'workflow'; file: string } | { kind: 'mcp.json'; file: string };

/** Turns a raw definition (workflow `servers:` entry or .vscode/mcp.json entry) into a server definition, or says what is wrong with it. */
export function normalizeServerDefinition(raw: unknown): ServerDefinition | { error: string } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { error: 'a server definition must be an object' };
  const r = raw as Record<string, unknown>;
  const type = r.type ?? (r.url !== undefined ? 'http' : 'stdio');
  const startupTimeoutMs = r.startupTimeout === undefined ? undefined : parseDuration(r.startupTimeout);
  const timeout = startupTimeoutMs === undefined ? {} : { startupTimeoutMs };
  if (type === 'stdio') {
    if (typeof r.command !== 'string' || r.command.trim() === '') return { error: "a stdio server needs a 'command'" };
    if (r.args !== undefined && !Array.isArray(r.args)) return { error: "'args' must be a list" };
    const env = stringMap(r.env, true);
    if (typeof env === 'string') return { error: `'env' ${env}` };
    return {
      type: 'stdio',
      command: r.command,
      args: ((r.args as unknown[] | undefined) ?? []).map(String),
      env: env as Record<string, string | null>,
      ...(typeof r.envFile === 'string' && { envFile: r.envFile }),
      ...(typeof r.cwd === 'string' && { cwd: r.cwd }),
      ...timeout,
    };
  }
  if (type === 'http' || type === 'sse') {
    if (typeof r.url !== 'string') return { error: `${type === 'sse' ? 'an' : 'a'} ${type} server needs a 'url'` };
    try {
      const url = new URL(r.url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: `'url' must be http or https, not ${url.protocol.replace(/:$/, '')}` };
    } catch {
      return { error: `'url' is not a valid URL: ${JSON.stringify(r.url)}` };
    }
    const headers = stringMap(r.headers, false);
    if (typeof headers === 'string') return { error: `'headers' ${headers}` };
    return { type, url: r.url, headers: headers as Record<string, string>, ...timeout };
  }
  return { error: `unknown server type ${JSON.stringify(type)}; use stdio, http or sse` };
}

function stringMap(value: unknown, allowNull: boolean): Record<string, string | null> | string {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'must be an object of names to values';
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null && allowNull) out[k] = null;
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else return `has a value for '${k}' that is not a string`;
  }
  return out;
}

/** An entry of the `inputs` list of .vscode/mcp.json: a value asked of the user, referenced as `${input:id}`. */
export interface McpInput {
  id: string;
  type: string;
  description?: string;
  password: boolean;
  default?: string;
  options?: string[];
}

/** A parsed .vscode/mcp.json. */
export interface McpConfig {
  file: SourceFile;
  servers: Map<string, { raw: unknown; range: Range }>;
  inputs: McpInput[];
  diagnostics: Diagnostic[];
}

/** Parses VS Code's .vscode/mcp.json (JSON with comments), keeping the range of each server for error messages. */
export function parseMcpConfig(file: SourceFile): McpConfig {
  const errors: ParseError[] = [];
  const root = parseTree(file.text, errors, { allowTrailingComma: true, allowEmptyContent: true });
  // One syntax error often sets off more at the same place; the first says what is wrong.
  const firstPerOffset = errors.filter((e, i) => errors.findIndex((o) => o.offset === e.offset) === i);
  const diagnostics: Diagnostic[] = firstPerOffset.map((e) => ({
    severity: 'error',
    message: `JSON: ${describeJsonError(printParseErrorCode(e.error))}`,
    range: { start: e.offset, end: e.offset + e.length },
    code: 'json',
  }));
  const config: McpConfig = { file, servers: new Map(), inputs: [], diagnostics };
  if (!root) return config;
  if (root.type !== 'object') {
    diagnostics.push({ severity: 'error', message: 'mcp.json must hold an object with "servers".', range: nodeRange(root), code: 'mcp-json' });
    return config;
  }
  const servers = findNodeAtLocation(root, ['servers']);
  if (servers?.type === 'object') {
    for (const property of servers.children ?? []) {
      const [key, value] = property.children ?? [];
      if (!key || !value) continue;
      const raw: unknown = getNodeValue(value);
      const normalized = normalizeServerDefinition(raw);
      if ('error' in normalized) {
        diagnostics.push({ severity: 'error', message: `server '${String(key.value)}': ${normalized.error}.`, range: nodeRange(key), code: 'mcp-json' });
      }
      config.servers.set(String(key.value), { raw, range: nodeRange(key) });
    }
  } else if (servers) {
    diagnostics.push({ severity: 'error', message: '"servers" must be an object of server names to definitions.', range: nodeRange(servers), code: 'mcp-json' });
  }
  const inputs = findNodeAtLocation(root, ['inputs']);
  if (inputs?.type === 'array') {
    for (const item of inputs.children ?? []) {
      const v = getNodeValue(item) as Record<string, unknown> | null;
      if (!v || typeof v.id !== 'string') continue;
      config.inputs.push({
        id: v.id,
        type: typeof v.type === 'string' ? v.type : 'promptString',
        ...(typeof v.description === 'string' && { description: v.description }),
        password: v.password === true,
        ...(typeof v.default === 'string' && { default: v.default }),
        ...(Array.isArray(v.options) && { options: v.options.map(String) }),
      });
    }
  }
  return config;
}

function nodeRange(node: Node): Range {
  return { start: node.offset, end: node.offset + node.length };
}

function describeJsonError(code: string): string {
  return code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/** What `${…}` variables in .vscode/mcp.json resolve against, as VS Code resolves them. */
export interface VariableScope {
  workspaceFolder: string;
  userHome: string;
  env: Readonly<Record<string, string | undefined>>;
  /** The value of `${input:id}`; undefined when it cannot be had. */
  input(id: string): string | undefined;
}

/** Substitutes VS Code's `${workspaceFolder}`, `${userHome}`, `${env:NAME}`, `${input:id}`, `${pathSeparator}` in every string of a value. */
export function substituteVariables(value: unknown, scope: VariableScope): unknown {
  if (typeof value === 'string') return substituteString(value, scope);
  if (Array.isArray(value)) return value.map((v) => substituteVariables(v, scope));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteVariables(v, scope)]));
  }
  return value;
}

/** Thrown when a `${…}` variable cannot be resolved. */
export class VariableError extends Error {
  override name = 'VariableError';
}

function substituteString(text: string, scope: VariableScope): string {
  return text.replace(/\$\{([^}]+)\}/g, (whole, name: string) => {
    if (name === 'workspaceFolder') return scope.workspaceFolder;
    if (name === 'workspaceFolderBasename') return scope.workspaceFolder.split(/[\\/]/).filter(Boolean).pop() ?? '';
    if (name === 'userHome') return scope.userHome;
    if (name === 'pathSeparator' || name === '/') return '/';
    if (name.startsWith('env:')) return scope.env[name.slice(4)] ?? '';
    if (name.startsWith('input:')) {
      const id = name.slice(6);
      const value = scope.input(id);
      if (value === undefined) throw new VariableError(`needs the input '${id}' (${whole}), which has no value`);
      return value;
    }
    throw new VariableError(`uses ${whole}, a variable OpenConductor does not know`);
  });
}
