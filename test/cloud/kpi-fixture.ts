/**
 * A small site whose KPIs were computed by hand (see `expected`), sent as four telemetry batches
 * with seq 3 missing. One machine (cnc-01), a line PLC and a line sub-meter that must NOT count,
 * and the site's main energy and water meters. Two 1-minute windows from T0.
 */
import { expect } from 'vitest';
import type { Kpi } from '../../cloud/kpi.js';
import type { MetadataMessage, PointSample, TelemetryBatch } from '../../gateway/schema/index.js';

export const KPI_SITE = 'tj-kpi-fixture';
export const KPI_GATEWAY = 'gw-tj-kpi-fixture';
export const T0 = 1_750_000_020_000;
export const KPI_FROM = T0;
export const KPI_TO = T0 + 119_999;

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
  // running 30 s, down 15 s, idle 15 s in window 1; running 50 s in window 2 (until the newest sample, +110 s)
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

/** Hand-computed: [whole range, window 1, window 2]. */
export const expected = {
  // running / (running + down): 30/45, 50/50, 80/95
  availability: [80 / 95, 30 / 45, 1],
  // Σ ideal × good / planned: 6×2/45, 6×5/50, 6×7/95
  oee: [42 / 95, 12 / 45, 30 / 50],
  output: [7, 2, 5],
  // main meter kWh / good parts: 10.5/7, 3.5/2, 7/5
  energy_per_unit: [1.5, 1.75, 1.4],
  water_per_unit: [0.1, 0, 0.14],
  // seq 0,1 sent in window 1; seq 2,4 in window 2 (3 missing)
  completeness: [4 / 5, 1, 2 / 3],
} as const;

const seqs = [0, 1, 2, 4];
const sentAt = [10_000, 20_000, 70_000, 80_000];

export function kpiBatches(): TelemetryBatch[] {
  return seqs.map((seq, i) => ({
    schema: 'jjj.telemetry/1',
    region: 'TJ',
    project: 'binhai-smart-factory',
    site: KPI_SITE,
    gateway: { id: KPI_GATEWAY, boot: 1, seq },
    sentTs: T0 + (sentAt[i] as number),
    points: kpiSamples.filter((_, index) => index % seqs.length === i),
  }));
}

export function kpiMetadata(): MetadataMessage {
  const seen = new Map(kpiSamples.map((s) => [`${s.line}/${s.equipment}/${s.point}`, s]));
  return {
    schema: 'jjj.metadata/1',
    region: 'TJ',
    project: 'binhai-smart-factory',
    site: KPI_SITE,
    gateway: { id: KPI_GATEWAY, boot: 1 },
    ts: T0,
    siteName: { en: 'KPI fixture', zh: '指标样例' },
    points: [...seen.values()].map((s) => ({
      line: s.line,
      equipment: s.equipment,
      point: s.point,
      protocol: s.equipment.startsWith('cnc') ? 'opcua' : 'modbus',
      address: `${s.equipment}.${s.point}`,
    })),
  };
}

/** Compares a comparison's [whole, window 1, window 2] with the hand-computed figures. */
export function expectKpi(
  answer: { value: number | null; windows: { value: number | null }[] },
  kpi: Kpi,
): void {
  const got = [answer.value, ...answer.windows.map((w) => w.value)];
  expect(got).toHaveLength(3);
  for (const [i, want] of expected[kpi].entries()) expect(got[i], `${kpi}[${i}]`).toBeCloseTo(want, 9);
}
