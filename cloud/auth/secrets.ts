/**
 * Secrets of the API: passwords hashed with scrypt (a per-user salt and the cost parameters kept
 * beside the hash, so they can be raised later without breaking stored hashes), and random API
 * tokens and session ids of which only a SHA-256 is stored.
 */
import { createHash, randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/** One of OWASP's scrypt settings (N = 2^16, r = 8, p = 2): 64 MiB and about 0.4 s of one core per guess. */
const DEFAULT_COST = { N: 2 ** 16, r: 8, p: 2 } as const;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 1024;

function scryptAsync(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  // 128·N·r bytes are needed; Node's default limit (32 MiB) is too small for N = 2^16.
  const maxmem = 256 * (options.N ?? 0) * (options.r ?? 0);
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_BYTES, { ...options, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/** Why a password cannot be used, or `undefined` when it can. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH)
    return `a password needs at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH)
    return `a password has at most ${MAX_PASSWORD_LENGTH} characters`;
  return undefined;
}

/** `scrypt$N$r$p$salt$hash` (base64): everything needed to check a password later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(password, salt, DEFAULT_COST);
  const { N, r, p } = DEFAULT_COST;
  return ['scrypt', N, r, p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Checks a password against a stored hash in constant time; false for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scryptAsync(password.slice(0, MAX_PASSWORD_LENGTH), Buffer.from(salt, 'base64'), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

let dummyHash: Promise<string> | undefined;
/** A hash of a password nobody has: checked against when the user is unknown, so timing does not tell. */
export function unknownUserHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return dummyHash;
}

export const TOKEN_PREFIX = 'jjj_';

/** A new API token (shown once) and its id (for listing and revoking). */
export function newToken(): { id: string; token: string } {
  return {
    id: randomBytes(6).toString('hex'),
    token: `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`,
  };
}

/** A random secret for a session id or a CSRF token. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** What is stored of a token or session id: high-entropy secrets need no slow hash. */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time equality of two strings (e.g. a CSRF header against the session's token). */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
