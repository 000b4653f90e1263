/**
 * Cross-plant KPIs, computed the same way for every site and every store from the raw samples
 * of the seed signals (see `seeds/device-maps.ts`). Only good-quality numeric samples count. The
 * state-time and counter definitions need each sample in order, so the samples are loaded, under a
 * cap per request, rather than aggregated in the store.
 *
 * Which points feed them:
 * - a **machine** is an equipment with an `ideal-cycle-time` point; it also has `state`
 *   (1 running, 2 idle, 3 down), `good-count` and `reject-count` (counters). Line PLCs repeat their
 *   line's counts but have no ideal cycle time, so they are never counted twice.
 * - a **site meter** is an `energy-total` (kWh) or `volume-total` (m³) point on a line without
 *   machines (the site's main meters, not the sub-meters of production lines).
 *
 * Definitions, per time window:
 * - state time: each `state` sample holds until the machine's next `state` sample; the newest one
 *   holds until the site's newest sample (gateways report states on change, so the site's data
 *   tells how long the state was observed; nothing is extrapolated past it). Split at window
 *   boundaries. Samples up to `KPI_LOOKBACK_MS` before the window give the state, counter values
 *   and ideal cycle time at its start.
 * - planned production time = running + down. Idle (2) is a planned stop (no order, changeover),
 *   so it is not planned production time; down (3) is a breakdown, so it is.
 * - counter increase: the sum of the increases between consecutive samples, each counted in the
 *   window of the later sample; a counter that goes down restarted from 0, so its new value counts.
 * - **availability** = Σ running time / Σ planned production time, over the site's machines.
 * - **performance** = Σ (ideal cycle time × parts made) / Σ running time, parts = good + rejects.
 * - **quality** = Σ good parts / Σ parts.
 * - **oee** = availability × performance × quality (= Σ ideal cycle time × good / Σ planned time).
 * - **output** = Σ good parts of the site's machines.
 * - **energy_per_unit** = site meters' kWh increase / output (kWh per good part).
 * - **water_per_unit** = site meters' m³ increase / output (m³ per good part).
 * - **completeness** = batches received / batches the gateway numbered (see the store), in [0, 1].
 * A KPI whose denominator is 0 (no planned time, no output, no batches) is `null`, never 0.
 */
import { parsePointId, pointId } from '../gateway/schema/index.js';
import type { Completeness, NumberSeries, PointInfo, TelemetryStore } from './store/store.js';

export const kpis = [
  'oee',
  'availability',
  'output',
  'energy_per_unit',
  'water_per_unit',
  'completeness',
] as const;
export type Kpi = (typeof kpis)[number];

/** How far before a window samples are read to know the state and counters at its start. */
export const KPI_LOOKBACK_MS = 3_600_000;

/** Machine state codes of the seed signals (`seeds/signals.ts`; cloud does not import seeds). */
const RUNNING = 1;
const DOWN = 3;

const MACHINE_MARKER = 'ideal-cycle-time';
const MACHINE_POINTS = ['state', 'good-count', 'reject-count', MACHINE_MARKER] as const;
const ENERGY_POINT = 'energy-total';
const WATER_POINT = 'volume-total';

type MachinePoint = (typeof MACHINE_POINTS)[number];

/** The point ids a site's KPIs are computed from. */
export interface SitePlan {
  machines: Record<MachinePoint, string>[];
  energyMeters: string[];
  waterMeters: string[];
}

export function planSite(points: PointInfo[]): SitePlan {
  const site = parsePointId(points[0]?.pointId ?? '')?.site ?? '';
  const equipmentKey = (p: PointInfo) => `${p.line}/${p.equipment}`;
  const machines = points
    .filter((p) => p.point === MACHINE_MARKER)
    .sort((a, b) => (equipmentKey(a) < equipmentKey(b) ? -1 : 1));
  const machineLines = new Set(machines.map((p) => p.line));
  const siteMeters = (name: string) =>
    points.filter((p) => p.point === name && !machineLines.has(p.line)).map((p) => p.pointId);
  return {
    // A machine's point it lacks gets its would-be id, which simply has no samples.
    machines: machines.map(
      ({ line, equipment }) =>
        Object.fromEntries(
          MACHINE_POINTS.map((point) => [point, pointId(site, { line, equipment, point })]),
        ) as Record<MachinePoint, string>,
    ),
    energyMeters: siteMeters(ENERGY_POINT),
    waterMeters: siteMeters(WATER_POINT),
  };
}

export function pointsOfPlan(plan: SitePlan): string[] {
  return [
    ...plan.machines.flatMap((machine) => Object.values(machine)),
    ...plan.energyMeters,
    ...plan.waterMeters,
  ];
}

/** Sums per window of one site; the KPIs are ratios of these. */
export interface WindowTotals {
  runningMs: number;
  plannedMs: number;
  /** Σ ideal cycle time (ms) × parts made. */
  idealMs: number;
  good: number;
  parts: number;
  energyKwh: number;
  waterM3: number;
}

const emptyTotals = (): WindowTotals => ({
  runningMs: 0,
  plannedMs: 0,
  idealMs: 0,
  good: 0,
  parts: 0,
  energyKwh: 0,
  waterM3: 0,
});

export interface Windows {
  from: number;
  to: number;
  windowMs: number;
}

export function windowStarts({ from, to, windowMs }: Windows): number[] {
  const starts: number[] = [];
  for (let start = from; start <= to; start += windowMs) starts.push(start);
  return starts;
}

/** A point's good-quality numeric samples, in time order. */
interface Usable {
  ts: Float64Array;
  value: Float64Array;
}

/** Drops the samples whose value is NaN (not a good-quality number). */
function usable(samples: NumberSeries | undefined): Usable {
  if (!samples) return { ts: new Float64Array(0), value: new Float64Array(0) };
  const keep: number[] = [];
  for (let i = 0; i < samples.value.length; i++) if (!Number.isNaN(samples.value[i])) keep.push(i);
  if (keep.length === samples.value.length) return samples;
  return {
    ts: Float64Array.from(keep, (i) => samples.ts[i] as number),
    value: Float64Array.from(keep, (i) => samples.value[i] as number),
  };
}

/** Adds each increase between consecutive samples to the window of the later sample. */
function addIncreases(
  samples: Usable,
  windows: Windows,
  totals: WindowTotals[],
  add: (t: WindowTotals, increase: number, ts: number) => void,
): void {
  for (let i = 1; i < samples.ts.length; i++) {
    const previous = samples.value[i - 1] as number;
    const current = samples.value[i] as number;
    const ts = samples.ts[i] as number;
    const increase = current >= previous ? current - previous : current;
    if (ts < windows.from || ts > windows.to) continue;
    const bucket = totals[Math.floor((ts - windows.from) / windows.windowMs)];
    if (bucket && increase > 0) add(bucket, increase, ts);
  }
}

/** The latest usable value at or before `ts`; the first one when none is that old (binary search). */
function valueAt(samples: Usable, ts: number): number | undefined {
  let low = 0;
  let high = samples.ts.length - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if ((samples.ts[middle] as number) <= ts) low = middle;
    else high = middle - 1;
  }
  return samples.value[low];
}

/** Per-window totals of one site from its samples (read from `KPI_LOOKBACK_MS` before the first window). */
export function siteTotals(
  plan: SitePlan,
  samples: Map<string, NumberSeries>,
  windows: Windows,
): WindowTotals[] {
  const totals = windowStarts(windows).map(emptyTotals);
  let observedUntil = Number.NEGATIVE_INFINITY;
  for (const { ts } of samples.values())
    observedUntil = Math.max(observedUntil, ts[ts.length - 1] ?? observedUntil);
  observedUntil = Math.min(observedUntil, windows.to);
  for (const machine of plan.machines) {
    const states = usable(samples.get(machine.state));
    for (let i = 0; i < states.ts.length; i++) {
      const state = states.value[i];
      if (state !== RUNNING && state !== DOWN) continue;
      const start = Math.max(states.ts[i] as number, windows.from);
      const end = Math.min(states.ts[i + 1] ?? observedUntil, observedUntil);
      // Split the interval at window boundaries.
      for (let t = start; t < end; ) {
        const index = Math.floor((t - windows.from) / windows.windowMs);
        const until = Math.min(end, windows.from + (index + 1) * windows.windowMs);
        const bucket = totals[index];
        if (bucket) {
          bucket.plannedMs += until - t;
          if (state === RUNNING) bucket.runningMs += until - t;
        }
        t = until;
      }
    }
    const idealCycle = usable(samples.get(machine['ideal-cycle-time']));
    const countParts = (t: WindowTotals, parts: number, ts: number) => {
      t.parts += parts;
      t.idealMs += parts * (valueAt(idealCycle, ts) ?? 0) * 1000;
    };
    addIncreases(usable(samples.get(machine['good-count'])), windows, totals, (t, n, ts) => {
      t.good += n;
      countParts(t, n, ts);
    });
    addIncreases(usable(samples.get(machine['reject-count'])), windows, totals, countParts);
  }
  for (const meter of plan.energyMeters) {
    addIncreases(usable(samples.get(meter)), windows, totals, (t, n) => {
      t.energyKwh += n;
    });
  }
  for (const meter of plan.waterMeters) {
    addIncreases(usable(samples.get(meter)), windows, totals, (t, n) => {
      t.waterM3 += n;
    });
  }
  return totals;
}

export function sumTotals(totals: WindowTotals[]): WindowTotals {
  const sum = emptyTotals();
  for (const t of totals) for (const key of Object.keys(sum) as (keyof WindowTotals)[]) sum[key] += t[key];
  return sum;
}

const ratio = (numerator: number, denominator: number): number | null =>
  denominator > 0 ? numerator / denominator : null;

/** The KPI from a window's totals (all but completeness, which comes from the batch sequence). */
export function kpiOf(kpi: Exclude<Kpi, 'completeness'>, t: WindowTotals): number | null {
  switch (kpi) {
    case 'availability':
      return ratio(t.runningMs, t.plannedMs);
    case 'oee': {
      const availability = ratio(t.runningMs, t.plannedMs);
      const performance = ratio(t.idealMs, t.runningMs);
      const quality = ratio(t.good, t.parts);
      return availability === null || performance === null || quality === null
        ? null
        : availability * performance * quality;
    }
    case 'output':
      return t.good;
    case 'energy_per_unit':
      return ratio(t.energyKwh, t.good);
    case 'water_per_unit':
      return ratio(t.waterM3, t.good);
  }
}

export interface SiteComparison {
  site: string;
  /** Over the whole range. */
  value: number | null;
  windows: { start: number; value: number | null }[];
}

/**
 * Computes one KPI for each site over the same windows; `undefined` names the first unknown site.
 * The raw samples all sites load together are at most `maxSamples` (api.limits.maxRawSamplesPerQuery):
 * past it the store throws `QueryRefusedError`.
 */
export async function compareSites(
  store: TelemetryStore,
  kpi: Kpi,
  sites: string[],
  windows: Windows,
  maxSamples: number,
): Promise<{ sites: SiteComparison[] } | { unknownSite: string }> {
  const result: SiteComparison[] = [];
  let budget = maxSamples;
  const starts = windowStarts(windows);
  for (const site of sites) {
    if (kpi === 'completeness') {
      const per = await Promise.all(
        starts.map((start) =>
          store.completeness(site, start, Math.min(start + windows.windowMs - 1, windows.to)),
        ),
      );
      const whole = await store.completeness(site, windows.from, windows.to);
      if (!whole) return { unknownSite: site };
      const share = (c: Completeness | undefined) => (c ? ratio(c.receivedBatches, c.expectedBatches) : null);
      result.push({
        site,
        value: share(whole),
        windows: starts.map((start, i) => ({ start, value: share(per[i]) })),
      });
      continue;
    }
    const points = await store.points(site);
    if (!points) return { unknownSite: site };
    const plan = planSite(points);
    const samples = await store.numberSamplesOf(
      pointsOfPlan(plan),
      windows.from - KPI_LOOKBACK_MS,
      windows.to,
      budget,
    );
    for (const { ts } of samples.values()) budget -= ts.length;
    const totals = siteTotals(plan, samples, windows);
    result.push({
      site,
      value: kpiOf(kpi, sumTotals(totals)),
      windows: starts.map((start, i) => ({ start, value: kpiOf(kpi, totals[i] ?? emptyTotals()) })),
    });
  }
  return { sites: result };
}
