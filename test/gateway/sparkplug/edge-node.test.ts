import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { persistentBdSeq } from '../../../gateway/boot-counter.js';
import type { OutgoingMessage } from '../../../gateway/mqtt-link.js';
import { compactBatch } from '../../../gateway/schema/compact-telemetry.js';
import type { KpiRole, PointMetadata, TelemetryBatch } from '../../../gateway/schema/index.js';
import {
  decodePayload,
  encodePayload,
  REBIRTH_METRIC,
  type SparkplugDataType,
} from '../../../gateway/schema/sparkplug/index.js';
import { type EdgeNodeOptions, SparkplugEdgeNode } from '../../../gateway/sparkplug/edge-node.js';

const tahu = createRequire(import.meta.url)('sparkplug-payload').get('spBv1.0') as {
  decodePayload(bytes: Uint8Array): { seq?: unknown; metrics: Array<Record<string, unknown>> };
};
const bytes = (message: OutgoingMessage | undefined) => Buffer.from((message as OutgoingMessage).payload);
const decoded = (message: OutgoingMessage | undefined) => tahu.decodePayload(bytes(message));
const num = (value: unknown) => Number(String(value));

/** A host reads DATA by alias with the datatypes the BIRTHs declared (read here by Tahu). */
function asHost(births: OutgoingMessage[]) {
  const types = new Map<number, SparkplugDataType>();
  for (const birth of births) {
    for (const metric of decoded(birth).metrics) {
      if (metric.alias !== undefined) types.set(num(metric.alias), metric.type as SparkplugDataType);
    }
  }
  return (message: OutgoingMessage | undefined) =>
    decodePayload(bytes(message), (m) => types.get(m.alias ?? -1)).metrics;
}

const points: PointMetadata[] = [
  {
    line: 'machining',
    equipment: 'cnc-01',
    point: 'spindle-speed',
    protocol: 'opcua',
    address: 'ns=1;s=a',
    dataType: 'float64',
    unit: 'RPM',
  },
  {
    line: 'machining',
    equipment: 'cnc-01',
    point: 'state',
    protocol: 'opcua',
    address: 'ns=1;s=b',
    dataType: 'uint16',
  },
  {
    line: 'utilities',
    equipment: 'meter-main',
    point: 'energy-total',
    protocol: 'modbus',
    address: 'unit=1;holding=0',
    dataType: 'uint32',
    unit: 'KWH',
    writable: true,
    min: 0,
    max: 1e9,
  },
  {
    line: 'utilities',
    equipment: 'meter-main',
    point: 'label',
    protocol: 'modbus',
    address: 'unit=1;holding=9',
  },
];

function nodeOptions(primaryHostId?: string): EdgeNodeOptions {
  return {
    site: 'bj-etown-cnc',
    gateway: 'gw-1',
    region: 'BJ',
    project: 'jjj-dp-01',
    siteName: { zh: '亦庄', en: 'E-Town' },
    boot: 4,
    points,
    dataQos: 1,
    ...(primaryHostId !== undefined && { primaryHostId }),
  };
}

function node(primaryHostId?: string) {
  return new SparkplugEdgeNode(nodeOptions(primaryHostId));
}

function batch(values: Array<[string, string, unknown]>, historical = false): TelemetryBatch {
  return {
    schema: 'jjj.telemetry/1',
    region: 'BJ',
    project: 'jjj-dp-01',
    site: 'bj-etown-cnc',
    gateway: { id: 'gw-1', boot: 4, seq: 0 },
    sentTs: 1_764_000_001_000,
    ...(historical && { historical }),
    points: values.map(([equipment, point, value]) => ({
      line: equipment === 'cnc-01' ? 'machining' : 'utilities',
      equipment,
      point,
      value: value as number,
      ts: 1_764_000_000_000,
      quality: value === null ? 'bad' : 'good',
      ...(value === null && { status: { source: 'modbus', code: 2, name: 'IllegalDataAddress' } }),
    })),
  } as TelemetryBatch;
}

describe('SparkplugEdgeNode', () => {
  it('sends the same DDATA from a jjj.telemetry/2 batch as from the same samples in /1', () => {
    const samples = batch([
      ['cnc-01', 'spindle-speed', 1450.5],
      ['meter-main', 'energy-total', null],
      ['cnc-01', 'state', 1],
    ]);
    const [fromSamples, fromColumns] = [samples, compactBatch(samples)].map((given) => {
      const edge = node();
      edge.nextSessionWill();
      edge.births();
      return edge.data(given, true).map((m) => ({ ...m, payload: decoded(m) }));
    });
    expect(fromColumns).toEqual(fromSamples);
    expect(fromSamples?.flatMap((m) => m.payload.metrics.map((metric) => metric.isHistorical))).toEqual([
      true,
      true,
      true,
    ]);
  });

  it('gives every MQTT session the next bdSeq, in its NDEATH Will and its NBIRTH', () => {
    const edge = node();
    const wills = [edge.nextSessionWill(), edge.nextSessionWill()];
    expect(wills[0]?.topic).toBe('spBv1.0/bj-etown-cnc/NDEATH/gw-1');
    expect(wills.map((w) => w.qos)).toEqual([1, 1]);
    expect(wills.map((w) => num(decoded(w).metrics[0]?.value))).toEqual([0, 1]);
    const [nbirth] = edge.births();
    const metrics = new Map(decoded(nbirth).metrics.map((m) => [m.name, m.value]));
    expect(num(metrics.get('bdSeq'))).toBe(1);
    expect(metrics.get(REBIRTH_METRIC)).toBe(false);
    expect(metrics.get('Properties/Region')).toBe('BJ');
    expect(num(decoded(nbirth).seq)).toBe(0);
  });

  it('births every device with aliases and metadata, then sends DATA by alias with rising seq', () => {
    const edge = node();
    edge.nextSessionWill();
    const births = edge.births();
    expect(births.map((m) => m.topic)).toEqual([
      'spBv1.0/bj-etown-cnc/NBIRTH/gw-1',
      'spBv1.0/bj-etown-cnc/DBIRTH/gw-1/cnc-01',
      'spBv1.0/bj-etown-cnc/DBIRTH/gw-1/meter-main',
    ]);
    expect(births.map((m) => num(decoded(m).seq))).toEqual([0, 1, 2]);
    // Births at QoS 0, as Sparkplug 3.0 requires; DDATA at the configured dataQos.
    expect(births.map((m) => m.qos)).toEqual([0, 0, 0]);
    const meter = decoded(births[2]).metrics;
    expect(meter.map((m) => [m.name, num(m.alias), m.type])).toEqual([
      ['energy-total', 3, 'UInt32'],
      ['label', 4, 'Double'],
    ]);
    expect(meter[0]?.properties).toMatchObject({
      Line: { value: 'utilities' },
      Unit: { value: 'KWH' },
      Address: { value: 'unit=1;holding=0' },
      Writable: { value: true },
    });

    const data = edge.data(
      batch([
        ['cnc-01', 'spindle-speed', 1450.5],
        ['cnc-01', 'state', 1],
        ['meter-main', 'energy-total', 1234],
      ]),
    );
    expect(data.map((m) => m.topic)).toEqual([
      'spBv1.0/bj-etown-cnc/DDATA/gw-1/cnc-01',
      'spBv1.0/bj-etown-cnc/DDATA/gw-1/meter-main',
    ]);
    expect(data.map((m) => num(decoded(m).seq))).toEqual([3, 4]);
    expect(data.map((m) => m.qos)).toEqual([1, 1]);
    // By alias, with the datatype: Tahu's decoder alone (no DBIRTH at hand) reads every value.
    expect(
      decoded(data[0]).metrics.map((m) => [m.name, num(m.alias), m.type, m.value, num(m.timestamp)]),
    ).toEqual([
      [undefined, 1, 'Double', 1450.5, 1_764_000_000_000],
      [undefined, 2, 'UInt16', 1, 1_764_000_000_000],
    ]);
    expect(decoded(data[1]).metrics.map((m) => [m.type, num(m.value)])).toEqual([['UInt32', 1234]]);
    const host = asHost(births);
    expect(host(data[0]).map((m) => [m.alias, m.datatype, m.value, m.timestamp])).toEqual([
      [1, 'Double', 1450.5, 1_764_000_000_000],
      [2, 'UInt16', 1, 1_764_000_000_000],
    ]);
    expect(host(data[1]).map((m) => [m.alias, m.value])).toEqual([[3, 1234]]);
  });

  it("births each point's KPI role as the KpiRole property, the role as JSON text", () => {
    const state = {
      role: 'machine-state',
      values: { '1': 'producing', '2': 'idle', '3': 'down' },
    } satisfies KpiRole;
    const energy = { role: 'energy', measure: 'counter', scope: 'site', reset: 'restart' } satisfies KpiRole;
    const edge = new SparkplugEdgeNode({
      site: 'bj-etown-cnc',
      gateway: 'gw-1',
      region: 'BJ',
      project: 'jjj-dp-01',
      siteName: { zh: '亦庄', en: 'E-Town' },
      boot: 4,
      dataQos: 1,
      points: points.map((point) =>
        point.point === 'state'
          ? { ...point, kpi: state }
          : point.point === 'energy-total'
            ? { ...point, kpi: energy }
            : point,
      ),
    });
    edge.nextSessionWill();
    const [, cnc, meter] = edge.births();
    const roleOf = (metric: Record<string, unknown> | undefined) =>
      (metric?.properties as Record<string, { type: string; value: unknown }> | undefined)?.KpiRole;
    const cncMetrics = decoded(cnc).metrics;
    expect(roleOf(cncMetrics.find((m) => m.name === 'state'))).toEqual({
      type: 'String',
      value: JSON.stringify(state),
    });
    expect(roleOf(cncMetrics.find((m) => m.name === 'spindle-speed'))).toBeUndefined();
    const meterRole = roleOf(decoded(meter).metrics.find((m) => m.name === 'energy-total'));
    expect(JSON.parse(String(meterRole?.value))).toEqual(energy);
  });

  it('wraps seq after 255 and restarts it at 0 with each NBIRTH', () => {
    const edge = node();
    edge.nextSessionWill();
    edge.births();
    let last = 0;
    for (let i = 0; i < 300; i++) last = num(decoded(edge.data(batch([['cnc-01', 'state', 1]]))[0]).seq);
    expect(last).toBe((2 + 300) % 256);
    expect(num(decoded(edge.births()[0]).seq)).toBe(0);
  });

  it('marks replayed values historical and carries bad quality with its status', () => {
    const edge = node();
    edge.nextSessionWill();
    edge.births();
    const [ddata] = edge.data(batch([['meter-main', 'energy-total', null]], true));
    const [metric] = decoded(ddata).metrics;
    expect(metric?.isHistorical).toBe(true);
    expect(metric?.value).toBeNull();
    expect(metric?.properties).toMatchObject({
      Quality: { type: 'Int32', value: 0 },
      StatusSource: { value: 'modbus' },
      StatusName: { value: 'IllegalDataAddress' },
    });
  });

  it('births a device again when a value shows its type (guessed, or a scaled register)', () => {
    const edge = node();
    edge.nextSessionWill();
    edge.births();
    const first = edge.data(
      batch([
        ['meter-main', 'label', 'line A'],
        ['meter-main', 'energy-total', 1234.5],
      ]),
    );
    expect(first.map((m) => m.topic.split('/')[2])).toEqual(['DBIRTH', 'DDATA']);
    const reborn = decoded(first[0]).metrics;
    expect(reborn.map((m) => [m.name, m.type, m.value])).toEqual([
      ['energy-total', 'Double', 1234.5],
      ['label', 'String', 'line A'],
    ]);
    expect(asHost([first[0] as OutgoingMessage])(first[1]).map((m) => m.value)).toEqual(['line A', 1234.5]);
    expect(
      edge.data(batch([['meter-main', 'energy-total', 1235.5]])).map((m) => m.topic.split('/')[2]),
    ).toEqual(['DDATA']);
  });

  it('answers a rebirth NCMD and turns a DCMD into writes by name or alias', () => {
    const edge = node();
    edge.nextSessionWill();
    edge.births();
    const ncmd = encodePayload({ metrics: [{ name: REBIRTH_METRIC, datatype: 'Boolean', value: true }] });
    expect(edge.handle('spBv1.0/bj-etown-cnc/NCMD/gw-1', ncmd)).toEqual({ kind: 'rebirth' });
    expect(edge.handle('spBv1.0/other-site/NCMD/gw-1', ncmd)).toBeUndefined();
    const dcmd = encodePayload(
      {
        metrics: [
          { name: 'energy-total', datatype: 'UInt32', value: 42 },
          { alias: 3, value: 43 },
          { name: 'no-such-point', datatype: 'Double', value: 1 },
        ],
      },
      () => 'UInt32',
    );
    expect(edge.handle('spBv1.0/bj-etown-cnc/DCMD/gw-1/meter-main', dcmd)).toEqual({
      kind: 'write',
      writes: [
        { line: 'utilities', equipment: 'meter-main', point: 'energy-total', value: 42 },
        { line: 'utilities', equipment: 'meter-main', point: 'energy-total', value: 43 },
      ],
      rejected: ['meter-main/no-such-point: no such metric'],
    });
  });

  it('waits for the primary host to be online before publishing', () => {
    const edge = node('scada-1');
    expect(edge.subscriptions()).toEqual([
      'spBv1.0/bj-etown-cnc/NCMD/gw-1',
      'spBv1.0/bj-etown-cnc/DCMD/gw-1/+',
      'spBv1.0/STATE/scada-1',
    ]);
    expect(edge.canPublish).toBe(false);
    edge.handle('spBv1.0/STATE/scada-1', Buffer.from(JSON.stringify({ online: true, timestamp: 1 })));
    expect(edge.canPublish).toBe(true);
    edge.handle('spBv1.0/STATE/scada-1', Buffer.from(JSON.stringify({ online: false, timestamp: 2 })));
    expect(edge.canPublish).toBe(false);
    expect(node().canPublish).toBe(true);
  });

  it('ignores a STATE older than the last one taken (a stale retained "online")', () => {
    const edge = node('scada-1');
    const state = (online: boolean, timestamp: number) =>
      edge.handle('spBv1.0/STATE/scada-1', Buffer.from(JSON.stringify({ online, timestamp })));
    expect(state(false, 2000)).toEqual({ kind: 'host-state', stale: false, timestamp: 2000 });
    expect(state(true, 1000)).toEqual({ kind: 'host-state', stale: true, timestamp: 1000 });
    expect(edge.canPublish).toBe(false);
    // The same timestamp again is not older: Sparkplug takes "greater than or equal".
    expect(state(true, 2000)).toEqual({ kind: 'host-state', stale: false, timestamp: 2000 });
    expect(edge.canPublish).toBe(true);
    expect(state(false, 1999)).toEqual({ kind: 'host-state', stale: true, timestamp: 1999 });
    expect(edge.canPublish).toBe(true);
    // Not a STATE at all: nothing changes.
    expect(edge.handle('spBv1.0/STATE/scada-1', Buffer.from('online'))).toBeUndefined();
    expect(edge.canPublish).toBe(true);
  });

  it('takes the next bdSeq from a persistent counter: a restarted node continues, wrapping after 255', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jjj-bdseq-'));
    try {
      const bdSeqOf = (edge: SparkplugEdgeNode) => num(decoded(edge.nextSessionWill()).metrics[0]?.value);
      const first = new SparkplugEdgeNode({ ...nodeOptions(), nextBdSeq: persistentBdSeq(dir) });
      expect([bdSeqOf(first), bdSeqOf(first)]).toEqual([0, 1]);
      // The next process: its first CONNECT's Will carries 2, never the previous process's 0 or 1.
      const second = new SparkplugEdgeNode({ ...nodeOptions(), nextBdSeq: persistentBdSeq(dir) });
      expect(bdSeqOf(second)).toBe(2);
      writeFileSync(join(dir, 'sparkplug-bdseq'), '255\n');
      expect(bdSeqOf(new SparkplugEdgeNode({ ...nodeOptions(), nextBdSeq: persistentBdSeq(dir) }))).toBe(0);
      writeFileSync(join(dir, 'sparkplug-bdseq'), '300\n');
      expect(() => persistentBdSeq(dir)).toThrow(/not a bdSeq/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a configuration whose metric names would clash within one device', () => {
    expect(
      () =>
        new SparkplugEdgeNode({
          site: 's',
          gateway: 'g',
          region: 'BJ',
          project: 'p',
          siteName: { zh: '站', en: 'Site' },
          boot: 1,
          dataQos: 1,
          points: [
            { line: 'a', equipment: 'e', point: 'p', protocol: 'modbus', address: '1' },
            { line: 'b', equipment: 'e', point: 'p', protocol: 'modbus', address: '2' },
          ],
        }),
    ).toThrow(/lines a and b/);
  });
});
