import * as fs from 'node:fs';
import * as path from 'node:path';

const SKIP = new Set(['node_modules', '.git', '.openconductor', '.vscode-test', 'dist', 'out']);

/** Whether a path names a workflow file: YAML (`*.workflow.yaml`, `*.workflow.yml`) or code-first (`*.workflow.ts`). */
export function isWorkflowFile(file: string): boolean {
  return /\.workflow\.(ya?ml|ts)$/i.test(file);
}

/** What a folder's entries hold for the walk: its workflow files, and the folders to walk next. */
function sort(dir: string, entries: fs.Dirent[], descend: boolean): { files: string[]; folders: string[] } {
  const files: string[] = [];
  const folders: string[] = [];
  for (const entry of entries) {
    if (entry.isDirectory()) {
      if (descend && !SKIP.has(entry.name)) folders.push(path.join(dir, entry.name));
    } else if (entry.isFile() && isWorkflowFile(entry.name)) {
      files.push(path.join(dir, entry.name));
    }
  }
  return { files, folders };
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
    const { files, folders } = sort(dir, entries, depth < maxDepth);
    found.push(...files);
    for (const folder of folders) walk(folder, depth + 1);
  };
  walk(root, 0);
  return found.sort();
}

/** findWorkflowFiles without blocking: the editor lists workflows this way while its host does other work. */
export async function findWorkflowFilesAsync(root: string, maxDepth = 8): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const { files, folders } = sort(dir, entries, depth < maxDepth);
    found.push(...files);
    await Promise.all(folders.map((folder) => walk(folder, depth + 1)));
  };
  await walk(root, 0);
  return found.sort();
}
