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
import { addComponents, type Components, emptyComponents, type RollupRow, type SitePlan } from './model.js';

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

export function emptySums(): EntitySums {
  return { planned: emptyComponents(), all: emptyComponents(), energyKwh: 0, waterM3: 0 };
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
  /** What a row adds to its entity's meter at this level, after scope precedence. */
  const meterOf = (row: RollupRow, meter: Meter): number => {
    const column = columns[meter];
    const lineValue = scoped.has(`${meter}|line|${row.site}/${row.line}`)
      ? row[column.line]
      : row[column.equipment];
    switch (level) {
      case 'equipment':
        return row[column.equipment];
      case 'line':
        return lineValue;
      default:
        return scoped.has(`${meter}|site|${row.site}`) ? row[column.site] : lineValue;
    }
  };
  const result = new Map<string, EntitySummary>();
  for (const row of rows) {
    const id = entityIdOf(level, row, context.projectOf);
    if (id === undefined) continue;
    let summary = result.get(id);
    if (!summary) {
      summary = { total: emptySums(), windows: new Map() };
      result.set(id, summary);
    }
    let window = summary.windows.get(row.start);
    if (!window) {
      window = emptySums();
      summary.windows.set(row.start, window);
    }
    const energy = meterOf(row, 'energy');
    const water = meterOf(row, 'water');
    for (const sums of [summary.total, window]) {
      addComponents(sums.all, row);
      if (row.planned) addComponents(sums.planned, row);
      sums.energyKwh += energy;
      sums.waterM3 += water;
    }
  }
  return result;
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
