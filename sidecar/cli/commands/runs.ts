import type { RunStatus } from '../../../common/events';
import type { RunDetails, StepDetails } from '../../../common/runs';
import { formatDuration } from '../../../common/workflow/duration';
import type { Store } from '../../store/store';
import { CommandFailure, EXIT, UsageError } from '../errors';
import { errorLine } from '../progress';
import { openStore, workspaceFor, type GlobalOptions } from '../session';
import { preview, Style, table, timestamp, truncate } from '../style';

const STATUSES: RunStatus[] = ['running', 'completed', 'failed', 'cancelled'];

export interface ListOptions {
  json: boolean;
  limit: string;
  status?: string;
  workflow?: string;
}

/** `openconductor runs list`: the most recent runs of the workspace. */
export async function runsListCommand(options: ListOptions, global: GlobalOptions): Promise<number> {
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit takes a positive whole number, not ${JSON.stringify(options.limit)}.`);
  if (options.status && !STATUSES.includes(options.status as RunStatus)) {
    throw new UsageError(`--status takes one of ${STATUSES.join(', ')}, not ${JSON.stringify(options.status)}.`);
  }
  const runs = await withReader(global, (store) =>
    store.listRuns({ limit, ...(options.status && { status: options.status as RunStatus }), ...(options.workflow && { workflow: options.workflow }) }),
  );
  if (options.json) {
    process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
    return EXIT.ok;
  }
  const style = Style.for(process.stdout, global.color);
  if (runs.length === 0) {
    process.stdout.write('No runs yet. Start one with: openconductor run <file.workflow.yaml>\n');
    return EXIT.ok;
  }
  const rows = runs.map((r) => [
    r.id,
    r.workflow,
    statusText(r.status, style),
    timestamp(r.startedAt),
    r.endedAt ? formatDuration(r.endedAt - r.startedAt) : '',
    r.error ? truncate(errorLine(r.error), 60) : '',
  ]);
  process.stdout.write(`${table(['ID', 'WORKFLOW', 'STATUS', 'STARTED', 'DURATION', 'ERROR'], rows, style)}\n`);
  return EXIT.ok;
}

/** `openconductor runs show`: a run's inputs, steps (timings, attempts, outputs, errors) and outputs. */
export async function runsShowCommand(id: string, options: { json: boolean }, global: GlobalOptions): Promise<number> {
  const run = await withReader(global, (store) => {
    const found = store.getRun(id) ?? uniqueByPrefix(store, id);
    return found;
  });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
    return EXIT.ok;
  }
  process.stdout.write(renderRun(run, Style.for(process.stdout, global.color)));
  return EXIT.ok;
}

function uniqueByPrefix(store: Store, prefix: string): RunDetails {
  const ids = prefix.length >= 4 ? store.findRunIds(prefix) : [];
  if (ids.length === 1) return store.getRun(ids[0])!;
  if (ids.length > 1) throw new CommandFailure(`run id '${prefix}' is ambiguous: ${ids.join(', ')}. Give more of it.`);
  throw new CommandFailure(`no run '${prefix}' in this workspace. List runs with: openconductor runs list`);
}

async function withReader<T>(global: GlobalOptions, fn: (store: Store) => T): Promise<T> {
  const store = await openStore(workspaceFor(undefined, global), 'reader', 'openconductor runs');
  try {
    return fn(store);
  } finally {
    await store.close();
  }
}

/** A run as text: header, inputs, a step table, and each step's output or error. */
export function renderRun(run: RunDetails, style: Style): string {
  const lines: string[] = [];
  const duration = run.endedAt ? formatDuration(run.endedAt - run.startedAt) : 'still running';
  lines.push(`${style.bold(run.workflow)}  run ${run.id}  ${statusText(run.status, style)}`);
  lines.push(`  file      ${run.file}`);
  lines.push(`  started   ${timestamp(run.startedAt)} (${duration})`);
  lines.push(`  version   ${run.definitionHash.slice(0, 12)}`);
  lines.push(`  inputs    ${preview(run.inputs, 100)}`);
  if (run.error) {
    lines.push(`  error     ${style.red(errorLine(run.error))}`);
    if (run.error.location) lines.push(`            at ${run.error.location}`);
  }
  lines.push('');
  const rows = run.steps.map((s) => [
    statusText(s.status, style),
    s.id,
    s.server ? `${s.server} › ${s.tool}` : '',
    String(s.attempts || ''),
    s.items !== undefined ? `${s.itemsDone}/${s.items}` : '',
    s.startedAt && s.endedAt ? formatDuration(s.endedAt - s.startedAt) : '',
  ]);
  lines.push(table(['STATUS', 'STEP', 'SERVER › TOOL', 'ATTEMPTS', 'ITEMS', 'DURATION'], rows, style));
  for (const step of run.steps) {
    const detail = stepDetail(step, style);
    if (detail.length) lines.push('', ...detail);
  }
  if (run.outputs) lines.push('', style.bold('outputs'), JSON.stringify(run.outputs, null, 2));
  return `${lines.join('\n')}\n`;
}

function stepDetail(step: StepDetails, style: Style): string[] {
  const lines: string[] = [];
  if (step.error) {
    lines.push(`${style.bold(step.id)} ${style.red(errorLine(step.error))}`);
    for (const l of step.error.message.split('\n').slice(1)) lines.push(`  ${l}`);
    if (step.error.location) lines.push(`  at ${step.error.location}`);
  } else if (step.reason) {
    lines.push(`${style.bold(step.id)} skipped: ${step.reason}`);
  } else if (step.output !== undefined) {
    lines.push(`${style.bold(step.id)} output  ${preview(step.output, 200)}`);
    if (step.outputs) lines.push(`${' '.repeat(step.id.length)} outputs ${preview(step.outputs, 200)}`);
  }
  for (const item of step.itemDetails ?? []) {
    if (item.error) lines.push(`  [${item.index}] ${style.red(errorLine(item.error))}`);
  }
  return lines;
}

function statusText(status: string, style: Style): string {
  switch (status) {
    case 'completed':
      return style.green(status);
    case 'failed':
      return style.red(status);
    case 'running':
      return style.cyan(status);
    case 'cancelled':
    case 'skipped':
      return style.yellow(status);
    default:
      return style.dim(status);
  }
}
