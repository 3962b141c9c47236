/** The command line was wrong: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The command failed for a reason already explained to the user: exit code 1, message printed as is. */
export class CommandFailure extends Error {
  override name = 'CommandFailure';
}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
