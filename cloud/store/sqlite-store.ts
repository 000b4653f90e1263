/**
 * The embedded store: one SQLite file (better-sqlite3, WAL) holding the catalog and the samples,
 * written in one transaction per group of batches.
 */
import { SqliteCatalog } from './catalog.js';
import { SampleTable } from './sample-table.js';
import { openSqliteDatabase } from './sqlite-schema.js';
import type { Series, SeriesQuery, SeriesSample } from './store.js';

export class SqliteStore extends SqliteCatalog {
  private readonly samples: SampleTable;

  constructor(readonly path: string) {
    const db = openSqliteDatabase(path);
    const samples = new SampleTable(db);
    super(db, samples);
    this.samples = samples;
  }

  series(query: SeriesQuery): Promise<Series | undefined> {
    return this.seriesFrom(query, (limit) =>
      this.samples.inWindow(query.pointId, query.from, query.to, limit),
    );
  }

  async samplesOf(pointIds: string[], from: number, to: number): Promise<Map<string, SeriesSample[]>> {
    const result = new Map<string, SeriesSample[]>();
    for (const id of pointIds) {
      const samples = this.samples.inWindow(id, from, to, Number.MAX_SAFE_INTEGER);
      if (samples.length > 0) result.set(id, samples);
    }
    return result;
  }
}
