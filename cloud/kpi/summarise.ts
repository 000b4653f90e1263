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
import {
  addComponents,
  type ComponentKey,
  type Components,
  componentKeys,
  emptyComponents,
  type RollupColumns,
  type RollupKey,
  type RollupRow,
  type SitePlan,
} from './model.js';

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
  row: Pick<RollupKey, 'site' | 'line' | 'equipment'>,
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
type ComponentColumns = Record<ComponentKey, Float64Array>;
const meters = ['energy', 'water'] as const;
const columns = {
  energy: { equipment: 'energyEquipmentKwh', line: 'energyLineKwh', site: 'energySiteKwh' },
  water: { equipment: 'waterEquipmentM3', line: 'waterLineM3', site: 'waterSiteM3' },
} as const satisfies Record<Meter, Record<'equipment' | 'line' | 'site', keyof Components>>;

/** Which meters of a scope a line or a site has. */
type HasMeters = Record<Meter, boolean>;

/** What the rows of one line share: its meters, its site's (one object per site), the entity it adds to. */
interface LineEntry {
  line: HasMeters;
  site: HasMeters;
  /** Above the equipment level: the summary of the line's entity, null outside any (no project), once looked up. */
  entity?: EntitySummary | null;
  /** At the equipment level: the summary of each of its equipment. */
  equipment: Map<string, EntitySummary | null>;
}

/**
 * The lines of the rows by site and line, looked up without building a key, the previous row's line
 * first (rows come grouped by site and by window, a few lines each).
 */
class Lines {
  private readonly sites = new Map<string, { meters: HasMeters; lines: Map<string, LineEntry> }>();
  private lastSite: string | undefined;
  private lastLine: string | undefined;
  private lastEntry: LineEntry | undefined;

  of(site: string, line: string): LineEntry {
    if (this.lastEntry && this.lastLine === line && this.lastSite === site) return this.lastEntry;
    let ofSite = this.sites.get(site);
    if (!ofSite) {
      ofSite = { meters: { energy: false, water: false }, lines: new Map() };
      this.sites.set(site, ofSite);
    }
    let entry = ofSite.lines.get(line);
    if (!entry) {
      entry = { line: { energy: false, water: false }, site: ofSite.meters, equipment: new Map() };
      ofSite.lines.set(line, entry);
    }
    this.lastSite = site;
    this.lastLine = line;
    this.lastEntry = entry;
    return entry;
  }
}

/** `summariseColumns` of rows. */
export function summarise(
  level: Level,
  rows: RollupRow[],
  context: SummaryContext,
): Map<string, EntitySummary> {
  return summariseColumns(level, columnsOf(rows), context);
}

/**
 * The summaries of the entities of `level` in `sites` (rollup rows as columns, a site each), in the
 * order their first rows come. Nothing is allocated per row, only per entity and window.
 */
export function summariseColumns(
  level: Level,
  sites: readonly RollupColumns[],
  context: SummaryContext,
): Map<string, EntitySummary> {
  const lines = scopedMeters(sites, context.plans);
  const result = new Map<string, EntitySummary>();
  const summaryOf = (id: string | undefined): EntitySummary | null => {
    if (id === undefined) return null;
    let summary = result.get(id);
    if (!summary) {
      summary = { total: emptySums(), windows: new Map() };
      result.set(id, summary);
    }
    return summary;
  };
  /** What row `at` adds to its entity's meter at this level, after scope precedence. */
  const meterOf = (components: ComponentColumns, at: number, entry: LineEntry, meter: Meter): number => {
    const column = columns[meter];
    if (level === 'equipment') return components[column.equipment][at] as number;
    if (level !== 'line' && entry.site[meter]) return components[column.site][at] as number;
    return (entry.line[meter] ? components[column.line][at] : components[column.equipment][at]) as number;
  };
  // Rows come window by window: the previous row's window is often this one's.
  let lastSummary: EntitySummary | undefined;
  let lastWindow: EntitySums | undefined;
  let lastStart = Number.NaN;
  for (const { site, start, line, equipment, planned, components } of sites)
    for (let at = 0; at < start.length; at++) {
      const entry = lines.of(site, line[at] as string);
      const ofEquipment = equipment[at] as string;
      let summary = level === 'equipment' ? entry.equipment.get(ofEquipment) : entry.entity;
      if (summary === undefined) {
        const key = { site, line: line[at] as string, equipment: ofEquipment };
        summary = summaryOf(entityIdOf(level, key, context.projectOf));
        if (level === 'equipment') entry.equipment.set(ofEquipment, summary);
        else entry.entity = summary;
      }
      if (!summary) continue;
      const windowStart = start[at] as number;
      let window =
        summary === lastSummary && windowStart === lastStart ? lastWindow : summary.windows.get(windowStart);
      if (!window) {
        window = emptySums();
        summary.windows.set(windowStart, window);
      }
      lastSummary = summary;
      lastStart = windowStart;
      lastWindow = window;
      addColumns(window.all, components, at);
      if (planned[at] === 1) addColumns(window.planned, components, at);
      window.energyKwh += meterOf(components, at, entry, 'energy');
      window.waterM3 += meterOf(components, at, entry, 'water');
    }
  // Totals from the windows (fewer than the rows).
  for (const { total, windows } of result.values())
    for (const window of windows.values()) {
      addComponents(total.all, window.all);
      addComponents(total.planned, window.planned);
      total.energyKwh += window.energyKwh;
      total.waterM3 += window.waterM3;
    }
  return result;
}

/** Zero sums (components of one shape, see `emptyComponents`). */
export function emptySums(): EntitySums {
  return { planned: emptyComponents(), all: emptyComponents(), energyKwh: 0, waterM3: 0 };
}

/** Adds row `at` of `from`, as `addComponents`. */
function addColumns(into: Components, from: ComponentColumns, at: number): void {
  into.producingMs += from.producingMs[at] as number;
  into.idleMs += from.idleMs[at] as number;
  into.downMs += from.downMs[at] as number;
  into.setupMs += from.setupMs[at] as number;
  into.maintenanceMs += from.maintenanceMs[at] as number;
  into.failures += from.failures[at] as number;
  into.producedQty += from.producedQty[at] as number;
  into.goodQty += from.goodQty[at] as number;
  into.scrapQty += from.scrapQty[at] as number;
  into.idealMs += from.idealMs[at] as number;
  into.valueAdded += from.valueAdded[at] as number;
  into.energyEquipmentKwh += from.energyEquipmentKwh[at] as number;
  into.energyLineKwh += from.energyLineKwh[at] as number;
  into.energySiteKwh += from.energySiteKwh[at] as number;
  into.waterEquipmentM3 += from.waterEquipmentM3[at] as number;
  into.waterLineM3 += from.waterLineM3[at] as number;
  into.waterSiteM3 += from.waterSiteM3[at] as number;
}

/**
 * The lines of the rows (and of the plans), with the scoped meters each line and site has: declared
 * in a plan, or a scoped column with data in a row.
 */
function scopedMeters(sites: readonly RollupColumns[], plans: ReadonlyMap<string, SitePlan>): Lines {
  const lines = new Lines();
  for (const plan of plans.values())
    for (const equipment of plan.equipment)
      for (const point of [...equipment.energy, ...equipment.water]) {
        const { role } = point;
        if ((role.role !== 'energy' && role.role !== 'water') || role.scope === 'equipment') continue;
        lines.of(plan.site, equipment.line)[role.scope][role.role] = true;
      }
  for (const { site, line, components } of sites)
    for (let at = 0; at < line.length; at++) {
      const entry = lines.of(site, line[at] as string);
      for (const meter of meters) {
        if (components[columns[meter].line][at] !== 0) entry.line[meter] = true;
        if (components[columns[meter].site][at] !== 0) entry.site[meter] = true;
      }
    }
  return lines;
}

/** Rows as columns, a `RollupColumns` for each run of rows of one site (order kept). */
function columnsOf(rows: readonly RollupRow[]): RollupColumns[] {
  const runs: RollupRow[][] = [];
  for (const row of rows) {
    const run = runs.at(-1);
    if (run && run[0]?.site === row.site) run.push(row);
    else runs.push([row]);
  }
  return runs.map((run) => ({
    site: run[0]?.site ?? '',
    start: Float64Array.from(run, (row) => row.start),
    line: run.map((row) => row.line),
    equipment: run.map((row) => row.equipment),
    planned: Float64Array.from(run, (row) => (row.planned ? 1 : 0)),
    components: Object.fromEntries(
      componentKeys.map((key) => [key, Float64Array.from(run, (row) => row[key])]),
    ) as ComponentColumns,
  }));
}
