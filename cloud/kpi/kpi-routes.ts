/**
 * The KPI routes of the collector's API (viewer role, like every query route):
 * - `GET /api/v1/compare`: KPIs per project, site, line or equipment over aligned windows, from the
 *   rollups, as JSON or CSV; every parameter optional (all sites, all KPIs, the last 24 h, 1 h windows);
 * - `GET /api/v1/kpis`: what each KPI means (formula, unit, ISO 22400-2 reference, roles needed);
 * - `GET /api/v1/kpi-sources?site=S`: which points feed which role per equipment, the site's calendar,
 *   and per KPI the roles missing, so a team sees why a KPI is null.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Identifier } from '../../gateway/schema/index.js';
import { windowSizes } from '../aggregate.js';
import type { QueryLimits } from '../query/query-errors.js';
import { answerQuery, commaList, MillisParam, parseRequest, refuse } from '../query-params.js';
import type { TelemetryStore } from '../store/store.js';
import { calendarNameOf } from './calendar.js';
import { type CompareAnswer, compare } from './compare.js';
import type { KpiConfig } from './config.js';
import { toCsv } from './csv.js';
import { kpiDefinitions, kpiNames, missingRoles } from './definitions.js';
import { type EquipmentPlan, HOUR_MS, type RolePoint } from './model.js';
import { planSite } from './plan.js';
import { levels } from './summarise.js';

/** Windows one comparison may span. */
export const MAX_COMPARE_WINDOWS = 1000;
const DAY_MS = 24 * HOUR_MS;
/** The range compared when the request names none. */
export const DEFAULT_COMPARE_RANGE_MS = DAY_MS;

type WindowName = keyof typeof windowSizes;
const windowNames = Object.keys(windowSizes) as [WindowName, ...WindowName[]];

const KpiName = z.enum(kpiNames, {
  error: (issue) => `unknown KPI "${String(issue.input)}" (known: ${kpiNames.join(', ')})`,
});

const CompareQuery = z
  .strictObject({
    kpi: commaList(KpiName, 'KPI').optional(),
    level: z
      .enum(levels, {
        error: (issue) => `unknown level "${String(issue.input)}" (known: ${levels.join(', ')})`,
      })
      .default('site'),
    sites: commaList(Identifier, 'site').optional(),
    projects: commaList(Identifier, 'project').optional(),
    from: MillisParam.optional(),
    to: MillisParam.optional(),
    window: z.enum(windowNames).default('1h'),
    format: z.enum(['json', 'csv']).optional(),
  })
  .transform((query, ctx) => {
    const windowMs = windowSizes[query.window];
    const to = query.to ?? Date.now();
    const from = query.from ?? Math.max(0, to - DEFAULT_COMPARE_RANGE_MS);
    if (from > to) ctx.addIssue({ code: 'custom', path: ['from'], message: 'from must not be after to' });
    // Windows are aligned to multiples of their length since the epoch; the range widens to whole windows.
    const first = Math.floor(from / windowMs) * windowMs;
    const last = Math.floor(to / windowMs) * windowMs;
    const windows = (last - first) / windowMs + 1;
    if (windows > MAX_COMPARE_WINDOWS) {
      ctx.addIssue({
        code: 'custom',
        path: ['window'],
        message: `the range spans ${windows} windows of ${query.window}, at most ${MAX_COMPARE_WINDOWS} per request: narrow it or use a longer window`,
      });
    }
    return {
      kpis: query.kpi ?? [...kpiNames],
      level: query.level,
      sites: query.sites,
      projects: query.projects,
      from: first,
      to: last + windowMs - 1,
      window: query.window,
      windowMs,
      format: query.format,
    };
  });

const SiteQuery = z.strictObject({ site: Identifier });
const NoQuery = z.strictObject({});

export interface KpiRouteDependencies {
  store: TelemetryStore;
  limits: QueryLimits;
  /** The collector's `kpi` block: which calendar each site runs on. */
  kpi: KpiConfig;
}

export function registerKpiRoutes(app: FastifyInstance, deps: KpiRouteDependencies): void {
  const { store, limits } = deps;

  app.get('/api/v1/compare', async (request, reply) => {
    const query = parseRequest(CompareQuery, request.query, reply);
    if (!query) return reply;
    // Checked before the store is asked, so a long list costs nothing.
    if (query.sites && query.sites.length > limits.maxSites) {
      return refuse(
        reply,
        400,
        'maxSites',
        `${query.sites.length} sites asked, at most ${limits.maxSites} per request (api.limits.maxSites)`,
      );
    }
    // Minute rows are pruned past the retention (hour rows stay): say so rather than answer nulls.
    const { minuteRetentionDays } = deps.kpi.rollups;
    const minutesKeptFrom = Math.floor((Date.now() - minuteRetentionDays * DAY_MS) / HOUR_MS) * HOUR_MS;
    if (query.windowMs < HOUR_MS && query.from < minutesKeptFrom) {
      return refuse(
        reply,
        400,
        undefined,
        `minute rollups are kept ${minuteRetentionDays} days (kpi.rollups.minuteRetentionDays), from ${new Date(minutesKeptFrom).toISOString()}: use window=1h for older ranges`,
      );
    }
    return answerQuery(reply, async () => {
      const outcome = await compare(store, query, limits);
      if ('refused' in outcome) {
        const { status, limit, error } = outcome.refused;
        return refuse(reply, status, limit, error);
      }
      const { windowMs: _, ...answer } = outcome.answer;
      if (query.format === 'csv' || (query.format === undefined && acceptsCsv(request))) {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="jjj-compare-${answer.from}-${answer.to}.csv"`)
          .send(compareCsv(outcome.answer));
      }
      return { ...answer, window: query.window };
    });
  });

  app.get('/api/v1/kpis', async (request, reply) => {
    if (!parseRequest(NoQuery, request.query, reply)) return reply;
    return { kpis: kpiNames.map((name) => ({ name, ...kpiDefinitions[name] })) };
  });

  app.get('/api/v1/kpi-sources', async (request, reply) => {
    const query = parseRequest(SiteQuery, request.query, reply);
    if (!query) return reply;
    const points = await store.points(query.site);
    if (!points) return refuse(reply, 404, undefined, `unknown site "${query.site}"`);
    const plan = planSite(query.site, points);
    return {
      site: query.site,
      calendar: calendarNameOf(deps.kpi, query.site) ?? '24/7',
      equipment: plan.equipment.map(sourcesOf),
      missing: Object.fromEntries(kpiNames.map((kpi) => [kpi, missingRoles(plan, kpi)])),
      warnings: plan.warnings,
    };
  });
}

/** True when the client asked for CSV in `Accept` (and did not say `format`). */
function acceptsCsv(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '')
    .split(',')
    .some((range) => range.split(';')[0]?.trim().toLowerCase() === 'text/csv');
}

/** One equipment's role points and constants, as `kpi-sources` lists them. */
function sourcesOf(plan: EquipmentPlan) {
  const source = (point: RolePoint) => ({
    role: point.role.role,
    pointId: point.pointId,
    scale: point.scale,
    declared: point.role,
  });
  const points = [
    plan.state,
    ...plan.goodCounts,
    ...plan.rejectCounts,
    ...plan.totalCounts,
    plan.idealCycleTime,
    plan.unitValue,
    ...plan.energy,
    ...plan.water,
  ].filter((point): point is RolePoint => point !== undefined);
  return {
    id: `${plan.site}/${plan.line}/${plan.equipment}`,
    line: plan.line,
    equipment: plan.equipment,
    sources: points.map(source),
    ...(plan.idealCycleTimeS !== undefined && { idealCycleTimeS: plan.idealCycleTimeS }),
    ...(plan.unitValueConstant !== undefined && { unitValue: plan.unitValueConstant }),
  };
}

/** One record per entity per window, then the entity's total over the range; times in RFC 3339 (UTC). */
function compareCsv(answer: CompareAnswer): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  const header = [
    'row',
    'id',
    'level',
    'region',
    'project',
    'site',
    'line',
    'equipment',
    'name',
    'start',
    'end',
    ...answer.kpis,
  ];
  const records = answer.entities.flatMap((entity) => {
    const about = [
      entity.id,
      entity.level,
      entity.region,
      entity.project,
      entity.site ?? null,
      entity.line ?? null,
      entity.equipment ?? null,
      entity.name ?? null,
    ];
    const kpiCells = (values: CompareAnswer['entities'][number]['values']) =>
      answer.kpis.map((kpi) => values[kpi] ?? null);
    return [
      ...entity.windows.map(({ start, values }) => [
        'window',
        ...about,
        iso(start),
        iso(start + answer.windowMs),
        ...kpiCells(values),
      ]),
      ['total', ...about, iso(answer.from), iso(answer.to + 1), ...kpiCells(entity.values)],
    ];
  });
  return toCsv(header, records);
}
