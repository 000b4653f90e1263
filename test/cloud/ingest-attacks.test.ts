/**
 * The poisoning attacks of issue 11 against a real collector (embedded SQLite store) behind a real
 * Mosquitto: each hostile message is dead-lettered with its reason and changes nothing it should
 * not, and a normal message after it is stored.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCollector, startCollector } from '../../cloud/collector.js';
import { buildCollectorConfig } from '../../cloud/config.js';
import { SqliteStore } from '../../cloud/store/sqlite-store.js';
import type {
  DeadLetter,
  GatewaySummary,
  LatestPoint,
  Series,
  SiteSummary,
} from '../../cloud/store/store.js';
import {
  type MetadataMessage,
  type PointSample,
  type StatusMessage,
  type TelemetryBatch,
  topicFor,
} from '../../gateway/schema/index.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { metric } from '../helpers/prometheus.js';
import { eventually } from '../helpers/wait.js';
import { tianjinEdgeNode } from './fixtures.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const PROJECT = 'etown-smart-factory';
const SPINDLE = 'spindle-speed';

/** A gateway of its own per attack, so one attack's records never explain another's outcome. */
function gatewayOf(site: string) {
  const gateway = `gw-${site}`;
  const ref = { region: 'BJ' as const, project: PROJECT, site };
  const sample = (value: number, ts: number, extra: Partial<PointSample> = {}): PointSample => ({
    line: 'machining',
    equipment: 'cnc-01',
    point: SPINDLE,
    value,
    ts,
    quality: 'good',
    ...extra,
  });
  return {
    site,
    gateway,
    pointId: `${site}/machining/cnc-01/${SPINDLE}`,
    topic: (kind: 'telemetry' | 'status' | 'metadata') => topicFor({ ...ref, gateway, kind }),
    sample,
    batch: (seq: number, points: PointSample[], boot = 1, sentTs = Date.now()): TelemetryBatch => ({
      schema: 'jjj.telemetry/1',
      ...ref,
      gateway: { id: gateway, boot, seq },
      sentTs,
      points,
    }),
    status: (state: 'online' | 'offline', boot: number, ts = Date.now()): StatusMessage => ({
      schema: 'jjj.status/1',
      ...ref,
      gateway: { id: gateway, boot },
      state,
      ts,
    }),
    metadata: (range: { min?: number; max?: number }): MetadataMessage => ({
      schema: 'jjj.metadata/1',
      ...ref,
      gateway: { id: gateway, boot: 1 },
      ts: Date.now(),
      siteName: { en: site, zh: site },
      points: [
        {
          line: 'machining',
          equipment: 'cnc-01',
          point: SPINDLE,
          protocol: 'opcua',
          address: 'ns=1;s=spindle',
          unit: 'RPM',
          ...range,
        },
      ],
    }),
  };
}

describe('ingest against poisoning (real collector, Mosquitto)', () => {
  let dir: string;
  let broker: Mosquitto;
  let collector: RunningCollector;
  let publisher: MqttClient;

  const get = async <Body>(path: string): Promise<Body> => {
    const response = await fetch(`${collector.httpUrl}${path}`);
    expect(response.status).toBe(200);
    return (await response.json()) as Body;
  };
  const publish = (topic: string, message: unknown, retain = false) =>
    publisher.publishAsync(topic, typeof message === 'string' ? message : JSON.stringify(message), {
      qos: 1,
      retain,
    });
  const latestOf = async (site: string, point = SPINDLE) =>
    (await get<{ points: LatestPoint[] }>(`/api/v1/latest?site=${site}`)).points.find(
      (p) => p.point === point,
    );
  const deadLetters = (reason: string) =>
    get<DeadLetter[]>(`/api/v1/dead-letters?reason=${reason}&limit=100`);
  const gatewayRecord = async (id: string) =>
    (await get<GatewaySummary[]>('/api/v1/gateways')).find((g) => g.id === id);
  const metrics = async () => (await fetch(`${collector.httpUrl}/metrics`)).text();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jjj-ingest-attacks-'));
    broker = await startMosquitto();
    const config = buildCollectorConfig({
      mqtt: { url: broker.url },
      store: { path: join(dir, 'collector.db') },
      http: { port: 0 },
      auth: { anonymous: 'viewer' },
      ingest: {
        sites: {
          'bj-listed': { region: 'BJ', project: PROJECT, gateways: ['gw-bj-listed', 'gw-bj-standby'] },
        },
      },
    });
    collector = await startCollector(config, { logger: pino({ level: 'silent' }) });
    publisher = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
  });

  afterAll(async () => {
    await publisher?.endAsync(true);
    await collector?.close();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a sample time of 2^53-1 is set aside and does not pin the latest value: a later good value shows', async () => {
    const g = gatewayOf('bj-future');
    const now = Date.now();
    await publish(g.topic('telemetry'), g.batch(0, [g.sample(100, now - 1000)]));
    // One future sample among good ones: only it is set aside; a whole future batch (sentTs) is refused.
    const other = g.sample(7, now, { point: 'feed-rate' });
    await publish(g.topic('telemetry'), g.batch(1, [g.sample(99999, MAX_SAFE), other]));
    await publish(g.topic('telemetry'), g.batch(2, [g.sample(5, now)], 1, MAX_SAFE));
    await publish(g.topic('status'), g.status('offline', 1, MAX_SAFE));
    await publish(g.topic('telemetry'), g.batch(3, [g.sample(200, now + 1000)]));

    const latest = await eventually(async () => {
      const point = await latestOf(g.site);
      expect(point?.value).toBe(200);
      return point;
    });
    expect(latest).toMatchObject({ ts: now + 1000, quality: 'good' });
    expect((await latestOf(g.site, 'feed-rate'))?.value).toBe(7);
    const series = await get<Series>(`/api/v1/series?point=${g.pointId}&from=0&to=${now + 10_000}`);
    expect(series.samples.map((s) => s.value)).toEqual([100, 200]);
    const letters = (await deadLetters('future-timestamp')).filter((d) => d.topic === g.topic('telemetry'));
    expect(letters.map((d) => d.detail)).toEqual([
      expect.stringMatching(/^sentTs 9007199254740991 is \d+ ms ahead of receipt/),
      expect.stringContaining('1 of 2 samples set aside, the rest stored'),
    ]);
    expect((await deadLetters('future-timestamp')).some((d) => d.topic === g.topic('status'))).toBe(true);
    expect((await gatewayRecord(g.gateway))?.state).toBe(null);
  });

  it('a value of 99999 against a declared max of 12000 keeps its value, is marked above-max and uncertain, and counted', async () => {
    const g = gatewayOf('bj-range');
    const now = Date.now();
    await publish(g.topic('metadata'), g.metadata({ min: 0, max: 12000 }), true);
    await eventually(async () => expect(await get<unknown>(`/api/v1/points?site=${g.site}`)).toBeTruthy());
    await publish(g.topic('telemetry'), g.batch(0, [g.sample(99999, now)]));
    await publish(g.topic('telemetry'), g.batch(1, [g.sample(-5, now + 1)]));
    await publish(g.topic('telemetry'), g.batch(2, [g.sample(11000, now + 2)]));

    await eventually(async () => expect((await latestOf(g.site))?.value).toBe(11000));
    const series = await get<Series>(`/api/v1/series?point=${g.pointId}&from=0&to=${now + 10}`);
    expect(series.samples).toEqual([
      { ts: now, value: 99999, quality: 'uncertain', outOfRange: 'above-max' },
      { ts: now + 1, value: -5, quality: 'uncertain', outOfRange: 'below-min' },
      { ts: now + 2, value: 11000, quality: 'good' },
    ]);
    expect(await latestOf(g.site)).not.toHaveProperty('outOfRange');
    await publish(g.topic('telemetry'), g.batch(3, [g.sample(13000, now + 3)]));
    await eventually(async () =>
      expect(await latestOf(g.site)).toMatchObject({
        value: 13000,
        quality: 'uncertain',
        outOfRange: 'above-max',
      }),
    );
    expect(metric(await metrics(), 'jjj_collector_out_of_range_samples_total')).toBe(3);
  });

  it('a retained status with boot 2^53-1 does not pin the gateway offline across its restarts', async () => {
    const g = gatewayOf('bj-boot');
    await publish(g.topic('status'), g.status('online', 4));
    await eventually(async () => expect((await gatewayRecord(g.gateway))?.state).toBe('online'));
    await publish(g.topic('status'), g.status('offline', MAX_SAFE), true);
    await eventually(async () =>
      expect((await deadLetters('impossible-sequence')).some((d) => d.topic === g.topic('status'))).toBe(
        true,
      ),
    );
    expect(await gatewayRecord(g.gateway)).toMatchObject({ state: 'online', boot: 4 });

    // The gateway restarts: its new boot's status and batches count as usual.
    await publish(g.topic('status'), g.status('offline', 4));
    await publish(g.topic('status'), g.status('online', 5));
    await publish(g.topic('telemetry'), g.batch(0, [g.sample(1, Date.now())], 5));
    await eventually(async () =>
      expect(await gatewayRecord(g.gateway)).toMatchObject({ state: 'online', boot: 5, lastSeq: 0 }),
    );
    const letter = (await deadLetters('impossible-sequence')).find((d) => d.topic === g.topic('status'));
    expect(letter?.detail).toBe('boot 9007199254740991 jumps more than 1000 above the last known boot 4');
  });

  it('a huge seq does not inflate the gaps or wreck completeness; a replay of an older boot is still history', async () => {
    const g = gatewayOf('bj-seq');
    const now = Date.now();
    await publish(g.topic('telemetry'), g.batch(0, [g.sample(1, now)], 2, now));
    await publish(g.topic('telemetry'), g.batch(1, [g.sample(2, now + 1)], 2, now));
    await publish(g.topic('telemetry'), g.batch(MAX_SAFE, [g.sample(666, now + 2)], 2, now));
    await publish(g.topic('telemetry'), g.batch(1_000_000_000, [g.sample(666, now + 2)], 3, now));
    // History of boot 1, replayed from the outbox after the gateway restarted.
    await publish(g.topic('telemetry'), g.batch(7, [g.sample(0, now - 60_000)], 1, now - 60_000));
    await publish(g.topic('telemetry'), g.batch(2, [g.sample(3, now + 3)], 2, now));

    await eventually(async () => expect((await latestOf(g.site))?.value).toBe(3));
    expect(await gatewayRecord(g.gateway)).toMatchObject({ boot: 2, lastSeq: 2, batches: 4 });
    // Boot 1's replay starts at seq 7: seqs 0-6 of that boot are the only gap.
    expect((await gatewayRecord(g.gateway))?.missingBatches).toBe(7);
    expect(await get<{ gaps: unknown[] }>(`/api/v1/gaps?gateway=${g.gateway}`)).toMatchObject({
      gaps: [{ boot: 1, fromSeq: 0, toSeq: 6 }],
    });
    // Completeness as the KPIs read it, from the collector's own file.
    const reader = new SqliteStore(join(dir, 'collector.db'));
    try {
      expect(await reader.completeness(g.site, now, now)).toEqual({ expectedBatches: 3, receivedBatches: 3 });
    } finally {
      await reader.close();
    }
    const details = (await deadLetters('impossible-sequence'))
      .filter((d) => d.topic === g.topic('telemetry'))
      .map((d) => d.detail);
    expect(details).toEqual([
      // 10,000 plus 100 per second since the gateway's last batch.
      expect.stringMatching(
        /^seq 1000000000 of boot 3 jumps more than 100\d\d past the start of a new boot \(last known boot 2\)$/,
      ),
      expect.stringMatching(/^seq 9007199254740991 of boot 2 jumps more than \d+ past the last seq 1/),
    ]);
  });

  it('a message claiming a Beijing site for region HE, project evil-proj and gateway evil-gw is dead-lettered', async () => {
    const g = gatewayOf('bj-etown-cnc');
    const now = Date.now();
    await publish(g.topic('status'), g.status('online', 1));
    await publish(g.topic('telemetry'), g.batch(0, [g.sample(10, now)]));
    await eventually(async () => expect((await latestOf(g.site))?.value).toBe(10));

    const evil = {
      ...g.batch(0, [g.sample(99999, now + 1)]),
      region: 'HE',
      project: 'evil-proj',
      gateway: { id: 'evil-gw', boot: 1, seq: 0 },
    };
    await publish(`jjj/v1/HE/${g.site}/evil-gw/telemetry`, evil);
    await publish(`jjj/v1/HE/${g.site}/evil-gw/status`, {
      ...g.status('offline', 1),
      region: 'HE',
      project: 'evil-proj',
      gateway: { id: 'evil-gw', boot: 1 },
    });
    // The owner itself may not move its site either.
    await publish(g.topic('telemetry'), { ...g.batch(1, [g.sample(99999, now + 1)]), project: 'evil-proj' });
    await publish(g.topic('telemetry'), g.batch(2, [g.sample(20, now + 2)]));

    await eventually(async () => expect((await latestOf(g.site))?.value).toBe(20));
    const site = (await get<SiteSummary[]>('/api/v1/sites')).find((s) => s.id === g.site);
    expect(site).toMatchObject({ region: 'BJ', project: PROJECT, gateway: g.gateway, online: true });
    expect(await gatewayRecord('evil-gw')).toBeUndefined();
    const letters = await deadLetters('foreign-site');
    expect(letters.filter((d) => d.topic.includes(`/${g.site}/`)).map((d) => d.detail)).toEqual([
      `site ${g.site} (first claim) claimed with project evil-proj (site is ${PROJECT})`,
      `site ${g.site} (first claim) claimed with region HE (site is in BJ), project evil-proj (site is ${PROJECT}), gateway evil-gw (site belongs to ${g.gateway})`,
      `site ${g.site} (first claim) claimed with region HE (site is in BJ), project evil-proj (site is ${PROJECT}), gateway evil-gw (site belongs to ${g.gateway})`,
    ]);
  });

  it('a configured site takes its listed gateways, and no other, from the first message on', async () => {
    const listed = gatewayOf('bj-listed');
    const now = Date.now();
    const intruder = {
      ...listed.batch(0, [listed.sample(1, now)]),
      gateway: { id: 'gw-first', boot: 1, seq: 0 },
    };
    await publish(`jjj/v1/BJ/bj-listed/gw-first/telemetry`, intruder);
    const standby = {
      ...listed.batch(0, [listed.sample(2, now + 1)]),
      gateway: { id: 'gw-bj-standby', boot: 1, seq: 0 },
    };
    await publish(`jjj/v1/BJ/bj-listed/gw-bj-standby/telemetry`, standby);
    await publish(listed.topic('telemetry'), listed.batch(0, [listed.sample(3, now + 2)]));
    await eventually(async () => expect((await latestOf(listed.site))?.value).toBe(3));
    const series = await get<Series>(`/api/v1/series?point=${listed.pointId}&from=0&to=${now + 10}`);
    expect(series.samples.map((s) => s.value)).toEqual([2, 3]);
    const letter = (await deadLetters('foreign-site')).find((d) => d.topic.includes('/gw-first/'));
    expect(letter?.detail).toBe(
      'site bj-listed (configured) claimed with gateway gw-first (site belongs to gw-bj-listed, gw-bj-standby)',
    );
  });

  it('1e999 is refused on the telemetry fast path, never stored as null with good quality', async () => {
    const g = gatewayOf('bj-infinity');
    const now = Date.now();
    const text = JSON.stringify(g.batch(0, [g.sample(1, now)])).replace('"value":1,', '"value":1e999,');
    expect(text).toContain('1e999');
    await publish(g.topic('telemetry'), text);
    await publish(g.topic('telemetry'), g.batch(1, [g.sample(42, now + 1)]));
    await eventually(async () => expect((await latestOf(g.site))?.value).toBe(42));
    const series = await get<Series>(`/api/v1/series?point=${g.pointId}&from=0&to=${now + 10}`);
    expect(series.samples).toEqual([{ ts: now + 1, value: 42, quality: 'good' }]);
    const letter = (await deadLetters('invalid-message')).find((d) => d.topic === g.topic('telemetry'));
    expect(letter?.detail).toBe('points[0].value: Invalid input');
  });

  it('a Sparkplug NaN or future timestamp is set aside; the rest of the DDATA is stored', async () => {
    const now = Date.now();
    const edge = tianjinEdgeNode({
      site: 'tj-sparkplug',
      gateway: 'gw-tj-sparkplug',
      boot: 3,
      points: ['a', 'b', 'c'].map((point) => ({
        line: 'smt',
        equipment: 'oven-01',
        point,
        protocol: 'opcua' as const,
        address: `ns=1;s=${point}`,
        dataType: 'float64' as const,
      })),
    });
    edge.nextSessionWill();
    const sample = (point: string, value: number, ts = now): PointSample => ({
      line: 'smt',
      equipment: 'oven-01',
      point,
      value,
      ts,
      quality: 'good',
    });
    const batch = (seq: number, points: PointSample[]): TelemetryBatch => ({
      schema: 'jjj.telemetry/1',
      region: 'TJ',
      project: 'jjj-dp-03',
      site: 'tj-sparkplug',
      gateway: { id: 'gw-tj-sparkplug', boot: 3, seq },
      sentTs: now,
      points,
    });
    const send = async (messages: { topic: string; payload: Buffer | string }[]) => {
      for (const m of messages) await publisher.publishAsync(m.topic, m.payload, { qos: 1 });
    };
    await send(edge.births(now));
    await send(edge.data(batch(0, [sample('a', Number.NaN), sample('b', 1.5), sample('c', 2, MAX_SAFE)])));
    await send(
      edge.data(batch(1, [sample('a', Number.POSITIVE_INFINITY, now + 1), sample('b', 2.5, now + 1)])),
    );

    await eventually(async () => expect((await latestOf('tj-sparkplug', 'b'))?.value).toBe(2.5));
    const points = (await get<{ points: LatestPoint[] }>('/api/v1/latest?site=tj-sparkplug')).points;
    expect(points.map((p) => [p.point, p.value, p.quality])).toEqual([['b', 2.5, 'good']]);
    const sparkplugLetters = async (reason: string) =>
      (await deadLetters(reason)).filter((d) => d.topic.startsWith('spBv1.0/tj-sparkplug/'));
    expect((await sparkplugLetters('non-finite')).map((d) => d.detail)).toEqual([
      expect.stringContaining(
        '1 of 2 samples set aside, the rest stored: value NaN or infinite: smt/oven-01/a',
      ),
      expect.stringContaining(
        '1 of 3 samples set aside, the rest stored: value NaN or infinite: smt/oven-01/a',
      ),
    ]);
    expect(await sparkplugLetters('future-timestamp')).toHaveLength(1);
  });
});
