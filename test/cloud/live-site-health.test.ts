/**
 * The live overview's health figures (issue 13): each site's points in bad and uncertain quality (the
 * newest sample of each point) and its completeness over the last hour, read from every store (SQLite
 * in memory, an SQLite file through read threads, InfluxDB 1.x with its catalog) by the event hub;
 * `site` events sent when they change; the completeness read at most every 10 s.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { MINUTE_MS } from '../../cloud/kpi/model.js';
import {
  completenessRatio,
  type LiveSite,
  lastHour,
  SiteEventHub,
  type SiteEventsOptions,
} from '../../cloud/live/site-events.js';
import { SqliteStore } from '../../cloud/store/sqlite-store.js';
import type { TelemetryStore } from '../../cloud/store/store.js';
import type { Quality, TelemetryBatch } from '../../gateway/schema/index.js';
import { waitUntil } from '../helpers/wait.js';
import { GATEWAY, metadata, SITE, status, TS, telemetry } from './fixtures.js';
import { readServerEvents, type ServerEvent } from './sse-reader.js';
import { storeSubjects } from './store/store-subjects.js';

const silent = pino({ level: 'silent' });
/** The hub's clock: a minute's start plus 30 s, an hour after the fixtures' time. */
const NOW = Math.floor(TS / MINUTE_MS) * MINUTE_MS + 60 * MINUTE_MS + 30_000;
const OTHER_SITE = 'tj-binhai-smt';
const OTHER_GATEWAY = 'gw-tj-binhai-smt';

/** A batch of `seq` sent `agoMs` before NOW whose points p-0… have the given qualities. */
function batch(seq: number | undefined, agoMs: number, qualities: Quality[], site = SITE): TelemetryBatch {
  const ts = NOW - agoMs;
  return telemetry({
    site,
    region: site === SITE ? 'BJ' : 'TJ',
    gateway: {
      id: site === SITE ? GATEWAY : OTHER_GATEWAY,
      boot: 1,
      ...(seq !== undefined && { seq }),
    } as TelemetryBatch['gateway'],
    sentTs: ts,
    points: qualities.map((quality, i) => ({
      line: 'machining',
      equipment: 'cnc-01',
      point: `p-${i}`,
      value: i,
      ts,
      quality,
    })),
  });
}

describe('completenessRatio and lastHour', () => {
  it('rounds down to 0.001, so one batch missing of thousands never reads as complete', () => {
    expect(completenessRatio({ expectedBatches: 2000, receivedBatches: 1999 })).toBe(0.999);
    expect(completenessRatio({ expectedBatches: 3, receivedBatches: 2 })).toBe(0.666);
    expect(completenessRatio({ expectedBatches: 100, receivedBatches: 29 })).toBe(0.29);
    expect(completenessRatio({ expectedBatches: 5, receivedBatches: 5 })).toBe(1);
    expect(completenessRatio({ expectedBatches: 0, receivedBatches: 0 })).toBeNull();
    expect(completenessRatio(undefined)).toBeNull();
  });

  it('is the current minute and the 59 before it', () => {
    const { from, to } = lastHour(NOW);
    expect(to - from + 1).toBe(60 * MINUTE_MS);
    expect(to + 1).toBe(NOW - 30_000 + MINUTE_MS);
    expect(from % MINUTE_MS).toBe(0);
  });
});

const subjects = storeSubjects('jjj-live-health-');
afterAll(() => subjects.cleanup(), 60_000);

describe.each(subjects.subjects)('the live health figures on %s', (_name, open) => {
  it('counts bad and uncertain latest values per site and the completeness of the last hour', async () => {
    const { store, close } = await open();
    try {
      const hub = new SiteEventHub({
        store,
        logger: silent,
        staleAfterMs: 600_000,
        maxClients: 1,
        now: () => NOW,
      });
      await store.writeMetadata(metadata({ ts: NOW }));
      await store.writeStatus(status({ ts: NOW }));
      await store.writeMetadata(
        metadata({ ts: NOW, site: OTHER_SITE, region: 'TJ', gateway: { id: OTHER_GATEWAY, boot: 1 } }),
      );
      // Two hours ago (outside the hour): seq 0; then seq 10, 11, 12 and 15 in the hour (13, 14 missing).
      await store.writeTelemetry(batch(0, 2 * 3_600_000, ['bad', 'bad', 'bad', 'bad']), NOW);
      await store.writeTelemetry(batch(10, 20 * MINUTE_MS, ['good', 'bad', 'bad', 'uncertain']), NOW);
      await store.writeTelemetry(batch(11, 15 * MINUTE_MS, ['good', 'good', 'bad', 'uncertain']), NOW);
      await store.writeTelemetry(batch(12, 10 * MINUTE_MS, ['good', 'good', 'bad', 'uncertain']), NOW);
      await store.writeTelemetry(batch(15, 5 * MINUTE_MS, ['good', 'bad', 'uncertain', 'uncertain']), NOW);
      // The other site's gateway numbers no batch (as Sparkplug): no completeness, all good.
      await store.writeTelemetry(batch(undefined, MINUTE_MS, ['good', 'good'], OTHER_SITE), NOW);

      expect(await store.qualityCounts()).toEqual(new Map([[SITE, { bad: 1, uncertain: 2 }]]));
      const sites = new Map((await hub.snapshot()).map((site) => [site.id, site]));
      expect(sites.get(SITE)).toMatchObject({
        points: 6, // two of the metadata and p-0…p-3 of the batches
        badPoints: 1,
        uncertainPoints: 2,
        completeness: 0.666, // seq 10–15: 6 expected, 4 received
        state: 'online',
      });
      expect(sites.get(OTHER_SITE)).toMatchObject({ badPoints: 0, uncertainPoints: 0, completeness: null });

      // A newer sample replaces the point's latest quality; an older (replayed) one does not.
      await store.writeTelemetry(batch(16, 4 * MINUTE_MS, ['good', 'good', 'good', 'bad']), NOW);
      await store.writeTelemetry(batch(13, 9 * MINUTE_MS, ['bad', 'bad', 'bad', 'bad']), NOW);
      expect(await store.qualityCounts()).toEqual(new Map([[SITE, { bad: 1, uncertain: 0 }]]));
    } finally {
      await close();
    }
  }, 60_000);
});

/** The hub behind a real HTTP server, read by fetch as an event stream. */
async function serve(options: SiteEventsOptions): Promise<{
  app: FastifyInstance;
  hub: SiteEventHub;
  frames: ServerEvent[];
  stop(): Promise<void>;
}> {
  const hub = new SiteEventHub(options);
  const app = Fastify();
  hub.register(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const aborter = new AbortController();
  const response = await fetch(
    `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1/events`,
    {
      signal: aborter.signal,
    },
  );
  const frames = readServerEvents(response.body as ReadableStream<Uint8Array>).events;
  return {
    app,
    hub,
    frames,
    async stop() {
      aborter.abort();
      hub.close();
      await app.close();
    },
  };
}

describe('site events for the health figures', () => {
  it('sends a site event when its bad or uncertain points or completeness change, reading completeness at most every completenessEveryMs', async () => {
    const store = new SqliteStore(':memory:');
    let now = NOW;
    let completenessReads = 0;
    const counted: Pick<TelemetryStore, 'listSites' | 'qualityCounts' | 'completenessWindows'> = {
      listSites: () => store.listSites(),
      qualityCounts: () => store.qualityCounts(),
      completenessWindows: (...args) => {
        completenessReads++;
        return store.completenessWindows(...args);
      },
    };
    await store.writeMetadata(metadata({ ts: NOW }));
    await store.writeStatus(status({ ts: NOW }));
    await store.writeTelemetry(batch(0, 3 * MINUTE_MS, ['good', 'good']), NOW);
    const server = await serve({
      store: counted,
      logger: silent,
      staleAfterMs: 3_600_000,
      maxClients: 2,
      pollMs: 50,
      completenessEveryMs: 10_000,
      now: () => now,
    });
    const siteEvents = () =>
      server.frames.filter((frame) => frame.event === 'site').map((frame) => frame.data as LiveSite);
    try {
      await waitUntil('the sites event', () => server.frames.length > 0);
      expect(server.frames[0]?.event).toBe('sites');
      expect((server.frames[0]?.data as LiveSite[] | undefined)?.[0]).toMatchObject({
        badPoints: 0,
        uncertainPoints: 0,
        completeness: 1,
      });
      expect(completenessReads).toBe(1);

      // A bad and an uncertain point: one site event with both counts.
      await store.writeTelemetry(batch(1, 2 * MINUTE_MS, ['bad', 'uncertain']), NOW);
      await waitUntil('a site event with the bad point', () =>
        siteEvents().some((site) => site.badPoints === 1),
      );
      expect(siteEvents().at(-1)).toMatchObject({ badPoints: 1, uncertainPoints: 1, completeness: 1 });

      // A gap (seq 2, 3 missing): the completeness is not read again before 10 s have passed…
      await store.writeTelemetry(batch(4, MINUTE_MS, ['bad', 'uncertain']), NOW);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(completenessReads).toBe(1);
      expect(siteEvents().at(-1)?.completeness).toBe(1);
      const before = siteEvents().length;
      // … and is once they have: one event with the new figure (3 of 5), then quiet again.
      now += 10_000;
      await waitUntil('the new completeness', () => siteEvents().some((site) => site.completeness === 0.6));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(siteEvents().length).toBe(before + 1);
      expect(completenessReads).toBe(2);
    } finally {
      await server.stop();
      await store.close();
    }
  }, 30_000);
});
