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
  componentKeys,
  type EquipmentPlan,
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

/** Position of each component in a minute's accumulator (typed arrays: the hot loop adds by index). */
const slot = Object.fromEntries(componentKeys.map((key, i) => [key, i])) as Record<ComponentKey, number>;

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
      const sums = perEquipment[e];
      if (!sums?.hasAny(index)) return;
      planned ??= input.isPlanned(start);
      rows.push(rowOf(plan.site, equipment, start, planned, sums, index));
    });
  }
  return rows;
}

/**
 * One row as an object literal with every key at once: V8 gives it one fixed shape, several times
 * faster to build than adding the components key by key (a day of minutes is ~100k rows).
 */
function rowOf(
  site: string,
  equipment: EquipmentPlan,
  start: number,
  planned: boolean,
  sums: MinuteSums,
  minute: number,
): RollupRow {
  const at = (key: ComponentKey) => sums.get(minute, slot[key]);
  return {
    site,
    line: equipment.line,
    equipment: equipment.equipment,
    start,
    planned,
    producingMs: at('producingMs'),
    idleMs: at('idleMs'),
    downMs: at('downMs'),
    setupMs: at('setupMs'),
    maintenanceMs: at('maintenanceMs'),
    failures: at('failures'),
    producedQty: at('producedQty'),
    goodQty: at('goodQty'),
    scrapQty: at('scrapQty'),
    idealMs: at('idealMs'),
    valueAdded: at('valueAdded'),
    energyEquipmentKwh: at('energyEquipmentKwh'),
    energyLineKwh: at('energyLineKwh'),
    energySiteKwh: at('energySiteKwh'),
    waterEquipmentM3: at('waterEquipmentM3'),
    waterLineM3: at('waterLineM3'),
    waterSiteM3: at('waterSiteM3'),
  };
}

const SLOTS = componentKeys.length;
/** Minutes per block of `MinuteSums` (an hour: a chunk of a few hours allocates a few blocks). */
const BLOCK_MINUTES = 60;

/**
 * The components of each minute of a range, in blocks of typed arrays allocated when first touched
 * (one small array per minute made the garbage collector the main cost of a day's recompute).
 */
class MinuteSums {
  private readonly blocks: (Float64Array | undefined)[];

  constructor(count: number) {
    this.blocks = new Array(Math.ceil(count / BLOCK_MINUTES));
  }

  add(minute: number, slot: number, amount: number): void {
    const b = Math.floor(minute / BLOCK_MINUTES);
    let block = this.blocks[b];
    if (!block) {
      block = new Float64Array(BLOCK_MINUTES * SLOTS);
      this.blocks[b] = block;
    }
    const at = (minute % BLOCK_MINUTES) * SLOTS + slot;
    block[at] = (block[at] as number) + amount;
  }

  get(minute: number, slot: number): number {
    return this.blocks[Math.floor(minute / BLOCK_MINUTES)]?.[(minute % BLOCK_MINUTES) * SLOTS + slot] ?? 0;
  }

  hasAny(minute: number): boolean {
    const block = this.blocks[Math.floor(minute / BLOCK_MINUTES)];
    if (!block) return false;
    const base = (minute % BLOCK_MINUTES) * SLOTS;
    for (let slot = 0; slot < SLOTS; slot++) if (block[base + slot] !== 0) return true;
    return false;
  }
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

/** Calls `each` with a point's carry, then its samples in range, oldest first (no object per sample). */
function forEachSample(
  input: MinuteInput,
  pointId: string,
  each: (ts: number, value: ScalarSample['value']) => void,
): void {
  const carried = input.carry.get(pointId);
  if (carried && carried.ts < input.from) each(carried.ts, carried.value);
  const series = input.samples.get(pointId);
  if (!series) return;
  const { ts, value } = series;
  for (let i = 0; i < ts.length; i++) each(ts[i] as number, value[i] as ScalarSample['value']);
}

function isCounterRole(role: KpiRole): role is CounterRole {
  return 'reset' in role;
}

function equipmentMinutes(
  equipment: EquipmentPlan,
  input: MinuteInput,
  window: Window,
  count: number,
): MinuteSums {
  const minutes = new MinuteSums(count);
  const indexOf = (ts: number) => Math.floor((ts - window.from) / MINUTE_MS);
  const inRange = (ts: number) => ts >= window.from && ts < window.end;
  const add = (index: number, key: ComponentKey, amount: number) => minutes.add(index, slot[key], amount);
  /** Adds `rate` × ms of the held interval [start, stop) to `key` of its minutes, clipped to what was observed. */
  const hold = (start: number, stop: number, key: ComponentKey, rate: number) => {
    const until = Math.min(stop, window.holdUntil);
    for (let t = Math.max(start, window.from); t < until; ) {
      const index = indexOf(t);
      const next = Math.min(until, window.from + (index + 1) * MINUTE_MS);
      add(index, key, (next - t) * rate);
      t = next;
    }
  };
  /** Calls `each` with every increase of a counter point counted in range. */
  const increases = (point: RolePoint, each: (index: number, ts: number, increase: number) => void) => {
    const role = point.role;
    if (!isCounterRole(role)) return;
    let previous: number | undefined;
    forEachSample(input, point.pointId, (ts, value) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) return;
      if (previous !== undefined && inRange(ts)) {
        const increase = counterIncrease(role, previous, value);
        if (increase > 0) each(indexOf(ts), ts, increase * point.scale);
      }
      previous = value;
    });
  };

  if (equipment.state) {
    const role = equipment.state.role;
    let seen = false;
    let heldSince = 0;
    let held: IsoState | undefined;
    forEachSample(input, equipment.state.pointId, (ts, value) => {
      const state = isoStateOf(role, value);
      if (seen) {
        if (held) hold(heldSince, ts, stateColumn[held], 1);
        if (state === 'down' && held !== 'down' && inRange(ts)) add(indexOf(ts), 'failures', 1);
      }
      seen = true;
      heldSince = ts;
      held = state;
    });
    if (held) hold(heldSince, window.holdUntil, stateColumn[held], 1);
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
      let since: number | undefined;
      let kw = 0;
      forEachSample(input, point.pointId, (ts, value) => {
        if (typeof value !== 'number' || !Number.isFinite(value)) return;
        if (since !== undefined) hold(since, ts, column, kw / MS_PER_HOUR);
        since = ts;
        kw = value * point.scale;
      });
      if (since !== undefined) hold(since, window.holdUntil, column, kw / MS_PER_HOUR);
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
    forEachSample(input, point.pointId, (ts, value) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) return;
      times.push(ts);
      values.push(value * point.scale);
    });
  if (times.length === 0) return () => constant;
  return (ts) => values[Math.max(0, lastIndexBefore(times, ts + 1))];
}
