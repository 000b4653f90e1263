/**
 * Login throttling: after `maxFailures` wrong passwords in a row for one user name, or four times as
 * many from one address (a plant's NAT puts many users behind one), further attempts are refused for
 * `lockoutMs` (doubling at each new lockout, up to an hour) without checking the password. With the slow hash this bounds online guessing to a few
 * attempts a minute per user and per address; a success clears the user's and the address's count.
 */
const MAX_LOCKOUT_MS = 60 * 60 * 1000;
/** Bounds the memory a flood of distinct names or addresses can take. */
const MAX_TRACKED = 10_000;
const ADDRESS_FAILURES_PER_USER_FAILURE = 4;

interface Failures {
  count: number;
  lockouts: number;
  lockedUntil: number;
}

export class LoginLimiter {
  private readonly failures = new Map<string, Failures>();

  constructor(
    private readonly maxFailures: number,
    private readonly lockoutMs: number,
  ) {}

  /** Milliseconds until the user or address may try again; 0 when it may now. */
  retryAfterMs(user: string, address: string, now: number): number {
    const waits = [this.failures.get(`user:${user}`), this.failures.get(`ip:${address}`)].map((f) =>
      f ? Math.max(0, f.lockedUntil - now) : 0,
    );
    return Math.max(...waits);
  }

  failed(user: string, address: string, now: number): void {
    const limits: Array<[string, number]> = [
      [`user:${user}`, this.maxFailures],
      [`ip:${address}`, this.maxFailures * ADDRESS_FAILURES_PER_USER_FAILURE],
    ];
    for (const [key, limit] of limits) {
      const entry = this.failures.get(key) ?? { count: 0, lockouts: 0, lockedUntil: 0 };
      entry.count++;
      if (entry.count >= limit) {
        entry.lockedUntil = now + Math.min(MAX_LOCKOUT_MS, this.lockoutMs * 2 ** entry.lockouts);
        entry.lockouts++;
        entry.count = 0;
      }
      this.failures.delete(key);
      this.failures.set(key, entry);
    }
    // Oldest first in a Map: drop them when too many are tracked.
    for (const key of this.failures.keys()) {
      if (this.failures.size <= MAX_TRACKED) break;
      this.failures.delete(key);
    }
  }

  succeeded(user: string, address: string): void {
    this.failures.delete(`user:${user}`);
    this.failures.delete(`ip:${address}`);
  }
}
