/**
 * A small site whose KPIs were computed by hand (see `expected`), sent as four telemetry batches
 * with seq 3 missing. Its metadata declares the seed demo's roles: one machine (cnc-01: state codes
 * 1 producing / 2 idle / 3 down, 32-bit good and reject counters, an ideal cycle time), a line PLC
 * repeating the line's count (no role: it must not count twice), a line sub-meter (scope line: not
 * the site's energy, which its main meter measures) and the site's main energy and water meters
 * (scope site). Two 1-minute windows from T0. The same batches can be sent for another site or
 * shifted in time, and the metadata without roles.
 */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { expect } from 'vitest';
import { buildApi } from '../../cloud/api.js';
import type { CollectorConfig } from '../../cloud/config.js';
import type { KpiConfig } from '../../cloud/kpi/config.js';
import type { KpiName } from '../../cloud/kpi/definitions.js';
import { createCollectorMetrics } from '../../cloud/metrics.js';
import type { TelemetryStore } from '../../cloud/store/store.js';
import type {
  KpiRole,
  MetadataMessage,
  PointSample,
  Region,
  TelemetryBatch,
} from '../../gateway/schema/index.js';

/** The collector's API over `store` with the given limits and `kpi` block, answered through fastify's inject. */
export function kpiApi(
  store: TelemetryStore,
  config: CollectorConfig,
  kpi: KpiConfig,
  limits: CollectorConfig['api']['limits'] = config.api.limits,
): FastifyInstance {
  return buildApi({
    store,
    metrics: createCollectorMetrics(),
    logger: pino({ level: 'silent' }),
    brokerConnected: () => true,
    auth: config.auth,
    allowedHosts: () => new Set(['localhost:80']),
    commandSender: undefined,
    ackTimeoutMs: config.commands.ackTimeoutMs,
    limits,
    kpi,
  });
}

export const KPI_SITE = 'tj-kpi-fixture';
export const KPI_PROJECT = 'binhai-smart-factory';
export const T0 = 1_750_000_020_000;
export const KPI_FROM = T0;
export const KPI_TO = T0 + 119_999;

/** Where a copy of the fixture goes: its site, region, project and how far it is shifted in time. */
export interface FixtureSite {
  site: string;
  region: Region;
  project: string;
  shiftMs: number;
}

export const fixtureSite: FixtureSite = { site: KPI_SITE, region: 'TJ', project: KPI_PROJECT, shiftMs: 0 };

const sample = (
  line: string,
  equipment: string,
  point: string,
  at: number,
  value: number,
  quality = 'good',
) => ({ line, equipment, point, ts: T0 + at, value, quality }) as PointSample;
const machine = (point: string, at: number, value: number, quality?: string) =>
  sample('assembly', 'cnc-01', point, at, value, quality);

export const kpiSamples: PointSample[] = [
  machine('ideal-cycle-time', -5_000, 6),
  // producing 30 s, down 15 s, idle 15 s in window 1; producing 50 s in window 2 (until the newest sample, +110 s)
  machine('state', -10_000, 1),
  machine('state', 30_000, 3),
  machine('state', 45_000, 2),
  machine('state', 60_000, 1),
  machine('good-count', -1_000, 100),
  machine('good-count', 20_000, 102),
  machine('good-count', 60_000, 103),
  machine('good-count', 70_000, 999, 'uncertain'),
  machine('good-count', 100_000, 107),
  machine('reject-count', -1_000, 10),
  machine('reject-count', 25_000, 11),
  // The line PLC repeats the line's counts, and the line sub-meter is part of the main meter.
  sample('assembly', 'plc-assembly', 'good-count', 0, 100),
  sample('assembly', 'plc-assembly', 'good-count', 100_000, 200),
  sample('assembly', 'meter-assembly', 'energy-total', 0, 0),
  sample('assembly', 'meter-assembly', 'energy-total', 100_000, 1000),
  sample('utilities', 'meter-main', 'energy-total', -2_000, 500),
  sample('utilities', 'meter-main', 'energy-total', 50_000, 503.5),
  sample('utilities', 'meter-main', 'energy-total', 110_000, 510.5),
  sample('utilities', 'water-main', 'volume-total', -2_000, 20),
  sample('utilities', 'water-main', 'volume-total', 90_000, 20.7),
];

/** The seed demo's roles, by `equipment/point`; the line PLC's points have none. */
const roles: Record<string, { kpi: KpiRole; unit?: string }> = {
  'cnc-01/state': {
    kpi: { role: 'machine-state', values: { '1': 'producing', '2': 'idle', '3': 'down' } },
  },
  'cnc-01/good-count': { kpi: { role: 'good-count', width: 32, reset: 'restart' } },
  'cnc-01/reject-count': { kpi: { role: 'reject-count', width: 32, reset: 'restart' } },
  'cnc-01/ideal-cycle-time': { kpi: { role: 'ideal-cycle-time' }, unit: 'SEC' },
  'meter-assembly/energy-total': {
    kpi: { role: 'energy', measure: 'counter', scope: 'line', reset: 'restart' },
    unit: 'KWH',
  },
  'meter-main/energy-total': {
    kpi: { role: 'energy', measure: 'counter', scope: 'site', reset: 'restart' },
    unit: 'KWH',
  },
  'water-main/volume-total': { kpi: { role: 'water', scope: 'site', reset: 'restart' }, unit: 'MTQ' },
};

/**
 * Hand-computed: [whole range, window 1, window 2]. No calendar, so every minute is planned.
 * Window 1: producing 30 s, down 15 s (1 failure), idle 15 s; 2 good (100→102), 1 reject (10→11).
 * Window 2: producing 50 s; 5 good (102→103→107; the uncertain 999 is left out), no rejects.
 * Ideal cycle time 6 s. Main meter 3.5 kWh then 7 kWh; water 0 then 0.7 m³.
 */
export const expected: Record<KpiName, readonly [number | null, number | null, number | null]> = {
  // APT / (APT + ADET): 30/45, 50/50, 80/95
  availability: [80 / 95, 30 / 45, 1],
  // ideal × PQ / APT: 6×8/80, 6×3/30, 6×5/50
  effectiveness: [0.6, 0.6, 0.6],
  // GQ / PQ: 7/8, 2/3, 5/5
  quality_ratio: [7 / 8, 2 / 3, 1],
  // availability × effectiveness × quality = Σ ideal × good / PBT: 6×7/95, 6×2/45, 6×5/50
  oee: [42 / 95, 12 / 45, 30 / 50],
  // APT / (APT + ADET), no setup here
  technical_efficiency: [80 / 95, 30 / 45, 1],
  // AUST / AUPT: no setup
  setup_ratio: [0, 0, 0],
  // SQ / PQ: 1/8, 1/3, 0/5
  scrap_ratio: [1 / 8, 1 / 3, 0],
  // ADET / failures, min: 15 s/1, 15 s/1, no failure in window 2
  mttr: [0.25, 0.25, null],
  // APT / failures, min: 80 s/1, 30 s/1, no failure
  mtbf: [80 / 60, 0.5, null],
  output: [7, 2, 5],
  // main meter kWh / good parts: 10.5/7, 3.5/2, 7/5
  energy_per_unit: [1.5, 1.75, 1.4],
  water_per_unit: [0.1, 0, 0.14],
  // no unit value configured
  energy_per_value_added: [null, null, null],
  water_per_value_added: [null, null, null],
  // seq 0,1 sent in window 1; seq 2,4 in window 2 (3 missing)
  completeness: [4 / 5, 1, 2 / 3],
};

const seqs = [0, 1, 2, 4];
const sentAt = [10_000, 20_000, 70_000, 80_000];

export const gatewayOf = (site: string) => `gw-${site}`;
export const KPI_GATEWAY = gatewayOf(KPI_SITE);

export function kpiBatches(at: FixtureSite = fixtureSite): TelemetryBatch[] {
  return seqs.map((seq, i) => ({
    schema: 'jjj.telemetry/1',
    region: at.region,
    project: at.project,
    site: at.site,
    gateway: { id: gatewayOf(at.site), boot: 1, seq },
    sentTs: T0 + at.shiftMs + (sentAt[i] as number),
    points: kpiSamples
      .filter((_, index) => index % seqs.length === i)
      .map((s) => ({ ...s, ts: s.ts + at.shiftMs })),
  }));
}

export function kpiMetadata(at: FixtureSite = fixtureSite, withRoles = true): MetadataMessage {
  const seen = new Map(kpiSamples.map((s) => [`${s.line}/${s.equipment}/${s.point}`, s]));
  return {
    schema: 'jjj.metadata/1',
    region: at.region,
    project: at.project,
    site: at.site,
    gateway: { id: gatewayOf(at.site), boot: 1 },
    ts: T0 + at.shiftMs,
    siteName: { en: `KPI fixture ${at.site}`, zh: '指标样例' },
    points: [...seen.values()].map((s) => {
      const role = withRoles ? roles[`${s.equipment}/${s.point}`] : undefined;
      return {
        line: s.line,
        equipment: s.equipment,
        point: s.point,
        protocol: s.equipment.startsWith('cnc') ? 'opcua' : 'modbus',
        address: `${s.equipment}.${s.point}`,
        ...(role?.unit && { unit: role.unit }),
        ...(role && { kpi: role.kpi }),
      };
    }),
  };
}

/** Compares a KPI's [whole, window 1, window 2] of a compare entity with the hand-computed figures. */
export function expectKpi(
  entity: {
    values: Partial<Record<KpiName, number | null>>;
    windows: { values: Partial<Record<KpiName, number | null>> }[];
  },
  kpi: KpiName,
  want: readonly (number | null)[] = expected[kpi],
): void {
  const got = [entity.values[kpi], ...entity.windows.map((w) => w.values[kpi])];
  expect(got).toHaveLength(want.length);
  for (const [i, value] of want.entries()) {
    if (value === null) expect(got[i], `${kpi}[${i}]`).toBeNull();
    else expect(got[i], `${kpi}[${i}]`).toBeCloseTo(value, 9);
  }
}
