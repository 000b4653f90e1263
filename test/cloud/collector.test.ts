/**
 * End to end against real brokers: gateways' messages published over MQTT, read back through the
 * HTTP API, the metrics and the SQLite file.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCollector, startCollector } from '../../cloud/collector.js';
import { buildCollectorConfig } from '../../cloud/config.js';
import { startEmbeddedBroker } from '../../cloud/embedded-broker.js';
import type { LatestPoint, Series, SiteSummary } from '../../cloud/store/store.js';
import { type SiteRef, type TopicKind, topicFor } from '../../gateway/schema/index.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { metric } from '../helpers/prometheus.js';
import { eventually } from '../helpers/wait.js';
import { GATEWAY, metadata, SITE, status, storedSite, TS, telemetry } from './fixtures.js';

interface Broker {
  url: string;
  stop(): Promise<void>;
}

const brokers: { name: string; start: () => Promise<Broker> }[] = [
  {
    name: 'the embedded aedes broker',
    start: async () => {
      const broker = await startEmbeddedBroker();
      return { url: broker.url, stop: () => broker.close() };
    },
  },
  {
    name: 'Mosquitto',
    start: async () => {
      const broker = await startMosquitto();
      return { url: broker.url, stop: () => broker.stop() };
    },
  },
];

const BJ: SiteRef = { region: 'BJ', project: 'etown-smart-factory', site: SITE };
const topicOf = (ref: SiteRef, gateway: string, kind: TopicKind) =>
  topicFor({ region: ref.region, site: ref.site, gateway, kind });

interface Health {
  status: string;
  store: string;
  broker: string;
}
type Latest = { site: string; points: LatestPoint[] };

describe.each(brokers)('collector against $name', ({ start }) => {
  let dir: string;
  let broker: Broker | undefined;
  let brokerUrl = '';
  let collector: RunningCollector;
  let publisher: MqttClient;
  let db: Database.Database;
  const logLines: { level: number; msg: string; reason?: string; topic?: string }[] = [];

  const get = async <Body = { error: string }>(path: string, base = collector.httpUrl) => {
    const response = await fetch(`${base}${path}`);
    return { status: response.status, body: (await response.json()) as Body };
  };
  const metrics = async () => (await fetch(`${collector.httpUrl}/metrics`)).text();
  const publish = (topic: string, message: unknown, retain = false) =>
    publisher.publishAsync(topic, typeof message === 'string' ? message : JSON.stringify(message), {
      qos: 1,
      retain,
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jjj-collector-'));
    broker = await start();
    brokerUrl = broker.url;
    const logger = pino({ level: 'debug' }, { write: (line: string) => logLines.push(JSON.parse(line)) });
    const config = buildCollectorConfig({
      mqtt: { url: broker.url },
      store: { path: join(dir, 'collector.db') },
      http: { port: 0 },
      auth: { anonymous: 'viewer' },
    });
    collector = await startCollector(config, { logger });
    db = new Database(join(dir, 'collector.db'), { readonly: true });
    publisher = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
  });

  afterAll(async () => {
    await publisher?.endAsync(true);
    db?.close();
    await collector?.close();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports healthy once connected to the broker', async () => {
    const health = await eventually(async () => {
      const answer = await get<Health>('/api/v1/health');
      expect(answer.status).toBe(200);
      return answer.body;
    });
    expect(health).toEqual({ status: 'ok', store: 'up', broker: 'connected' });
  });

  it('stores metadata, status and telemetry and serves them on every route', async () => {
    await publish(topicOf(BJ, GATEWAY, 'metadata'), metadata(), true);
    await publish(topicOf(BJ, GATEWAY, 'status'), status(), true);
    // Retained messages arrive even if the subscription was not in place yet when they were sent.
    await eventually(async () => expect((await get<SiteSummary[]>('/api/v1/sites')).body).toHaveLength(1));
    await publish(topicOf(BJ, GATEWAY, 'telemetry'), telemetry());

    const latest = await eventually(async () => {
      const answer = await get<Latest>(`/api/v1/latest?site=${SITE}`);
      expect(answer.body.points).toHaveLength(5);
      return answer;
    });
    expect(latest.status).toBe(200);
    expect(latest.body.site).toBe(SITE);
    const byPoint = Object.fromEntries(latest.body.points.map((p) => [p.point, p]));
    expect(byPoint['spindle-speed']).toEqual({
      pointId: `${SITE}/machining/cnc-01/spindle-speed`,
      line: 'machining',
      equipment: 'cnc-01',
      point: 'spindle-speed',
      value: 12000.5,
      quality: 'good',
      ts: TS,
      unit: 'RPM',
    });
    expect(byPoint.running?.value).toBe(true);
    expect(byPoint.program?.value).toBe('O1234');
    expect(byPoint['axis-load']?.value).toEqual([1, 2.5, 3]);
    expect(byPoint.power).toMatchObject({ value: null, quality: 'bad', unit: 'KWT', status: { code: 11 } });

    const sites = await get<SiteSummary[]>('/api/v1/sites');
    expect(sites.body).toEqual([storedSite]);

    const series = await get<Series>(
      `/api/v1/series?point=${SITE}/machining/cnc-01/running&from=0&to=${TS + 1}`,
    );
    expect(series.body).toEqual({
      point: `${SITE}/machining/cnc-01/running`,
      samples: [{ ts: TS, value: true, quality: 'good' }],
      truncated: false,
    });
    const withUnit = await get<Series>(
      `/api/v1/series?point=${SITE}/machining/cnc-01/spindle-speed&from=0&to=${TS}`,
    );
    expect(withUnit.body).toMatchObject({ unit: 'RPM', samples: [{ ts: TS, value: 12000.5 }] });

    const text = await metrics();
    expect(metric(text, 'jjj_collector_messages_received_total', 'kind="telemetry"')).toBe(1);
    expect(metric(text, 'jjj_collector_messages_received_total', 'kind="metadata"')).toBe(1);
    expect(metric(text, 'jjj_collector_points_stored_total')).toBe(5);
    expect(metric(text, 'jjj_collector_broker_connected')).toBe(1);
  });

  it('sets malformed messages aside with their reason, counts them, logs each kind once and keeps ingesting', async () => {
    const telemetryTopic = topicOf(BJ, GATEWAY, 'telemetry');
    const otherSiteTopic = topicOf({ ...BJ, site: 'bj-other' }, GATEWAY, 'telemetry');
    const badRegionTopic = `jjj/v1/XX/${SITE}/${GATEWAY}/telemetry`;
    const nullButGood = telemetry({
      gateway: { id: GATEWAY, boot: 1, seq: 1 },
      points: [
        { line: 'machining', equipment: 'cnc-01', point: 'running', value: null, ts: TS, quality: 'good' },
      ],
    });
    await publish(telemetryTopic, '{"schema": "jjj.telemetry/1", ');
    await publish(telemetryTopic, 'not json either');
    await publish(telemetryTopic, { schema: 'jjj.alarm/1', site: SITE });
    await publish(otherSiteTopic, telemetry({ gateway: { id: GATEWAY, boot: 1, seq: 2 } }));
    await publish(telemetryTopic, nullButGood);
    await publish(badRegionTopic, telemetry());
    const after = telemetry({
      gateway: { id: GATEWAY, boot: 1, seq: 3 },
      points: [
        {
          line: 'machining',
          equipment: 'cnc-01',
          point: 'running',
          value: false,
          ts: TS + 5000,
          quality: 'good',
        },
      ],
    });
    await publish(telemetryTopic, after);

    // Messages from one client arrive in order: once the last is stored, the others were handled.
    await eventually(async () => {
      const latest = await get<Latest>(`/api/v1/latest?site=${SITE}`);
      expect(latest.body.points.find((p) => p.point === 'running')?.value).toBe(false);
    });

    const rejected = db.prepare<[], { topic: string; reason: string; detail: string; payload: Buffer }>(
      'SELECT topic, reason, detail, payload FROM rejected ORDER BY id',
    );
    const rows = rejected.all();
    expect(rows.map((r) => [r.reason, r.topic])).toEqual([
      ['bad-json', telemetryTopic],
      ['bad-json', telemetryTopic],
      ['unknown-schema', telemetryTopic],
      ['identity-mismatch', otherSiteTopic],
      ['invalid-message', telemetryTopic],
      ['bad-topic', badRegionTopic],
    ]);
    expect(rows[1]?.payload.toString()).toBe('not json either');
    expect(rows[2]?.detail).toMatch(/^schema: expected one of jjj\.telemetry\/1, .* got "jjj\.alarm\/1"$/);
    expect(rows[3]?.detail).toBe('site: topic says "bj-other", message says "bj-etown-cnc"');
    expect(rows[4]?.detail).toBe('points[0].value: a null value is only allowed with bad quality');

    const text = await metrics();
    expect(metric(text, 'jjj_collector_dead_letters_total', 'reason="bad-json"')).toBe(2);
    expect(metric(text, 'jjj_collector_dead_letters_total', 'reason="unknown-schema"')).toBe(1);
    expect(metric(text, 'jjj_collector_dead_letters_total', 'reason="identity-mismatch"')).toBe(1);
    expect(metric(text, 'jjj_collector_dead_letters_total', 'reason="invalid-message"')).toBe(1);
    expect(metric(text, 'jjj_collector_dead_letters_total', 'reason="bad-topic"')).toBe(1);
    expect(metric(text, 'jjj_collector_messages_received_total', 'kind="unknown"')).toBe(1);

    const warnings = logLines.filter((l) => l.msg.startsWith('message rejected'));
    expect(warnings.filter((l) => l.reason === 'bad-json')).toHaveLength(1);
    expect(warnings).toHaveLength(5);
  });

  it('stores a batch sent twice (same gateway, boot and seq) once', async () => {
    const before = metric(await metrics(), 'jjj_collector_points_stored_total');
    const batch = telemetry({
      gateway: { id: GATEWAY, boot: 1, seq: 10 },
      historical: true,
      points: [
        {
          line: 'machining',
          equipment: 'cnc-01',
          point: 'spindle-speed',
          value: 1,
          ts: TS + 10,
          quality: 'good',
        },
      ],
    });
    await publish(topicOf(BJ, GATEWAY, 'telemetry'), batch);
    await publish(topicOf(BJ, GATEWAY, 'telemetry'), batch);
    const next = telemetry({
      gateway: { id: GATEWAY, boot: 1, seq: 11 },
      points: [
        {
          line: 'machining',
          equipment: 'cnc-01',
          point: 'spindle-speed',
          value: 2,
          ts: TS + 20,
          quality: 'good',
        },
      ],
    });
    await publish(topicOf(BJ, GATEWAY, 'telemetry'), next);

    const series = await eventually(async () => {
      const answer = await get<Series>(
        `/api/v1/series?point=${SITE}/machining/cnc-01/spindle-speed&from=${TS + 1}&to=${TS + 20}`,
      );
      expect(answer.body.samples).toHaveLength(2);
      return answer.body;
    });
    expect(series.samples).toEqual([
      { ts: TS + 10, value: 1, quality: 'good' },
      { ts: TS + 20, value: 2, quality: 'good' },
    ]);
    const text = await metrics();
    expect(metric(text, 'jjj_collector_duplicate_batches_total')).toBe(1);
    expect(metric(text, 'jjj_collector_points_stored_total')).toBe(before + 2);
    const lastSeq = db
      .prepare<[string], { last_seq: number }>('SELECT last_seq FROM gateways WHERE id = ?')
      .get(GATEWAY);
    expect(lastSeq?.last_seq).toBe(11);
  });

  it("marks a site offline when its gateway's Last Will is published", async () => {
    const tianjin: SiteRef = { region: 'TJ', project: 'tj-auto', site: 'tj-auto-body' };
    const statusTopic = topicOf(tianjin, 'gw-tj', 'status');
    const declared = status({ ...tianjin, gateway: { id: 'gw-tj', boot: 3 }, ts: TS + 100 });
    const gateway = await connectAsync(brokerUrl, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      will: {
        topic: statusTopic,
        payload: Buffer.from(JSON.stringify({ ...declared, state: 'offline' })),
        qos: 1,
        retain: true,
      },
    });
    await gateway.publishAsync(statusTopic, JSON.stringify(declared), { qos: 1, retain: true });
    const site = async () =>
      ((await get<SiteSummary[]>('/api/v1/sites')).body as { id: string; online: boolean }[]).find(
        (s) => s.id === tianjin.site,
      );
    await eventually(async () => expect((await site())?.online).toBe(true));

    gateway.stream.destroy(); // an unclean loss: the broker publishes the will
    await eventually(async () => expect((await site())?.online).toBe(false));
    await gateway.endAsync(true);

    const sites = (await get<SiteSummary[]>('/api/v1/sites')).body as { id: string; region: string }[];
    expect(sites.map((s) => s.region)).toEqual(['BJ', 'TJ']);
  });

  it('shows a site offline from its retained status when a new collector starts', async () => {
    const hebei: SiteRef = { region: 'HE', project: 'he-steel', site: 'he-steel-rolling' };
    const offline = status({ ...hebei, gateway: { id: 'gw-he', boot: 1 }, state: 'offline' });
    await publish(topicOf(hebei, 'gw-he', 'status'), offline, true);

    const fresh = await startCollector(
      buildCollectorConfig({
        mqtt: { url: brokerUrl },
        store: { path: ':memory:' },
        http: { port: 0 },
        auth: { anonymous: 'viewer' },
      }),
      { logger: pino({ level: 'silent' }) },
    );
    try {
      const sites = await eventually(async () => {
        const answer = (await get<SiteSummary[]>('/api/v1/sites', fresh.httpUrl)).body;
        expect(answer.map((s) => s.id)).toEqual([SITE, 'tj-auto-body', 'he-steel-rolling']);
        return answer;
      });
      expect(sites[2]).toMatchObject({ region: 'HE', online: false, points: 0, lastTs: null });
      // The retained metadata named the Beijing site for the new collector too.
      expect(sites[0]).toMatchObject({ name: 'E-Town CNC Workshop', online: true, points: 2 });
    } finally {
      await fresh.close();
    }
  });

  it('answers 400 with the reason on bad query strings and 404 on unknown ids', async () => {
    const cases: [string, number, RegExp][] = [
      ['/api/v1/latest', 400, /^invalid query: site: /],
      ['/api/v1/latest?site=Not%20An%20Id', 400, /^invalid query: site: expected lower-case/],
      ['/api/v1/latest?site=nowhere', 404, /unknown site "nowhere"/],
      ['/api/v1/series?point=just-one-part', 400, /point: expected a point id site\/line\/equipment\/point/],
      [`/api/v1/series?point=${SITE}/a/b/c&from=yesterday`, 400, /from: expected Unix time in milliseconds/],
      [`/api/v1/series?point=${SITE}/a/b/c&from=20&to=10`, 400, /from: from must not be after to/],
      [`/api/v1/series?point=${SITE}/a/b/c&limit=0`, 400, /limit: /],
      [`/api/v1/series?point=${SITE}/a/b/c&colour=red`, 400, /colour/],
      [`/api/v1/series?point=${SITE}/a/b/c`, 404, /unknown point/],
    ];
    for (const [path, code, message] of cases) {
      const answer = await get(path);
      expect({ path, status: answer.status }).toEqual({ path, status: code });
      expect(answer.body.error).toMatch(message);
    }
  });

  it('caps a series and says it was truncated', async () => {
    const answer = await get<Series>(
      `/api/v1/series?point=${SITE}/machining/cnc-01/spindle-speed&from=0&to=${TS + 100}&limit=2`,
    );
    expect(answer.body.truncated).toBe(true);
    expect(answer.body.samples.map((s: { ts: number }) => s.ts)).toEqual([TS, TS + 10]);
  });

  it('reports 503 with the broker down once the broker is gone, and still closes cleanly', async () => {
    await publisher.endAsync(true);
    await broker?.stop();
    broker = undefined;
    const health = await eventually(async () => {
      const answer = await get<Health>('/api/v1/health');
      expect(answer.status).toBe(503);
      return answer.body;
    });
    expect(health).toEqual({ status: 'degraded', store: 'up', broker: 'disconnected' });
    expect(metric(await metrics(), 'jjj_collector_broker_connected')).toBe(0);
  });
});
