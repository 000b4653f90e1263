/**
 * The embedded store's samples, keyed by (ts, point): clustered by time, so a batch appends at the
 * end of the tree. INSERT OR REPLACE, so a replayed sample overwrites itself.
 */
import type Database from 'better-sqlite3';
import type { Quality } from '../../gateway/schema/index.js';
import type { OutOfRange, SeriesSample, StoredSample } from './store.js';
import { decodeValue, encodeValue } from './value-codec.js';

interface SampleRow {
  ts: number;
  value: unknown;
  value_type: string;
  quality: Quality;
  out_of_range: OutOfRange | null;
}

export class SampleTable {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      insert: db.prepare(
        `INSERT OR REPLACE INTO samples (point_id, ts, value, value_type, quality, status_code, server_ts, out_of_range)
         VALUES (@pointId, @ts, @value, @valueType, @quality, @statusCode, @serverTs, @outOfRange)`,
      ),
      inWindow: db.prepare<[string, number, number, number], SampleRow>(
        `SELECT ts, value, value_type, quality, out_of_range FROM samples
         WHERE point_id = ? AND ts >= ? AND ts <= ? ORDER BY ts LIMIT ?`,
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

  /** Samples of one point in [from, to], oldest first, at most `limit`. */
  inWindow(id: string, from: number, to: number, limit: number): SeriesSample[] {
    return this.statements.inWindow.all(id, from, to, limit).map((row) => {
      const sample: SeriesSample = {
        ts: row.ts,
        value: decodeValue(row.value, row.value_type),
        quality: row.quality,
      };
      if (row.out_of_range !== null) sample.outOfRange = row.out_of_range;
      return sample;
    });
  }
}
