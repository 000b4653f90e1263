/**
 * The embedded store: one SQLite file (better-sqlite3, WAL) holding the catalog and the samples,
 * written in one transaction per group of batches. Sample reads run in read threads with their own
 * connections (`cloud/query/`), so a heavy one never blocks ingest or `/health`; an in-memory
 * database has no file to share, so its reads run in place under the same budget.
 */
import type { ScalarSeries } from '../kpi/model.js';
import { defaultReaderLimits, type ReaderLimits, storeReaderOf } from '../query/store-reader.js';
import { SqliteCatalog } from './catalog.js';
import {
  aggregateTask,
  decodeAggregateRows,
  decodeSampleRows,
  decodeScalarRows,
  rawWindowTask,
  SampleTable,
  scalarSamplesTask,
} from './sample-table.js';
import { openSqliteDatabase } from './sqlite-schema.js';
import type { AggregatedSeries, AggregateQuery, Series, SeriesQuery } from './store.js';

export class SqliteStore extends SqliteCatalog {
  constructor(
    readonly path: string,
    limits: ReaderLimits = defaultReaderLimits,
  ) {
    const db = openSqliteDatabase(path);
    super(db, storeReaderOf(db, path, limits), new SampleTable(db));
  }

  series(query: SeriesQuery): Promise<Series | undefined> {
    return this.seriesFrom(query, async (limit) => {
      const [rows] = await this.reader.read(
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
        await this.reader.read(
          aggregateTask(pointId, from, to, fn, windowMs, maxSamples, maxWindows),
          'maxSamplesPerQuery',
        ),
      ),
    );
  }

  async scalarSamplesOf(
    pointIds: string[],
    from: number,
    to: number,
    maxSamples: number,
  ): Promise<Map<string, ScalarSeries>> {
    if (pointIds.length === 0) return new Map();
    const [rows] = await this.reader.read(
      scalarSamplesTask(pointIds, from, to, maxSamples),
      'maxRawSamplesPerQuery',
    );
    return decodeScalarRows(rows);
  }
}
