#!/usr/bin/env node
// Packages the extension into a .vsix with @vscode/vsce (offline): esbuild bundles everything into dist/, so
// --no-dependencies; package.json "files" decides what goes in. Build first (`npm run build`).
// Usage: node scripts/package-extension.mjs [out.vsix]   (default: .vscode-test/openconductor.vsix)
// Prints the path of the .vsix on its last line.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(root, '.vscode-test', 'openconductor.vsix'));
const require = createRequire(join(root, 'package.json'));

const manifest = require('./package.json');
const main = manifest.main && join(root, manifest.main);
if (!main || !existsSync(main)) {
  console.error(`package-extension: ${manifest.main ?? 'package.json "main"'} is missing: run \`npm run build\` first`);
  process.exit(1);
}

mkdirSync(dirname(out), { recursive: true });
const vsce = join(dirname(require.resolve('@vscode/vsce/package.json')), 'vsce');
const args = [vsce, 'package', '--no-dependencies', '-o', out];
execFileSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
console.error(`package-extension: ${out} (${(statSync(out).size / 1024).toFixed(0)} KiB)`);
console.log(out);
