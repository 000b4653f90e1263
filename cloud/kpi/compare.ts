/**
 * Plant comparison from the rollups: the selected sites' rollup rows summed per entity of the
 * asked level (project, site, line, equipment) into aligned windows, each KPI a ratio of the sums
 * (see definitions.ts); completeness from the batches of the sites' gateways. Nothing here reads a
 * raw sample, so a year of comparison costs what its rollup rows cost.
 */
import type { Region } from '../../gateway/schema/index.js';
import type { SiteSummary, TelemetryStore } from '../store/store.js';
import { type EntitySums, type KpiName, kpiValuesOf } from './definitions.js';
import type { EquipmentPlan, SitePlan } from './model.js';
import { planSite } from './plan.js';
import { emptySums, type Level, summariseColumns } from './summarise.js';

export interface CompareRequest {
  kpis: KpiName[];
  level: Level;
  /** Sites asked by id and by project; both absent: every site. */
  sites: string[] | undefined;
  projects: string[] | undefined;
  /** Start of the first window and the last ms of the last one (windows aligned to `windowMs`). */
  from: number;
  to: number;
  windowMs: number;
}

export interface CompareLimits {
  /** Sites one comparison may cover (`api.limits.maxSites`). */
  maxSites: number;
  /** Entity × window cells one comparison may answer (`api.limits.maxBuckets`). */
  maxBuckets: number;
}

export type KpiValues = Partial<Record<KpiName, number | null>>;

export interface CompareEntity {
  id: string;
  level: Level;
  /** The site's region; a project spanning regions lists them, e.g. `BJ,HE`. */
  region: string;
  project: string;
  site?: string;
  line?: string;
  equipment?: string;
  /** The site's name, at site level. */
  name?: string;
  /** Over the whole range. */
  values: KpiValues;
  windows: { start: number; values: KpiValues }[];
}

export interface CompareAnswer {
  from: number;
  to: number;
  windowMs: number;
  level: Level;
  kpis: KpiName[];
  entities: CompareEntity[];
}

/** A comparison not answered: an unknown site or project (404), or over a limit (400, naming it). */
export interface CompareRefusal {
  refused: { status: 400 | 404; error: string; limit?: 'maxSites' | 'maxBuckets' };
}

export type CompareOutcome = { answer: CompareAnswer } | CompareRefusal;

/** Received and expected batches, summed over sites for a project. */
interface BatchCount {
  received: number;
  expected: number;
}

/** The sums of a window without rows (only read). */
const noRows = emptySums();

export async function compare(
  store: TelemetryStore,
  request: CompareRequest,
  limits: CompareLimits,
): Promise<CompareOutcome> {
  const { level, windowMs } = request;
  const selected = selectSites(await store.listSites(), request);
  if ('refused' in selected) return selected;
  const sites = selected.sites;
  if (sites.length > limits.maxSites) {
    return refuse(
      400,
      `${sites.length} sites asked, at most ${limits.maxSites} per request (api.limits.maxSites): name sites or projects`,
      'maxSites',
    );
  }

  const plans = new Map<string, SitePlan>();
  for (const site of sites) plans.set(site.id, planSite(site.id, (await store.points(site.id)) ?? []));
  const starts: number[] = [];
  for (let start = request.from; start <= request.to; start += windowMs) starts.push(start);
  const entities = entitiesOf(level, sites, plans);
  if (entities.length * starts.length > limits.maxBuckets) {
    return refuse(
      400,
      `${entities.length} entities × ${starts.length} windows is more than ${limits.maxBuckets} values per KPI (api.limits.maxBuckets): narrow the range, use a longer window or a higher level`,
      'maxBuckets',
    );
  }

  const rows = await store.readRollupColumns({
    sites: sites.map((s) => s.id),
    from: request.from,
    to: request.to,
    windowMs,
    // Levels above equipment need each line's sums only (meter precedence is decided per line).
    by: level === 'equipment' ? 'equipment' : 'line',
  });
  const projectOf = new Map(sites.map((s) => [s.id, s.project]));
  const summed = summariseColumns(level, rows, { plans, projectOf });
  // Rollups of equipment no longer in a plan (its roles were removed) still count where they were made.
  for (const id of summed.keys()) {
    if (!entities.some((e) => e.id === id)) {
      const extra = entityOfId(level, id, sites);
      if (extra) entities.push(extra);
    }
  }

  const batches =
    request.kpis.includes('completeness') && (level === 'site' || level === 'project')
      ? await batchCounts(store, sites, request, starts)
      : undefined;
  const completenessOf = (entity: CompareEntity, index: number | 'total'): number | null => {
    const siteIds =
      level === 'site' ? [entity.id] : sites.filter((s) => s.project === entity.id).map((s) => s.id);
    let received = 0;
    let expected = 0;
    for (const id of siteIds) {
      const count = index === 'total' ? batches?.get(id)?.total : batches?.get(id)?.windows[index];
      received += count?.received ?? 0;
      expected += count?.expected ?? 0;
    }
    return expected > 0 ? received / expected : null;
  };
  const valuesOf = (
    entity: CompareEntity,
    counted: boolean,
    sums: EntitySums | undefined,
    index: number | 'total',
  ) => {
    const all = kpiValuesOf(sums ?? noRows);
    const values: KpiValues = {};
    for (const kpi of request.kpis) {
      if (kpi === 'completeness') values[kpi] = batches ? completenessOf(entity, index) : null;
      // Without a count role the output is unknown, not 0 (kpi-sources says what is missing).
      else values[kpi] = kpi === 'output' && !counted ? null : all[kpi];
    }
    return values;
  };
  for (const entity of entities) {
    const sums = summed.get(entity.id);
    const counted = equipmentOf(entity, sites, plans).some(
      (e) => e.goodCounts.length + e.totalCounts.length > 0,
    );
    entity.values = valuesOf(entity, counted, sums?.total, 'total');
    entity.windows = starts.map((start, index) => ({
      start,
      values: valuesOf(entity, counted, sums?.windows.get(start), index),
    }));
  }
  return { answer: { from: request.from, to: request.to, windowMs, level, kpis: request.kpis, entities } };
}

function refuse(status: 400 | 404, error: string, limit?: 'maxSites' | 'maxBuckets'): CompareRefusal {
  return { refused: { status, error, ...(limit && { limit }) } };
}

/** The sites named (by id or by project), in the registry's order; every site when none is named. */
function selectSites(all: SiteSummary[], request: CompareRequest): { sites: SiteSummary[] } | CompareRefusal {
  if (!request.sites && !request.projects) return { sites: all };
  const known = new Set(all.map((s) => s.id));
  const unknownSite = request.sites?.find((site) => !known.has(site));
  if (unknownSite) return refuse(404, `unknown site "${unknownSite}"`);
  const projects = new Set(all.map((s) => s.project));
  const unknownProject = request.projects?.find((project) => !projects.has(project));
  if (unknownProject) return refuse(404, `unknown project "${unknownProject}"`);
  const sites = new Set(request.sites);
  const ofProjects = new Set(request.projects);
  return { sites: all.filter((s) => sites.has(s.id) || ofProjects.has(s.project)) };
}

/** The entities of a level the selected sites have, before any values: sites always, lines and equipment from the plans. */
function entitiesOf(
  level: Level,
  sites: SiteSummary[],
  plans: ReadonlyMap<string, SitePlan>,
): CompareEntity[] {
  const entities: CompareEntity[] = [];
  const base = (id: string, region: string, project: string) => ({
    id,
    level,
    region,
    project,
    values: {},
    windows: [],
  });
  if (level === 'project') {
    const regions = new Map<string, Region[]>();
    for (const site of sites) {
      const seen = regions.get(site.project) ?? [];
      if (!seen.includes(site.region)) seen.push(site.region);
      regions.set(site.project, seen);
    }
    for (const [project, projectRegions] of regions)
      entities.push(base(project, projectRegions.join(','), project));
    return entities;
  }
  for (const site of sites) {
    const ofSite = { site: site.id };
    if (level === 'site') {
      entities.push({ ...base(site.id, site.region, site.project), ...ofSite, name: site.name });
      continue;
    }
    const equipment = plans.get(site.id)?.equipment ?? [];
    if (level === 'line') {
      for (const line of new Set(equipment.map((e) => e.line)))
        entities.push({ ...base(`${site.id}/${line}`, site.region, site.project), ...ofSite, line });
      continue;
    }
    for (const e of equipment) {
      entities.push({
        ...base(`${site.id}/${e.line}/${e.equipment}`, site.region, site.project),
        ...ofSite,
        line: e.line,
        equipment: e.equipment,
      });
    }
  }
  return entities;
}

/** The equipment (with role points) an entity covers. */
function equipmentOf(
  entity: CompareEntity,
  sites: SiteSummary[],
  plans: ReadonlyMap<string, SitePlan>,
): EquipmentPlan[] {
  const siteIds =
    entity.site !== undefined ? [entity.site] : sites.filter((s) => s.project === entity.id).map((s) => s.id);
  return siteIds
    .flatMap((site) => plans.get(site)?.equipment ?? [])
    .filter(
      (e) =>
        (entity.line === undefined || e.line === entity.line) &&
        (entity.equipment === undefined || e.equipment === entity.equipment),
    );
}

/** A line or equipment entity from its id (`site/line[/equipment]`), for rollups outside the plans. */
function entityOfId(level: Level, id: string, sites: SiteSummary[]): CompareEntity | undefined {
  const [siteId, line, equipment] = id.split('/');
  const site = sites.find((s) => s.id === siteId);
  if (!site || line === undefined || (level !== 'line' && level !== 'equipment')) return undefined;
  return {
    id,
    level,
    region: site.region,
    project: site.project,
    site: site.id,
    line,
    ...(level === 'equipment' && equipment !== undefined && { equipment }),
    values: {},
    windows: [],
  };
}

/** Batches received and expected per site, over the whole range and per window (the batch rollups, one read). */
async function batchCounts(
  store: TelemetryStore,
  sites: SiteSummary[],
  request: CompareRequest,
  starts: number[],
): Promise<Map<string, { total: BatchCount; windows: BatchCount[] }>> {
  const read = await store.completenessWindows(
    sites.map((site) => site.id),
    request.from,
    request.to,
    request.windowMs,
  );
  const countOf = (c?: { expectedBatches: number; receivedBatches: number }): BatchCount => ({
    received: c?.receivedBatches ?? 0,
    expected: c?.expectedBatches ?? 0,
  });
  const counts = new Map<string, { total: BatchCount; windows: BatchCount[] }>();
  for (const [site, { total, windows }] of read) {
    counts.set(site, { total: countOf(total), windows: starts.map((start) => countOf(windows.get(start))) });
  }
  return counts;
}
