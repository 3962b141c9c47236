import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
export const CLI = path.join(ROOT, 'dist', 'openconductor.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `openconductor` CLI (the real bundle, as users run it; `bundle`: another copy of it). */
export function cli(args: string[], options: { cwd: string; env?: Record<string, string>; timeoutMs?: number; bundle?: string }): Promise<CliResult> {
  const bundle = options.bundle ?? CLI;
  if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build first (npm test does).`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, ...args], {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`openconductor ${args.join(' ')} did not finish within ${options.timeoutMs ?? 60_000}ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * A fresh workspace inside the repository (so that `npx` finds the MCP servers in node_modules, as it does for
 * users who installed them), holding a copy of examples/ plus any extra files given.
 */
export function makeWorkspace(name: string, files: Record<string, string> = {}): string {
  const dir = path.join(ROOT, '.test-workspaces', `${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  fs.cpSync(path.join(ROOT, 'examples'), dir, { recursive: true, filter: (src) => !src.includes('.openconductor') });
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

/**
 * The extension as VS Code installs it: the files its .vsix holds (`vsce ls --no-dependencies`, as
 * scripts/package-extension.mjs packages it), copied into a fresh folder outside the repository, where no
 * node_modules can be resolved. Build first.
 */
export function installedExtension(): string {
  const vsce = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  const files = execFileSync(process.execPath, [vsce, 'ls', '--no-dependencies'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 120_000 })
    .split('\n')
    .filter((f) => f.trim() !== '');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-installed-'));
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
  }
  return dir;
}

/** Parses the NDJSON that `run --json` prints. */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
