/**
 * The embedded store's samples, keyed by (ts, point): clustered by time, so a batch appends at the
 * end of the tree. INSERT OR REPLACE, so a replayed sample overwrites itself.
 */
import type Database from 'better-sqlite3';
import type { Quality } from '../../gateway/schema/index.js';
import type { AggregatedSample, AggregateFunction } from '../aggregate.js';
import type { ScalarSeries } from '../kpi/model.js';
import type { ReadResult, ReadTask } from '../query/read-task.js';
import type { OutOfRange, SeriesSample, StoredSample } from './store.js';
import { decodeValue, encodeValue } from './value-codec.js';

export class SampleTable {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      insert: db.prepare(
        `INSERT OR REPLACE INTO samples (point_id, ts, value, value_type, quality, status_code, server_ts, out_of_range)
         VALUES (@pointId, @ts, @value, @valueType, @quality, @statusCode, @serverTs, @outOfRange)`,
      ),
    };
  }

  /** Called inside the catalog's telemetry transaction, once per sample. */
  insert(id: string, sample: StoredSample): void {
    const { value, valueType } = encodeValue(sample.value);
    this.statements.insert.run({
      pointId: id,
      ts: sample.ts,
      value,
      valueType,
      quality: sample.quality,
      statusCode: sample.status?.code ?? null,
      serverTs: sample.serverTs ?? null,
      outOfRange: sample.outOfRange ?? null,
    });
  }
}

/*
 * Reads, as tasks for a read thread (`cloud/query/`): statements over the (ts, point_id) key, each
 * returning raw rows that the functions below decode.
 */

const RAW_COLUMNS =
  'SELECT ts, value, value_type, quality, out_of_range FROM samples WHERE point_id = ? AND ts >= ? AND ts <= ?';

/** Samples of one point in [from, to], oldest first, at most `limit`. */
export function rawWindowTask(id: string, from: number, to: number, limit: number): ReadTask {
  return {
    statements: [{ sql: `${RAW_COLUMNS} ORDER BY ts LIMIT ?`, params: [id, from, to, limit] }],
    maxTouched: limit,
  };
}

/**
 * The good-quality scalar samples of several points in [from, to]: one statement over the
 * (ts, point_id) key, the ids as a JSON array (one scan of the range, not one per point).
 */
export function scalarSamplesTask(ids: string[], from: number, to: number, maxSamples: number): ReadTask {
  return {
    statements: [
      {
        sql: `SELECT point_id, ts, value, value_type FROM samples
              WHERE ts >= ? AND ts <= ? AND point_id IN (SELECT value FROM json_each(?))
                AND quality = 'good' AND value_type IN ('number', 'boolean', 'string')
              ORDER BY ts, point_id`,
        params: [from, to, JSON.stringify(ids)],
      },
    ],
    maxTouched: maxSamples,
  };
}

/** The rows of a `scalarSamplesTask`, as columns per point (oldest first, as read). */
export function decodeScalarRows(result: ReadResult | undefined): Map<string, ScalarSeries> {
  const series = new Map<string, ScalarSeries>();
  for (const [id, ts, value, valueType] of (result ?? []) as [string, number, unknown, string][]) {
    let columns = series.get(id);
    if (!columns) {
      columns = { ts: [], value: [] };
      series.set(id, columns);
    }
    columns.ts.push(ts);
    columns.value.push(valueType === 'boolean' ? value === 1 : (value as number | string));
  }
  return series;
}

/** The rows of a `rawWindowTask`. */
export function decodeSampleRows(result: ReadResult | undefined): SeriesSample[] {
  return ((result ?? []) as unknown[][]).map(([ts, value, valueType, quality, outOfRange]) => {
    const sample: SeriesSample = {
      ts: Number(ts),
      value: decodeValue(value, String(valueType)),
      quality: quality as Quality,
    };
    if (typeof outOfRange === 'string') sample.outOfRange = outOfRange as OutOfRange;
    return sample;
  });
}

/** Numbers as they are, booleans as 0/1; bad quality and other types count as no value. */
const USABLE_VALUE = `CASE WHEN quality != 'bad' AND value_type IN ('number', 'boolean') THEN value END`;

/** The value of a window from its usable samples `v` (NULL when it has none). */
const aggregateColumns: Record<AggregateFunction, string> = {
  mean: 'AVG(v)',
  min: 'MIN(v)',
  max: 'MAX(v)',
  // SQLite takes a bare column from the row where the only MAX() is reached: the newest usable sample.
  last: 'v, MAX(CASE WHEN v IS NOT NULL THEN ts END)',
};

/** Time slices a long aggregation is cut into, so the read thread checks its clock and budget between them. */
const AGGREGATE_SLICES = 32;

/**
 * One value per window of `windowMs` (aligned to multiples of it since the epoch) computed by
 * SQLite, for the first `maxWindows` windows holding a usable or a bad sample (as `aggregate()`
 * does); the samples read count against `maxSamples`. Per window: its start, samples read, usable
 * samples, bad samples, uncertain samples, the value.
 */
export function aggregateTask(
  id: string,
  from: number,
  to: number,
  fn: AggregateFunction,
  windowMs: number,
  maxSamples: number,
  maxWindows: number,
): ReadTask {
  const sql = `SELECT ts - ts % ${windowMs} AS start, COUNT(*), COUNT(v),
      SUM(quality = 'bad') AS bad, SUM(quality = 'uncertain'), ${aggregateColumns[fn]}
    FROM (SELECT ts, quality, ${USABLE_VALUE} AS v FROM samples WHERE point_id = ? AND ts >= ? AND ts <= ?)
    GROUP BY start HAVING COUNT(v) > 0 OR bad > 0 ORDER BY start`;
  const firstWindow = from - (from % windowMs);
  const windows = Math.floor((to - firstWindow) / windowMs) + 1;
  const sliceMs = Math.ceil(windows / AGGREGATE_SLICES) * windowMs;
  const statements = [];
  for (let sliceStart = firstWindow; sliceStart <= to; sliceStart += sliceMs) {
    const sliceFrom = Math.max(from, sliceStart);
    const sliceTo = Math.min(to, sliceStart + sliceMs - 1);
    statements.push({ sql, params: [id, sliceFrom, sliceTo] });
  }
  return { statements, touchedColumn: 1, maxTouched: maxSamples, maxRows: maxWindows };
}

/** The rows of an `aggregateTask`, one list per time slice. */
export function decodeAggregateRows(slices: ReadResult[]): AggregatedSample[] {
  return (slices as unknown[][][]).flat().map(([start, , count, bad, uncertain, value]) => ({
    ts: Number(start),
    value: value === null || value === undefined ? null : Number(value),
    count: Number(count),
    bad: Number(bad),
    uncertain: Number(uncertain),
  }));
}
