import * as fs from 'node:fs';
import * as path from 'node:path';
import { hasErrors, sortDiagnostics, type Diagnostic } from '../../../common/diagnostics';
import type { SourceFile } from '../../../common/source';
import { resolveInputs } from '../../../common/workflow/inputs';
import type { ToolInfo } from '../../../common/workflow/tool-arguments';
import { resolveServers } from '../../engine/resolve-servers';
import { diagnosticsOf, isCodeWorkflowFile, loadCodeWorkflow } from '../../code-first/load';
import { findWorkflowFiles } from '../../workspace/find-workflows';
import { loadWorkflow, WorkflowFileError, type LoadedWorkflow } from '../../workspace/load';
import type { Workspace } from '../../workspace/workspace';
import { printDiagnostics } from '../diagnostics-output';
import { EXIT, UsageError } from '../errors';
import { askInput } from '../prompt';
import { toolInfo } from '../../mcp/tool-cache';
import { createPool, workspaceFor, type GlobalOptions } from '../session';
import { Style } from '../style';

export interface ValidateOptions {
  json: boolean;
  connect: boolean;
}

interface FileReport {
  file: string;
  diagnostics: Array<Diagnostic & { line: number; column: number; endLine: number; endColumn: number }>;
}

/** `openconductor validate`: checks workflow files (and folders of them); with --connect, against the servers' live tools. */
export async function validateCommand(targets: string[], options: ValidateOptions, global: GlobalOptions): Promise<number> {
  const style = Style.for(process.stdout, global.color);
  const files = expandTargets(targets);
  const reports: FileReport[] = [];
  let errors = 0;
  let warnings = 0;
  for (const file of files) {
    const workspace = workspaceFor(file, global);
    if (isCodeWorkflowFile(file)) {
      // Code-first: compiled and loaded (its module code runs in the sandbox); --connect changes nothing, as the
      // servers a workflow calls are known only as it runs.
      let code;
      try {
        code = await loadCodeWorkflow(path.resolve(file), workspace);
      } catch (error) {
        if (!(error instanceof WorkflowFileError)) throw error;
        process.stderr.write(`${error.message}\n`);
        errors++;
        continue;
      }
      const groups = diagnosticsOf(code.problems);
      if (!groups.some((g) => g.file === code.file)) groups.unshift({ file: code.file, diagnostics: [] });
      for (const { file: source, diagnostics } of groups) {
        errors += diagnostics.filter((d) => d.severity === 'error').length;
        warnings += diagnostics.filter((d) => d.severity === 'warning').length;
        if (options.json) reports.push(report(source, diagnostics));
        else printDiagnostics(process.stdout, source, diagnostics, style);
      }
      if (!options.json && !code.problems.some((p) => p.diagnostic.severity === 'error')) process.stderr.write(`${style.green('✓')} ${code.file.path}\n`);
      continue;
    }
    let loaded: LoadedWorkflow;
    try {
      loaded = options.connect ? await loadWithLiveTools(file, workspace) : loadWorkflow(path.resolve(file), workspace);
    } catch (error) {
      if (!(error instanceof WorkflowFileError)) throw error;
      process.stderr.write(`${error.message}\n`);
      errors++;
      continue;
    }
    errors += loaded.diagnostics.filter((d) => d.severity === 'error').length;
    warnings += loaded.diagnostics.filter((d) => d.severity === 'warning').length;
    if (options.json) reports.push(report(loaded.file, loaded.diagnostics));
    else printDiagnostics(process.stdout, loaded.file, loaded.diagnostics, style);
    if (!options.json && !hasErrors(loaded.diagnostics)) process.stderr.write(`${style.green('✓')} ${loaded.file.path}\n`);
  }
  if (options.json) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
  else process.stderr.write(`${files.length} file(s): ${errors} error(s), ${warnings} warning(s)\n`);
  return errors > 0 ? EXIT.failed : EXIT.ok;
}

function expandTargets(targets: string[]): string[] {
  const files: string[] = [];
  for (const target of targets) {
    if (fs.existsSync(target) && fs.statSync(target).isDirectory()) {
      const found = findWorkflowFiles(target);
      if (found.length === 0) throw new UsageError(`no workflow files (*.workflow.yaml, *.workflow.ts) under ${target}.`);
      files.push(...found);
    } else {
      files.push(target);
    }
  }
  return files;
}

/** Loads once to learn the servers, starts them to list their tools, and validates again against those lists. */
async function loadWithLiveTools(file: string, workspace: Workspace): Promise<LoadedWorkflow> {
  const first = loadWorkflow(path.resolve(file), workspace);
  if (!first.workflow) return first;
  const inputs = resolveInputs(first.workflow, {}).values;
  const pool = createPool(workspace, false);
  const live = new Map<string, ToolInfo[]>();
  const problems: Diagnostic[] = [];
  try {
    for (const name of new Set(first.workflow.steps.map((s) => s.server.name))) {
      const declared = first.servers.get(name);
      if (!declared) continue;
      const step = first.workflow.steps.find((s) => s.server.name === name)!;
      try {
        const spec = (await resolveServers([declared], { workspaceFolder: workspace.folder, inputs, env: process.env, mcpInputs: workspace.mcpConfig?.inputs ?? [], askInput })).get(name)!;
        const tools = (await pool.connection(spec).listTools()).map(toolInfo);
        live.set(name, tools);
        workspace.toolCache.put(name, declared.hash, tools);
      } catch (error) {
        problems.push({ severity: 'warning', message: `could not list the tools of server '${name}': ${(error as Error).message.split('\n')[0]}`, range: step.server.range, code: 'server-unreachable' });
      }
    }
  } finally {
    await pool.closeAll();
  }
  const second = loadWorkflow(path.resolve(file), workspace, (server) => live.get(server.name));
  return { ...second, diagnostics: [...second.diagnostics, ...problems] };
}

function report(file: SourceFile, diagnostics: Diagnostic[]): FileReport {
  return {
    file: file.path,
    diagnostics: sortDiagnostics([...diagnostics]).map((d) => {
      const start = file.position(d.range.start);
      const end = file.position(d.range.end);
      return { ...d, line: start.line, column: start.column, endLine: end.line, endColumn: end.column };
    }),
  };
}
