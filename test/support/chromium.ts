import { createRequire } from 'node:module';
import type { Browser } from 'playwright-core';

// Loaded at run time rather than imported: benchmarks run from an esbuild bundle (bench/run.mjs), and playwright-core
// cannot be bundled (it reads files beside its own, e.g. browsers.json).
const { chromium } = createRequire(__filename)('playwright-core') as typeof import('playwright-core');

/** Debian's chromium (playwright's own browsers cannot be downloaded here). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Starts headless chromium with the flags this machine needs (no sandbox as root, no background network). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
    timeout: 60_000,
  });
}
