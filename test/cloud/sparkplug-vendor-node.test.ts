/**
 * Another vendor's Sparkplug B edge node (an Ignition-style `Plant A/Edge 1/PLC 3`, encoded with
 * Eclipse Tahu's library) over a real Mosquitto into a real collector (SQLite): placed by
 * `sparkplug.nodes`, names with spaces, slashes, capitals and Unicode made stable point ids, every
 * Tahu metric type the store takes, Sparkplug's own metric properties, and data before its birth.
 * jjj's own gateway speaking Sparkplug on the same collector is stored as before.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCollector, startCollector } from '../../cloud/collector.js';
import { buildCollectorConfig } from '../../cloud/config.js';
import { stableId } from '../../cloud/sparkplug/names.js';
import type { DeadLetter, GatewaySummary, LatestPoint, PointInfo, Series } from '../../cloud/store/store.js';
import type { PointMetadata, TelemetryBatch } from '../../gateway/schema/index.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { eventually, waitUntil } from '../helpers/wait.js';
import { tianjinEdgeNode } from './fixtures.js';
import { decodeTahu, TahuEdgeNode, type TahuMetric } from './sparkplug-tahu-node.js';

const T = 1_750_000_000_000;
const PLC = 'PLC 3';
const EQUIPMENT = stableId(PLC);
const GATEWAY = stableId('Plant A/Edge 1');

/** Every Tahu metric type the store takes (plus a DataSet, which it does not), with alias i + 1. */
const bornMetrics: TahuMetric[] = [
  {
    name: 'Inputs/Temperature',
    type: 'Float',
    value: 21.5,
    properties: {
      engUnit: { type: 'String', value: '°C' },
      engLow: { type: 'Float', value: -40 },
      engHigh: { type: 'Float', value: 150 },
    },
    metadata: { description: 'Oven zone 1' },
  },
  {
    name: 'Line 3 Speed',
    type: 'Double',
    value: 12.25,
    properties: {
      engUnit: { type: 'String', value: 'm/min' },
      Description: { type: 'String', value: 'belt' },
    },
  },
  { name: 'Motor/Current', type: 'Int16', value: -5, properties: { Unit: { type: 'String', value: 'A' } } },
  { name: 'Offset', type: 'Int8', value: -3 },
  { name: 'Mode', type: 'UInt8', value: 200 },
  { name: 'Pulses', type: 'Int32', value: -100_000 },
  { name: 'Batch Size', type: 'UInt16', value: 60_000 },
  { name: 'Energy Wh', type: 'UInt32', value: 4_000_000_000 },
  { name: 'Big Signed', type: 'Int64', value: -1_234_567_890_123 },
  { name: 'Big Count', type: 'UInt64', value: 1_234_567_890_123 },
  { name: 'Running', type: 'Boolean', value: true },
  { name: 'Recipe', type: 'String', value: 'Ä-Rezept 7' },
  { name: 'Notes', type: 'Text', value: 'line cleared' },
  { name: 'Batch UUID', type: 'UUID', value: '123e4567-e89b-12d3-a456-426614174000' },
  { name: 'Last Change', type: 'DateTime', value: T },
  { name: 'Raw', type: 'Bytes', value: new Uint8Array([1, 2, 3]) },
  { name: '温度 Zone/1', type: 'Float', value: 0.1 },
  {
    name: 'Table',
    type: 'DataSet',
    value: { numOfColumns: 1, columns: ['a'], types: ['Int32'], rows: [[1]] },
  },
];
const metrics = bornMetrics.map((metric, i) => ({ ...metric, alias: i + 1, timestamp: T }));

/** The value each metric is stored with (64-bit integers as decimal text, bytes as base64). */
const stored: Record<string, unknown> = {
  'Inputs/Temperature': 21.5,
  'Line 3 Speed': 12.25,
  'Motor/Current': -5,
  Offset: -3,
  Mode: 200,
  Pulses: -100_000,
  'Batch Size': 60_000,
  'Energy Wh': 4_000_000_000,
  'Big Signed': '-1234567890123',
  'Big Count': '1234567890123',
  Running: true,
  Recipe: 'Ä-Rezept 7',
  Notes: 'line cleared',
  'Batch UUID': '123e4567-e89b-12d3-a456-426614174000',
  'Last Change': T,
  Raw: 'AQID',
  '温度 Zone/1': 0.1,
};

describe('a Sparkplug B edge node of another vendor', () => {
  let dir: string;
  let broker: Mosquitto;
  let collector: RunningCollector;
  let client: MqttClient;
  const commands: { topic: string; metrics: { name?: string; value: unknown }[] }[] = [];

  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${collector.httpUrl}${path}`);
    expect(response.status, path).toBe(200);
    return (await response.json()) as T;
  };
  const metricValue = async (name: string, labels = '') => {
    const text = await (await fetch(`${collector.httpUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jjj-sparkplug-vendor-'));
    broker = await startMosquitto();
    const config = buildCollectorConfig({
      mqtt: { url: broker.url },
      store: { path: join(dir, 'collector.db') },
      http: { port: 0 },
      auth: { anonymous: 'viewer' },
      sparkplug: {
        nodes: [
          {
            group: 'Plant A',
            node: 'Edge *',
            device: 'PLC *',
            region: 'HE',
            project: 'jjj-dp-09',
            site: 'plant-a',
            line: 'line-3',
            siteName: { en: 'Plant A', zh: '甲厂' },
          },
          {
            group: 'Plant A',
            node: 'Edge *',
            region: 'HE',
            project: 'jjj-dp-09',
            site: 'plant-a',
            line: 'utilities',
          },
        ],
      },
    });
    collector = await startCollector(config, { logger: pino({ level: 'silent' }) });
    client = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    client.on('message', (topic, payload) => commands.push({ topic, metrics: decodeTahu(payload).metrics }));
    await client.subscribeAsync('spBv1.0/+/NCMD/#', { qos: 1 });
  });

  afterAll(async () => {
    await client?.endAsync(true);
    await collector?.close();
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is placed by the mapping; every metric type, engUnit and engLow/engHigh are stored under stable ids, the original names visible', async () => {
    const node = new TahuEdgeNode(client, 'Plant A', 'Edge 1');
    await node.nbirth([{ name: 'Node Control/Rebirth', type: 'Boolean', value: false }]);
    await node.dbirth(PLC, metrics);
    // Data by alias, as Sparkplug recommends (the DataSet among it is born but not stored).
    await node.ddata(
      PLC,
      metrics.map(({ name: _, properties: __, metadata: ___, ...metric }) => ({
        ...metric,
        timestamp: T + 1000,
      })),
    );
    const points = await eventually(async () => {
      const answer = await get<{ points: PointInfo[] }>('/api/v1/points?site=plant-a');
      expect(answer.points).toHaveLength(Object.keys(stored).length);
      return answer.points;
    });
    const byName = new Map(points.map((p) => [p.sourceName?.split('/').slice(3).join('/'), p]));
    expect(byName.get('Inputs/Temperature')).toEqual({
      pointId: `plant-a/line-3/${EQUIPMENT}/${stableId('Inputs/Temperature')}`,
      line: 'line-3',
      equipment: EQUIPMENT,
      point: stableId('Inputs/Temperature'),
      protocol: null,
      unit: 'CEL',
      dataType: 'float32',
      description: 'Oven zone 1',
      min: -40,
      max: 150,
      writable: false,
      sourceName: 'Plant A/Edge 1/PLC 3/Inputs/Temperature',
    });
    expect(byName.get('Line 3 Speed')).toMatchObject({
      unit: 'm/min',
      description: 'belt',
      dataType: 'float64',
    });
    expect(byName.get('Motor/Current')).toMatchObject({ unit: 'AMP', dataType: 'int16' });
    expect(byName.get('Big Count')).toMatchObject({ dataType: 'uint64' });
    expect(byName.get('Last Change')).toMatchObject({ dataType: 'datetime' });
    expect(new Set(points.map((p) => p.pointId)).size).toBe(points.length);
    for (const point of points) expect(point.point).toMatch(/^[a-z0-9][a-z0-9_-]{0,63}$/);

    const latest = await eventually(async () => {
      const answer = await get<{ points: LatestPoint[] }>('/api/v1/latest?site=plant-a');
      expect(answer.points.every((p) => p.ts === T + 1000)).toBe(true);
      return answer.points;
    });
    const latestBySlug = new Map(latest.map((p) => [p.point, p]));
    for (const [name, value] of Object.entries(stored)) {
      expect(latestBySlug.get(stableId(name))?.value, name).toEqual(value);
    }
    expect(latestBySlug.get(stableId('Inputs/Temperature'))).toMatchObject({ unit: 'CEL', quality: 'good' });

    const pointId = encodeURIComponent(`plant-a/line-3/${EQUIPMENT}/${stableId('Line 3 Speed')}`);
    const series = await get<Series>(`/api/v1/series?point=${pointId}&from=${T}&to=${T + 1000}`);
    expect(series).toMatchObject({
      unit: 'm/min',
      samples: [
        { ts: T, value: 12.25 },
        { ts: T + 1000, value: 12.25 },
      ],
    });

    const gateways = await get<GatewaySummary[]>('/api/v1/gateways');
    // NBIRTH, DBIRTH (batch 0) and DDATA (batch 1) of boot 1: nothing missing.
    expect(gateways.find((g) => g.id === GATEWAY)).toMatchObject({
      site: 'plant-a',
      state: 'online',
      boot: 1,
      lastSeq: 1,
      batches: 2,
      missingBatches: 0,
    });
    const sites = await get<{ id: string; name: string; nameZh: string; region: string }[]>('/api/v1/sites');
    expect(sites.find((s) => s.id === 'plant-a')).toMatchObject({
      name: 'Plant A',
      nameZh: '甲厂',
      region: 'HE',
    });
    expect(commands).toEqual([]);
  });

  it('places a device no device pattern names by the next entry; node-level metrics under the node', async () => {
    const node = new TahuEdgeNode(client, 'Plant A', 'Edge 2');
    await node.nbirth([{ name: 'Uptime', type: 'Int64', value: 42, timestamp: T }]);
    await node.dbirth('Power Meter', [{ name: 'kWh', type: 'Double', value: 5, timestamp: T, alias: 1 }]);
    const points = await eventually(async () => {
      const answer = await get<{ points: PointInfo[] }>('/api/v1/points?site=plant-a');
      const mine = answer.points.filter((p) => p.sourceName?.startsWith('Plant A/Edge 2/'));
      expect(mine).toHaveLength(2);
      return mine;
    });
    expect(points.map((p) => [p.sourceName, p.line, p.equipment]).sort()).toEqual([
      ['Plant A/Edge 2/Power Meter/kWh', 'utilities', stableId('Power Meter')],
      ['Plant A/Edge 2/Uptime', 'utilities', stableId('Edge 2')],
    ]);
    // NDATA of a node-level metric (and of the node's controls, which are no points).
    await node.send('NDATA', undefined, [
      { name: 'Uptime', type: 'Int64', value: 43, timestamp: T + 1 },
      { name: 'Node Control/Rebirth', type: 'Boolean', value: false },
    ]);
    await eventually(async () => {
      const answer = await get<{ points: LatestPoint[] }>('/api/v1/latest?site=plant-a');
      expect(answer.points.find((p) => p.equipment === stableId('Edge 2'))).toMatchObject({
        value: '43',
        ts: T + 1,
      });
    });
    expect(commands).toEqual([]);
  });

  it('counts DDATA before its DBIRTH, keeps it as one dead letter per back-off and asks the node for a rebirth once', async () => {
    const node = new TahuEdgeNode(client, 'Plant A', 'Edge 3');
    await node.nbirth();
    for (let i = 0; i < 5; i++) {
      await node.ddata('PLC 9', [{ alias: 1, type: 'Double', value: i, timestamp: T }]);
    }
    await waitUntil(
      'five DDATA counted',
      async () => (await metricValue('jjj_collector_sparkplug_no_birth_messages_total')) === 5,
    );
    const letters = await get<DeadLetter[]>('/api/v1/dead-letters?reason=sparkplug-no-birth');
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ topic: 'spBv1.0/Plant A/DDATA/Edge 3/PLC 9' });
    expect(letters[0]?.detail).toContain('before its DBIRTH');
    await waitUntil('the rebirth request', () => commands.length > 0);
    expect(commands).toEqual([
      {
        topic: 'spBv1.0/Plant A/NCMD/Edge 3',
        metrics: [expect.objectContaining({ name: 'Node Control/Rebirth', value: true })],
      },
    ]);
    expect(await metricValue('jjj_collector_sparkplug_rebirth_requests_total', 'reason="no-birth"')).toBe(1);
    expect(
      await metricValue('jjj_collector_sparkplug_rebirth_requests_held_back_total', 'reason="no-birth"'),
    ).toBe(4);
  });

  it("stores jjj's own Sparkplug gateway as before, without a mapping", async () => {
    const points: PointMetadata[] = [
      {
        line: 'machining',
        equipment: 'cnc-01',
        point: 'spindle-speed',
        protocol: 'opcua',
        address: 'ns=1;s=cnc-01.spindle-speed',
        unit: 'RPM',
      },
    ];
    const edge = tianjinEdgeNode({ boot: 9, points });
    edge.nextSessionWill();
    const batch: TelemetryBatch = {
      schema: 'jjj.telemetry/1',
      region: 'TJ',
      project: 'jjj-dp-03',
      site: 'tj-binhai-smt',
      gateway: { id: 'gw-tj', boot: 9, seq: 0 },
      sentTs: T,
      points: [
        {
          line: 'machining',
          equipment: 'cnc-01',
          point: 'spindle-speed',
          value: 1450.5,
          ts: T,
          quality: 'good',
        },
      ],
    };
    for (const message of [...edge.births(T), ...edge.data(batch)]) {
      await client.publishAsync(message.topic, Buffer.from(message.payload), { qos: 1 });
    }
    const latest = await eventually(async () => {
      const answer = await get<{ points: LatestPoint[] }>('/api/v1/latest?site=tj-binhai-smt');
      expect(answer.points).toHaveLength(1);
      return answer.points;
    });
    expect(latest[0]).toMatchObject({
      pointId: 'tj-binhai-smt/machining/cnc-01/spindle-speed',
      value: 1450.5,
      unit: 'RPM',
    });
    const info = await get<{ points: PointInfo[] }>('/api/v1/points?site=tj-binhai-smt');
    expect(info.points[0]).toMatchObject({ protocol: 'opcua', unit: 'RPM' });
    expect(info.points[0]).not.toHaveProperty('sourceName');
    const gateways = await get<GatewaySummary[]>('/api/v1/gateways');
    expect(gateways.find((g) => g.id === 'gw-tj')).toMatchObject({
      boot: 9,
      state: 'online',
      missingBatches: 0,
    });
  });
});
