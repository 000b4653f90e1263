/**
 * The embedded store: one SQLite file (better-sqlite3, WAL) holding sites, gateways, point
 * metadata, samples and the latest value of each point. Samples are keyed by (point, ts) and
 * written with INSERT OR REPLACE, so a replayed sample overwrites itself.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  type MetadataMessage,
  type PointValue,
  type Protocol,
  type ProtocolStatus,
  pointId,
  type Quality,
  type Region,
  regions,
  type StatusMessage,
} from '../../gateway/schema/index.js';
import { IN_MEMORY } from '../config.js';
import { CollectorError } from '../errors.js';
import type {
  Completeness,
  DeadLetter,
  DeadLetterQuery,
  GatewaySummary,
  IncomingBatch,
  LatestPoint,
  PointInfo,
  RejectedMessage,
  SequenceGap,
  Series,
  SeriesQuery,
  SeriesSample,
  SiteSummary,
  TelemetryStore,
  TelemetryWrite,
} from './store.js';

/** Rejected messages kept for inspection; older ones are pruned so a flood cannot fill the disk. */
const MAX_REJECTED_ROWS = 10_000;
const MAX_REJECTED_PAYLOAD_BYTES = 64 * 1024;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sites (
  id      TEXT PRIMARY KEY,
  name_en TEXT,
  name_zh TEXT,
  region  TEXT NOT NULL,
  project TEXT NOT NULL,
  gateway TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS gateways (
  id        TEXT PRIMARY KEY,
  site      TEXT NOT NULL,
  state     TEXT CHECK (state IN ('online', 'offline')),
  state_ts  INTEGER,
  boot      INTEGER NOT NULL,
  last_seq  INTEGER,
  last_seen INTEGER
);
CREATE TABLE IF NOT EXISTS batches (
  gateway     TEXT NOT NULL,
  boot        INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  points      INTEGER NOT NULL,
  historical  INTEGER NOT NULL,
  sent_ts     INTEGER,
  PRIMARY KEY (gateway, boot, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS points (
  point_id    TEXT PRIMARY KEY,
  site        TEXT NOT NULL,
  line        TEXT NOT NULL,
  equipment   TEXT NOT NULL,
  point       TEXT NOT NULL,
  protocol    TEXT,
  address     TEXT,
  data_type   TEXT,
  unit        TEXT,
  description TEXT
);
CREATE INDEX IF NOT EXISTS points_by_site ON points (site);
CREATE TABLE IF NOT EXISTS samples (
  point_id    TEXT NOT NULL,
  ts          INTEGER NOT NULL,
  value,
  value_type  TEXT NOT NULL,
  quality     TEXT NOT NULL,
  status_code INTEGER,
  server_ts   INTEGER,
  PRIMARY KEY (ts, point_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latest (
  point_id   TEXT PRIMARY KEY,
  site       TEXT NOT NULL,
  value,
  value_type TEXT NOT NULL,
  quality    TEXT NOT NULL,
  status     TEXT,
  ts         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS latest_by_site ON latest (site);
CREATE INDEX IF NOT EXISTS batches_by_sent ON batches (sent_ts);
CREATE TABLE IF NOT EXISTS rejected (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at  INTEGER NOT NULL,
  topic        TEXT NOT NULL,
  reason       TEXT NOT NULL,
  detail       TEXT NOT NULL,
  payload      BLOB NOT NULL,
  payload_size INTEGER NOT NULL
);
`;

type BindValue = number | string | Buffer | null;
type ValueType = 'number' | 'boolean' | 'string' | 'array' | 'null';

/** SQLite has no boolean or array type: a tag next to the value brings back its JSON type. */
export function encodeValue(value: PointValue): { value: BindValue; valueType: ValueType } {
  if (value === null) return { value: null, valueType: 'null' };
  if (Array.isArray(value)) return { value: JSON.stringify(value), valueType: 'array' };
  if (typeof value === 'boolean') return { value: value ? 1 : 0, valueType: 'boolean' };
  if (typeof value === 'number') return { value, valueType: 'number' };
  return { value, valueType: 'string' };
}

export function decodeValue(value: unknown, valueType: string): PointValue {
  switch (valueType) {
    case 'boolean':
      return value === 1;
    case 'array':
      return JSON.parse(String(value)) as PointValue;
    case 'number':
      return Number(value);
    case 'string':
      return String(value);
    default:
      return null;
  }
}

const regionOrder = `CASE s.region ${regions.map((r, i) => `WHEN '${r}' THEN ${i}`).join(' ')} ELSE ${regions.length} END`;

interface SiteRow {
  id: string;
  name_en: string | null;
  name_zh: string | null;
  region: Region;
  project: string;
  gateway: string;
  state: string | null;
  points: number;
  last_ts: number | null;
  protocols: string | null;
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
}

interface SampleRow {
  point_id: string;
  ts: number;
  value: unknown;
  value_type: string;
  quality: Quality;
}

interface GatewayRow {
  id: string;
  site: string;
  state: 'online' | 'offline' | null;
  boot: number;
  last_seq: number | null;
  last_seen: number | null;
  batches: number;
  missing: number;
}

interface DeadLetterRow {
  id: number;
  received_at: number;
  topic: string;
  reason: string;
  detail: string;
  preview: Buffer;
  payload_size: number;
}

const DEAD_LETTER_PREVIEW_BYTES = 1024;

interface QueuedTelemetry {
  batch: IncomingBatch;
  receivedAt: number;
  resolve: (written: TelemetryWrite) => void;
  reject: (error: unknown) => void;
}

interface LatestSample {
  site: string;
  sample: IncomingBatch['points'][number];
}

/** The `sites` row every kind of message keeps up to date: where it comes from and through which gateway. */
function siteRowOf(
  message: Pick<IncomingBatch, 'site' | 'region' | 'project'> & { gateway: { id: string } },
) {
  return {
    site: message.site,
    region: message.region,
    project: message.project,
    gateway: message.gateway.id,
  };
}

/**
 * How long a point's newest value may wait in memory before `latest` is updated. Upserting every
 * point of every batch costs more than the rest of a catalog write; readers of this store flush first.
 */
const LATEST_FLUSH_MS = 1000;

/** Keeps, per point, the sample with the newest timestamp (a later one wins a tie, as the upsert does). */
function keepNewest(newest: Map<string, LatestSample>, id: string, candidate: LatestSample): void {
  const held = newest.get(id);
  if (held === undefined || candidate.sample.ts >= held.sample.ts) newest.set(id, candidate);
}

export interface SqliteStoreOptions {
  /**
   * False when samples live elsewhere (InfluxDB) and this file is only the catalog: registry,
   * latest values, batch dedupe, gaps and dead letters.
   */
  keepSamples?: boolean;
}

export class SqliteStore implements TelemetryStore {
  private readonly db: Database.Database;
  private readonly statements;
  // Written with `.immediate` so instances sharing the file queue on the write lock instead of failing.
  private readonly writeTelemetryTx: Database.Transaction<
    (group: readonly QueuedTelemetry[]) => TelemetryWrite[]
  >;
  /** Batches waiting for the next group commit (at the next turn of the event loop). */
  private queuedTelemetry: QueuedTelemetry[] = [];
  /** Point ids this instance knows are in `points`, so a batch skips re-inserting them. */
  private readonly knownPoints = new Set<string>();
  private readonly rememberPoints: () => void;
  private readonly forgetPending: () => void;
  /** Newest samples of committed batches not yet in `latest` (see LATEST_FLUSH_MS). */
  private pendingLatest = new Map<string, LatestSample>();
  private latestFlushTimer: NodeJS.Timeout | undefined;
  private readonly writeLatestTx: Database.Transaction<(newest: Map<string, LatestSample>) => void>;
  private readonly writeMetadataTx: Database.Transaction<(message: MetadataMessage) => void>;
  private readonly writeStatusTx: Database.Transaction<(message: StatusMessage) => void>;

  constructor(
    readonly path: string,
    options: SqliteStoreOptions = {},
  ) {
    const keepSamples = options.keepSamples ?? true;
    try {
      if (path !== IN_MEMORY) mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      // Samples are clustered by time, so a batch appends at the end of the tree instead of touching
      // one page per point; a larger cache and fewer checkpoints keep that append cheap.
      this.db.pragma('cache_size = -65536');
      this.db.pragma('wal_autocheckpoint = 10000');
      // Several collector instances may share one file: wait for each other's transactions.
      this.db.pragma('busy_timeout = 10000');
      this.db.exec(SCHEMA);
      const batchColumns = this.db.prepare<[], { name: string }>('PRAGMA table_info(batches)').all();
      if (!batchColumns.some((column) => column.name === 'sent_ts')) {
        this.db.exec('ALTER TABLE batches ADD COLUMN sent_ts INTEGER');
      }
    } catch (error) {
      throw new CollectorError(
        'STORE_OPEN_FAILED',
        `cannot open SQLite store ${path}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const db = this.db;
    this.statements = {
      insertBatch: db.prepare(
        `INSERT OR IGNORE INTO batches (gateway, boot, seq, received_at, points, historical, sent_ts)
         VALUES (@gateway, @boot, @seq, @receivedAt, @points, @historical, @sentTs)`,
      ),
      hasBatch: db.prepare<[string, number, number], { found: number }>(
        'SELECT 1 AS found FROM batches WHERE gateway = ? AND boot = ? AND seq = ?',
      ),
      gatewayPosition: db.prepare<[string], { boot: number; last_seq: number | null }>(
        'SELECT boot, last_seq FROM gateways WHERE id = ?',
      ),
      upsertSite: db.prepare(
        `INSERT INTO sites (id, region, project, gateway) VALUES (@site, @region, @project, @gateway)
         ON CONFLICT (id) DO UPDATE SET region = excluded.region, project = excluded.project, gateway = excluded.gateway`,
      ),
      nameSite: db.prepare('UPDATE sites SET name_en = @en, name_zh = @zh WHERE id = @site'),
      // SET expressions all see the old row, so `boot` below is the stored boot.
      gatewaySeen: db.prepare(
        `INSERT INTO gateways (id, site, boot, last_seq, last_seen) VALUES (@gateway, @site, @boot, @seq, @receivedAt)
         ON CONFLICT (id) DO UPDATE SET
           site = excluded.site,
           last_seen = max(coalesce(last_seen, 0), excluded.last_seen),
           last_seq = CASE
             WHEN excluded.boot > boot THEN excluded.last_seq
             WHEN excluded.boot = boot THEN max(coalesce(last_seq, -1), excluded.last_seq)
             ELSE last_seq END,
           boot = max(boot, excluded.boot)`,
      ),
      gatewayTouched: db.prepare(
        `INSERT INTO gateways (id, site, boot, last_seen) VALUES (@gateway, @site, @boot, @receivedAt)
         ON CONFLICT (id) DO UPDATE SET
           site = excluded.site,
           last_seen = max(coalesce(last_seen, 0), excluded.last_seen),
           boot = max(boot, excluded.boot)`,
      ),
      // A state from an older boot, or older than the one held, is stale (e.g. a late Last Will).
      gatewayState: db.prepare(
        `INSERT INTO gateways (id, site, state, state_ts, boot) VALUES (@gateway, @site, @state, @ts, @boot)
         ON CONFLICT (id) DO UPDATE SET
           site = excluded.site,
           state = CASE WHEN excluded.boot > boot OR (excluded.boot = boot AND excluded.state_ts >= coalesce(state_ts, 0))
             THEN excluded.state ELSE state END,
           state_ts = CASE WHEN excluded.boot > boot OR (excluded.boot = boot AND excluded.state_ts >= coalesce(state_ts, 0))
             THEN excluded.state_ts ELSE state_ts END,
           last_seq = CASE WHEN excluded.boot > boot THEN NULL ELSE last_seq END,
           boot = max(boot, excluded.boot)`,
      ),
      ensurePoint: db.prepare(
        `INSERT OR IGNORE INTO points (point_id, site, line, equipment, point)
         VALUES (@pointId, @site, @line, @equipment, @point)`,
      ),
      upsertPoint: db.prepare(
        `INSERT INTO points (point_id, site, line, equipment, point, protocol, address, data_type, unit, description)
         VALUES (@pointId, @site, @line, @equipment, @point, @protocol, @address, @dataType, @unit, @description)
         ON CONFLICT (point_id) DO UPDATE SET protocol = excluded.protocol, address = excluded.address,
           data_type = excluded.data_type, unit = excluded.unit, description = excluded.description`,
      ),
      insertSample: db.prepare(
        `INSERT OR REPLACE INTO samples (point_id, ts, value, value_type, quality, status_code, server_ts)
         VALUES (@pointId, @ts, @value, @valueType, @quality, @statusCode, @serverTs)`,
      ),
      // A replayed (older) sample must not hide a newer latest value.
      upsertLatest: db.prepare(
        `INSERT INTO latest (point_id, site, value, value_type, quality, status, ts)
         VALUES (@pointId, @site, @value, @valueType, @quality, @status, @ts)
         ON CONFLICT (point_id) DO UPDATE SET value = excluded.value, value_type = excluded.value_type,
           quality = excluded.quality, status = excluded.status, ts = excluded.ts
         WHERE excluded.ts >= latest.ts`,
      ),
      insertRejected: db.prepare(
        `INSERT INTO rejected (received_at, topic, reason, detail, payload, payload_size)
         VALUES (@receivedAt, @topic, @reason, @detail, @payload, @payloadSize)`,
      ),
      pruneRejected: db.prepare('DELETE FROM rejected WHERE id <= (SELECT max(id) FROM rejected) - @keep'),
      listSites: db.prepare<[], SiteRow>(
        `SELECT s.id, s.name_en, s.name_zh, s.region, s.project, s.gateway, g.state,
           (SELECT count(*) FROM points p WHERE p.site = s.id) AS points,
           (SELECT max(l.ts) FROM latest l WHERE l.site = s.id) AS last_ts,
           (SELECT group_concat(DISTINCT p.protocol) FROM points p WHERE p.site = s.id) AS protocols
         FROM sites s LEFT JOIN gateways g ON g.id = s.gateway
         ORDER BY ${regionOrder}, s.id`,
      ),
      siteExists: db.prepare<[string], { found: number }>('SELECT 1 AS found FROM sites WHERE id = ?'),
      latestOfSite: db.prepare<[string], LatestRow>(
        `SELECT l.point_id, p.line, p.equipment, p.point, p.unit, l.value, l.value_type, l.quality, l.status, l.ts
         FROM latest l JOIN points p ON p.point_id = l.point_id
         WHERE l.site = ? ORDER BY l.point_id`,
      ),
      pointUnit: db.prepare<[string], { unit: string | null }>('SELECT unit FROM points WHERE point_id = ?'),
      samplesInWindow: db.prepare<[string, number, number, number], SampleRow>(
        `SELECT point_id, ts, value, value_type, quality FROM samples
         WHERE point_id = ? AND ts >= ? AND ts <= ? ORDER BY ts LIMIT ?`,
      ),
      pointsOfSite: db.prepare<
        [string],
        {
          point_id: string;
          line: string;
          equipment: string;
          point: string;
          protocol: Protocol | null;
          unit: string | null;
        }
      >(
        'SELECT point_id, line, equipment, point, protocol, unit FROM points WHERE site = ? ORDER BY point_id',
      ),
      // Per boot: sequence numbers from 0 up to the newest one received, against those received.
      listGateways: db.prepare<[], GatewayRow>(
        `SELECT g.id, g.site, g.state, g.boot, g.last_seq, g.last_seen,
           coalesce(sum(b.received), 0) AS batches, coalesce(sum(b.top + 1 - b.received), 0) AS missing
         FROM gateways g LEFT JOIN (
           SELECT gateway, boot, max(seq) AS top, count(*) AS received FROM batches GROUP BY gateway, boot
         ) b ON b.gateway = g.id
         GROUP BY g.id ORDER BY g.site, g.id`,
      ),
      gapsOf: db.prepare<[string], { boot: number; from_seq: number; to_seq: number }>(
        `SELECT boot, previous + 1 AS from_seq, seq - 1 AS to_seq FROM (
           SELECT boot, seq, coalesce(lag(seq) OVER (PARTITION BY boot ORDER BY seq), -1) AS previous
           FROM batches WHERE gateway = ?
         ) WHERE seq > previous + 1 ORDER BY boot, from_seq`,
      ),
      completenessOf: db.prepare<
        [string, number, number],
        { expected: number | null; received: number | null }
      >(
        `SELECT sum(top - bottom + 1) AS expected, sum(received) AS received FROM (
           SELECT max(b.seq) AS top, min(b.seq) AS bottom, count(*) AS received
           FROM batches b JOIN gateways g ON g.id = b.gateway
           WHERE g.site = ? AND b.sent_ts >= ? AND b.sent_ts <= ? GROUP BY b.gateway, b.boot
         )`,
      ),
      deadLetters: db.prepare<[string | null, string | null, number], DeadLetterRow>(
        `SELECT id, received_at, topic, reason, detail, substr(payload, 1, ${DEAD_LETTER_PREVIEW_BYTES}) AS preview, payload_size
         FROM rejected WHERE (? IS NULL OR reason = ?) ORDER BY id DESC LIMIT ?`,
      ),
      ping: db.prepare('SELECT 1'),
    };

    // One transaction for every batch of a group: each batch is deduped and its gap counted in
    // order; each point's newest sample waits for the next `latest` update.
    this.writeTelemetryTx = db.transaction((group: readonly QueuedTelemetry[]): TelemetryWrite[] => {
      const s = this.statements;
      const newest = newestOfGroup;
      const results = group.map(({ batch, receivedAt }): TelemetryWrite => {
        const { id: gateway, boot, seq } = batch.gateway;
        let missingBefore = 0;
        if (seq !== undefined) {
          const isNew = s.insertBatch.run({
            gateway,
            boot,
            seq,
            receivedAt,
            points: batch.points.length,
            historical: batch.historical ? 1 : 0,
            sentTs: batch.sentTs,
          });
          if (isNew.changes === 0) return { outcome: 'duplicate' };
          const held = s.gatewayPosition.get(gateway);
          const newestSeq =
            held === undefined || held.boot < boot ? -1 : held.boot > boot ? seq : (held.last_seq ?? -1);
          missingBefore = Math.max(0, seq - newestSeq - 1);
        }
        s.upsertSite.run(siteRowOf(batch));
        if (seq !== undefined) s.gatewaySeen.run({ gateway, site: batch.site, boot, seq, receivedAt });
        else s.gatewayTouched.run({ gateway, site: batch.site, boot, receivedAt });
        for (const sample of batch.points) {
          const id = pointId(batch.site, sample);
          if (!this.knownPoints.has(id)) {
            s.ensurePoint.run({
              pointId: id,
              site: batch.site,
              line: sample.line,
              equipment: sample.equipment,
              point: sample.point,
            });
            knownAfterCommit.push(id);
          }
          if (keepSamples) {
            const { value, valueType } = encodeValue(sample.value);
            s.insertSample.run({
              pointId: id,
              ts: sample.ts,
              value,
              valueType,
              quality: sample.quality,
              statusCode: sample.status?.code ?? null,
              serverTs: sample.serverTs ?? null,
            });
          }
          keepNewest(newest, id, { site: batch.site, sample });
        }
        return { outcome: 'stored', points: batch.points.length, missingBefore };
      });
      return results;
    });
    this.writeLatestTx = db.transaction((newest: Map<string, LatestSample>) => {
      const s = this.statements;
      for (const [id, { site, sample }] of newest) {
        const { value, valueType } = encodeValue(sample.value);
        s.upsertLatest.run({
          pointId: id,
          site,
          value,
          valueType,
          quality: sample.quality,
          status: sample.status ? JSON.stringify(sample.status) : null,
          ts: sample.ts,
        });
      }
    });
    // Ids and newest samples only count once their transaction committed.
    let knownAfterCommit: string[] = [];
    let newestOfGroup = new Map<string, LatestSample>();
    this.rememberPoints = () => {
      for (const id of knownAfterCommit) this.knownPoints.add(id);
      knownAfterCommit = [];
      for (const [id, newest] of newestOfGroup) keepNewest(this.pendingLatest, id, newest);
      newestOfGroup = new Map();
      if (this.pendingLatest.size > 0) {
        this.latestFlushTimer ??= setTimeout(() => this.flushLatestLater(), LATEST_FLUSH_MS);
      }
    };
    this.forgetPending = () => {
      knownAfterCommit = [];
      newestOfGroup = new Map();
    };

    this.writeMetadataTx = db.transaction((message: MetadataMessage) => {
      const s = this.statements;
      s.upsertSite.run(siteRowOf(message));
      s.nameSite.run({ site: message.site, en: message.siteName.en, zh: message.siteName.zh });
      for (const point of message.points) {
        s.upsertPoint.run({
          pointId: pointId(message.site, point),
          site: message.site,
          line: point.line,
          equipment: point.equipment,
          point: point.point,
          protocol: point.protocol,
          address: point.address,
          dataType: point.dataType ?? null,
          unit: point.unit ?? null,
          description: point.description ?? null,
        });
      }
    });

    this.writeStatusTx = db.transaction((message: StatusMessage) => {
      const s = this.statements;
      s.upsertSite.run(siteRowOf(message));
      s.gatewayState.run({
        gateway: message.gateway.id,
        site: message.site,
        state: message.state,
        ts: message.ts,
        boot: message.gateway.boot,
      });
    });
  }

  /**
   * Batches written concurrently (several MQTT connections, one InfluxDB request's worth) are
   * committed together at the next turn of the event loop: one transaction, and `latest` updated
   * once per point instead of once per batch. Each caller still learns its own outcome.
   */
  writeTelemetry(batch: IncomingBatch, receivedAt: number): Promise<TelemetryWrite> {
    return new Promise((resolve, reject) => {
      this.queuedTelemetry.push({ batch, receivedAt, resolve, reject });
      if (this.queuedTelemetry.length === 1) setImmediate(() => this.commitQueuedTelemetry());
    });
  }

  private commitQueuedTelemetry(): void {
    const group = this.queuedTelemetry;
    if (group.length === 0) return;
    this.queuedTelemetry = [];
    try {
      const results = this.commitGroup(group);
      for (const [index, queued] of group.entries()) queued.resolve(results[index] as TelemetryWrite);
    } catch (error) {
      if (group.length === 1) {
        group[0]?.reject(error);
        return;
      }
      // One batch must not fail the others: alone, each succeeds or fails on its own account.
      for (const queued of group) {
        try {
          queued.resolve(this.commitGroup([queued])[0] as TelemetryWrite);
        } catch (alone) {
          queued.reject(alone);
        }
      }
    }
  }

  private commitGroup(group: readonly QueuedTelemetry[]): TelemetryWrite[] {
    try {
      const written = this.writeTelemetryTx.immediate(group);
      this.rememberPoints();
      return written;
    } catch (error) {
      this.forgetPending();
      throw error;
    }
  }

  async writeMetadata(message: MetadataMessage): Promise<void> {
    this.writeMetadataTx.immediate(message);
  }

  async writeStatus(message: StatusMessage): Promise<void> {
    this.writeStatusTx.immediate(message);
  }

  async writeRejected(message: RejectedMessage): Promise<void> {
    this.statements.insertRejected.run({
      receivedAt: message.receivedAt,
      topic: message.topic,
      reason: message.reason,
      detail: message.detail,
      payload: message.payload.subarray(0, MAX_REJECTED_PAYLOAD_BYTES),
      payloadSize: message.payload.length,
    });
    this.statements.pruneRejected.run({ keep: MAX_REJECTED_ROWS });
  }

  /** Writes the pending newest samples to `latest`; a failure leaves them pending for the next try. */
  private flushLatest(): void {
    clearTimeout(this.latestFlushTimer);
    this.latestFlushTimer = undefined;
    if (this.pendingLatest.size === 0 || !this.db.open) return;
    const newest = this.pendingLatest;
    this.pendingLatest = new Map();
    try {
      this.writeLatestTx.immediate(newest);
    } catch (error) {
      for (const [id, held] of newest) keepNewest(this.pendingLatest, id, held);
      this.latestFlushTimer = setTimeout(() => this.flushLatestLater(), LATEST_FLUSH_MS);
      throw error;
    }
  }

  private flushLatestLater(): void {
    try {
      this.flushLatest();
    } catch {
      // The samples stay pending and the flush is retried; a reader (`latest`) gets the error itself.
    }
  }

  async listSites(): Promise<SiteSummary[]> {
    this.flushLatest();
    return this.statements.listSites.all().map((row) => ({
      id: row.id,
      name: row.name_en ?? row.id,
      nameZh: row.name_zh,
      region: row.region,
      project: row.project,
      gateway: row.gateway,
      online: row.state === 'online',
      points: row.points,
      lastTs: row.last_ts,
      protocols: (row.protocols?.split(',') ?? []).sort() as Protocol[],
    }));
  }

  async latest(site: string): Promise<LatestPoint[] | undefined> {
    this.flushLatest();
    if (!this.statements.siteExists.get(site)) return undefined;
    return this.statements.latestOfSite.all(site).map((row) => {
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
      return point;
    });
  }

  async series(query: SeriesQuery): Promise<Series | undefined> {
    const known = this.statements.pointUnit.get(query.pointId);
    if (!known) return undefined;
    const rows = this.statements.samplesInWindow.all(query.pointId, query.from, query.to, query.limit + 1);
    const series: Series = {
      point: query.pointId,
      samples: rows.slice(0, query.limit).map((row) => ({
        ts: row.ts,
        value: decodeValue(row.value, row.value_type),
        quality: row.quality,
      })),
      truncated: rows.length > query.limit,
    };
    if (known.unit !== null) series.unit = known.unit;
    return series;
  }

  /** True when the batch was stored before (by this or another instance sharing the file). */
  hasBatch(gateway: string, boot: number, seq: number): boolean {
    return this.statements.hasBatch.get(gateway, boot, seq) !== undefined;
  }

  async samplesOf(pointIds: string[], from: number, to: number): Promise<Map<string, SeriesSample[]>> {
    const result = new Map<string, SeriesSample[]>();
    for (const id of pointIds) {
      const rows = this.statements.samplesInWindow.all(id, from, to, Number.MAX_SAFE_INTEGER);
      if (rows.length > 0) {
        result.set(
          id,
          rows.map((row) => ({
            ts: row.ts,
            value: decodeValue(row.value, row.value_type),
            quality: row.quality,
          })),
        );
      }
    }
    return result;
  }

  async points(site: string): Promise<PointInfo[] | undefined> {
    if (!this.statements.siteExists.get(site)) return undefined;
    return this.statements.pointsOfSite.all(site).map((row) => ({
      pointId: row.point_id,
      line: row.line,
      equipment: row.equipment,
      point: row.point,
      protocol: row.protocol,
      unit: row.unit,
    }));
  }

  async gateways(): Promise<GatewaySummary[]> {
    return this.statements.listGateways.all().map((row) => ({
      id: row.id,
      site: row.site,
      state: row.state,
      boot: row.boot,
      lastSeq: row.last_seq,
      lastSeen: row.last_seen,
      batches: row.batches,
      missingBatches: row.missing,
    }));
  }

  async gaps(gateway: string): Promise<SequenceGap[]> {
    return this.statements.gapsOf
      .all(gateway)
      .map((row) => ({ boot: row.boot, fromSeq: row.from_seq, toSeq: row.to_seq }));
  }

  async completeness(site: string, from: number, to: number): Promise<Completeness | undefined> {
    if (!this.statements.siteExists.get(site)) return undefined;
    const row = this.statements.completenessOf.get(site, from, to);
    return { expectedBatches: row?.expected ?? 0, receivedBatches: row?.received ?? 0 };
  }

  async deadLetters(query: DeadLetterQuery): Promise<DeadLetter[]> {
    const reason = query.reason ?? null;
    return this.statements.deadLetters.all(reason, reason, query.limit).map((row) => ({
      id: row.id,
      receivedAt: row.received_at,
      topic: row.topic,
      reason: row.reason,
      detail: row.detail,
      payloadPreview: Buffer.from(row.preview).toString('utf8'),
      payloadSize: row.payload_size,
    }));
  }

  async ping(): Promise<void> {
    this.statements.ping.get();
  }

  async close(): Promise<void> {
    // Writes already queued are committed, not dropped, before the file closes.
    if (this.db.open) this.commitQueuedTelemetry();
    if (this.db.open) this.flushLatest();
    if (this.db.open) this.db.close();
  }
}
