import * as fs from 'node:fs';
import * as path from 'node:path';
import { syncDirectory } from './journal';

/** Writes a file so that a crash leaves the old one or the new one, never half of either: write, fsync, rename. */
export function writeFileAtomic(file: string, bytes: Uint8Array): void {
  const tmp = `${file}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      let offset = 0;
      while (offset < bytes.length) offset += fs.writeSync(fd, bytes, offset, Math.min(bytes.length - offset, 1 << 30));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  syncDirectory(path.dirname(file));
}
