import { checkExpression, parseTemplate } from '../../common/expressions';
import type { Range } from '../../common/source';
import { didYouMean } from '../../common/suggest';
import { parseDuration, parseRate } from '../../common/workflow/duration';
import {
  CIRCUIT_BREAKER_DEFAULTS,
  DEFAULT_TIMEOUT_MS,
  RETRY_DEFAULTS,
  type CircuitBreakerPolicy,
  type InputDefinition,
  type InputType,
  type RetryPolicy,
  type ServerDeclaration,
  type ValueTemplate,
  type WorkflowDefaults,
  type WorkflowDefinition,
} from '../../common/workflow/model';
import { inferInputType, inputValueProblem } from '../../common/workflow/validate';

/**
 * The options of `workflow(options, fn)` checked and turned into the YAML language's model (a WorkflowDefinition
 * without steps), so that inputs, servers, defaults and circuit breakers mean exactly what they mean in YAML.
 */

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const SERVER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const INPUT_TYPES: InputType[] = ['string', 'number', 'integer', 'boolean', 'array', 'object'];
const SERVER_KEYS = ['type', 'command', 'args', 'env', 'envFile', 'cwd', 'url', 'headers', 'startupTimeout'];

type Problem = { severity: 'error' | 'warning'; message: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

/** Keys of an object that are not among `known`, each reported with a "did you mean". */
function unknownKeys(value: Record<string, unknown>, known: string[], where: string): string[] {
  return Object.keys(value)
    .filter((k) => !known.includes(k))
    .map((k) => `${where} has no key '${k}'.${didYouMean(k, known) || ` Its keys: ${known.join(', ')}.`}`);
}

/** Milliseconds of a duration option, or a message saying what is wrong with it. */
export function durationOption(value: unknown, where: string): number | { error: string } {
  const ms = parseDuration(value);
  return ms ?? { error: `${where} must be a duration such as '500ms', '30s', '5m', '1h' or a number of milliseconds, not ${show(value)}.` };
}

/** A retry policy with Temporal's defaults for the fields it leaves out (not those of defaults.retry, as in YAML). */
export function retryPolicy(value: unknown, where: string): RetryPolicy | { error: string } {
  if (!isObject(value)) return { error: `${where} must be an object (maximumAttempts, initialInterval, backoffCoefficient, maximumInterval, nonRetryableErrorTypes) or false, not ${show(value)}.` };
  const problems = unknownKeys(value, ['maximumAttempts', 'initialInterval', 'backoffCoefficient', 'maximumInterval', 'nonRetryableErrorTypes'], where);
  if (problems.length) return { error: problems[0] };
  const initial = value.initialInterval === undefined ? RETRY_DEFAULTS.initialIntervalMs : durationOption(value.initialInterval, `${where}.initialInterval`);
  if (typeof initial !== 'number') return initial;
  const maximum = value.maximumInterval === undefined ? initial * RETRY_DEFAULTS.maximumIntervalFactor : durationOption(value.maximumInterval, `${where}.maximumInterval`);
  if (typeof maximum !== 'number') return maximum;
  if (maximum < initial) return { error: `${where}: maximumInterval (${show(value.maximumInterval)}) is shorter than initialInterval (${show(value.initialInterval ?? '1s')}).` };
  const coefficient = value.backoffCoefficient ?? RETRY_DEFAULTS.backoffCoefficient;
  if (typeof coefficient !== 'number' || !(coefficient >= 1)) return { error: `${where}.backoffCoefficient must be a number of at least 1, not ${show(coefficient)}.` };
  const attempts = value.maximumAttempts ?? RETRY_DEFAULTS.maximumAttempts;
  if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 0) return { error: `${where}.maximumAttempts must be a whole number, 0 for unlimited, not ${show(attempts)}.` };
  const types = value.nonRetryableErrorTypes ?? [];
  if (!Array.isArray(types) || types.some((t) => typeof t !== 'string')) return { error: `${where}.nonRetryableErrorTypes must be a list of error types, not ${show(types)}.` };
  return { initialIntervalMs: initial, backoffCoefficient: coefficient, maximumIntervalMs: maximum, maximumAttempts: attempts, nonRetryableErrorTypes: types as string[] };
}

function breakerPolicy(value: unknown, base: CircuitBreakerPolicy, where: string, problems: Problem[]): CircuitBreakerPolicy {
  if (!isObject(value)) {
    problems.push({ severity: 'error', message: `${where} must be an object, not ${show(value)}.` });
    return { ...base };
  }
  for (const message of unknownKeys(value, ['failureRateThreshold', 'window', 'minimumCalls', 'resetTimeout', 'halfOpenCalls'], where)) problems.push({ severity: 'error', message });
  const policy = { ...base };
  if (value.failureRateThreshold !== undefined) {
    const rate = parseRate(value.failureRateThreshold);
    if (rate === undefined) problems.push({ severity: 'error', message: `${where}.failureRateThreshold must be a percentage ('50%') or a number greater than 0 and at most 1, not ${show(value.failureRateThreshold)}.` });
    else policy.failureRateThreshold = rate;
  }
  for (const [key, field] of [['window', 'windowMs'], ['resetTimeout', 'resetTimeoutMs']] as const) {
    if (value[key] === undefined) continue;
    const ms = durationOption(value[key], `${where}.${key}`);
    if (typeof ms === 'number') policy[field] = ms;
    else problems.push({ severity: 'error', message: ms.error });
  }
  for (const key of ['minimumCalls', 'halfOpenCalls'] as const) {
    if (value[key] === undefined) continue;
    const n = value[key];
    if (typeof n === 'number' && Number.isInteger(n) && n >= 1) policy[key] = n;
    else problems.push({ severity: 'error', message: `${where}.${key} must be a whole number of at least 1, not ${show(n)}.` });
  }
  return policy;
}

/** A server's definition as a value template: strings with `${{ }}` are templates over `inputs` and `env`, as in YAML. */
function serverTemplate(value: unknown, range: Range, where: string, problems: Problem[]): ValueTemplate {
  if (typeof value === 'string' && value.includes('${{')) {
    const template = parseTemplate(value);
    for (const error of template.errors) problems.push({ severity: 'error', message: `${where}: ${error.message}` });
    for (const part of template.parts) {
      if (part.kind !== 'expression' || !part.expr) continue;
      for (const issue of checkExpression(part.expr, ['inputs', 'env'])) problems.push({ severity: 'error', message: `${where}: ${issue.message}` });
    }
    return { kind: 'template', template, range, sourceMap: Array.from({ length: value.length + 1 }, () => range.start) };
  }
  if (Array.isArray(value)) {
    const items = value.map((item, i) => serverTemplate(item, range, `${where}[${i}]`, problems));
    const constant = items.every((i) => i.kind === 'literal' || ('constant' in i && i.constant)) ? { value } : undefined;
    return { kind: 'array', items, range, ...(constant && { constant }) };
  }
  if (isObject(value)) {
    const entries = Object.entries(value).map(([key, v]) => ({ key, keyRange: range, value: serverTemplate(v, range, `${where}.${key}`, problems) }));
    const constant = entries.every((e) => e.value.kind === 'literal' || ('constant' in e.value && e.value.constant)) ? { value } : undefined;
    return { kind: 'object', entries, range, ...(constant && { constant }) };
  }
  return { kind: 'literal', value, range };
}

/**
 * Checks a workflow's options (as JSON) and builds its model. Every problem is reported at `range` (where
 * workflow() is called: the options have no positions of their own once the code has run).
 */
export function workflowModel(raw: unknown, range: Range): { workflow?: WorkflowDefinition; problems: Problem[] } {
  const problems: Problem[] = [];
  const error = (message: string): void => void problems.push({ severity: 'error', message });
  if (!isObject(raw)) {
    error(`workflow() takes its options first: workflow({ name: '…', inputs: {…}, servers: {…} }, async (ctx, input) => {…}), not ${show(raw)}.`);
    return { problems };
  }
  for (const message of unknownKeys(raw, ['name', 'description', 'inputs', 'servers', 'defaults', 'circuitBreakers'], 'the workflow options')) error(message);
  if (typeof raw.name !== 'string' || raw.name.trim() === '') error(`the workflow options need a 'name' (a non-empty string)${raw.name === undefined ? '' : `, not ${show(raw.name)}`}.`);
  if (raw.description !== undefined && typeof raw.description !== 'string') error(`'description' must be a string, not ${show(raw.description)}.`);

  const inputs: InputDefinition[] = [];
  if (raw.inputs !== undefined && !isObject(raw.inputs)) error(`'inputs' must be an object of input names to declarations, not ${show(raw.inputs)}.`);
  for (const [name, spec] of Object.entries(isObject(raw.inputs) ? raw.inputs : {})) {
    const where = `input '${name}'`;
    if (!IDENTIFIER.test(name)) error(`${where}: an input name has letters, digits, '_' and '-', and starts with a letter or '_'.`);
    if (!isObject(spec)) {
      error(`${where} must be an object ({ type, description, default, required, enum }), not ${show(spec)}.`);
      continue;
    }
    for (const message of unknownKeys(spec, ['type', 'description', 'default', 'required', 'enum'], where)) error(message);
    if (spec.type !== undefined && !INPUT_TYPES.includes(spec.type as InputType)) error(`${where}: 'type' must be one of ${INPUT_TYPES.join(', ')}, not ${show(spec.type)}.`);
    if (spec.required !== undefined && typeof spec.required !== 'boolean') error(`${where}: 'required' must be true or false.`);
    if (spec.enum !== undefined && (!Array.isArray(spec.enum) || spec.enum.length === 0)) error(`${where}: 'enum' must be a non-empty list.`);
    const hasDefault = 'default' in spec && spec.default !== undefined;
    const input: InputDefinition = {
      name,
      range,
      type: INPUT_TYPES.includes(spec.type as InputType) ? (spec.type as InputType) : inferInputType(spec.default),
      ...(typeof spec.description === 'string' && { description: spec.description }),
      ...(hasDefault && { default: spec.default }),
      required: typeof spec.required === 'boolean' ? spec.required : !hasDefault,
      ...(Array.isArray(spec.enum) && { enum: spec.enum }),
    };
    if (hasDefault) {
      const problem = inputValueProblem(input, input.default);
      if (problem) error(`the default of input '${name}' ${problem}.`);
    }
    inputs.push(input);
  }

  const servers: ServerDeclaration[] = [];
  if (raw.servers !== undefined && !isObject(raw.servers)) error(`'servers' must be an object of server names to definitions, not ${show(raw.servers)}.`);
  for (const [name, definition] of Object.entries(isObject(raw.servers) ? raw.servers : {})) {
    const where = `server '${name}'`;
    if (!SERVER_NAME.test(name)) error(`${where}: a server name has letters, digits, '_', '.' and '-'.`);
    if (!isObject(definition)) {
      error(`${where} must be an object in VS Code's mcp.json shape ({ command, args, env } or { url, headers }), not ${show(definition)}.`);
      continue;
    }
    for (const message of unknownKeys(definition, SERVER_KEYS, where)) error(message);
    const type = definition.type;
    if (type !== undefined && type !== 'stdio' && type !== 'http' && type !== 'sse') error(`${where}: 'type' must be stdio, http or sse, not ${show(type)}.`);
    else if ((type === 'http' || type === 'sse') && definition.url === undefined) error(`${where} is of type ${type} and needs a 'url'.`);
    else if (type === 'stdio' && definition.command === undefined) error(`${where} is of type stdio and needs a 'command'.`);
    else if (definition.command !== undefined && definition.url !== undefined) error(`${where} has both 'command' and 'url': give 'command' for a local (stdio) server or 'url' for an HTTP one.`);
    else if (definition.command === undefined && definition.url === undefined) error(`${where} needs a 'command' (a local stdio server) or a 'url' (an HTTP server).`);
    servers.push({ name, range, definition: serverTemplate(definition, range, where, problems) });
  }

  const defaultsRaw = raw.defaults;
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  let stepTimeoutMs: number | undefined;
  let retry: RetryPolicy | undefined;
  let circuitBreaker = { ...CIRCUIT_BREAKER_DEFAULTS };
  if (defaultsRaw !== undefined && !isObject(defaultsRaw)) error(`'defaults' must be an object ({ timeout, stepTimeout, retry, circuitBreaker }), not ${show(defaultsRaw)}.`);
  if (isObject(defaultsRaw)) {
    for (const message of unknownKeys(defaultsRaw, ['timeout', 'stepTimeout', 'retry', 'circuitBreaker'], "'defaults'")) error(message);
    if (defaultsRaw.timeout !== undefined) {
      const ms = durationOption(defaultsRaw.timeout, 'defaults.timeout');
      if (typeof ms === 'number') timeoutMs = ms;
      else error(ms.error);
    }
    if (defaultsRaw.stepTimeout !== undefined) {
      const ms = durationOption(defaultsRaw.stepTimeout, 'defaults.stepTimeout');
      if (typeof ms === 'number') stepTimeoutMs = ms;
      else error(ms.error);
    }
    if (defaultsRaw.retry !== undefined) {
      const policy = retryPolicy(defaultsRaw.retry, 'defaults.retry');
      if ('error' in policy) error(policy.error);
      else retry = policy;
    }
    if (defaultsRaw.circuitBreaker !== undefined) circuitBreaker = breakerPolicy(defaultsRaw.circuitBreaker, CIRCUIT_BREAKER_DEFAULTS, 'defaults.circuitBreaker', problems);
  }
  const defaults: WorkflowDefaults = { timeoutMs, ...(stepTimeoutMs !== undefined && { stepTimeoutMs }), ...(retry && { retry }), circuitBreaker };

  const circuitBreakers = new Map<string, CircuitBreakerPolicy>();
  if (raw.circuitBreakers !== undefined && !isObject(raw.circuitBreakers)) error(`'circuitBreakers' must be an object of server names to policies, not ${show(raw.circuitBreakers)}.`);
  for (const [server, policy] of Object.entries(isObject(raw.circuitBreakers) ? raw.circuitBreakers : {})) {
    circuitBreakers.set(server, breakerPolicy(policy, circuitBreaker, `circuitBreakers.${server}`, problems));
  }

  if (problems.some((p) => p.severity === 'error')) return { problems };
  return {
    workflow: {
      name: (raw.name as string).trim(),
      ...(typeof raw.description === 'string' && { description: raw.description }),
      inputs,
      servers,
      steps: [],
      defaults,
      circuitBreakers,
    },
    problems,
  };
}

/** A call's policy: its own options over the workflow's defaults, as a YAML step's over `defaults:`. */
export interface CallPolicy {
  timeoutMs: number;
  stepTimeoutMs?: number;
  retry?: RetryPolicy;
}

/** Checks the options of one operation; unknown keys and bad values are errors the operation rejects with. */
export function operationOptions(kind: 'call' | 'sleep' | 'approval' | 'signal', value: unknown): Record<string, unknown> | { error: string } {
  if (value === undefined || value === null) return {};
  const where = `the options of ctx.${kind}`;
  if (!isObject(value)) return { error: `${where} must be an object, not ${show(value)}.` };
  const known = { call: ['id', 'timeout', 'stepTimeout', 'retry'], sleep: ['id'], approval: ['id', 'message', 'timeout', 'onTimeout'], signal: ['id', 'timeout'] }[kind];
  const problems = unknownKeys(value, known, where);
  if (problems.length) return { error: problems[0] };
  return value;
}

/** The timeout, step timeout and retry policy of a call. */
export function callPolicy(options: Record<string, unknown>, defaults: WorkflowDefaults): CallPolicy | { error: string } {
  let timeoutMs = defaults.timeoutMs;
  if (options.timeout !== undefined) {
    const ms = durationOption(options.timeout, "the call's timeout");
    if (typeof ms !== 'number') return ms;
    timeoutMs = ms;
  }
  let stepTimeoutMs = defaults.stepTimeoutMs;
  if (options.stepTimeout !== undefined) {
    const ms = durationOption(options.stepTimeout, "the call's stepTimeout");
    if (typeof ms !== 'number') return ms;
    stepTimeoutMs = ms;
  }
  let retry = defaults.retry;
  if (options.retry === false) retry = undefined;
  else if (options.retry !== undefined) {
    const policy = retryPolicy(options.retry, "the call's retry");
    if ('error' in policy) return policy;
    retry = policy;
  }
  return { timeoutMs, ...(stepTimeoutMs !== undefined && { stepTimeoutMs }), ...(retry && { retry }) };
}

/** The name of a signal: letters, digits, `_` and `-`, as in YAML. */
export function signalNameProblem(name: unknown): string | undefined {
  if (typeof name === 'string' && IDENTIFIER.test(name)) return undefined;
  return `a signal name has letters, digits, '_' and '-' and starts with a letter or '_', not ${show(name)}.`;
}

/** An id given with `{ id }`: like a YAML step id, plus '.' and ':'; never '#', which derived ids use. */
export function stepIdProblem(id: unknown): string | undefined {
  if (typeof id === 'string' && /^[A-Za-z_][A-Za-z0-9_.:-]*$/.test(id)) return undefined;
  return `a step id has letters, digits, '_', '-', '.' and ':' and starts with a letter or '_' ('#' is kept for the ids the engine derives), not ${show(id)}.`;
}
