/**
 * Root hook: once every test has run, mocha should exit by itself. If something a test
 * started is still open 20 s later, name it and fail, so a leak shows in CI as a
 * clear error instead of a hang.
 */
const GRACE_MS = 20_000;

// Where each pending timer was set is kept, to name the code that leaked one (node:timers/promises is not traced).
const pending = new Map<NodeJS.Timeout, string>();
{
  const set = globalThis.setTimeout;
  const clear = globalThis.clearTimeout;
  globalThis.setTimeout = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const where = (new Error().stack ?? '').split('\n').slice(2, 9).join('\n');
    const timer = set((...a: unknown[]) => {
      pending.delete(timer);
      callback(...a);
    }, ms, ...args);
    pending.set(timer, `${ms} ms\n${where}`);
    return timer;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((timer: NodeJS.Timeout | undefined) => {
    if (timer) pending.delete(timer);
    clear(timer);
  }) as typeof clearTimeout;
}

interface HandleLike {
  constructor: { name: string };
  spawnfile?: string;
  spawnargs?: string[];
  pid?: number;
  remoteAddress?: string;
  path?: string;
  fd?: number;
}

/** Describes one open libuv handle in a line. */
function describe(handle: HandleLike): string {
  const facts = [handle.spawnargs?.join(' '), handle.pid && `pid ${handle.pid}`, handle.remoteAddress, handle.path, handle.fd !== undefined && `fd ${handle.fd}`]
    .filter(Boolean)
    .join(', ');
  return `${handle.constructor.name}${facts ? ` (${facts})` : ''}`;
}

export const mochaHooks = {
  afterAll(): void {
    setTimeout(() => {
      const handles = (process as unknown as { _getActiveHandles(): HandleLike[] })._getActiveHandles();
      console.error(`tests finished ${GRACE_MS / 1000} s ago but the process is still held open by: ${process.getActiveResourcesInfo().join(', ')}`);
      for (const handle of handles) console.error(`  ${describe(handle)}`);
      for (const [timer, where] of pending) if (timer.hasRef()) console.error(`  a timer of ${where}`);
      // Mocha sets the exit code from the results in its own 'exit' listener; this one runs after it.
      process.on('exit', () => (process.exitCode = 1));
      process.exit(1);
    }, GRACE_MS).unref();
  },
};
