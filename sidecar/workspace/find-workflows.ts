import * as fs from 'node:fs';
import * as path from 'node:path';

const SKIP = new Set(['node_modules', '.git', '.openconductor', '.vscode-test', 'dist', 'out']);

/** Whether a path names a workflow file: YAML (`*.workflow.yaml`, `*.workflow.yml`) or code-first (`*.workflow.ts`). */
export function isWorkflowFile(file: string): boolean {
  return /\.workflow\.(ya?ml|ts)$/i.test(file);
}

/** The workflow files under a folder, skipping dependency and build folders. */
export function findWorkflowFiles(root: string, maxDepth = 8): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (depth < maxDepth && !SKIP.has(entry.name)) walk(full, depth + 1);
      } else if (entry.isFile() && isWorkflowFile(entry.name)) {
        found.push(full);
      }
    }
  };
  walk(root, 0);
  return found.sort();
}
