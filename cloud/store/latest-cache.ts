/**
 * The newest value of each point (`latest`). Upserting every point of every batch costs more than
 * the rest of a catalog write, so a transaction only stages each point's newest sample; once it
 * commits, those wait in memory and are written at most once a second. Readers flush first.
 */
import type Database from 'better-sqlite3';
import type { ProtocolStatus, Quality } from '../../gateway/schema/index.js';
import type { LatestPoint, OutOfRange, SiteQualityCounts, StoredSample } from './store.js';
import { decodeValue, encodeValue } from './value-codec.js';

/** How long a point's newest value may wait in memory before `latest` is updated. */
const LATEST_FLUSH_MS = 1000;

interface LatestSample {
  site: string;
  sample: StoredSample;
}

interface LatestRow {
  point_id: string;
  line: string;
  equipment: string;
  point: string;
  unit: string | null;
  value: unknown;
  value_type: string;
  quality: Quality;
  status: string | null;
  ts: number;
  out_of_range: OutOfRange | null;
}

/** Keeps, per point, the sample with the newest timestamp (a later one wins a tie, as the upsert does). */
function keepNewest(newest: Map<string, LatestSample>, id: string, candidate: LatestSample): void {
  const held = newest.get(id);
  if (held === undefined || candidate.sample.ts >= held.sample.ts) newest.set(id, candidate);
}

export class LatestCache {
  /** Newest samples of the transaction in progress: they count once it commits. */
  private staged = new Map<string, LatestSample>();
  /** Newest samples of committed transactions not yet in `latest`. */
  private pending = new Map<string, LatestSample>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly writeTx: Database.Transaction<(newest: Map<string, LatestSample>) => void>;
  private readonly selectOfSite: Database.Statement<[string], LatestRow>;
  private readonly selectQualityCounts: Database.Statement<
    [],
    { site: string; bad: number; uncertain: number }
  >;

  constructor(private readonly db: Database.Database) {
    // A replayed (older) sample must not hide a newer latest value.
    const upsert = db.prepare(
      `INSERT INTO latest (point_id, site, value, value_type, quality, status, ts, out_of_range)
       VALUES (@pointId, @site, @value, @valueType, @quality, @status, @ts, @outOfRange)
       ON CONFLICT (point_id) DO UPDATE SET value = excluded.value, value_type = excluded.value_type,
         quality = excluded.quality, status = excluded.status, ts = excluded.ts, out_of_range = excluded.out_of_range
       WHERE excluded.ts >= latest.ts`,
    );
    this.writeTx = db.transaction((newest: Map<string, LatestSample>) => {
      for (const [id, { site, sample }] of newest) {
        const { value, valueType } = encodeValue(sample.value);
        upsert.run({
          pointId: id,
          site,
          value,
          valueType,
          quality: sample.quality,
          status: sample.status ? JSON.stringify(sample.status) : null,
          ts: sample.ts,
          outOfRange: sample.outOfRange ?? null,
        });
      }
    });
    this.selectOfSite = db.prepare<[string], LatestRow>(
      `SELECT l.point_id, p.line, p.equipment, p.point, p.unit, l.value, l.value_type, l.quality, l.status, l.ts, l.out_of_range
       FROM latest l JOIN points p ON p.point_id = l.point_id
       WHERE l.site = ? ORDER BY l.point_id`,
    );
    // One pass over `latest` for every site (the live overview asks once a second).
    this.selectQualityCounts = db.prepare(
      `SELECT site, sum(quality = 'bad') AS bad, sum(quality = 'uncertain') AS uncertain
       FROM latest WHERE quality <> 'good' GROUP BY site`,
    );
  }

  /** Inside a telemetry transaction: a sample that may be its point's newest. */
  stage(id: string, site: string, sample: LatestSample['sample']): void {
    keepNewest(this.staged, id, { site, sample });
  }

  /** The transaction committed: its staged samples wait for the next flush. */
  committed(): void {
    for (const [id, newest] of this.staged) keepNewest(this.pending, id, newest);
    this.staged = new Map();
    if (this.pending.size > 0) this.flushTimer ??= setTimeout(() => this.flushLater(), LATEST_FLUSH_MS);
  }

  rolledBack(): void {
    this.staged = new Map();
  }

  /** Writes the pending newest samples to `latest`; a failure leaves them pending for the next try. */
  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.size === 0 || !this.db.open) return;
    const newest = this.pending;
    this.pending = new Map();
    try {
      this.writeTx.immediate(newest);
    } catch (error) {
      for (const [id, held] of newest) keepNewest(this.pending, id, held);
      this.flushTimer = setTimeout(() => this.flushLater(), LATEST_FLUSH_MS);
      throw error;
    }
  }

  /** The newest sample of each point of a site, with the point's identity and unit. */
  of(site: string): LatestPoint[] {
    this.flush();
    return this.selectOfSite.all(site).map((row) => {
      const point: LatestPoint = {
        pointId: row.point_id,
        line: row.line,
        equipment: row.equipment,
        point: row.point,
        value: decodeValue(row.value, row.value_type),
        quality: row.quality,
        ts: row.ts,
      };
      if (row.unit !== null) point.unit = row.unit;
      if (row.status !== null) point.status = JSON.parse(row.status) as ProtocolStatus;
      if (row.out_of_range !== null) point.outOfRange = row.out_of_range;
      return point;
    });
  }

  /** Per site with any, its points whose newest sample is bad or uncertain. */
  qualityCounts(): Map<string, SiteQualityCounts> {
    this.flush();
    return new Map(
      this.selectQualityCounts.all().map((row) => [row.site, { bad: row.bad, uncertain: row.uncertain }]),
    );
  }

  private flushLater(): void {
    try {
      this.flush();
    } catch {
      // The samples stay pending and the flush is retried; a reader (`latest`) gets the error itself.
    }
  }
}
