/**
 * Install recipes: how to run each package and connect to each remote of a server
 * version, and the `.vscode/mcp.json` entry for a recipe. Registry data is untrusted:
 * every identifier, version, argument and name that ends up in a command line is
 * validated strictly, and a recipe that fails is returned as not runnable with the reason
 * rather than as a command. Runners come from a fixed list, never from the data.
 */

import type { Input, Package, RegistryType, Remote, ServerVersion } from './model';

/** A value the user is prompted for; recipes refer to it as `${input:<id>}`. */
export interface RecipeInput {
  id: string;
  description: string;
  isRequired: boolean;
  isSecret: boolean;
  choices?: string[];
}

/** A recipe that can be run or connected to. Values the user supplies appear as `${input:<id>}`. */
export interface RunnableRecipe {
  runnable: true;
  kind: 'package' | 'remote';
  registryType?: RegistryType;
  /** What it installs, e.g. `npm airtable-mcp-server@1.7.2`. */
  label: string;
  transport: 'stdio' | 'streamable-http' | 'sse';
  /** The process to start (packages). */
  command?: string;
  args: string[];
  env: Record<string, string>;
  /** Where to connect (remotes, and packages serving http locally). */
  url?: string;
  headers: Record<string, string>;
  inputs: RecipeInput[];
  /** Things the user should know (e.g. a runtime hint that was not honoured). */
  notes: string[];
}

/** A recipe that cannot be turned into a command, and why. */
export interface UnrunnableRecipe {
  runnable: false;
  kind: 'package' | 'remote';
  registryType?: RegistryType;
  label: string;
  problem: string;
}

/** One way to install and run, or connect to, a server. */
export type InstallRecipe = RunnableRecipe | UnrunnableRecipe;

/** An entry for `.vscode/mcp.json`: the server under `servers[key]` and the `inputs` it needs. */
export interface McpJsonEntry {
  key: string;
  server:
    | { type: 'stdio'; command: string; args: string[]; env: Record<string, string> }
    | { type: 'http' | 'sse'; url: string; headers: Record<string, string> };
  inputs: Array<{ id: string; type: 'promptString'; description: string; password?: boolean }>;
}

// Characters a shell or terminal treats specially, whitespace and controls included.
const UNSAFE = /[\s\u0000-\u001f\u007f-\u009f`$;&|<>()\\"'*?!#~^[\]{}]/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FLAG = /^--?[A-Za-z0-9][A-Za-z0-9._-]*$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const OCI_DIGEST = /^sha256:[a-f0-9]{64}$/;
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g;

const NPM_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/i;
const PEP508_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const NUGET_ID = /^[A-Za-z0-9_]+(?:[.-][A-Za-z0-9_]+)*$/;
// OCI distribution reference: [registry[:port]/]path[:tag][@digest].
const OCI_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const OCI_DOMAIN = '(?:localhost|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+)(?::[0-9]+)?';
const OCI_REFERENCE = new RegExp(`^(?:${OCI_DOMAIN}/)?${OCI_COMPONENT}(?:/${OCI_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`);

/** Validates a package identifier for its registry; returns why it is unsafe or invalid, or undefined when fine. */
export function validatePackageIdentifier(registryType: RegistryType, identifier: string): string | undefined {
  if (typeof identifier !== 'string' || identifier === '') return 'the identifier is empty';
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(identifier)) return 'the identifier contains whitespace or control characters';
  if (identifier.startsWith('-')) return 'the identifier starts with "-" and would be read as an option';
  if (identifier.includes('..')) return 'the identifier contains ".."';
  switch (registryType) {
    case 'npm':
      return identifier.length <= 214 && NPM_NAME.test(identifier) ? undefined : `"${identifier}" is not a valid npm package name`;
    case 'pypi':
      return PEP508_NAME.test(identifier) ? undefined : `"${identifier}" is not a valid PyPI project name`;
    case 'nuget':
      return identifier.length <= 100 && NUGET_ID.test(identifier) ? undefined : `"${identifier}" is not a valid NuGet package id`;
    case 'oci':
      return identifier.length <= 255 && OCI_REFERENCE.test(identifier) ? undefined : `"${identifier}" is not a valid OCI image reference`;
    case 'mcpb': {
      if (/[`$;|<>()\\"'{}]/.test(identifier)) return 'the bundle URL contains shell metacharacters';
      let url: URL;
      try {
        url = new URL(identifier);
      } catch {
        return `"${identifier}" is not a URL`;
      }
      if (url.protocol !== 'https:') return 'an MCPB bundle must be downloaded over https';
      if (url.username || url.password) return 'the bundle URL carries credentials';
      return undefined;
    }
    default:
      return `the package registry "${registryType}" is not supported`;
  }
}

/** Validates a literal command-line value from registry data (no shell metacharacters, whitespace or controls). */
export function validateArgumentValue(value: string): string | undefined {
  return UNSAFE.test(value) ? `the value ${JSON.stringify(value)} contains whitespace, control or shell characters` : undefined;
}

/** Validates an environment variable name. */
export function validateEnvName(name: string): string | undefined {
  return ENV_NAME.test(name) ? undefined : `${JSON.stringify(name)} is not a valid environment variable name`;
}

/** A recipe failure carried out of the value resolution. */
class RecipeError extends Error {}

const HAS_PLACEHOLDER = /\{[A-Za-z_][A-Za-z0-9_.-]*\}/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Where a value goes: the command line is checked strictly; env values and headers never meet a shell. */
type Place = 'command' | 'value';

function checkLiteral(text: string, place: Place): void {
  const problem = place === 'command' ? validateArgumentValue(text) : CONTROL.test(text) ? `the value ${JSON.stringify(text)} contains control characters` : undefined;
  if (problem) throw new RecipeError(problem);
}

/** Collects the inputs one recipe prompts for and hands out `${input:<id>}` references. */
class Inputs {
  readonly list: RecipeInput[] = [];
  private readonly ids = new Set<string>();

  ref(wanted: string, input: Pick<Input, 'description' | 'isRequired' | 'isSecret' | 'choices'>, label: string): string {
    const base = wanted.replace(/^-+/, '').replace(/[^A-Za-z0-9_.-]/g, '_') || 'value';
    let id = base;
    for (let n = 2; this.ids.has(id); n++) id = `${base}_${n}`;
    this.ids.add(id);
    const entry: RecipeInput = { id, description: input.description ?? label, isRequired: input.isRequired, isSecret: input.isSecret };
    if (input.choices) entry.choices = input.choices;
    this.list.push(entry);
    return `\${input:${id}}`;
  }

  /** A value to supply: a secret is always prompted for; else its default; else prompted for when required; else omitted. */
  leaf(input: Input, id: string, label: string, place: Place): string | undefined {
    if (input.isSecret) return this.ref(id, input, label);
    if (input.default !== undefined) {
      checkLiteral(input.default, place);
      return input.default;
    }
    return input.isRequired ? this.ref(id, input, label) : undefined;
  }

  /** An input's value: its `value` with `{variable}`s resolved, else the leaf rules. */
  value(input: Input, id: string, label: string, place: Place): string | undefined {
    const template = input.value;
    if (template === undefined) return this.leaf(input, id, label, place);
    // A literal secret in public data is an example at best: prompt instead of writing it down.
    if (input.isSecret && !HAS_PLACEHOLDER.test(template)) return this.ref(id, input, label);
    checkLiteral(template.replace(PLACEHOLDER, ''), place);
    return template.replace(PLACEHOLDER, (_, name: string) => {
      const variable = input.variables?.[name] ?? { description: input.description ?? label, isRequired: true, isSecret: input.isSecret };
      return this.leaf(variable, name, label, place) ?? this.ref(name, variable, label);
    });
  }
}

/** Command-line arguments for runtime or package arguments; optional ones nobody filled in are left out. */
function argumentList(args: Input[], inputs: Inputs, label: string): string[] {
  const result: string[] = [];
  args.forEach((arg, i) => {
    if (arg.type === 'named') {
      const flag = arg.name!.startsWith('-') ? arg.name! : `--${arg.name}`;
      if (!FLAG.test(flag)) throw new RecipeError(`${JSON.stringify(arg.name)} is not a valid option name`);
      const value = inputs.value(arg, flag, `${label}: ${flag}`, 'command');
      if (value === undefined) return;
      result.push(flag);
      if (value !== '') result.push(value);
      return;
    }
    const value = inputs.value(arg, arg.valueHint ?? `arg${i + 1}`, `${label}: argument ${i + 1}`, 'command');
    if (value === undefined || value === '') return;
    result.push(value);
  });
  return result;
}

function environment(vars: Input[], inputs: Inputs, label: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of vars) {
    const problem = validateEnvName(variable.name!);
    if (problem) throw new RecipeError(problem);
    const value = inputs.value(variable, variable.name!, `${label}: ${variable.name}`, 'value');
    if (value !== undefined) env[variable.name!] = value;
  }
  return env;
}

function headerMap(headers: Input[], inputs: Inputs, label: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const header of headers) {
    if (!HEADER_NAME.test(header.name!)) throw new RecipeError(`${JSON.stringify(header.name)} is not a valid header name`);
    const value = inputs.value(header, header.name!, `${label}: ${header.name}`, 'value');
    if (value !== undefined) result[header.name!] = value;
  }
  return result;
}

/** The runner for a registry type: only these commands are ever produced. */
const RUNNERS: Record<string, { default: string; hints: Record<string, string[]> }> = {
  npm: { default: 'npx', hints: { npx: ['npx', '-y'], bunx: ['bunx'], bun: ['bun', 'x'], pnpm: ['pnpm', 'dlx'], pnpx: ['pnpm', 'dlx'] } },
  pypi: { default: 'uvx', hints: { uvx: ['uvx'], uv: ['uv', 'tool', 'run'], pipx: ['pipx', 'run'] } },
  oci: { default: 'docker', hints: { docker: ['docker'], podman: ['podman'] } },
  nuget: { default: 'dnx', hints: { dnx: ['dnx'] } },
};

/** Docker options that hand the container the host; registry data must not add them. */
const DANGEROUS_DOCKER = /^--?(privileged|cap-add|pid|ipc|uts|userns|security-opt|device|network|net)\b/;

/** Mounting these host paths hands the container the machine. */
const MOUNT_FLAGS = new Set(['-v', '--volume', '--mount']);
const SENSITIVE_MOUNT = /^(?:.*\bsource=)?(?:\/|~)(?:$|:|,|(?:etc|root|home|proc|sys|dev|boot|var\/run\/docker\.sock|run\/docker\.sock)\b)|\.\./;

function runner(pkg: Package, notes: string[]): string[] {
  const spec = RUNNERS[pkg.registryType]!;
  const hint = pkg.runtimeHint?.toLowerCase();
  const chosen = hint ? spec.hints[hint] : undefined;
  if (hint && !chosen) notes.push(`The runtime hint "${pkg.runtimeHint}" is not supported; ${spec.default} is used instead.`);
  return chosen ?? spec.hints[spec.default]!;
}

/** The image to run: the identifier with the version as tag unless it has one, on its registry. */
function ociImage(pkg: Package): string {
  let image = pkg.identifier;
  const name = image.replace(/@.*$/, '');
  const hasTag = name.lastIndexOf(':') > name.lastIndexOf('/');
  if (!hasTag && !image.includes('@') && pkg.version) image = `${image}${OCI_DIGEST.test(pkg.version) ? '@' : ':'}${pkg.version}`;
  const first = image.split('/')[0]!;
  const hasRegistry = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const base = pkg.registryBaseUrl ? pkg.registryBaseUrl.replace(/^https?:\/\//, '').replace(/\/.*$/, '').toLowerCase() : '';
  if (!hasRegistry && base && base !== 'docker.io' && base !== 'index.docker.io') image = `${base}/${image}`;
  return image;
}

function packageRecipe(pkg: Package): InstallRecipe {
  const versionText = pkg.version ? `@${pkg.version}` : '';
  const label = `${pkg.registryType} ${pkg.identifier}${pkg.registryType === 'oci' || pkg.registryType === 'mcpb' ? '' : versionText}`;
  const base = { kind: 'package' as const, registryType: pkg.registryType, label };
  const invalid = validatePackageIdentifier(pkg.registryType, pkg.identifier);
  if (invalid) return { ...base, runnable: false, problem: invalid };
  if (pkg.registryType === 'mcpb') {
    return {
      ...base,
      runnable: false,
      problem: `An MCPB bundle is installed by a client that supports bundles: download ${pkg.identifier}${
        pkg.fileSha256 ? `, check its SHA-256 is ${pkg.fileSha256}` : ' (no checksum given: it cannot be verified)'
      }, then open it. There is no command to run it directly.`,
    };
  }
  const versionOk = pkg.version === undefined || VERSION.test(pkg.version) || (pkg.registryType === 'oci' && OCI_DIGEST.test(pkg.version));
  if (!versionOk) return { ...base, runnable: false, problem: `the version ${JSON.stringify(pkg.version)} is not valid` };
  const notes: string[] = [];
  const inputs = new Inputs();
  try {
    const [command, ...runnerArgs] = runner(pkg, notes);
    let runtimeArgs = argumentList(pkg.runtimeArguments, inputs, label);
    const packageArgs = argumentList(pkg.packageArguments, inputs, label);
    const env = environment(pkg.environmentVariables, inputs, label);
    let args: string[];
    switch (pkg.registryType) {
      case 'npm':
        args = [...runnerArgs, ...runtimeArgs.filter((a) => !(runnerArgs.includes('-y') && (a === '-y' || a === '--yes'))), `${pkg.identifier}${versionText}`, ...packageArgs];
        break;
      case 'pypi':
        args = [...runnerArgs, ...runtimeArgs, pkg.version ? `${pkg.identifier}==${pkg.version}` : pkg.identifier, ...packageArgs];
        break;
      case 'nuget':
        args = [...runnerArgs, ...runtimeArgs, `${pkg.identifier}${versionText}`, '--yes', ...(packageArgs.length > 0 ? ['--', ...packageArgs] : [])];
        break;
      default: {
        const image = ociImage(pkg);
        const imageName = image.replace(/[:@][^/]*$/, '');
        // Some entries spell out the whole `run -i --rm … image` in runtimeArguments: keep only the options.
        if (runtimeArgs[0] === 'run') runtimeArgs = runtimeArgs.slice(1);
        runtimeArgs = runtimeArgs.filter((a) => a !== '-i' && a !== '--rm' && a !== pkg.identifier && a.replace(/[:@][^/]*$/, '') !== imageName && !Object.hasOwn(env, a));
        const unsafe = runtimeArgs.find((a, i) => DANGEROUS_DOCKER.test(a) || (MOUNT_FLAGS.has(runtimeArgs[i - 1]!) && SENSITIVE_MOUNT.test(a)));
        if (unsafe) throw new RecipeError(`the container option ${unsafe} would give the container access to the host`);
        const envFlags = Object.keys(env).flatMap((name) => ['-e', name]);
        args = [...runnerArgs, 'run', '-i', '--rm', ...runtimeArgs, ...envFlags, image, ...packageArgs];
      }
    }
    const transport: RunnableRecipe['transport'] = pkg.transport.type === 'sse' ? 'sse' : pkg.transport.type === 'streamable-http' ? 'streamable-http' : 'stdio';
    const recipe: RunnableRecipe = { ...base, runnable: true, transport, command: command!, args, env, headers: {}, inputs: inputs.list, notes };
    if (transport !== 'stdio' && pkg.transport.url) {
      recipe.url = urlTemplate(pkg.transport.url, undefined, inputs);
      recipe.headers = headerMap(pkg.transport.headers ?? [], inputs, label);
      notes.push('The package serves HTTP: start it with the command, then connect to the URL.');
    }
    return recipe;
  } catch (error) {
    if (error instanceof RecipeError) return { ...base, runnable: false, problem: error.message };
    throw error;
  }
}

/** A URL with `{variable}` placeholders turned into inputs (or their defaults). */
function urlTemplate(url: string, variables: Record<string, Input> | undefined, inputs: Inputs): string {
  if (/[\s\u0000-\u001f\u007f"'<>\\`]/.test(url)) throw new RecipeError('the URL contains whitespace, quotes or control characters');
  return url.replace(PLACEHOLDER, (_, name: string) => {
    const variable = variables?.[name] ?? { description: `Value for {${name}} in ${url}`, isRequired: true, isSecret: false };
    return inputs.leaf(variable, name, url, 'value') ?? inputs.ref(name, variable, url);
  });
}

function remoteRecipe(remote: Remote): InstallRecipe {
  const label = `${remote.type} ${remote.url}`;
  const base = { kind: 'remote' as const, label };
  const transport = remote.type === 'sse' ? 'sse' : remote.type === 'streamable-http' ? 'streamable-http' : undefined;
  if (!transport) return { ...base, runnable: false, problem: `the transport "${remote.type}" is not supported` };
  if (!/^https?:\/\//i.test(remote.url)) return { ...base, runnable: false, problem: 'the remote URL is not http(s)' };
  const inputs = new Inputs();
  try {
    const url = urlTemplate(remote.url, remote.variables, inputs);
    const headers = headerMap(remote.headers, inputs, label);
    const notes = remote.url.startsWith('http://') ? ['The endpoint is not encrypted (http).'] : [];
    return { ...base, runnable: true, transport, url, args: [], env: {}, headers, inputs: inputs.list, notes };
  } catch (error) {
    if (error instanceof RecipeError) return { ...base, runnable: false, problem: error.message };
    throw error;
  }
}

/** One recipe per package and per remote of a server version, in the order server.json lists them. */
export function installRecipes(server: ServerVersion): InstallRecipe[] {
  return [...server.packages.map(packageRecipe), ...server.remotes.map(remoteRecipe)];
}

/** What a runnable recipe starts or connects to, as one line: the command with its arguments, or the URL. */
export function recipeTarget(recipe: RunnableRecipe): string {
  return recipe.command ? [recipe.command, ...recipe.args].join(' ') : (recipe.url ?? '');
}

/** The `.vscode/mcp.json` entry for a runnable recipe: secrets and required values only as `${input:…}` prompts. */
export function toMcpJsonEntry(recipe: RunnableRecipe, serverKey: string): McpJsonEntry {
  const key = serverKey.replace(/[^A-Za-z0-9_.@/-]/g, '-');
  // Inputs are global in mcp.json: prefix ids with the server key so servers do not collide.
  const prefix = key.replace(/[^A-Za-z0-9_.-]/g, '-');
  const rename = (text: string) => text.replace(/\$\{input:([^}]+)\}/g, (_, id: string) => `\${input:${prefix}.${id}}`);
  const renameAll = (record: Record<string, string>) => Object.fromEntries(Object.entries(record).map(([k, v]) => [k, rename(v)]));
  const inputs = recipe.inputs.map((input) => ({
    id: `${prefix}.${input.id}`,
    type: 'promptString' as const,
    description: input.description,
    ...(input.isSecret ? { password: true } : {}),
  }));
  const server: McpJsonEntry['server'] =
    recipe.transport === 'stdio' || !recipe.url
      ? { type: 'stdio', command: recipe.command!, args: recipe.args.map(rename), env: renameAll(recipe.env) }
      : { type: recipe.transport === 'sse' ? 'sse' : 'http', url: rename(recipe.url), headers: renameAll(recipe.headers) };
  return { key, server, inputs };
}
