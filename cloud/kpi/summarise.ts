/**
 * Rollup rows summed per entity of a level (project, site, line, equipment), per window and over the
 * whole range, ready for `kpiValuesOf`. Meters count once, by what they measure:
 * - equipment: its `equipment`-scope meters;
 * - line: its `line`-scope meters if it has any, else the sum of its equipment meters;
 * - site: its `site`-scope meters if it has any, else the sum of its lines;
 * - project: the sum of its sites.
 * "Has any" is what the site plan declares, or a scoped column with data in the rows read (a meter
 * since removed still counts for the time it measured).
 */
import type { EntitySums } from './definitions.js';
import type { Components, RollupRow, SitePlan } from './model.js';

export const levels = ['project', 'site', 'line', 'equipment'] as const;
export type Level = (typeof levels)[number];

export interface EntitySummary {
  total: EntitySums;
  /** By window start (the rows' `start`). */
  windows: Map<number, EntitySums>;
}

export interface SummaryContext {
  plans: ReadonlyMap<string, SitePlan>;
  /** Site → project; rows of a site without project are left out of the project level. */
  projectOf: ReadonlyMap<string, string>;
}

/** The id of the entity of `level` a row belongs to: project id, site id, `site/line`, `site/line/equipment`. */
export function entityIdOf(
  level: Level,
  row: RollupRow,
  projectOf: ReadonlyMap<string, string>,
): string | undefined {
  switch (level) {
    case 'project':
      return projectOf.get(row.site);
    case 'site':
      return row.site;
    case 'line':
      return `${row.site}/${row.line}`;
    case 'equipment':
      return `${row.site}/${row.line}/${row.equipment}`;
  }
}

type Meter = 'energy' | 'water';
const columns = {
  energy: { equipment: 'energyEquipmentKwh', line: 'energyLineKwh', site: 'energySiteKwh' },
  water: { equipment: 'waterEquipmentM3', line: 'waterLineM3', site: 'waterSiteM3' },
} as const satisfies Record<Meter, Record<'equipment' | 'line' | 'site', keyof Components>>;

export function summarise(
  level: Level,
  rows: RollupRow[],
  context: SummaryContext,
): Map<string, EntitySummary> {
  const scoped = scopedMeters(rows, context.plans);
  const usesMeters = new Map<string, { line: Record<Meter, boolean>; site: Record<Meter, boolean> }>();
  /** Which scoped meters a row's line and site count by (looked up once per line). */
  const meterUseOf = (row: RollupRow) => {
    const key = `${row.site}/${row.line}`;
    let use = usesMeters.get(key);
    if (!use) {
      const has = (meter: Meter, scope: string) => scoped.has(`${meter}|${scope}`);
      use = {
        line: { energy: has('energy', `line|${key}`), water: has('water', `line|${key}`) },
        site: { energy: has('energy', `site|${row.site}`), water: has('water', `site|${row.site}`) },
      };
      usesMeters.set(key, use);
    }
    return use;
  };
  /** What a row adds to its entity's meter at this level, after scope precedence. */
  const meterOf = (row: RollupRow, meter: Meter): number => {
    const column = columns[meter];
    if (level === 'equipment') return row[column.equipment];
    const use = meterUseOf(row);
    if (level !== 'line' && use.site[meter]) return row[column.site];
    return use.line[meter] ? row[column.line] : row[column.equipment];
  };
  const result = new Map<string, EntitySummary>();
  // The store answers rows grouped by equipment: the previous row's entity is usually this one's.
  let previous: RollupRow | undefined;
  let summary: EntitySummary | undefined;
  for (const row of rows) {
    if (
      !summary ||
      !previous ||
      row.site !== previous.site ||
      row.line !== previous.line ||
      row.equipment !== previous.equipment
    ) {
      const id = entityIdOf(level, row, context.projectOf);
      if (id === undefined) {
        summary = undefined;
        continue;
      }
      summary = result.get(id);
      if (!summary) {
        summary = { total: emptySums(), windows: new Map() };
        result.set(id, summary);
      }
      previous = row;
    }
    let window = summary.windows.get(row.start);
    if (!window) {
      window = emptySums();
      summary.windows.set(row.start, window);
    }
    addRow(window.all, row);
    if (row.planned) addRow(window.planned, row);
    window.energyKwh += meterOf(row, 'energy');
    window.waterM3 += meterOf(row, 'water');
  }
  // Totals from the windows (fewer than the rows).
  for (const { total, windows } of result.values())
    for (const window of windows.values()) {
      addRow(total.all, window.all);
      addRow(total.planned, window.planned);
      total.energyKwh += window.energyKwh;
      total.waterM3 += window.waterM3;
    }
  return result;
}

/**
 * Zero sums whose components are one object literal, and adding spelt out key by key: every
 * accumulator has one shape and every add is a plain property access (summing a month of hour rows
 * of many sites is the hot loop of `compare`).
 */
export function emptySums(): EntitySums {
  return { planned: zeroComponents(), all: zeroComponents(), energyKwh: 0, waterM3: 0 };
}

function zeroComponents(): Components {
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

function addRow(into: Components, from: Components): void {
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

/** Keys `meter|line|site/line` and `meter|site|site` of the lines and sites that have scoped meters. */
function scopedMeters(rows: RollupRow[], plans: ReadonlyMap<string, SitePlan>): Set<string> {
  const scoped = new Set<string>();
  for (const plan of plans.values())
    for (const equipment of plan.equipment)
      for (const point of [...equipment.energy, ...equipment.water]) {
        const { role } = point;
        if ((role.role !== 'energy' && role.role !== 'water') || role.scope === 'equipment') continue;
        scoped.add(
          role.scope === 'line'
            ? `${role.role}|line|${plan.site}/${equipment.line}`
            : `${role.role}|site|${plan.site}`,
        );
      }
  for (const row of rows)
    for (const meter of ['energy', 'water'] as const) {
      if (row[columns[meter].line] !== 0) scoped.add(`${meter}|line|${row.site}/${row.line}`);
      if (row[columns[meter].site] !== 0) scoped.add(`${meter}|site|${row.site}`);
    }
  return scoped;
}
