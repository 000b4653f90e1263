/** The SQL the catalog writes the registry with: sites, gateways (position and state), batches, points. */
import type Database from 'better-sqlite3';
import type { Region } from '../../gateway/schema/index.js';
import { HOUR_MS, MINUTE_MS } from '../kpi/model.js';
import type { IncomingBatch } from './store.js';

/** The `sites` row every kind of message keeps up to date: where it comes from and through which gateway. */
export function siteRowOf(
  message: Pick<IncomingBatch, 'site' | 'region' | 'project'> & { gateway: { id: string } },
) {
  return {
    site: message.site,
    region: message.region,
    project: message.project,
    gateway: message.gateway.id,
  };
}

export function registryStatements(db: Database.Database) {
  return {
    insertBatch: db.prepare(
      `INSERT OR IGNORE INTO batches (gateway, boot, seq, received_at, points, historical, sent_ts)
       VALUES (@gateway, @boot, @seq, @receivedAt, @points, @historical, @sentTs)`,
    ),
    // Both resolutions of the batch's send time: a new row, or the span widened and one more received.
    countBatch: db.prepare<{ gateway: string; boot: number; seq: number; sentTs: number }>(
      `INSERT INTO batch_rollups (resolution, gateway, start, boot, min_seq, max_seq, received) VALUES
         ('1m', @gateway, @sentTs - @sentTs % ${MINUTE_MS}, @boot, @seq, @seq, 1),
         ('1h', @gateway, @sentTs - @sentTs % ${HOUR_MS}, @boot, @seq, @seq, 1)
       ON CONFLICT (resolution, gateway, start, boot) DO UPDATE SET
         min_seq = min(min_seq, excluded.min_seq), max_seq = max(max_seq, excluded.max_seq), received = received + 1`,
    ),
    bootTop: db.prepare<[string, number], { top: number }>(
      'SELECT top FROM boot_batches WHERE gateway = ? AND boot = ?',
    ),
    countBootBatch: db.prepare<{ gateway: string; boot: number; seq: number }>(
      `INSERT INTO boot_batches (gateway, boot, top, received) VALUES (@gateway, @boot, @seq, 1)
       ON CONFLICT (gateway, boot) DO UPDATE SET top = max(top, excluded.top), received = received + 1`,
    ),
    /** The gap a late batch falls in: the last one starting at or before its seq. */
    gapHolding: db.prepare<[string, number, number], { from_seq: number; to_seq: number }>(
      `SELECT from_seq, to_seq FROM batch_gaps WHERE gateway = ? AND boot = ? AND from_seq <= ?
       ORDER BY from_seq DESC LIMIT 1`,
    ),
    insertGap: db.prepare<{ gateway: string; boot: number; from: number; to: number }>(
      'INSERT INTO batch_gaps (gateway, boot, from_seq, to_seq) VALUES (@gateway, @boot, @from, @to)',
    ),
    deleteGap: db.prepare<[string, number, number]>(
      'DELETE FROM batch_gaps WHERE gateway = ? AND boot = ? AND from_seq = ?',
    ),
    // A key range per gateway; a gateway's rows only exist once it is in `gateways`.
    pruneBatchMinutes: db.prepare<[number]>(
      `DELETE FROM batch_rollups
       WHERE resolution = '1m' AND gateway IN (SELECT id FROM gateways) AND start < ?`,
    ),
    hasBatch: db.prepare<[string, number, number], { found: number }>(
      'SELECT 1 AS found FROM batches WHERE gateway = ? AND boot = ? AND seq = ?',
    ),
    gatewayPosition: db.prepare<
      [string],
      { boot: number; last_seq: number | null; last_seen: number | null }
    >('SELECT boot, last_seq, last_seen FROM gateways WHERE id = ?'),
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
      `INSERT INTO points (point_id, site, line, equipment, point, protocol, address, data_type, unit, description, min_value, max_value, kpi_role, writable, source_name)
       VALUES (@pointId, @site, @line, @equipment, @point, @protocol, @address, @dataType, @unit, @description, @min, @max, @kpiRole, @writable, @sourceName)
       ON CONFLICT (point_id) DO UPDATE SET protocol = excluded.protocol, address = excluded.address,
         data_type = excluded.data_type, unit = excluded.unit, description = excluded.description,
         min_value = excluded.min_value, max_value = excluded.max_value, kpi_role = excluded.kpi_role,
         writable = excluded.writable, source_name = excluded.source_name`,
    ),
    siteOwner: db.prepare<[string], { region: Region; project: string; gateway: string }>(
      'SELECT region, project, gateway FROM sites WHERE id = ?',
    ),
    // The batches of an older boot are read only when a message names one (a replay).
    positionFor: db.prepare<
      { gateway: string; boot: number },
      { boot: number; last_seq: number | null; last_seen: number | null; top_of_older_boot: number | null }
    >(
      `SELECT g.boot, g.last_seq, g.last_seen,
         CASE WHEN @boot < g.boot THEN (SELECT max(b.seq) FROM batches b WHERE b.gateway = @gateway AND b.boot = @boot)
         END AS top_of_older_boot
       FROM gateways g WHERE g.id = @gateway`,
    ),
    pointRanges: db.prepare<[], { point_id: string; min_value: number | null; max_value: number | null }>(
      'SELECT point_id, min_value, max_value FROM points WHERE min_value IS NOT NULL OR max_value IS NOT NULL',
    ),
    ping: db.prepare('SELECT 1'),
  };
}
