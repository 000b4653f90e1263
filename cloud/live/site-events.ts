/**
 * The live overview over server-sent events (`GET /api/v1/events`): on connect one `sites` event
 * with every site; then one `site` event per site whose state, last data time (to the second),
 * points, gateway, bad or uncertain points or completeness changed. Changes are found by polling the
 * store once a second while a client is connected (no coupling to ingest): `listSites()` and one
 * grouped read of the latest values' qualities (`qualityCounts()`); the completeness of every site
 * is read at most every 10 s (`completenessWindows()` over the batch rollups, in the read threads).
 * `: keepalive` comments keep idle proxies open.
 *
 * Each site (`LiveSite`): `{ id, name, nameZh, region, project, gateway, state: online|stale|offline,
 * lastTs, points, protocols, badPoints, uncertainPoints, completeness }` where
 * - `badPoints` / `uncertainPoints`: points whose newest sample has that quality;
 * - `completeness`: batches received ÷ batches expected (each gateway's seq numbers from the lowest to
 *   the highest it sent, per boot) of the site's gateways over the last hour (the current minute and
 *   the 59 before it), rounded down to 0.001 (so one missing batch never shows as 1); `null` when no
 *   numbered batch was sent in that hour.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { HOUR_MS, MINUTE_MS } from '../kpi/model.js';
import type { Completeness, SiteQualityCounts, SiteSummary, TelemetryStore } from '../store/store.js';

export type SiteState = 'online' | 'stale' | 'offline';

/** One site as the console shows it. */
export interface LiveSite {
  id: string;
  name: string;
  nameZh: string | null;
  region: SiteSummary['region'];
  project: string;
  gateway: string;
  state: SiteState;
  lastTs: number | null;
  points: number;
  protocols: SiteSummary['protocols'];
  /** Points whose newest sample is bad. */
  badPoints: number;
  /** Points whose newest sample is uncertain. */
  uncertainPoints: number;
  /** Received ÷ expected batches over the last hour, 0…1 rounded down to 0.001; null when none was numbered. */
  completeness: number | null;
}

/** What the live view adds to a site of the registry: the qualities of its latest values and its completeness. */
export interface SiteHealth {
  quality?: SiteQualityCounts | undefined;
  completeness?: number | null | undefined;
}

export interface SiteEventsOptions {
  store: Pick<TelemetryStore, 'listSites' | 'qualityCounts' | 'completenessWindows'>;
  logger: Logger;
  /** An online gateway whose site has no sample for longer than this is `stale` (api.staleAfterMs). */
  staleAfterMs: number;
  /** Streams open at once; more are refused with 503 (api.limits.maxEventClients). */
  maxClients: number;
  pollMs?: number;
  /** How often the sites' completeness is read again (default 10 s). */
  completenessEveryMs?: number;
  keepaliveMs?: number;
  now?: () => number;
}

const POLL_MS = 1000;
const COMPLETENESS_EVERY_MS = 10_000;
const KEEPALIVE_MS = 15_000;

/** online / stale / offline of a site at `now`; a site never heard from since it came online is stale. */
export function siteState(site: SiteSummary, now: number, staleAfterMs: number): SiteState {
  if (!site.online) return 'offline';
  if (site.lastTs === null || now - site.lastTs > staleAfterMs) return 'stale';
  return 'online';
}

/** received ÷ expected, rounded down to 0.001; null when nothing was expected. */
export function completenessRatio(counts: Completeness | undefined): number | null {
  if (counts === undefined || counts.expectedBatches <= 0) return null;
  const received = Math.min(counts.receivedBatches, counts.expectedBatches);
  return Math.floor((received * 1000) / counts.expectedBatches) / 1000;
}

/** The last hour in whole minutes: the current minute and the 59 before it, inclusive bounds. */
export function lastHour(now: number): { from: number; to: number } {
  const to = Math.floor(now / MINUTE_MS) * MINUTE_MS + MINUTE_MS - 1;
  return { from: to + 1 - HOUR_MS, to };
}

export function liveSite(
  site: SiteSummary,
  now: number,
  staleAfterMs: number,
  health: SiteHealth = {},
): LiveSite {
  return {
    id: site.id,
    name: site.name,
    nameZh: site.nameZh,
    region: site.region,
    project: site.project,
    gateway: site.gateway,
    state: siteState(site, now, staleAfterMs),
    lastTs: site.lastTs === null ? null : Math.floor(site.lastTs / 1000) * 1000,
    points: site.points,
    protocols: site.protocols,
    badPoints: health.quality?.bad ?? 0,
    uncertainPoints: health.quality?.uncertain ?? 0,
    completeness: health.completeness ?? null,
  };
}

/** What a `site` event is sent for: state, lastTs (to the second), points, gateway, qualities or completeness. */
function changed(before: LiveSite | undefined, after: LiveSite): boolean {
  return (
    before === undefined ||
    before.state !== after.state ||
    before.lastTs !== after.lastTs ||
    before.points !== after.points ||
    before.gateway !== after.gateway ||
    before.badPoints !== after.badPoints ||
    before.uncertainPoints !== after.uncertainPoints ||
    before.completeness !== after.completeness
  );
}

export class SiteEventHub {
  private readonly clients = new Set<ServerResponse>();
  private last = new Map<string, LiveSite>();
  private pollTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private opening = 0;
  private closed = false;
  private readonly now: () => number;
  /** Each site's completeness as last read, when, and the read in progress. */
  private completeness = new Map<string, number | null>();
  private completenessAt = Number.NEGATIVE_INFINITY;
  private completenessRead: Promise<void> | undefined;
  private completenessFailing = false;

  constructor(private readonly options: SiteEventsOptions) {
    this.now = options.now ?? Date.now;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** The sites as the console sees them now (completeness as read at most `completenessEveryMs` ago). */
  async snapshot(): Promise<LiveSite[]> {
    const now = this.now();
    const [sites, quality] = await Promise.all([
      this.options.store.listSites(),
      this.options.store.qualityCounts(),
    ]);
    if (now - this.completenessAt >= (this.options.completenessEveryMs ?? COMPLETENESS_EVERY_MS)) {
      this.completenessRead ??= this.readCompleteness(
        sites.map((site) => site.id),
        now,
      ).finally(() => {
        this.completenessRead = undefined;
      });
      await this.completenessRead;
    }
    return sites.map((site) =>
      liveSite(site, now, this.options.staleAfterMs, {
        quality: quality.get(site.id),
        completeness: this.completeness.get(site.id),
      }),
    );
  }

  /**
   * Every site's completeness over the last hour, in one read of the batch rollups. A failure keeps
   * the values last read (logged once until a read succeeds again) and is retried at the next turn.
   */
  private async readCompleteness(sites: string[], now: number): Promise<void> {
    try {
      const { from, to } = lastHour(now);
      const read =
        sites.length === 0
          ? new Map()
          : await this.options.store.completenessWindows(sites, from, to, MINUTE_MS);
      this.completeness = new Map(sites.map((site) => [site, completenessRatio(read.get(site)?.total)]));
      if (this.completenessFailing) this.options.logger.info('live events: completeness read again');
      this.completenessFailing = false;
    } catch (error) {
      if (!this.completenessFailing) {
        this.options.logger.warn({ err: error }, 'live events: reading the completeness failed');
      }
      this.completenessFailing = true;
    } finally {
      this.completenessAt = now;
    }
  }

  register(app: FastifyInstance): void {
    app.get('/api/v1/events', { config: { access: 'viewer' } }, async (_request, reply) => {
      if (this.closed) return reply.code(503).send({ error: 'the collector is shutting down' });
      if (this.clients.size + this.opening >= this.options.maxClients) {
        return reply.code(503).send({
          error: `too many live event streams: at most ${this.options.maxClients} (api.limits.maxEventClients)`,
          limit: 'maxEventClients',
        });
      }
      // The slot is held while the first snapshot is read, so concurrent requests cannot pass the limit.
      this.opening++;
      let sites: LiveSite[];
      try {
        sites = await this.snapshot();
      } finally {
        this.opening--;
      }
      if (this.closed) return reply.code(503).send({ error: 'the collector is shutting down' });
      const raw = reply.raw;
      reply.hijack();
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
      });
      raw.write(`retry: 2000\n\n${frame('sites', sites)}`);
      this.clients.add(raw);
      // A new client's view is the snapshot; changes after it reach everyone alike.
      if (this.clients.size === 1) this.last = new Map(sites.map((site) => [site.id, site]));
      const drop = () => this.remove(raw);
      raw.on('close', drop);
      raw.on('error', drop);
      this.start();
      return reply;
    });
  }

  /** Ends every stream and stops the timers; later requests are refused. */
  close(): void {
    this.closed = true;
    this.stop();
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  private remove(client: ServerResponse): void {
    this.clients.delete(client);
    if (this.clients.size === 0) this.stop();
  }

  private start(): void {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => void this.poll(), this.options.pollMs ?? POLL_MS);
    this.keepaliveTimer = setInterval(
      () => this.broadcast(': keepalive\n\n'),
      this.options.keepaliveMs ?? KEEPALIVE_MS,
    );
  }

  private stop(): void {
    clearInterval(this.pollTimer);
    clearInterval(this.keepaliveTimer);
    this.pollTimer = undefined;
    this.keepaliveTimer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.clients.size === 0) return;
    this.polling = true;
    try {
      const sites = await this.snapshot();
      if (this.clients.size === 0) return;
      const next = new Map<string, LiveSite>();
      for (const site of sites) {
        next.set(site.id, site);
        if (changed(this.last.get(site.id), site)) this.broadcast(frame('site', site));
      }
      this.last = next;
    } catch (error) {
      // The store is down or slow: the streams stay open, and the next poll tries again.
      this.options.logger.warn({ err: error }, 'live events: reading the sites failed');
    } finally {
      this.polling = false;
    }
  }

  private broadcast(text: string): void {
    for (const client of this.clients) client.write(text);
  }
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
