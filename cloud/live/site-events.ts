/**
 * The live overview over server-sent events (`GET /api/v1/events`): on connect one `sites` event
 * with every site; then one `site` event per site whose state, last data time (to the second),
 * points or gateway changed. Changes are found by polling `store.listSites()` once a second while a
 * client is connected (no coupling to ingest); `: keepalive` comments keep idle proxies open.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { SiteSummary, TelemetryStore } from '../store/store.js';

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
}

export interface SiteEventsOptions {
  store: Pick<TelemetryStore, 'listSites'>;
  logger: Logger;
  /** An online gateway whose site has no sample for longer than this is `stale` (api.staleAfterMs). */
  staleAfterMs: number;
  /** Streams open at once; more are refused with 503 (api.limits.maxEventClients). */
  maxClients: number;
  pollMs?: number;
  keepaliveMs?: number;
  now?: () => number;
}

const POLL_MS = 1000;
const KEEPALIVE_MS = 15_000;

/** online / stale / offline of a site at `now`; a site never heard from since it came online is stale. */
export function siteState(site: SiteSummary, now: number, staleAfterMs: number): SiteState {
  if (!site.online) return 'offline';
  if (site.lastTs === null || now - site.lastTs > staleAfterMs) return 'stale';
  return 'online';
}

export function liveSite(site: SiteSummary, now: number, staleAfterMs: number): LiveSite {
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
  };
}

/** What a `site` event is sent for: state, lastTs (to the second), points or gateway. */
function changed(before: LiveSite | undefined, after: LiveSite): boolean {
  return (
    before === undefined ||
    before.state !== after.state ||
    before.lastTs !== after.lastTs ||
    before.points !== after.points ||
    before.gateway !== after.gateway
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

  constructor(private readonly options: SiteEventsOptions) {
    this.now = options.now ?? Date.now;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** The sites as the console sees them now. */
  async snapshot(): Promise<LiveSite[]> {
    const now = this.now();
    return (await this.options.store.listSites()).map((site) =>
      liveSite(site, now, this.options.staleAfterMs),
    );
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
