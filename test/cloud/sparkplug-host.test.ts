import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { type SparkplugEvent, SparkplugHost, SparkplugIngestError } from '../../cloud/sparkplug-host.js';
import type { KpiRole, PointMetadata, TelemetryBatch } from '../../gateway/schema/index.js';
import { capturingLogger } from '../helpers/capturing-logger.js';
import { tianjinEdgeNode } from './fixtures.js';

const tahu = createRequire(import.meta.url)('sparkplug-payload').get('spBv1.0') as {
  encodePayload(payload: unknown): Uint8Array;
};

const points: PointMetadata[] = [
  {
    line: 'machining',
    equipment: 'cnc-01',
    point: 'spindle-speed',
    protocol: 'opcua',
    address: 'ns=1;s=cnc-01.spindle-speed',
    dataType: 'float64',
    unit: 'RPM',
  },
  {
    line: 'utilities',
    equipment: 'meter-main',
    point: 'energy-total',
    protocol: 'modbus',
    address: 'unit=1;holding=0',
    unit: 'KWH',
  },
];

function edgeNode() {
  return tianjinEdgeNode({ boot: 9, points });
}

const batch = (spindle: number | null, historical = false): TelemetryBatch => ({
  schema: 'jjj.telemetry/1',
  region: 'TJ',
  project: 'jjj-dp-03',
  site: 'tj-binhai-smt',
  gateway: { id: 'gw-tj', boot: 9, seq: 1 },
  sentTs: 2000,
  ...(historical && { historical }),
  points: [
    spindle === null
      ? {
          line: 'machining',
          equipment: 'cnc-01',
          point: 'spindle-speed',
          value: null,
          ts: 1500,
          quality: 'bad',
          status: { source: 'gateway', code: 2, name: 'NotConnected' },
        }
      : {
          line: 'machining',
          equipment: 'cnc-01',
          point: 'spindle-speed',
          value: spindle,
          ts: 1500,
          serverTs: 1510,
          quality: 'good',
        },
    {
      line: 'utilities',
      equipment: 'meter-main',
      point: 'energy-total',
      value: 812.5,
      ts: 1500,
      quality: 'good',
    },
  ],
});

function feed(
  host: SparkplugHost,
  messages: Array<{ topic: string; payload: string | Buffer }>,
): SparkplugEvent[] {
  return messages.flatMap((m) => host.handle(m.topic, Buffer.from(m.payload), 1000));
}

describe('SparkplugHost', () => {
  it("reads what the gateway's edge node sends: status, metadata and samples in the jjj schema", () => {
    const edge = edgeNode();
    edge.nextSessionWill();
    const host = new SparkplugHost();
    const births = feed(host, edge.births(1000));
    expect(births[0]).toEqual({
      kind: 'status',
      message: {
        schema: 'jjj.status/1',
        region: 'TJ',
        project: 'jjj-dp-03',
        site: 'tj-binhai-smt',
        gateway: { id: 'gw-tj', boot: 9 },
        state: 'online',
        ts: 1000,
      },
    });
    const metadata = births
      .filter((e) => e.kind === 'metadata')
      .flatMap((e) => (e.kind === 'metadata' ? e.message.points : []));
    // The data type travels as the metric's Sparkplug datatype, not as metadata.
    expect(metadata).toEqual(points.map(({ dataType: _, ...rest }) => rest));

    const data = feed(host, edge.data(batch(1450.5)));
    const samples = data.flatMap((e) => (e.kind === 'telemetry' ? e.message.points : []));
    expect(samples).toEqual([
      {
        line: 'machining',
        equipment: 'cnc-01',
        point: 'spindle-speed',
        value: 1450.5,
        ts: 1500,
        quality: 'good',
      },
      {
        line: 'utilities',
        equipment: 'meter-main',
        point: 'energy-total',
        value: 812.5,
        ts: 1500,
        quality: 'good',
      },
    ]);
    const bad = feed(host, edge.data(batch(null, true))).flatMap((e) =>
      e.kind === 'telemetry' ? e.message.points : [],
    );
    expect(bad[0]).toEqual({
      line: 'machining',
      equipment: 'cnc-01',
      point: 'spindle-speed',
      value: null,
      ts: 1500,
      quality: 'bad',
      status: { source: 'gateway', code: 2, name: 'NotConnected' },
    });
  });

  it("reads each point's KPI role back from its DBIRTH into the metadata", () => {
    const roles: Record<string, KpiRole> = {
      'spindle-speed': { role: 'machine-state', bits: [{ bit: 0, state: 'producing' }], otherwise: 'idle' },
      'energy-total': { role: 'energy', measure: 'counter', scope: 'site', width: 32, reset: 'never' },
    };
    const edge = tianjinEdgeNode({
      boot: 9,
      points: points.map((point) => ({ ...point, kpi: roles[point.point] as KpiRole })),
    });
    edge.nextSessionWill();
    const metadata = feed(new SparkplugHost(), edge.births(1000)).flatMap((e) =>
      e.kind === 'metadata' ? e.message.points : [],
    );
    expect(metadata.map((m) => [m.point, m.kpi])).toEqual([
      ['spindle-speed', roles['spindle-speed']],
      ['energy-total', roles['energy-total']],
    ]);
  });

  it('keeps a point whose KpiRole property is invalid, without the role, and logs a warning naming it', () => {
    const { logger, lines } = capturingLogger();
    const host = new SparkplugHost(logger);
    const edge = edgeNode();
    edge.nextSessionWill();
    const [nbirth] = edge.births(1000);
    feed(host, [nbirth as { topic: string; payload: Buffer }]);
    // A foreign node's DBIRTH (encoded by Eclipse Tahu): one role maps nothing, one is not JSON.
    const metric = (name: string, role: string) => ({
      name,
      type: 'Double',
      value: 1,
      properties: {
        Line: { type: 'String', value: 'machining' },
        Protocol: { type: 'String', value: 'opcua' },
        Address: { type: 'String', value: `ns=1;s=${name}` },
        KpiRole: { type: 'String', value: role },
      },
    });
    const dbirth = Buffer.from(
      tahu.encodePayload({
        timestamp: 1000,
        seq: 1,
        metrics: [
          metric('state', JSON.stringify({ role: 'machine-state' })),
          metric('good-count', '{role: good-count}'),
          metric('reject-count', JSON.stringify({ role: 'reject-count', width: 16 })),
        ],
      }),
    );
    const events = feed(host, [{ topic: 'spBv1.0/tj-binhai-smt/DBIRTH/gw-tj/cnc-01', payload: dbirth }]);
    const metadata = events.flatMap((e) => (e.kind === 'metadata' ? e.message.points : []));
    expect(metadata.map((m) => [m.point, m.kpi])).toEqual([
      ['state', undefined],
      ['good-count', undefined],
      ['reject-count', { role: 'reject-count', width: 16, reset: 'restart' }],
    ]);
    const warnings = lines.filter((line) => line.level === 40) as Array<{ msg: string; point?: string }>;
    expect(warnings.map((w) => w.point)).toEqual(['machining/cnc-01/state', 'machining/cnc-01/good-count']);
    expect(warnings[0]?.msg).toContain('cnc-01/state');
  });

  it('marks the node offline on the NDEATH of its current session only', () => {
    const edge = edgeNode();
    const host = new SparkplugHost();
    const staleWill = edge.nextSessionWill();
    const currentWill = edge.nextSessionWill();
    feed(host, edge.births(1000));
    expect(feed(host, [staleWill])).toEqual([]);
    const [offline] = feed(host, [currentWill]);
    expect(offline?.kind === 'status' && offline.message.state).toBe('offline');
  });

  it('asks for a rebirth when data arrives for a node or metric it has no birth for', () => {
    const edge = edgeNode();
    edge.nextSessionWill();
    edge.births();
    const [event] = feed(new SparkplugHost(), edge.data(batch(1)).slice(0, 1));
    expect(event?.kind).toBe('rebirth-request');
    expect(event?.kind === 'rebirth-request' && event.topic).toBe('spBv1.0/tj-binhai-smt/NCMD/gw-tj');
  });

  it('refuses nodes outside the network, and ids the schema cannot carry, with a reason', () => {
    const host = new SparkplugHost();
    const foreign = Buffer.from(
      tahu.encodePayload({ timestamp: 1, seq: 0, metrics: [{ name: 'bdSeq', type: 'Int64', value: 0 }] }),
    );
    expect(() => host.handle('spBv1.0/tj-binhai-smt/NBIRTH/gw-x', foreign)).toThrow(/Properties\/Region/);
    expect(() => host.handle('spBv1.0/Plant A/NBIRTH/gw-x', foreign)).toThrow(SparkplugIngestError);
    expect(() => host.handle('spBv1.0/site/NBIRTH/gw', Buffer.from('not protobuf at all'))).toThrow(
      SparkplugIngestError,
    );
  });
});
