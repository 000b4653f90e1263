/**
 * `jjj.telemetry/2` and zlib-compressed payloads through a real collector (embedded SQLite store)
 * behind a real Mosquitto: a compact batch is stored exactly as its v1 batch would be (every sample,
 * server time, status, the batch registry), exactly once whatever format a replay comes in, and
 * every hostile compact or compressed message is dead-lettered with its reason while ingest goes on.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCollector, startCollector } from '../../cloud/collector.js';
import { buildCollectorConfig } from '../../cloud/config.js';
import type { DeadLetter, GatewaySummary, LatestPoint } from '../../cloud/store/store.js';
import { compactBatch } from '../../gateway/schema/compact-telemetry.js';
import { type PointSample, type TelemetryBatch, topicFor } from '../../gateway/schema/index.js';
import { encodeTelemetryPayload } from '../../gateway/schema/telemetry-payload.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { metric } from '../helpers/prometheus.js';
import { eventually } from '../helpers/wait.js';

const PROJECT = 'etown-smart-factory';
const MAX_MESSAGE_BYTES = 1024 * 1024;
/** 2255-01-01, as a sample time a hostile dt could reach. */
const YEAR_2255 = Date.UTC(2255, 0, 1);

/** A gateway of its own per test, so one test's records never explain another's outcome. */
function gatewayOf(site: string) {
  const gateway = `gw-${site}`;
  const ref = { region: 'BJ' as const, project: PROJECT, site };
  return {
    site,
    gateway,
    topic: topicFor({ ...ref, gateway, kind: 'telemetry' }),
    batch: (seq: number, points: PointSample[], extra: Partial<TelemetryBatch> = {}): TelemetryBatch => ({
      schema: 'jjj.telemetry/1',
      ...ref,
      gateway: { id: gateway, boot: 1, seq },
      sentTs: Date.now(),
      points,
      ...extra,
    }),
  };
}

/** A device's scan at `ts`, with what OPC UA and Modbus add: server times, statuses, a bad sample. */
function scan(ts: number, base: number): PointSample[] {
  return [
    { line: 'machining', equipment: 'cnc-01', point: 'spindle', value: base, ts, quality: 'good' },
    {
      line: 'machining',
      equipment: 'cnc-01',
      point: 'feed',
      value: base + 0.5,
      ts: ts + 3,
      serverTs: ts + 7,
      quality: 'uncertain',
      status: { source: 'opcua', code: 0x40920000, name: 'UncertainLastUsableValue' },
    },
    { line: 'machining', equipment: 'cnc-01', point: 'program', value: `O${base}`, ts, quality: 'good' },
    { line: 'machining', equipment: 'cnc-02', point: 'axes', value: [base, 2, true], ts, quality: 'good' },
    {
      line: 'utilities',
      equipment: 'meter-main',
      point: 'power',
      value: null,
      ts,
      quality: 'bad',
      status: { source: 'modbus', code: 11, name: 'GatewayTargetDeviceFailedToRespond' },
    },
  ];
}

describe('compact and compressed telemetry (real collector, Mosquitto)', () => {
  let dir: string;
  let broker: Mosquitto;
  let collector: RunningCollector;
  let publisher: MqttClient;
  let db: Database.Database;

  const get = async <Body>(path: string): Promise<Body> => {
    const response = await fetch(`${collector.httpUrl}${path}`);
    expect(response.status).toBe(200);
    return (await response.json()) as Body;
  };
  const publish = (topic: string, message: unknown) =>
    publisher.publishAsync(
      topic,
      Buffer.isBuffer(message) || typeof message === 'string' ? message : JSON.stringify(message),
      { qos: 1 },
    );
  const latestOf = async (site: string, point: string) =>
    (await get<{ points: LatestPoint[] }>(`/api/v1/latest?site=${site}`)).points.find(
      (p) => p.point === point,
    );
  const deadLetters = async (topic: string) =>
    (await get<DeadLetter[]>('/api/v1/dead-letters?limit=100')).filter((d) => d.topic === topic).reverse();
  const gatewayRecord = async (id: string) =>
    (await get<GatewaySummary[]>('/api/v1/gateways')).find((g) => g.id === id);
  const metrics = async () => (await fetch(`${collector.httpUrl}/metrics`)).text();
  /** Every stored sample of a site as the store holds it, the site left out of the point id. */
  const storedSamples = (site: string) =>
    db
      .prepare(
        `SELECT substr(point_id, length(?) + 2) AS point, ts, value, value_type, quality, status_code, server_ts
         FROM samples WHERE point_id LIKE ? || '/%' ORDER BY point, ts`,
      )
      .all(site, site);
  const batchRows = (gateway: string) =>
    db
      .prepare('SELECT boot, seq, points, historical FROM batches WHERE gateway = ? ORDER BY boot, seq')
      .all(gateway);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jjj-ingest-compact-'));
    broker = await startMosquitto();
    const config = buildCollectorConfig({
      mqtt: { url: broker.url },
      store: { path: join(dir, 'collector.db') },
      http: { port: 0 },
      auth: { anonymous: 'viewer' },
      ingest: { maxMessageBytes: MAX_MESSAGE_BYTES },
    });
    collector = await startCollector(config, { logger: pino({ level: 'silent' }) });
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

  it('stores a v2 batch, plain or zlib-compressed, exactly as the same v1 batch', async () => {
    const now = Date.now() - 60_000;
    const sites = ['bj-as-v1', 'bj-as-v2', 'bj-as-v2-zlib'].map(gatewayOf);
    const [asV1, asV2, asZlib] = sites as [
      ReturnType<typeof gatewayOf>,
      ReturnType<typeof gatewayOf>,
      ReturnType<typeof gatewayOf>,
    ];
    for (const seq of [0, 1]) {
      const points = scan(now + seq * 1000, 100 + seq);
      const historical = seq === 0 ? { historical: true } : {};
      await publish(asV1.topic, asV1.batch(seq, points, historical));
      await publish(asV2.topic, compactBatch(asV2.batch(seq, points, historical)));
      const zlib = encodeTelemetryPayload(compactBatch(asZlib.batch(seq, points, historical)), true);
      expect(zlib.payload[0]).toBe(0x78);
      await publish(asZlib.topic, zlib.payload);
    }
    for (const g of sites) {
      await eventually(async () => expect((await gatewayRecord(g.gateway))?.lastSeq).toBe(1));
    }
    const expected = storedSamples(asV1.site);
    expect(expected).toHaveLength(10);
    expect(expected).toContainEqual({
      point: 'machining/cnc-01/feed',
      ts: now + 1003,
      value: 101.5,
      value_type: 'number',
      quality: 'uncertain',
      status_code: 0x40920000,
      server_ts: now + 1007,
    });
    for (const g of [asV2, asZlib]) {
      expect(storedSamples(g.site)).toEqual(expected);
      expect(batchRows(g.gateway)).toEqual(batchRows(asV1.gateway));
      expect(await latestOf(g.site, 'power')).toEqual({
        ...(await latestOf(asV1.site, 'power')),
        pointId: `${g.site}/utilities/meter-main/power`,
      });
    }
    expect(batchRows(asV2.gateway)).toEqual([
      { boot: 1, seq: 0, points: 5, historical: 1 },
      { boot: 1, seq: 1, points: 5, historical: 0 },
    ]);
  });

  it('stores each sample once when a batch is replayed as v2, v2+zlib and v1 (a gateway upgraded mid-backlog)', async () => {
    const g = gatewayOf('bj-replay');
    const now = Date.now() - 60_000;
    const before = metric(await metrics(), 'jjj_collector_duplicate_batches_total');
    const first = g.batch(0, scan(now, 1));
    // Old v1 entries of the outbox replayed by the upgraded gateway after their v2 copies, and the reverse.
    await publish(g.topic, compactBatch(first));
    await publish(g.topic, compactBatch(first));
    await publish(g.topic, deflateSync(JSON.stringify(compactBatch(first))));
    await publish(g.topic, { ...first, historical: true });
    const second = g.batch(1, scan(now + 1000, 2), { historical: true });
    await publish(g.topic, second);
    await publish(g.topic, compactBatch(second));
    await publish(g.topic, deflateSync(JSON.stringify(second)));
    await publish(g.topic, g.batch(2, scan(now + 2000, 3)));

    await eventually(async () => expect((await gatewayRecord(g.gateway))?.lastSeq).toBe(2));
    await eventually(async () =>
      expect(metric(await metrics(), 'jjj_collector_duplicate_batches_total')).toBe(before + 5),
    );
    const stored = storedSamples(g.site) as { point: string; ts: number }[];
    expect(stored).toHaveLength(15);
    expect(new Set(stored.map((s) => `${s.point}@${s.ts}`)).size).toBe(15);
    expect(await gatewayRecord(g.gateway)).toMatchObject({ batches: 3, missingBatches: 0 });
    expect(batchRows(g.gateway)).toEqual([
      { boot: 1, seq: 0, points: 5, historical: 0 },
      { boot: 1, seq: 1, points: 5, historical: 1 },
      { boot: 1, seq: 2, points: 5, historical: 0 },
    ]);
    expect(await deadLetters(g.topic)).toEqual([]);
  });

  it('dead-letters every hostile compact or compressed message with its reason, and goes on storing', async () => {
    const g = gatewayOf('bj-hostile');
    const now = Date.now() - 60_000;
    const good = compactBatch(g.batch(0, scan(now, 1)));
    const [group, ...others] = good.groups as [(typeof good.groups)[number], ...typeof good.groups];
    const withGroup = (seq: number, changes: Record<string, unknown>) => ({
      ...good,
      gateway: { ...good.gateway, seq },
      groups: [{ ...group, ...changes }, ...others],
    });
    const manyGroups = (count: number, each: number) => ({
      ...good,
      groups: Array.from({ length: count }, (_, i) => ({
        line: 'l',
        equipment: `e-${i}`,
        ts: now,
        points: Array.from({ length: each }, (_, p) => `p${p}`),
        values: Array.from({ length: each }, () => 1),
        quality: 'good',
      })),
    });
    const bomb = deflateSync(Buffer.alloc(64 * 1024 * 1024));
    const zlibOfInvalid = deflateSync(JSON.stringify(withGroup(1, { values: [1] })));
    const truncated = deflateSync(JSON.stringify(good)).subarray(0, 40);
    const hostile: [string, string | Buffer | object, string, string | RegExp][] = [
      [
        'column lengths that disagree',
        withGroup(1, { values: [1] }),
        'invalid-message',
        'groups[0].values: expected 3 entries, one per point, got 1',
      ],
      [
        'a null value with good quality',
        withGroup(1, { values: [null, 1, 'x'], quality: 'good', dt: undefined, serverDt: undefined }),
        'invalid-message',
        'groups[0].values[0]: a null value is only allowed with bad quality',
      ],
      [
        'a serverDt making a negative time',
        withGroup(1, { serverDt: [null, -now - 1, null] }),
        'invalid-message',
        'groups[0].serverDt[1]: ts + serverDt is not a valid time',
      ],
      ['wrong types', withGroup(1, { points: 'spindle', ts: '2026' }), 'invalid-message', /^groups\[0\]\./],
      ['status garbage', withGroup(1, { status: [1, 'x', null] }), 'invalid-message', /^groups\[0\]\.status/],
      [
        'more than 50,000 samples over its groups',
        manyGroups(3, 20_000),
        'invalid-message',
        'groups: a batch holds at most 50000 samples, this one 60000',
      ],
      [
        'a column of more than 50,000 entries',
        manyGroups(1, 50_001),
        'invalid-message',
        /^groups\[0\]\.points: Too big: expected array to have <=50000 items/,
      ],
      [
        'another site than its topic',
        { ...good, site: 'bj-elsewhere' },
        'identity-mismatch',
        'site: topic says "bj-hostile", message says "bj-elsewhere"',
      ],
      [
        'an inflate bomb (64 MB of zeros)',
        bomb,
        'oversized',
        `a ${bomb.length}-byte zlib payload inflates to more than the ${MAX_MESSAGE_BYTES} bytes allowed`,
      ],
      ['a truncated zlib stream', truncated, 'bad-compression', 'zlib: unexpected end of file'],
      [
        'zlib with bytes after its stream',
        Buffer.concat([deflateSync(JSON.stringify(good)), Buffer.from('{}')]),
        'bad-compression',
        '2 bytes follow the end of the zlib stream',
      ],
      [
        'a zlib-compressed invalid batch',
        zlibOfInvalid,
        'invalid-message',
        'groups[0].values: expected 3 entries, one per point, got 1',
      ],
    ];
    for (const [, payload] of hostile) await publish(g.topic, payload);
    // A dt or a serverDt reaching 2255: that sample is set aside, the rest of its batch is stored.
    await publish(g.topic, withGroup(1, { dt: [0, YEAR_2255 - now, 0] }));
    await publish(g.topic, withGroup(2, { serverDt: [YEAR_2255 - now, 7, null] }));
    await publish(g.topic, compactBatch(g.batch(3, scan(now + 2000, 42))));

    await eventually(async () => expect((await latestOf(g.site, 'spindle'))?.value).toBe(42));
    const letters = await deadLetters(g.topic);
    expect(letters.map((d) => [d.reason, d.detail])).toEqual([
      ...hostile.map(([, , reason, detail]) => [
        reason,
        typeof detail === 'string' ? detail : expect.stringMatching(detail),
      ]),
      [
        'future-timestamp',
        expect.stringMatching(
          new RegExp(`^1 of 5 samples set aside, the rest stored: .*machining/cnc-01/feed ts ${YEAR_2255} `),
        ),
      ],
      [
        'future-timestamp',
        expect.stringMatching(
          new RegExp(
            `^1 of 5 samples set aside, the rest stored: .*machining/cnc-01/spindle ts ${now} serverTs ${YEAR_2255} `,
          ),
        ),
      ],
    ]);
    // A compressed message kept aside is kept inflated, readable; a bomb is kept as it came.
    expect(letters[11]?.payloadPreview).toMatch(/^\{"schema":"jjj\.telemetry\/2"/);
    expect(letters[8]?.payloadSize).toBe(bomb.length);
    expect(await gatewayRecord(g.gateway)).toMatchObject({ lastSeq: 3, batches: 3 });
    expect((await latestOf(g.site, 'feed'))?.ts).toBe(now + 2003);
  });
});
