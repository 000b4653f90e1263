/**
 * Minute rollups: the KPI components of each equipment of a site per minute, from its role points'
 * good samples. Pure: the rollup job reads the samples and writes the rows.
 *
 * - State time: a machine-state sample's ISO state holds until the equipment's next state sample, the
 *   newest until `observedUntil` (the site's newest sample); split at minute boundaries. A value the
 *   role maps to no state leaves the state unknown: no time is counted.
 * - Failures: a sample mapped to `down` whose previous sample was not `down`, in the minute of the
 *   sample (a first-ever state is no transition).
 * - Counters: `counterIncrease` between consecutive numeric samples (the carry is the previous of the
 *   first), in the minute of the later sample; non-numeric samples of a counter are skipped.
 * - Quantities: good = good counters, else total − rejects; produced = total counters, else good +
 *   rejects; scrap = reject counters, else total − good. Each part adds its ideal cycle time (and each
 *   good part its unit value) at the time of the sample that counted it.
 * - Power (kW) holds like a state and is integrated to kWh.
 *
 * Rows whose components are all zero are left out (the store replaces the whole minute range anyway).
 */
import {
  type CounterRole,
  counterIncrease,
  type IsoState,
  isoStateOf,
  type KpiRole,
} from '../../gateway/schema/index.js';
import {
  type ComponentKey,
  type Components,
  componentKeys,
  type EquipmentPlan,
  emptyComponents,
  MINUTE_MS,
  type RolePoint,
  type RollupRow,
  type ScalarSample,
  type ScalarSeries,
  type SitePlan,
} from './model.js';

export interface MinuteInput {
  plan: SitePlan;
  isPlanned: (minuteStart: number) => boolean;
  /** Minute-aligned, inclusive. */
  from: number;
  /** Inclusive ms; rows for every minute from `from` to floor-minute(to). */
  to: number;
  /** States and power hold until here (≤ to). */
  observedUntil: number;
  /** Each role point's last good sample before `from`. */
  carry: ReadonlyMap<string, ScalarSample>;
  /** Good samples in [from, to]. */
  samples: ReadonlyMap<string, ScalarSeries>;
}

const stateColumn: Record<IsoState, ComponentKey> = {
  producing: 'producingMs',
  idle: 'idleMs',
  down: 'downMs',
  setup: 'setupMs',
  maintenance: 'maintenanceMs',
};

const energyColumn = {
  equipment: 'energyEquipmentKwh',
  line: 'energyLineKwh',
  site: 'energySiteKwh',
} as const satisfies Record<string, ComponentKey>;
const waterColumn = {
  equipment: 'waterEquipmentM3',
  line: 'waterLineM3',
  site: 'waterSiteM3',
} as const satisfies Record<string, ComponentKey>;

const MS_PER_HOUR = 3_600_000;

export function computeMinuteRollups(input: MinuteInput): RollupRow[] {
  const { plan, from, to } = input;
  const lastMinute = Math.floor(to / MINUTE_MS) * MINUTE_MS;
  if (lastMinute < from) return [];
  const count = (lastMinute - from) / MINUTE_MS + 1;
  const end = from + count * MINUTE_MS;
  const window: Window = { from, end, holdUntil: Math.min(input.observedUntil, end) };
  const perEquipment = plan.equipment.map((equipment) => equipmentMinutes(equipment, input, window, count));
  const rows: RollupRow[] = [];
  for (let index = 0; index < count; index++) {
    const start = from + index * MINUTE_MS;
    let planned: boolean | undefined;
    plan.equipment.forEach((equipment, e) => {
      const components = perEquipment[e]?.[index];
      if (!components || componentKeys.every((key) => components[key] === 0)) return;
      planned ??= input.isPlanned(start);
      rows.push({
        site: plan.site,
        line: equipment.line,
        equipment: equipment.equipment,
        start,
        planned,
        ...components,
      });
    });
  }
  return rows;
}

/** Each point's last sample before `cursor`, from `carry` and `samples`. */
export function carryBefore(
  carry: ReadonlyMap<string, ScalarSample>,
  samples: ReadonlyMap<string, ScalarSeries>,
  cursor: number,
): Map<string, ScalarSample> {
  const result = new Map<string, ScalarSample>();
  for (const [pointId, sample] of carry) if (sample.ts < cursor) result.set(pointId, sample);
  for (const [pointId, series] of samples) {
    const index = lastIndexBefore(series.ts, cursor);
    if (index < 0) continue;
    const ts = series.ts[index] as number;
    const held = result.get(pointId);
    if (!held || held.ts <= ts)
      result.set(pointId, { ts, value: series.value[index] as ScalarSample['value'] });
  }
  return result;
}

/** The index of the last entry of ascending `ts` below `limit`; −1 when none. */
function lastIndexBefore(ts: readonly number[], limit: number): number {
  let low = 0;
  let high = ts.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((ts[middle] as number) < limit) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

interface Window {
  from: number;
  /** Exclusive end of the last minute. */
  end: number;
  /** States and power hold until here. */
  holdUntil: number;
}

/** A point's carry followed by its samples in range, as one time-ordered list. */
function samplesOf(input: MinuteInput, pointId: string): ScalarSample[] {
  const list: ScalarSample[] = [];
  const carried = input.carry.get(pointId);
  if (carried && carried.ts < input.from) list.push(carried);
  const series = input.samples.get(pointId);
  if (series)
    for (let i = 0; i < series.ts.length; i++)
      list.push({ ts: series.ts[i] as number, value: series.value[i] as ScalarSample['value'] });
  return list;
}

function isCounterRole(role: KpiRole): role is CounterRole {
  return 'reset' in role;
}

function equipmentMinutes(
  equipment: EquipmentPlan,
  input: MinuteInput,
  window: Window,
  count: number,
): (Components | undefined)[] {
  const minutes: (Components | undefined)[] = new Array(count);
  const indexOf = (ts: number) => Math.floor((ts - window.from) / MINUTE_MS);
  const inRange = (ts: number) => ts >= window.from && ts < window.end;
  const add = (index: number, key: ComponentKey, amount: number) => {
    let components = minutes[index];
    if (!components) {
      components = emptyComponents();
      minutes[index] = components;
    }
    components[key] += amount;
  };
  /** Spreads the held interval [start, stop) over its minutes, clipped to what was observed. */
  const hold = (start: number, stop: number, each: (index: number, ms: number) => void) => {
    const until = Math.min(stop, window.holdUntil);
    for (let t = Math.max(start, window.from); t < until; ) {
      const index = indexOf(t);
      const next = Math.min(until, window.from + (index + 1) * MINUTE_MS);
      each(index, next - t);
      t = next;
    }
  };
  /** Calls `each` with every increase of a counter point counted in range. */
  const increases = (point: RolePoint, each: (index: number, ts: number, increase: number) => void) => {
    if (!isCounterRole(point.role)) return;
    let previous: number | undefined;
    for (const { ts, value } of samplesOf(input, point.pointId)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      if (previous !== undefined && inRange(ts)) {
        const increase = counterIncrease(point.role, previous, value);
        if (increase > 0) each(indexOf(ts), ts, increase * point.scale);
      }
      previous = value;
    }
  };

  if (equipment.state) {
    const role = equipment.state.role;
    let previous: { ts: number; state: IsoState | undefined } | undefined;
    for (const { ts, value } of samplesOf(input, equipment.state.pointId)) {
      const state = isoStateOf(role, value);
      if (previous) {
        const held = previous.state;
        if (held) hold(previous.ts, ts, (index, ms) => add(index, stateColumn[held], ms));
        if (state === 'down' && held !== 'down' && inRange(ts)) add(indexOf(ts), 'failures', 1);
      }
      previous = { ts, state };
    }
    const last = previous?.state;
    if (previous && last)
      hold(previous.ts, window.holdUntil, (index, ms) => add(index, stateColumn[last], ms));
  }

  const idealCycleS = valueAt(input, equipment.idealCycleTime, equipment.idealCycleTimeS);
  const unitValue = valueAt(input, equipment.unitValue, equipment.unitValueConstant);
  const hasGood = equipment.goodCounts.length > 0;
  const hasTotal = equipment.totalCounts.length > 0;
  const hasReject = equipment.rejectCounts.length > 0;
  const produced = (index: number, ts: number, parts: number) => {
    add(index, 'producedQty', parts);
    add(index, 'idealMs', parts * (idealCycleS(ts) ?? 0) * 1000);
  };
  // Good derived as total − rejects takes rejects away in their own minute: a minute row may go
  // negative for a moment, but any sum over minutes stays exact.
  const good = (index: number, ts: number, parts: number) => {
    add(index, 'goodQty', parts);
    add(index, 'valueAdded', parts * (unitValue(ts) ?? 0));
  };
  for (const point of equipment.goodCounts)
    increases(point, (index, ts, parts) => {
      good(index, ts, parts);
      if (!hasTotal) produced(index, ts, parts);
      else if (!hasReject) add(index, 'scrapQty', -parts);
    });
  for (const point of equipment.rejectCounts)
    increases(point, (index, ts, parts) => {
      add(index, 'scrapQty', parts);
      if (hasGood && !hasTotal) produced(index, ts, parts);
      else if (hasTotal && !hasGood) good(index, ts, -parts);
    });
  for (const point of equipment.totalCounts)
    increases(point, (index, ts, parts) => {
      produced(index, ts, parts);
      if (!hasGood) good(index, ts, parts);
      else if (!hasReject) add(index, 'scrapQty', parts);
    });

  for (const point of equipment.energy) {
    if (point.role.role !== 'energy') continue;
    const column = energyColumn[point.role.scope];
    if (point.role.measure === 'power') {
      let previous: { ts: number; kw: number } | undefined;
      for (const { ts, value } of samplesOf(input, point.pointId)) {
        if (typeof value !== 'number' || !Number.isFinite(value)) continue;
        if (previous) {
          const kw = previous.kw;
          hold(previous.ts, ts, (index, ms) => add(index, column, (kw * ms) / MS_PER_HOUR));
        }
        previous = { ts, kw: value * point.scale };
      }
      if (previous) {
        const kw = previous.kw;
        hold(previous.ts, window.holdUntil, (index, ms) => add(index, column, (kw * ms) / MS_PER_HOUR));
      }
    } else increases(point, (index, _ts, kwh) => add(index, column, kwh));
  }
  for (const point of equipment.water) {
    if (point.role.role !== 'water') continue;
    const column = waterColumn[point.role.scope];
    increases(point, (index, _ts, m3) => add(index, column, m3));
  }
  return minutes;
}

/**
 * The value of a point (ideal cycle time, unit value) at a part's time: its newest numeric sample at
 * or before that time, else its first one after; `constant` when the point has no numeric sample.
 */
function valueAt(
  input: MinuteInput,
  point: RolePoint | undefined,
  constant: number | undefined,
): (ts: number) => number | undefined {
  const times: number[] = [];
  const values: number[] = [];
  if (point)
    for (const { ts, value } of samplesOf(input, point.pointId))
      if (typeof value === 'number' && Number.isFinite(value)) {
        times.push(ts);
        values.push(value * point.scale);
      }
  if (times.length === 0) return () => constant;
  return (ts) => values[Math.max(0, lastIndexBefore(times, ts + 1))];
}
