/**
 * What the catalog answers about the registry: sites, points, gateways, sequence gaps and
 * completeness, read from the tables the catalog writes (`sites`, `gateways`, `points`, `batches`).
 */
import type Database from 'better-sqlite3';
import { DataType, KpiRole, type Protocol, type Region, regions } from '../../gateway/schema/index.js';
import type { Completeness, GatewaySummary, PointInfo, SequenceGaps, SiteSummary } from './store.js';

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

interface PointRow {
  point_id: string;
  line: string;
  equipment: string;
  point: string;
  protocol: Protocol | null;
  unit: string | null;
  data_type: string | null;
  description: string | null;
  min_value: number | null;
  max_value: number | null;
  writable: number | null;
  kpi_role: string | null;
  source_name: string | null;
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

export class RegistryQueries {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      sites: db.prepare<[], SiteRow>(
        `SELECT s.id, s.name_en, s.name_zh, s.region, s.project, s.gateway, g.state,
           (SELECT count(*) FROM points p WHERE p.site = s.id) AS points,
           (SELECT max(l.ts) FROM latest l WHERE l.site = s.id) AS last_ts,
           (SELECT group_concat(DISTINCT p.protocol) FROM points p WHERE p.site = s.id) AS protocols
         FROM sites s LEFT JOIN gateways g ON g.id = s.gateway
         ORDER BY ${regionOrder}, s.id`,
      ),
      siteExists: db.prepare<[string], { found: number }>('SELECT 1 AS found FROM sites WHERE id = ?'),
      pointUnit: db.prepare<[string], { unit: string | null }>('SELECT unit FROM points WHERE point_id = ?'),
      pointsOfSite: db.prepare<[string], PointRow>(
        `SELECT point_id, line, equipment, point, protocol, unit, data_type, description, min_value, max_value,
           writable, kpi_role, source_name
         FROM points WHERE site = ? ORDER BY point_id`,
      ),
      // Per boot: sequence numbers from 0 up to the newest one received, against those received.
      gateways: db.prepare<[], GatewayRow>(
        `SELECT g.id, g.site, g.state, g.boot, g.last_seq, g.last_seen,
           coalesce(sum(b.received), 0) AS batches, coalesce(sum(b.top + 1 - b.received), 0) AS missing
         FROM gateways g LEFT JOIN boot_batches b ON b.gateway = g.id
         GROUP BY g.id ORDER BY g.site, g.id`,
      ),
      gapsOf: db.prepare<[string, number], { boot: number; from_seq: number; to_seq: number }>(
        `SELECT boot, from_seq, to_seq FROM batch_gaps WHERE gateway = ?
         ORDER BY boot DESC, from_seq DESC LIMIT ?`,
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
    };
  }

  /** `lastTs` comes from `latest`: flush it first. */
  sites(): SiteSummary[] {
    return this.statements.sites.all().map((row) => ({
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

  siteExists(site: string): boolean {
    return this.statements.siteExists.get(site) !== undefined;
  }

  /** The unit of a known point (`null` when it has none); `undefined` for an unknown point. */
  pointUnit(pointId: string): string | null | undefined {
    return this.statements.pointUnit.get(pointId)?.unit;
  }

  points(site: string): PointInfo[] | undefined {
    if (!this.siteExists(site)) return undefined;
    return this.statements.pointsOfSite.all(site).map((row) => {
      const kpi = kpiRoleOf(row.kpi_role);
      return {
        pointId: row.point_id,
        line: row.line,
        equipment: row.equipment,
        point: row.point,
        protocol: row.protocol,
        unit: row.unit,
        dataType: dataTypeOf(row.data_type),
        description: row.description,
        min: row.min_value,
        max: row.max_value,
        writable: row.writable === 1,
        ...(kpi && { kpi }),
        ...(row.source_name !== null && { sourceName: row.source_name }),
      };
    });
  }

  gateways(): GatewaySummary[] {
    return this.statements.gateways.all().map((row) => ({
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

  gaps(gateway: string, limit: number): SequenceGaps {
    const rows = this.statements.gapsOf.all(gateway, limit + 1);
    return {
      gaps: rows.slice(0, limit).map((row) => ({ boot: row.boot, fromSeq: row.from_seq, toSeq: row.to_seq })),
      truncated: rows.length > limit,
    };
  }

  completeness(site: string, from: number, to: number): Completeness | undefined {
    if (!this.siteExists(site)) return undefined;
    const row = this.statements.completenessOf.get(site, from, to);
    return { expectedBatches: row?.expected ?? 0, receivedBatches: row?.received ?? 0 };
  }
}

/**
 * The role as stored (checked at ingest); parsed again so a role stored by an older collector whose
 * shape this one no longer accepts counts as no role instead of reaching the KPI engine.
 */
function kpiRoleOf(stored: string | null): KpiRole | undefined {
  if (stored === null) return undefined;
  const parsed = KpiRole.safeParse(JSON.parse(stored));
  return parsed.success ? parsed.data : undefined;
}

/** The data type as stored; one this collector does not know (a newer gateway's) counts as none. */
function dataTypeOf(stored: string | null): DataType | null {
  const parsed = DataType.safeParse(stored);
  return parsed.success ? parsed.data : null;
}
