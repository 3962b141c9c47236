import { Command, CommanderError, Option } from 'commander';
import { EsbuildUnavailableError } from '../code-first/esbuild-loader';
import { JournalCorruptError, JournalWriteError } from '../store/journal';
import { StoreOpenError } from '../store/store';
import { WorkflowFileError } from '../workspace/load';
import { cancelCommand, decideCommand, resumeCommand, signalCommand } from './commands/control';
import { historyCommand } from './commands/history';
import { runCommand } from './commands/run';
import {
  orchestrateCommand,
  registryAddCommand,
  registryIntrospectCommand,
  registrySearchCommand,
  registryShowCommand,
  registrySourcesCommand,
  registrySyncCommand,
  type AddCommandOptions,
  type IntrospectCommandOptions,
  type SearchCommandOptions,
} from './commands/registry';
import { runsListCommand, runsShowCommand } from './commands/runs';
import { serversListCommand, serversToolsCommand } from './commands/servers';
import { sidecarCommand } from './commands/sidecar';
import { validateCommand } from './commands/validate';
import { CommandFailure, EXIT, UsageError } from './errors';
import { VERSION, type GlobalOptions } from './session';

/** Builds the `openconductor` command line. Each action resolves to its exit code. */
export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('openconductor')
    .description('Run workflows that compose MCP servers, durably, from the terminal.')
    .version(VERSION, '-v, --version')
    .option('-w, --workspace <dir>', 'the workspace folder (default: found from the workflow file, else the current directory)')
    .option('--data-dir <dir>', 'where runs are kept (default: <workspace>/.openconductor, or $OPENCONDUCTOR_DATA_DIR)')
    .option('--no-color', 'plain output without colours')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });

  const global = (): GlobalOptions => program.opts<GlobalOptions>();
  const action =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A): Promise<void> =>
      setExit(await fn(...args));

  program
    .command('run')
    .description('run a workflow and show its progress; prints its outputs at the end')
    .argument('<file>', 'a *.workflow.yaml or *.workflow.ts file')
    .addOption(new Option('-i, --input <name=value>', 'an input value (repeatable)').argParser(collect).default([]))
    .option('--inputs <file.json>', 'input values from a JSON object')
    .option('--json', 'one JSON object per event on stdout, then the result', false)
    .action(action((file: string, options: { input: string[]; inputs?: string; json: boolean }) => runCommand(file, options, global())));

  program
    .command('validate')
    .description('check workflow files (or folders of them); errors print as file:line:col')
    .argument('<files...>', 'workflow files or folders')
    .option('--json', 'the diagnostics as JSON', false)
    .option('--connect', "start the servers to check tools and arguments against their live tool lists", false)
    .action(action((files: string[], options: { json: boolean; connect: boolean }) => validateCommand(files, options, global())));

  const runs = program.command('runs').description('list and inspect runs');
  runs
    .command('list')
    .description('the most recent runs')
    .option('--json', 'as JSON', false)
    .option('-n, --limit <n>', 'how many', '20')
    .option('--status <status>', 'only runs with this status: running, completed, failed, cancelled')
    .option('--workflow <name>', 'only runs of this workflow')
    .action(action((options: { json: boolean; limit: string; status?: string; workflow?: string }) => runsListCommand(options, global())));
  runs
    .command('show')
    .description("a run's steps, timings, attempts, outputs and errors")
    .argument('<id>', 'the run id, or a unique prefix of it')
    .option('--json', 'as JSON', false)
    .action(action((id: string, options: { json: boolean }) => runsShowCommand(id, options, global())));
  runs
    .command('history')
    .description("a run's event log, as journaled")
    .argument('<id>', 'the run id, or a unique prefix of it')
    .option('--json', 'as JSON', false)
    .action(action((id: string, options: { json: boolean }) => historyCommand(id, options, global())));
  runs
    .command('resume')
    .description('carry an unfinished run on (after a crash, or one left waiting), following it to its end')
    .argument('<id>', 'the run id, or a unique prefix of it')
    .option('--json', 'events as JSON lines, then the result', false)
    .action(action((id: string, options: { json: boolean }) => resumeCommand(id, options, global())));
  runs
    .command('cancel')
    .description('cancel a run: calls in flight are cancelled, completed steps compensated')
    .argument('<id>', 'the run id, or a unique prefix of it')
    .option('--reason <text>', 'why, recorded in the run')
    .option('--json', 'events as JSON lines, then the result', false)
    .action(action((id: string, options: { json: boolean; reason?: string }) => cancelCommand(id, options, global())));

  for (const approved of [true, false]) {
    program
      .command(approved ? 'approve' : 'reject')
      .description(`${approved ? 'approve' : 'reject'} a step waiting for approval`)
      .argument('<run>', 'the run id, or a unique prefix of it')
      .argument('<step>', 'the approval step')
      .option('-m, --comment <text>', 'a comment, recorded with the decision')
      .option('--json', 'events as JSON lines, then the result', false)
      .action(action((run: string, step: string, options: { json: boolean; comment?: string }) => decideCommand(approved, run, step, options, global())));
  }
  program
    .command('signal')
    .description('send a signal (an external event) to a run; a step waiting for its name takes it')
    .argument('<run>', 'the run id, or a unique prefix of it')
    .argument('<name>', 'the signal name')
    .option('-p, --payload <json>', 'the payload, as JSON: the waiting step\'s output')
    .option('--json', 'events as JSON lines, then the result', false)
    .action(action((run: string, name: string, options: { json: boolean; payload?: string }) => signalCommand(run, name, options, global())));
  program
    .command('sidecar')
    .description('run as the workspace\'s long-lived host: resume unfinished runs, fire timers, serve JSON-RPC')
    .option('--stdio', 'also serve JSON-RPC on stdin/stdout (for the editor)', false)
    .option('--sync-registry', 'sync the registry sources on their schedules (hourly for the official registry, daily for the others)', false)
    .option('--restricted', 'for an untrusted workspace: browse runs and the registry, but start no run and no server', false)
    .action(action((options: { stdio: boolean; syncRegistry: boolean; restricted: boolean }) => sidecarCommand(options, global())));

  const servers = program.command('servers').description('the MCP servers of the workspace');
  servers
    .command('list')
    .description('servers of .vscode/mcp.json and of the workflow files')
    .option('--json', 'as JSON', false)
    .action(action((options: { json: boolean }) => serversListCommand(options, global())));
  servers
    .command('tools')
    .description("start a server and list its tools and their arguments")
    .argument('<name>', 'the server name')
    .option('-f, --file <workflow>', "look the server up in this workflow's servers: block")
    .option('--json', 'as JSON', false)
    .action(action((name: string, options: { json: boolean; file?: string }) => serversToolsCommand(name, options, global())));

  const registry = program.command('registry').description('the federated catalog of MCP servers: official registry, sub-registries, GitHub, Glama');
  registry
    .command('sync')
    .description('pull the sources (incremental where possible, resumable, concurrently); a failing source keeps its last good data')
    .addOption(new Option('-s, --source <name>', 'only this source (repeatable)').argParser(collect).default([]))
    .option('--full', 'full passes, removing what a source no longer lists', false)
    .option('--json', 'the report as JSON', false)
    .action(action((options: { source: string[]; full: boolean; json: boolean }) => registrySyncCommand(options, global())));
  registry
    .command('search')
    .description('search the catalog by words and meaning (typos forgiven); no words lists by trust')
    .argument('[query...]', 'what you are looking for')
    .option('--json', 'as JSON, with each score explained', false)
    .option('-n, --limit <n>', 'how many', '20')
    .addOption(new Option('--source <name>', 'only servers listed by this source (repeatable)').argParser(collect).default([]))
    .option('--transport <kind>', 'stdio or http')
    .addOption(new Option('--type <registry>', 'package type: npm, pypi, oci, nuget, mcpb (repeatable)').argParser(collect).default([]))
    .option('--min-trust <score>', 'only servers with at least this trust score (0-100)')
    .option('--remote', 'only servers with a hosted endpoint')
    .option('--no-remote', 'only servers without one')
    .addOption(new Option('--status <status>', 'active, deprecated, deleted (repeatable; default active and deprecated)').argParser(collect).default([]))
    .addOption(new Option('--category <id>', 'databases, search, browser-web, developer-tools, … (repeatable; ids in docs/registry.md)').argParser(collect).default([]))
    .action(action((query: string[], options: SearchCommandOptions) => registrySearchCommand(query, options, global())));
  registry
    .command('show')
    .description('a server: sources, versions, trust score and its factors, install recipes, tools, related servers')
    .argument('<name>', 'its name or any alias')
    .option('--json', 'as JSON', false)
    .action(action((name: string, options: { json: boolean }) => registryShowCommand(name, options, global())));
  registry
    .command('sources')
    .description('each source: health, records, last sync, last error')
    .option('--json', 'as JSON', false)
    .action(action((options: { json: boolean }) => registrySourcesCommand(options, global())));
  registry
    .command('introspect')
    .description("start a server in a temporary folder and list its tools, prompts and resources (runs the server's code)")
    .argument('<name>', 'its name or any alias')
    .option('--recipe <n>', "which install recipe (numbers from 'registry show')")
    .addOption(new Option('-i, --input <id=value>', 'a value the recipe needs (repeatable)').argParser(collect).default([]))
    .option('--timeout <seconds>', 'how long it may take to start and answer', '60')
    .option('--json', 'as JSON', false)
    .action(action((name: string, options: IntrospectCommandOptions) => registryIntrospectCommand(name, options, global())));
  registry
    .command('add')
    .description('add a server to .vscode/mcp.json (comments kept; secrets become password inputs)')
    .argument('<name>', 'its name or any alias')
    .option('--recipe <n>', "which install recipe (numbers from 'registry show')")
    .option('--key <key>', 'the server name in mcp.json (default: the last part of its name)')
    .option('--replace', 'replace a server of the same key instead of adding another', false)
    .action(action((name: string, options: AddCommandOptions) => registryAddCommand(name, options, global())));

  program
    .command('orchestrate')
    .description('write <name>.workflow.yaml over the servers named (the workspace\'s, else the catalog\'s) and say what is missing')
    .argument('<name>', 'the workflow name')
    .requiredOption('--with <servers>', 'comma-separated server names, e.g. memory,filesystem')
    .option('--json', 'as JSON', false)
    .action(action((name: string, options: { with: string; json: boolean }) => orchestrateCommand(name, options, global())));

  for (const command of [program, ...program.commands, ...runs.commands, ...servers.commands, ...registry.commands]) {
    command.exitOverride().showHelpAfterError('(run with --help for usage)');
  }
  return program;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Runs the CLI with the given arguments; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    return reportError(error);
  }
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
    return EXIT.usage;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`openconductor: ${error.message}\n(run with --help for usage)\n`);
    return EXIT.usage;
  }
  if (error instanceof CommandFailure || error instanceof WorkflowFileError || error instanceof JournalWriteError || error instanceof JournalCorruptError || error instanceof StoreOpenError || error instanceof EsbuildUnavailableError) {
    process.stderr.write(`openconductor: ${error.message}\n`);
    return EXIT.failed;
  }
  if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
    process.stderr.write(`openconductor: the disk is full (${(error as Error).message}). Free some space and try again; nothing already recorded is lost.\n`);
    return EXIT.failed;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`openconductor: internal error: ${message}\n`);
  if (process.env.OPENCONDUCTOR_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  else process.stderr.write('Set OPENCONDUCTOR_DEBUG=1 to see where it happened, and please report it.\n');
  return EXIT.failed;
}
