import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** A run id that sorts by start time: 10 characters of milliseconds and 6 random ones, in Crockford's base32. */
export function newRunId(now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = randomBytes(6);
  let suffix = '';
  for (const byte of random) suffix += ALPHABET[byte % 32];
  return time + suffix;
}
