/**
 * The embedded store's samples, keyed by (ts, point): clustered by time, so a batch appends at the
 * end of the tree. INSERT OR REPLACE, so a replayed sample overwrites itself.
 */
import type Database from 'better-sqlite3';
import type { Quality } from '../../gateway/schema/index.js';
import type { IncomingBatch, SeriesSample } from './store.js';
import { decodeValue, encodeValue } from './value-codec.js';

interface SampleRow {
  ts: number;
  value: unknown;
  value_type: string;
  quality: Quality;
}

export class SampleTable {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      insert: db.prepare(
        `INSERT OR REPLACE INTO samples (point_id, ts, value, value_type, quality, status_code, server_ts)
         VALUES (@pointId, @ts, @value, @valueType, @quality, @statusCode, @serverTs)`,
      ),
      inWindow: db.prepare<[string, number, number, number], SampleRow>(
        `SELECT ts, value, value_type, quality FROM samples
         WHERE point_id = ? AND ts >= ? AND ts <= ? ORDER BY ts LIMIT ?`,
      ),
    };
  }

  /** Called inside the catalog's telemetry transaction, once per sample. */
  insert(id: string, sample: IncomingBatch['points'][number]): void {
    const { value, valueType } = encodeValue(sample.value);
    this.statements.insert.run({
      pointId: id,
      ts: sample.ts,
      value,
      valueType,
      quality: sample.quality,
      statusCode: sample.status?.code ?? null,
      serverTs: sample.serverTs ?? null,
    });
  }

  /** Samples of one point in [from, to], oldest first, at most `limit`. */
  inWindow(id: string, from: number, to: number, limit: number): SeriesSample[] {
    return this.statements.inWindow.all(id, from, to, limit).map((row) => ({
      ts: row.ts,
      value: decodeValue(row.value, row.value_type),
      quality: row.quality,
    }));
  }
}
