/**
 * Where a store's heavy SQLite reads run: a pool of read threads on the file, or, for an in-memory
 * database no other connection can open, the store's own connection under the same limits.
 */
import type Database from 'better-sqlite3';
import { IN_MEMORY } from '../config.js';
import { type QueryLimits, timedOut, tooManySamples } from './query-errors.js';
import { type ReadResult, type ReadTask, runReadTask } from './read-task.js';
import { SqliteReadPool } from './sqlite-read-pool.js';

export type BudgetName = 'maxSamplesPerQuery' | 'maxRawSamplesPerQuery';
export type ReaderLimits = Pick<QueryLimits, 'readWorkers' | 'queryTimeoutMs' | 'maxQueuedQueries'>;

export const defaultReaderLimits: ReaderLimits = {
  readWorkers: 2,
  queryTimeoutMs: 10_000,
  maxQueuedQueries: 16,
};

export interface StoreReader {
  /** Reads that run at once (read threads); a large read split in this many runs faster. */
  readonly threads: number;
  /** The result of each statement; throws `QueryRefusedError` over the budget, the time limit or the queue. */
  read(task: ReadTask, budget: BudgetName): Promise<ReadResult[]>;
  close(): Promise<void>;
}

export function storeReaderOf(db: Database.Database, path: string, limits: ReaderLimits): StoreReader {
  if (path !== IN_MEMORY) {
    const pool = new SqliteReadPool(path, limits);
    return {
      threads: limits.readWorkers,
      read: (task, budget) => pool.run(task, budget),
      close: () => pool.close(),
    };
  }
  const prepared = new Map<string, Database.Statement>();
  return {
    threads: 1,
    async read(task, budget) {
      const outcome = runReadTask(db, prepared, task, Date.now() + limits.queryTimeoutMs);
      if (outcome.status === 'over-budget') throw tooManySamples(budget, task.maxTouched);
      if (outcome.status === 'timed-out') throw timedOut(limits.queryTimeoutMs);
      return outcome.results;
    },
    async close() {},
  };
}
