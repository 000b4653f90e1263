/**
 * The console's live feed, GET /api/v1/events, against a real collector (real Mosquitto, SQLite
 * file, HTTP over loopback) read by a real SSE client (fetch reading the stream): the first `sites`
 * event, a site turning online, stale and offline as `site` events, the viewer role required, the
 * stream limit, and every stream and timer ended at shutdown.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD_ENV } from '../../cloud/auth/account-cli.js';
import { runCli } from '../../cloud/cli.js';
import { type RunningCollector, startCollector } from '../../cloud/collector.js';
import { loadCollectorConfig } from '../../cloud/config.js';
import type { LiveSite } from '../../cloud/live/site-events.js';
import { topicFor } from '../../gateway/schema/index.js';
import { tempDir } from '../gateway/delivery-fixtures.js';
import { capturedIo } from '../helpers/captured-io.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { waitUntil } from '../helpers/wait.js';
import { GATEWAY, metadata, SITE, status, telemetry } from './fixtures.js';
import { readServerEvents, type ServerEvent } from './sse-reader.js';

const PASSWORD = 'viewer-passw0rd-long';
const MAX_CLIENTS = 3;
const silent = pino({ level: 'silent' });

/** A server-sent-events client: fetch, then the body parsed into events as they arrive. */
async function openEvents(url: string, cookie?: string) {
  const aborter = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...(cookie && { cookie }) },
    signal: aborter.signal,
  });
  const { events, comments, ended } =
    response.ok && response.body
      ? readServerEvents(response.body)
      : { events: [] as ServerEvent[], comments: [] as string[], ended: () => false };
  return {
    response,
    events,
    comments,
    ended,
    close: () => aborter.abort(),
    sites: (id: string) =>
      events.flatMap((e) => {
        if (e.event === 'site' && (e.data as LiveSite).id === id) return [e.data as LiveSite];
        if (e.event === 'sites') return (e.data as LiveSite[]).filter((site) => site.id === id);
        return [];
      }),
  };
}

describe('GET /api/v1/events: the live site feed', () => {
  const dir = tempDir('jjj-events-');
  const configFile = join(dir.path, 'collector.yaml');
  let broker: Mosquitto;
  let collector: RunningCollector;
  let publisher: MqttClient;
  let cookie = '';
  const url = () => `${collector.httpUrl}/api/v1/events`;
  const topic = (kind: 'metadata' | 'status' | 'telemetry') =>
    topicFor({ region: 'BJ', site: SITE, gateway: GATEWAY, kind });
  const publish = (kind: 'metadata' | 'status' | 'telemetry', message: unknown, retain = false) =>
    publisher.publishAsync(topic(kind), JSON.stringify(message), { qos: 1, retain });

  beforeAll(async () => {
    broker = await startMosquitto();
    writeFileSync(
      configFile,
      [
        `mqtt: { url: "${broker.url}" }`,
        'store: { path: collector.db }',
        'http: { port: 0 }',
        `api: { staleAfterMs: 1000, limits: { maxEventClients: ${MAX_CLIENTS} } }`,
        '',
      ].join('\n'),
    );
    const add = capturedIo({ env: { [PASSWORD_ENV]: PASSWORD } });
    expect(await runCli(['users', 'add', 'vera', '--role', 'viewer', '--config', configFile], add.io)).toBe(
      0,
    );
    collector = await startCollector(loadCollectorConfig(configFile), { logger: silent });
    const login = await fetch(`${collector.httpUrl}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'vera', password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    publisher = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
  }, 30_000);

  afterAll(async () => {
    await publisher?.endAsync(true);
    await collector?.close();
    await broker?.stop();
    dir.remove();
  });

  it('needs a viewer: anonymous is refused when auth.anonymous is none', async () => {
    const anonymous = await openEvents(url());
    expect(anonymous.response.status).toBe(401);
  });

  it('sends every site on connect, then each change: online, stale after staleAfterMs, offline', async () => {
    const stream = await openEvents(url(), cookie);
    try {
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      await waitUntil('the first sites event', () => stream.events.length > 0);
      expect(stream.events[0]).toEqual({ event: 'sites', data: [] });

      const now = Date.now();
      await publish('metadata', metadata({ ts: now }), true);
      await publish('status', status({ ts: now }), true);
      await publish(
        'telemetry',
        telemetry({ sentTs: now, points: telemetry().points.map((point) => ({ ...point, ts: now })) }),
      );
      await waitUntil(
        () => `the site online with 5 points, saw ${JSON.stringify(stream.sites(SITE))}`,
        () => stream.sites(SITE).some((site) => site.state === 'online' && site.points === 5),
      );
      const online = stream.sites(SITE).find((site) => site.state === 'online');
      expect(online).toMatchObject({
        id: SITE,
        name: 'E-Town CNC Workshop',
        nameZh: '亦庄数控车间',
        region: 'BJ',
        project: 'etown-smart-factory',
        gateway: GATEWAY,
        lastTs: Math.floor(now / 1000) * 1000,
        protocols: ['modbus', 'opcua'],
      });

      // No sample for longer than api.staleAfterMs (1 s here): the gateway is up, the data is not.
      await waitUntil('the site stale', () => stream.sites(SITE).some((site) => site.state === 'stale'));

      await publish('status', status({ ts: Date.now(), state: 'offline' }), true);
      await waitUntil('the site offline', () => stream.sites(SITE).at(-1)?.state === 'offline');

      // A new client starts from the store's view.
      const late = await openEvents(url(), cookie);
      await waitUntil('the late client sites event', () => late.events.length > 0);
      expect(late.events[0]?.event).toBe('sites');
      expect(late.sites(SITE).map((site) => site.state)).toEqual(['offline']);
      late.close();
    } finally {
      stream.close();
    }
  });

  it(`refuses stream ${MAX_CLIENTS + 1} with 503 naming api.limits.maxEventClients, and frees a slot on disconnect`, async () => {
    const streams = [];
    for (let i = 0; i < MAX_CLIENTS; i++) {
      const stream = await openEvents(url(), cookie);
      expect(stream.response.status).toBe(200);
      streams.push(stream);
    }
    const refused = await fetch(url(), { headers: { cookie } });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({
      error: expect.stringContaining('api.limits.maxEventClients'),
    });

    streams.pop()?.close();
    let again: Awaited<ReturnType<typeof openEvents>> | undefined;
    await waitUntil('a slot free again', async () => {
      again?.close();
      again = await openEvents(url(), cookie);
      return again.response.status === 200;
    });
    again?.close();
    for (const stream of streams) stream.close();
  });
});

describe('GET /api/v1/events at shutdown', () => {
  it('ends every stream and leaves no timer behind', async () => {
    const dir = tempDir('jjj-events-close-');
    const broker = await startMosquitto();
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    try {
      const before = timers();
      const collector = await startCollector(loadCollectorConfig(writeConfig(dir.path, broker.url)), {
        logger: silent,
      });
      const streams = [
        await openEvents(`${collector.httpUrl}/api/v1/events`),
        await openEvents(`${collector.httpUrl}/api/v1/events`),
      ];
      for (const stream of streams) expect(stream.response.status).toBe(200);
      await waitUntil('both streams started', () => streams.every((stream) => stream.events.length > 0));
      await collector.close();
      await waitUntil('both streams ended by the server', () => streams.every((stream) => stream.ended()));
      await waitUntil(
        () => `the collector's timers gone (${timers()} now, ${before} before)`,
        () => timers() <= before,
        5000,
      );
    } finally {
      await broker.stop();
      dir.remove();
    }
  });
});

function writeConfig(path: string, brokerUrl: string): string {
  const file = join(path, 'collector.yaml');
  writeFileSync(
    file,
    [
      `mqtt: { url: "${brokerUrl}" }`,
      'store: { path: collector.db }',
      'http: { port: 0 }',
      'auth: { anonymous: viewer }',
      '',
    ].join('\n'),
  );
  return file;
}
