/**
 * The shapes the KPI engine, the rollup job, the stores and the API share. A rollup row holds the
 * KPI components of one equipment over one minute (or one hour): ISO 22400-2 time elements split by
 * machine state, the quantities made, and the metered energy and water, each as a sum, so any larger
 * window is the sum of its rows and every KPI a ratio of sums.
 */
import type { KpiRole, MachineStateRole } from '../../gateway/schema/index.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** Rollup resolutions kept in the store: minutes (kept `kpi.rollups.minuteRetentionDays`) and hours. */
export const rollupResolutions = { '1m': MINUTE_MS, '1h': HOUR_MS } as const;
export type RollupResolution = keyof typeof rollupResolutions;

export const componentKeys = [
  /** Time in each ISO state, ms (only while the state is known). */
  'producingMs',
  'idleMs',
  'downMs',
  'setupMs',
  'maintenanceMs',
  /** Transitions into `down` (failure events, for MTBF and MTTR). */
  'failures',
  /** Produced quantity (PQ): good + rejects, or the total counter. */
  'producedQty',
  /** Good quantity (GQ): the good counter, or total − rejects. */
  'goodQty',
  /** Scrap quantity (SQ): the reject counter. */
  'scrapQty',
  /** Σ ideal cycle time (ms) × produced quantity: planned runtime of what was made (PRI × PQ). */
  'idealMs',
  /** Σ value added per good part (CNY) × good quantity. */
  'valueAdded',
  /** Energy (kWh) and water (m³) by what the meter measures (its `scope`). */
  'energyEquipmentKwh',
  'energyLineKwh',
  'energySiteKwh',
  'waterEquipmentM3',
  'waterLineM3',
  'waterSiteM3',
] as const;
export type ComponentKey = (typeof componentKeys)[number];
export type Components = Record<ComponentKey, number>;

/** Written out, so every accumulator has one shape and each add is a plain property access (the hot loop of `compare`). */
export function emptyComponents(): Components {
  return {
    producingMs: 0,
    idleMs: 0,
    downMs: 0,
    setupMs: 0,
    maintenanceMs: 0,
    failures: 0,
    producedQty: 0,
    goodQty: 0,
    scrapQty: 0,
    idealMs: 0,
    valueAdded: 0,
    energyEquipmentKwh: 0,
    energyLineKwh: 0,
    energySiteKwh: 0,
    waterEquipmentM3: 0,
    waterLineM3: 0,
    waterSiteM3: 0,
  };
}

/** Adds `from` into `into`, component by component. */
export function addComponents(into: Components, from: Components): void {
  into.producingMs += from.producingMs;
  into.idleMs += from.idleMs;
  into.downMs += from.downMs;
  into.setupMs += from.setupMs;
  into.maintenanceMs += from.maintenanceMs;
  into.failures += from.failures;
  into.producedQty += from.producedQty;
  into.goodQty += from.goodQty;
  into.scrapQty += from.scrapQty;
  into.idealMs += from.idealMs;
  into.valueAdded += from.valueAdded;
  into.energyEquipmentKwh += from.energyEquipmentKwh;
  into.energyLineKwh += from.energyLineKwh;
  into.energySiteKwh += from.energySiteKwh;
  into.waterEquipmentM3 += from.waterEquipmentM3;
  into.waterLineM3 += from.waterLineM3;
  into.waterSiteM3 += from.waterSiteM3;
}

export interface RollupKey {
  site: string;
  line: string;
  equipment: string;
  /** Start of the minute (or hour, or query window), ms since the epoch, aligned to its length. */
  start: number;
  /** Whether the time lies in the site's planned operation time (its shift calendar). */
  planned: boolean;
}

export type RollupRow = RollupKey & Components;

/**
 * Rollup rows of one site as columns, row `i` being (`start[i]`, `line[i]`, …): what the store
 * reads and compare sums, with no object per row.
 */
export interface RollupColumns {
  site: string;
  start: Float64Array;
  line: string[];
  equipment: string[];
  /** 1 for a row in planned operation time, else 0. */
  planned: Float64Array;
  components: Record<ComponentKey, Float64Array>;
}

/** A good-quality scalar sample of a role point. */
export interface ScalarSample {
  ts: number;
  value: number | boolean | string;
}

/** One point's good-quality scalar samples as columns, oldest first. */
export interface ScalarSeries {
  ts: number[];
  value: (number | boolean | string)[];
}

/** A point feeding the KPIs, with its role and the factor that turns its unit into the role's (kWh, kW, m³, s). */
export interface RolePoint<Role extends KpiRole = KpiRole> {
  pointId: string;
  point: string;
  role: Role;
  /** Multiplies the point's values into the role's unit (e.g. 0.001 for Wh → kWh); 1 when already in it. */
  scale: number;
}

/** The role points of one equipment. */
export interface EquipmentPlan {
  site: string;
  line: string;
  equipment: string;
  state?: RolePoint<MachineStateRole>;
  goodCounts: RolePoint[];
  rejectCounts: RolePoint[];
  totalCounts: RolePoint[];
  idealCycleTime?: RolePoint;
  /** From `idealCycleTimeS` of a count role, when no point gives it. */
  idealCycleTimeS?: number;
  unitValue?: RolePoint;
  /** From `unitValue` of a count role, when no point gives it. */
  unitValueConstant?: number;
  energy: RolePoint[];
  water: RolePoint[];
}

/** The role points of a site, by equipment, with what could not be used and why. */
export interface SitePlan {
  site: string;
  equipment: EquipmentPlan[];
  /** Every role point's id, for reading its samples. */
  pointIds: string[];
  /** E.g. two machine-state points on one equipment (the first by point id is used), an unknown unit. */
  warnings: string[];
}
