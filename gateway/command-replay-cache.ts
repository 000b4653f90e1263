/**
 * The ids of the commands this gateway has executed, remembered until their expiry (plus the clock
 * skew allowance) has passed, in a SQLite file of the state directory: a command replayed after a
 * restart is still refused. An id is committed, fsynced, before its writes run, so a crash in the
 * middle cannot make a replay execute twice. Expired ids are pruned on each insert; the rate limit
 * bounds what remains (ratePerMinute × the longest time an id must be kept).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { JjjError } from './common/errors.js';

export class ReplayCache {
  private readonly db: Database.Database;
  private readonly statements;

  constructor(stateDir: string) {
    const file = join(stateDir, 'commands.db');
    try {
      mkdirSync(stateDir, { recursive: true });
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.exec(`CREATE TABLE IF NOT EXISTS seen_commands (
        id TEXT PRIMARY KEY,
        forget_after INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS seen_commands_forget ON seen_commands (forget_after)`);
    } catch (error) {
      throw new JjjError('REPLAY_CACHE_OPEN_FAILED', `cannot open ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.statements = {
      seen: this.db.prepare<[string, number], { id: string }>(
        'SELECT id FROM seen_commands WHERE id = ? AND forget_after >= ?',
      ),
      remember: this.db.prepare<[string, number]>(
        'INSERT OR REPLACE INTO seen_commands (id, forget_after) VALUES (?, ?)',
      ),
      prune: this.db.prepare<[number]>('DELETE FROM seen_commands WHERE forget_after < ?'),
    };
  }

  seen(id: string, now: number): boolean {
    return this.statements.seen.get(id, now) !== undefined;
  }

  /** Remembers `id` until `forgetAfter` (epoch ms), in one transaction with the pruning of old ids. */
  remember(id: string, forgetAfter: number, now: number): void {
    this.db.transaction(() => {
      this.statements.prune.run(now);
      this.statements.remember.run(id, forgetAfter);
    })();
  }

  close(): void {
    this.db.close();
  }
}
