import * as path from 'node:path';
import type { Diagnostic } from '../../common/diagnostics';
import { SourceFile, type Range } from '../../common/source';
import { didYouMean } from '../../common/suggest';
import type { WorkflowDefinition } from '../../common/workflow/model';
import { declaredServers, type DeclaredServer } from '../workspace/declared-servers';
import { readWorkflowFile } from '../workspace/load';
import { hashText, type Workspace } from '../workspace/workspace';
import { compileWorkflow, offsetOfLine, sourceFiles, type FileDiagnostic } from './compile';
import { workflowModel } from './options';
import { Sandbox, SandboxError, SiteMapper, type SourcePosition } from './sandbox';

/** Whether a path names a code-first workflow. */
export function isCodeWorkflowFile(file: string): boolean {
  return /\.workflow\.ts$/i.test(file);
}

/** A `*.workflow.ts` file compiled, loaded and checked. */
export interface LoadedCodeWorkflow {
  path: string;
  /** The workflow file itself. */
  file: SourceFile;
  /** Every problem, in the workflow file or in a module it imports. */
  problems: FileDiagnostic[];
  /** The compiled bundle and its hash (the definition's version), when it compiled. */
  bundle?: string;
  hash?: string;
  /** Its options as the language's model (no steps), when they are valid. */
  workflow?: WorkflowDefinition;
  /** The servers it can use, by name: its own, then .vscode/mcp.json's. */
  servers: Map<string, DeclaredServer>;
}

/** What evaluating a bundle tells: the workflow's model, or what is wrong, at positions in its sources. */
export interface EvaluatedWorkflow {
  workflow?: WorkflowDefinition;
  /** The options' `servers` as written (JSON), for hashing each definition. */
  rawServers: Record<string, unknown>;
  problems: Array<{ severity: 'error' | 'warning'; message: string; position?: SourcePosition }>;
}

/**
 * Loads a bundle in a sandbox (its module code runs, deterministic as always) to read what it exports: a
 * workflow() definition, whose options become the language's model. `mainFile` is the workflow's file, where the
 * positions of problems about the options are computed (where workflow() is called).
 */
export function evaluateBundle(bundle: string, recordedFile: string, mainText?: string): EvaluatedWorkflow {
  const mapper = new SiteMapper(bundle, recordedFile);
  const problems: EvaluatedWorkflow['problems'] = [];
  let sandbox: Sandbox;
  try {
    sandbox = new Sandbox(bundle, { clock: () => Date.now(), seed: 'load' });
  } catch (error) {
    if (!(error instanceof SandboxError)) throw error;
    const position = mapper.position(error.codeStack);
    problems.push({ severity: 'error', message: error.message, ...(position && { position }) });
    return { rawServers: {}, problems };
  }
  if (!sandbox.isWorkflow) {
    problems.push({ severity: 'error', message: `${path.basename(recordedFile)} must export a workflow by default: export default workflow({ name: '…' }, async (ctx, input) => { … }) with workflow from 'openconductor/workflow'.` });
    return { rawServers: {}, problems };
  }
  const site = mapper.position(sandbox.definitionSite);
  let raw: unknown;
  try {
    raw = JSON.parse(sandbox.optionsJson());
  } catch (error) {
    problems.push({ severity: 'error', message: (error as Error).message, ...(site && { position: site }) });
    return { rawServers: {}, problems };
  }
  const text = mainText ?? (site ? mapper.sourceContent(site.source) : undefined);
  const offset = site && text !== undefined && site.source === path.basename(recordedFile) ? offsetOfLine(text, site.line) + site.column - 1 : 0;
  const range: Range = { start: offset, end: offset };
  const model = workflowModel(raw, range);
  for (const problem of model.problems) problems.push({ ...problem, ...(site && { position: site }) });
  const rawServers = raw !== null && typeof raw === 'object' && typeof (raw as { servers?: unknown }).servers === 'object' ? ((raw as { servers: Record<string, unknown> }).servers ?? {}) : {};
  return { ...(model.workflow && { workflow: model.workflow }), rawServers, problems };
}

/**
 * Reads, compiles and checks a `*.workflow.ts` file: compile errors (with the file, line and column of the
 * workflow or of the module they are in), I/O outside ctx, the default export, the options. Throws only when the
 * file cannot be read (WorkflowFileError).
 */
export async function loadCodeWorkflow(filePath: string, workspace: Workspace): Promise<LoadedCodeWorkflow> {
  const file = readWorkflowFile(filePath);
  const dir = path.dirname(filePath);
  const read = sourceFiles([[path.resolve(filePath), file]]);
  const sourceFile = (source: string): SourceFile => read(path.resolve(dir, source));
  const compiled = await compileWorkflow(filePath);
  const problems: FileDiagnostic[] = compiled.problems.map((p) => (p.file.path === file.path ? { ...p, file } : p));
  let evaluated: EvaluatedWorkflow = { rawServers: {}, problems: [] };
  if (compiled.bundle) {
    evaluated = evaluateBundle(compiled.bundle, file.path, file.text);
    for (const problem of evaluated.problems) {
      const target = problem.position ? sourceFile(problem.position.source) : file;
      const start = problem.position ? Math.min(offsetOfLine(target.text, problem.position.line) + problem.position.column - 1, target.text.length) : 0;
      problems.push({ file: target, diagnostic: { severity: problem.severity, message: problem.message, range: { start, end: start }, code: 'workflow-options' } });
    }
  }
  const servers = codeDeclaredServers(workspace, file, evaluated.workflow, evaluated.rawServers);
  if (evaluated.workflow) problems.push(...checkLiteralCalls(file, evaluated.workflow, servers, workspace));
  return {
    path: filePath,
    file,
    problems,
    ...(compiled.bundle && !problems.some((p) => p.diagnostic.severity === 'error') && { bundle: compiled.bundle, hash: compiled.hash }),
    ...(evaluated.workflow && { workflow: evaluated.workflow }),
    servers,
  };
}

/** The servers a code-first workflow can use: its own `servers` (at their name in the source, when found), then .vscode/mcp.json's. */
export function codeDeclaredServers(workspace: Workspace, file: SourceFile, workflow: WorkflowDefinition | undefined, rawServers: Record<string, unknown>): Map<string, DeclaredServer> {
  const servers = new Map<string, DeclaredServer>();
  const block = file.text.search(/\bservers\s*:/);
  for (const declaration of workflow?.servers ?? []) {
    const escaped = declaration.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const found = block < 0 ? -1 : file.text.slice(block).search(new RegExp(`(['"]?)${escaped}\\1\\s*:`));
    const start = found < 0 ? declaration.range.start : block + found;
    servers.set(declaration.name, {
      name: declaration.name,
      origin: 'workflow',
      file,
      range: { start, end: start + declaration.name.length },
      hash: hashText(JSON.stringify(rawServers[declaration.name] ?? null)),
      declaration: { ...declaration, range: { start, end: start + declaration.name.length } },
    });
  }
  for (const [name, server] of declaredServers(workspace)) if (!servers.has(name)) servers.set(name, server);
  return servers;
}

/**
 * Checks the calls the workflow file writes out with literal names, `ctx.call('server', 'tool', …)`: a server
 * that is declared nowhere, or a tool the server is known not to have (its tools cached from an earlier run or
 * `servers tools`), is reported as a warning. A call with computed names is only checked when it runs.
 */
function checkLiteralCalls(file: SourceFile, workflow: WorkflowDefinition, servers: Map<string, DeclaredServer>, workspace: Workspace): FileDiagnostic[] {
  const problems: FileDiagnostic[] = [];
  const warn = (message: string, start: number, end: number, code: string): void => void problems.push({ file, diagnostic: { severity: 'warning', message, range: { start, end }, code } });
  const text = stripComments(file.text);
  const pattern = /\.call\s*(?:<[^>()]*>)?\s*\(\s*(['"`])([A-Za-z0-9_.-]+)\1\s*,\s*(['"`])([^'"`$\\\n]+)\3/g;
  for (const match of text.matchAll(pattern)) {
    const [, , server, , tool] = match;
    const serverStart = match.index + match[0].indexOf(server, match[0].indexOf('(') + 1);
    const declared = servers.get(server);
    if (!declared) {
      warn(`server '${server}' is neither in the workflow's servers nor in .vscode/mcp.json.${didYouMean(server, servers.keys())}`, serverStart, serverStart + server.length, 'unknown-server');
      continue;
    }
    const tools = workspace.toolCache.get(declared.name, declared.hash);
    if (tools && !tools.some((t) => t.name === tool)) {
      const toolStart = match.index + match[0].lastIndexOf(tool);
      warn(`server '${server}' has no tool '${tool}'.${didYouMean(tool, tools.map((t) => t.name)) || ` Its tools: ${tools.map((t) => t.name).join(', ')}.`}`, toolStart, toolStart + tool.length, 'unknown-tool');
    }
  }
  for (const name of workflow.circuitBreakers.keys()) {
    if (!servers.has(name)) {
      const at = file.text.search(/\bcircuitBreakers\s*:/);
      warn(`circuitBreakers names server '${name}', which is neither in the workflow's servers nor in .vscode/mcp.json.${didYouMean(name, servers.keys())}`, Math.max(0, at), Math.max(0, at), 'unknown-server');
    }
  }
  return problems;
}

/** The text with comments blanked out (same length, so offsets stay), for the literal-call scan. */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (comment) => comment.replace(/[^\n]/g, ' '));
}

/** Diagnostics of one file, from a list about several. */
export function diagnosticsOf(problems: FileDiagnostic[]): Array<{ file: SourceFile; diagnostics: Diagnostic[] }> {
  const byFile = new Map<SourceFile, Diagnostic[]>();
  for (const { file, diagnostic } of problems) byFile.set(file, [...(byFile.get(file) ?? []), diagnostic]);
  return [...byFile].map(([file, diagnostics]) => ({ file, diagnostics }));
}
