import * as fs from 'node:fs';
import * as path from 'node:path';

/** Another live process holds the data directory. */
export class DataDirectoryBusyError extends Error {
  override name = 'DataDirectoryBusyError';
  constructor(
    readonly dataDir: string,
    readonly holder: { pid: number; command: string },
  ) {
    super(
      `another OpenConductor process (pid ${holder.pid}: ${holder.command}) is using the data directory ${dataDir}. ` +
        'Wait for it to finish, or give this command its own directory with --data-dir.',
    );
  }
}

/** The lock files this process holds: a lock naming our own pid is stale (left by an earlier process that had it) unless it is in here. */
const heldHere = new Set<string>();

/** An exclusive hold on a data directory, so that one process at a time writes its journal. */
export class DirectoryLock {
  private constructor(private readonly file: string) {}

  /** Takes the lock, taking over a lock left by a process that no longer runs. */
  static acquire(dataDir: string, command: string): DirectoryLock {
    const file = path.resolve(dataDir, 'lock');
    const content = JSON.stringify({ pid: process.pid, command });
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.writeFileSync(file, content, { flag: 'wx' });
        heldHere.add(file);
        return new DirectoryLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readHolder(file);
      if (holder && (holder.pid === process.pid ? heldHere.has(file) : isAlive(holder.pid))) throw new DataDirectoryBusyError(dataDir, holder);
      fs.rmSync(file, { force: true });
    }
    throw new Error(`could not lock the data directory ${dataDir}`);
  }

  /** Lets go of the lock. */
  release(): void {
    heldHere.delete(this.file);
    fs.rmSync(this.file, { force: true });
  }
}

function readHolder(file: string): { pid: number; command: string } | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid?: unknown; command?: unknown };
    return typeof parsed.pid === 'number' ? { pid: parsed.pid, command: String(parsed.command ?? '') } : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
