/**
 * The collector's HTTP API (fastify): health, sites, latest values, series (raw or aggregated),
 * the registry (gateways, points), sequence gaps, dead letters, the KPI routes (cloud/kpi/kpi-routes.ts),
 * the live site events (cloud/live/site-events.ts), Prometheus metrics, and the web console's files
 * (cloud/console-static.ts).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { Identifier, parsePointId } from '../gateway/schema/index.js';
import { aggregateFunctions, windowSizes } from './aggregate.js';
import { type AccessOptions, registerAccess } from './auth/access.js';
import { registerAdminRoutes } from './auth/admin-routes.js';
import { registerCommandRoutes } from './commands/command-routes.js';
import type { CommandSender } from './commands/command-sender.js';
import { defaultConsoleDir, registerConsoleStatic } from './console-static.js';
import type { KpiConfig } from './kpi/config.js';
import { registerKpiRoutes } from './kpi/kpi-routes.js';
import { SiteEventHub } from './live/site-events.js';
import type { CollectorMetrics } from './metrics.js';
import { NetworkConfig } from './network/config.js';
import { registerNetworkRoutes } from './network/projects-route.js';
import type { QueryLimits } from './query/query-errors.js';
import {
  answerQuery,
  ListLimit,
  MillisParam,
  parseRequest,
  refuse,
  wholeNumberParam,
} from './query-params.js';
import type { TelemetryStore } from './store/store.js';

/** Most samples one series request returns; the response says `truncated` when there were more. */
export const MAX_SERIES_SAMPLES = 10_000;
const DEFAULT_WINDOW_MS = 60 * 60 * 1000;

const SitesQuery = z.strictObject({});

const SiteQuery = z.strictObject({ site: Identifier });

const PointIdParam = z.string().transform((id, ctx) => {
  const parsed = parsePointId(id);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: 'expected a point id site/line/equipment/point' });
    return z.NEVER;
  }
  return { id, site: parsed.site };
});

const SeriesQuery = z
  .strictObject({
    point: PointIdParam,
    from: MillisParam.optional(),
    to: MillisParam.optional(),
    limit: wholeNumberParam(1, MAX_SERIES_SAMPLES).optional(),
    aggregate: z.enum(aggregateFunctions).optional(),
    window: z.enum(Object.keys(windowSizes) as [WindowName, ...WindowName[]]).optional(),
  })
  .transform((query, ctx) => {
    const to = query.to ?? Date.now();
    const from = query.from ?? Math.max(0, to - DEFAULT_WINDOW_MS);
    if (from > to) ctx.addIssue({ code: 'custom', path: ['from'], message: 'from must not be after to' });
    if ((query.aggregate === undefined) !== (query.window === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['window'], message: 'aggregate and window go together' });
    }
    const aggregation =
      query.aggregate && query.window ? { fn: query.aggregate, window: query.window } : undefined;
    const { id: pointId, site } = query.point;
    return { pointId, site, from, to, limit: query.limit ?? MAX_SERIES_SAMPLES, aggregation };
  });

type WindowName = keyof typeof windowSizes;

const DeadLetterQuery = z.strictObject({ reason: z.string().max(64).optional(), limit: ListLimit });

const GapsQuery = z.strictObject({ gateway: Identifier, limit: ListLimit });

export interface ApiDependencies {
  store: TelemetryStore;
  metrics: CollectorMetrics;
  logger: Logger;
  brokerConnected: () => boolean;
  auth: AccessOptions['auth'];
  allowedHosts: AccessOptions['allowedHosts'];
  /** Absent when commands are off (no signing key). */
  commandSender: CommandSender | undefined;
  ackTimeoutMs: number;
  limits: QueryLimits;
  /** The collector's `kpi` block (calendars per site). */
  kpi: KpiConfig;
  /** The collector's `network` block (the demonstration projects; default: Column 5's targets only). */
  network?: NetworkConfig;
  /** The live site events behind GET /api/v1/events (default: the config's defaults); closed at preClose. */
  events?: SiteEventHub;
  /** The built console's folder, served at `/` (default: dist/console/ of this installation). */
  consoleDir?: string;
}

export function buildApi(deps: ApiDependencies): FastifyInstance {
  const { store, metrics, logger, limits } = deps;
  const app = Fastify({ logger: false });

  app.setErrorHandler((error, request, reply) => {
    logger.error({ err: error, url: request.url }, 'HTTP request failed');
    void reply.code(500).send({ error: 'internal error' });
  });

  registerAccess(app, { accounts: store.accounts, auth: deps.auth, allowedHosts: deps.allowedHosts, logger });
  registerAdminRoutes(app, store.accounts, logger);
  registerCommandRoutes(app, {
    store,
    commandLog: store.commandLog,
    sender: deps.commandSender,
    ackTimeoutMs: deps.ackTimeoutMs,
    brokerConnected: deps.brokerConnected,
  });

  app.get('/api/v1/health', { config: { access: 'public' } }, async (_request, reply) => {
    let storeUp = true;
    try {
      await store.ping();
    } catch {
      storeUp = false;
    }
    const brokerUp = deps.brokerConnected();
    const body = {
      status: storeUp && brokerUp ? 'ok' : 'degraded',
      store: storeUp ? 'up' : 'down',
      broker: brokerUp ? 'connected' : 'disconnected',
    };
    return reply.code(storeUp && brokerUp ? 200 : 503).send(body);
  });

  app.get('/api/v1/sites', async (request, reply) => {
    if (!parseRequest(SitesQuery, request.query, reply)) return reply;
    return store.listSites();
  });

  /** `{ site, points }` of one site; 404 for an unknown one. */
  const pointsOfSite = (path: string, read: (site: string) => Promise<unknown[] | undefined>) =>
    app.get(path, async (request, reply) => {
      const query = parseRequest(SiteQuery, request.query, reply);
      if (!query) return reply;
      const points = await read(query.site);
      if (!points) return reply.code(404).send({ error: `unknown site "${query.site}"` });
      return { site: query.site, points };
    });
  pointsOfSite('/api/v1/latest', (site) => store.latest(site));
  pointsOfSite('/api/v1/points', (site) => store.points(site));

  app.get('/api/v1/series', async (request, reply) => {
    const query = parseRequest(SeriesQuery, request.query, reply);
    if (!query) return reply;
    return answerQuery(reply, async () => {
      if (!query.aggregation) {
        const series = await store.series(query);
        if (!series) return reply.code(404).send({ error: `unknown point "${query.pointId}"` });
        return series;
      }
      const { fn, window } = query.aggregation;
      const windowMs = windowSizes[window];
      const buckets = Math.floor(query.to / windowMs) - Math.floor(query.from / windowMs) + 1;
      if (buckets > limits.maxBuckets) {
        return refuse(
          reply,
          400,
          'maxBuckets',
          `the range spans ${buckets} windows of ${window}, more than ${limits.maxBuckets} (api.limits.maxBuckets): narrow it or use a longer window`,
        );
      }
      const series = await store.aggregateSeries({
        ...query,
        fn,
        windowMs,
        maxSamples: limits.maxSamplesPerQuery,
      });
      if (!series) return reply.code(404).send({ error: `unknown point "${query.pointId}"` });
      const { samples, truncated, ...about } = series;
      return { ...about, aggregate: fn, window, samples, truncated };
    });
  });

  registerKpiRoutes(app, { store, limits, kpi: deps.kpi });
  registerNetworkRoutes(app, { store, network: deps.network ?? NetworkConfig.parse({}) });

  app.get('/api/v1/gateways', async (request, reply) => {
    if (!parseRequest(SitesQuery, request.query, reply)) return reply;
    return store.gateways();
  });

  app.get('/api/v1/gaps', async (request, reply) => {
    const query = parseRequest(GapsQuery, request.query, reply);
    if (!query) return reply;
    return { gateway: query.gateway, ...(await store.gaps(query.gateway, query.limit)) };
  });

  app.get('/api/v1/dead-letters', async (request, reply) => {
    const query = parseRequest(DeadLetterQuery, request.query, reply);
    if (!query) return reply;
    return store.deadLetters({
      limit: query.limit,
      ...(query.reason !== undefined && { reason: query.reason }),
    });
  });

  const events = deps.events ?? new SiteEventHub({ store, logger, staleAfterMs: 30_000, maxClients: 50 });
  events.register(app);
  app.addHook('preClose', async () => events.close());

  app.get('/metrics', { config: { access: 'metrics' } }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  registerConsoleStatic(app, { dir: deps.consoleDir ?? defaultConsoleDir() });

  return app;
}
