/**
 * The outbox on disk: one SQLite file (WAL journal) under the gateway's state directory. Batches are
 * committed before `appendAll` returns, so they survive `kill -9`; with `fsync: every-batch` (the
 * default) the commit is fsynced, so they also survive a power cut. The batches cut at one moment
 * share one transaction: one fsync however many there are (group commit).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  type Dropped,
  decodeEntry,
  encodeBatch,
  type Outbox,
  type OutboxEntry,
  OutboxError,
  type OutboxStats,
  type SerialisedBatch,
} from './outbox.js';

/**
 * `every-batch`: each append (one transaction, however many batches) is fsynced (survives power
 * loss). `checkpoint`: appends reach the OS at once (survive `kill -9`) but are fsynced only at WAL
 * checkpoints, so a power cut can lose the last moments; cheaper on slow flash.
 */
export type FsyncPolicy = 'every-batch' | 'checkpoint';

export interface DiskOutboxOptions {
  dir: string;
  maxBytes: number;
  fsync: FsyncPolicy;
}

/** Rows examined per step while trimming, so a huge backlog is never loaded at once. */
const TRIM_CHUNK = 256;

export class DiskOutbox implements Outbox {
  private readonly db: Database.Database;
  private readonly statements;
  /** One transaction, so one commit and (with `every-batch`) one fsync, for every batch given. */
  private readonly insertAll: (batches: readonly SerialisedBatch[], records: readonly Buffer[]) => number[];
  readonly stats: OutboxStats;
  private newestId: number;

  constructor(private readonly options: DiskOutboxOptions) {
    const file = join(options.dir, 'outbox.db');
    try {
      mkdirSync(options.dir, { recursive: true });
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.fsync === 'every-batch' ? 'FULL' : 'NORMAL'}`);
      // AUTOINCREMENT: an id is never reused, even after the outbox was emptied.
      this.db.exec(`CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        points INTEGER NOT NULL,
        record BLOB NOT NULL
      )`);
    } catch (error) {
      throw new OutboxError(
        'OUTBOX_OPEN_FAILED',
        `cannot open the outbox ${file}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const db = this.db;
    this.insertAll = db.transaction((batches: readonly SerialisedBatch[], records: readonly Buffer[]) =>
      batches.map((serialised, i) =>
        Number(this.statements.insert.run(serialised.points, records[i] as Buffer).lastInsertRowid),
      ),
    );
    this.statements = {
      insert: db.prepare<[number, Buffer]>('INSERT INTO outbox (points, record) VALUES (?, ?)'),
      read: db.prepare<[number, number, number], { id: number; points: number; record: Buffer }>(
        'SELECT id, points, record FROM outbox WHERE id > ? AND id <= ? ORDER BY id LIMIT ?',
      ),
      remove: db.prepare<[number], never>(
        'DELETE FROM outbox WHERE id = ? RETURNING points, length(record) AS bytes',
      ),
      oldest: db.prepare<[number, number], { id: number }>(
        'SELECT id FROM outbox WHERE id > ? ORDER BY id LIMIT ?',
      ),
    };
    const totals = db
      .prepare<[], OutboxStats>(
        'SELECT count(*) AS batches, coalesce(sum(points), 0) AS points, coalesce(sum(length(record)), 0) AS bytes FROM outbox',
      )
      .get() as OutboxStats;
    this.stats = { ...totals };
    const sequence = db
      .prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")
      .get();
    this.newestId = sequence?.seq ?? 0;
  }

  get lastId(): number {
    return this.newestId;
  }

  appendAll(batches: readonly SerialisedBatch[]): number[] {
    // Deflated before the transaction opens, so the write lock is held only for the inserts.
    const records = batches.map(encodeBatch);
    const ids = this.insertAll(batches, records);
    batches.forEach((serialised, i) => {
      this.stats.batches++;
      this.stats.points += serialised.points;
      this.stats.bytes += (records[i] as Buffer).length;
    });
    this.newestId = ids.at(-1) ?? this.newestId;
    return ids;
  }

  read(afterId: number, upToId: number, limit: number): OutboxEntry[] {
    return this.statements.read
      .all(afterId, upToId, limit)
      .map((row) => decodeEntry(row.id, row.record, row.points));
  }

  remove(ids: readonly number[]): void {
    this.removeCounting(ids);
  }

  trim(keep: ReadonlySet<number>): Dropped {
    const dropped: Dropped = { batches: 0, points: 0 };
    let after = 0;
    while (this.stats.bytes > this.options.maxBytes) {
      const ids = this.statements.oldest.all(after, TRIM_CHUNK).map((row) => row.id);
      if (ids.length === 0) break;
      after = ids.at(-1) as number;
      const victims: number[] = [];
      for (const id of ids) if (!keep.has(id)) victims.push(id);
      // Drop in small steps: only as many as needed to get back under the cap.
      for (const id of victims) {
        if (this.stats.bytes <= this.options.maxBytes) break;
        const removed = this.removeCounting([id]);
        dropped.batches += removed.batches;
        dropped.points += removed.points;
      }
    }
    return dropped;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private removeCounting(ids: readonly number[]): Dropped {
    const removed: Dropped = { batches: 0, points: 0 };
    if (ids.length === 0) return removed;
    this.db.transaction(() => {
      for (const id of ids) {
        const row = this.statements.remove.get(id) as { points: number; bytes: number } | undefined;
        if (!row) continue;
        removed.batches++;
        removed.points += row.points;
        this.stats.bytes -= row.bytes;
      }
    })();
    this.stats.batches -= removed.batches;
    this.stats.points -= removed.points;
    return removed;
  }
}
