/**
 * The embedded store: one SQLite file (better-sqlite3, WAL) holding the catalog and the samples,
 * written in one transaction per group of batches. Sample reads run in read threads with their own
 * connections (`cloud/query/`), so a heavy one never blocks ingest or `/health`; an in-memory
 * database has no file to share, so its reads run in place under the same budget.
 */
import type Database from 'better-sqlite3';
import { IN_MEMORY } from '../config.js';
import { type QueryLimits, timedOut, tooManySamples } from '../query/query-errors.js';
import { type ReadResult, type ReadTask, runReadTask } from '../query/read-task.js';
import { SqliteReadPool } from '../query/sqlite-read-pool.js';
import { SqliteCatalog } from './catalog.js';
import {
  aggregateTask,
  decodeAggregateRows,
  decodeSampleRows,
  numberSamplesTask,
  rawWindowTask,
  SampleTable,
} from './sample-table.js';
import { openSqliteDatabase } from './sqlite-schema.js';
import type { AggregatedSeries, AggregateQuery, NumberSeries, Series, SeriesQuery } from './store.js';

type BudgetName = 'maxSamplesPerQuery' | 'maxRawSamplesPerQuery';

export class SqliteStore extends SqliteCatalog {
  private readonly read: (task: ReadTask, budget: BudgetName) => Promise<ReadResult[]>;
  private readonly pool?: SqliteReadPool;

  constructor(
    readonly path: string,
    limits: Pick<QueryLimits, 'readWorkers' | 'queryTimeoutMs' | 'maxQueuedQueries'> = {
      readWorkers: 2,
      queryTimeoutMs: 10_000,
      maxQueuedQueries: 16,
    },
  ) {
    const db = openSqliteDatabase(path);
    super(db, new SampleTable(db));
    if (path === IN_MEMORY) {
      this.read = readInPlace(db, limits.queryTimeoutMs);
    } else {
      const pool = new SqliteReadPool(path, limits);
      this.pool = pool;
      this.read = (task, budget) => pool.run(task, budget);
    }
  }

  series(query: SeriesQuery): Promise<Series | undefined> {
    return this.seriesFrom(query, async (limit) => {
      const [rows] = await this.read(
        rawWindowTask(query.pointId, query.from, query.to, limit),
        'maxSamplesPerQuery',
      );
      return decodeSampleRows(rows);
    });
  }

  aggregateSeries(query: AggregateQuery): Promise<AggregatedSeries | undefined> {
    const { pointId, from, to, fn, windowMs, maxSamples } = query;
    return this.aggregatedFrom(query, async (maxWindows) =>
      decodeAggregateRows(
        await this.read(
          aggregateTask(pointId, from, to, fn, windowMs, maxSamples, maxWindows),
          'maxSamplesPerQuery',
        ),
      ),
    );
  }

  async numberSamplesOf(
    pointIds: string[],
    from: number,
    to: number,
    maxSamples: number,
  ): Promise<Map<string, NumberSeries>> {
    const results = await this.read(
      numberSamplesTask(pointIds, from, to, maxSamples),
      'maxRawSamplesPerQuery',
    );
    const series = new Map<string, NumberSeries>();
    for (const [index, id] of pointIds.entries()) {
      const [ts, value] = results[index] as [Float64Array, Float64Array];
      if (ts.length > 0) series.set(id, { ts, value });
    }
    return series;
  }

  override async close(): Promise<void> {
    await this.pool?.close();
    await super.close();
  }
}

/** Reads on the store's own connection, for a database no other connection can open. */
function readInPlace(db: Database.Database, timeoutMs: number) {
  const prepared = new Map<string, Database.Statement>();
  return async (task: ReadTask, budget: BudgetName): Promise<ReadResult[]> => {
    const outcome = runReadTask(db, prepared, task, Date.now() + timeoutMs);
    if (outcome.status === 'over-budget') throw tooManySamples(budget, task.maxTouched);
    if (outcome.status === 'timed-out') throw timedOut(timeoutMs);
    return outcome.results;
  };
}
