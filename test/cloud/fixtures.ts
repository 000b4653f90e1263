/** Wire messages for collector tests, valid by default; each builder takes overrides. */
import type { SiteSummary } from '../../cloud/store/store.js';
import type {
  MetadataMessage,
  PointSample,
  ProtocolStatus,
  StatusMessage,
  TelemetryBatch,
} from '../../gateway/schema/index.js';
import { type EdgeNodeOptions, SparkplugEdgeNode } from '../../gateway/sparkplug/edge-node.js';

export const SITE = 'bj-etown-cnc';
export const GATEWAY = 'gw-bj-etown-cnc';
export const TS = 1_750_000_000_000;

export function telemetry(overrides: Partial<TelemetryBatch> = {}): TelemetryBatch {
  return {
    schema: 'jjj.telemetry/1',
    region: 'BJ',
    project: 'etown-smart-factory',
    site: SITE,
    gateway: { id: GATEWAY, boot: 1, seq: 0 },
    sentTs: TS + 1000,
    points: [
      {
        line: 'machining',
        equipment: 'cnc-01',
        point: 'spindle-speed',
        value: 12000.5,
        ts: TS,
        quality: 'good',
      },
      { line: 'machining', equipment: 'cnc-01', point: 'running', value: true, ts: TS, quality: 'good' },
      { line: 'machining', equipment: 'cnc-01', point: 'program', value: 'O1234', ts: TS, quality: 'good' },
      {
        line: 'machining',
        equipment: 'cnc-01',
        point: 'axis-load',
        value: [1, 2.5, 3],
        ts: TS,
        quality: 'good',
      },
      {
        line: 'utilities',
        equipment: 'meter-main',
        point: 'power',
        value: null,
        ts: TS,
        quality: 'bad',
        status: { source: 'modbus', code: 11, name: 'GatewayTargetDeviceFailedToRespond' },
      },
    ],
    ...overrides,
  };
}

/** Batch `seq` of a gateway sending `count` points `p-0` … on one machine, one second apart per batch. */
export function numberedBatch(
  seq: number,
  count: number,
  value: (index: number) => number = () => seq,
): TelemetryBatch {
  return telemetry({
    gateway: { id: GATEWAY, boot: 1, seq },
    points: Array.from({ length: count }, (_, i) => ({
      line: 'machining',
      equipment: 'cnc-01',
      point: `p-${i}`,
      value: value(i),
      ts: TS + seq * 1000,
      quality: 'good' as const,
    })),
  });
}

export function metadata(overrides: Partial<MetadataMessage> = {}): MetadataMessage {
  return {
    schema: 'jjj.metadata/1',
    region: 'BJ',
    project: 'etown-smart-factory',
    site: SITE,
    gateway: { id: GATEWAY, boot: 1 },
    ts: TS,
    siteName: { en: 'E-Town CNC Workshop', zh: '亦庄数控车间' },
    points: [
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
        point: 'power',
        protocol: 'modbus',
        address: 'holding/2',
        dataType: 'float32',
        unit: 'KWT',
      },
    ],
    ...overrides,
  };
}

export function status(overrides: Partial<StatusMessage> = {}): StatusMessage {
  return {
    schema: 'jjj.status/1',
    region: 'BJ',
    project: 'etown-smart-factory',
    site: SITE,
    gateway: { id: GATEWAY, boot: 1 },
    state: 'online',
    ts: TS,
    ...overrides,
  };
}

/** The site as the API lists it once `metadata()`, `status()` and `telemetry()` are stored. */
export const storedSite: SiteSummary = {
  id: SITE,
  name: 'E-Town CNC Workshop',
  nameZh: '亦庄数控车间',
  region: 'BJ',
  project: 'etown-smart-factory',
  gateway: GATEWAY,
  online: true,
  points: 5,
  lastTs: TS,
  protocols: ['modbus', 'opcua'],
};

/** A Sparkplug edge node of a Tianjin site (boot 1, data at QoS 1) publishing `points`; each option may be overridden. */
export function tianjinEdgeNode(
  options: Pick<EdgeNodeOptions, 'points'> & Partial<EdgeNodeOptions>,
): SparkplugEdgeNode {
  return new SparkplugEdgeNode({
    site: 'tj-binhai-smt',
    gateway: 'gw-tj',
    region: 'TJ',
    project: 'jjj-dp-03',
    siteName: { zh: '滨海', en: 'Binhai' },
    boot: 1,
    dataQos: 1,
    ...options,
  });
}

/**
 * A valid v1 batch drawn from `next` (uniform in [0, 1)): runs of samples per equipment, some
 * equipment twice, times apart or together, server times, every quality, statuses, every value type.
 */
export function randomBatch(next: () => number): TelemetryBatch {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const points: PointSample[] = [];
  const runs = 1 + Math.floor(next() * 5);
  for (let run = 0; run < runs; run++) {
    const equipment = pick(['cnc-01', 'cnc-02', 'meter-main']);
    const together = next() < 0.5;
    const count = 1 + Math.floor(next() * 8);
    for (let i = 0; i < count; i++) {
      const quality = pick(['good', 'good', 'uncertain', 'bad'] as const);
      const sample: PointSample = {
        line: equipment === 'meter-main' ? 'utilities' : 'machining',
        equipment,
        point: `p-${Math.floor(next() * 20)}`,
        value:
          quality === 'bad' && next() < 0.5
            ? null
            : pick([12.5, -3, 0, true, 'O1234', '18446744073709551615', [1, 'a', false]]),
        ts: TS + (together ? 0 : Math.floor(next() * 5000)),
        quality,
      };
      if (next() < 0.3) sample.serverTs = TS + Math.floor(next() * 6000) - 1000;
      if (next() < 0.3) sample.status = pick(statuses);
      points.push(sample);
    }
  }
  const batch = telemetry({ gateway: { id: GATEWAY, boot: 1, seq: Math.floor(next() * 1000) }, points });
  if (next() < 0.3) batch.historical = next() < 0.5;
  return batch;
}

const statuses: ProtocolStatus[] = [
  { source: 'modbus', code: 11, name: 'GatewayTargetDeviceFailedToRespond' },
  { source: 'opcua', code: 0x408f0000, name: 'UncertainDataSubNormal' },
  { source: 'gateway', code: 1, name: 'Timeout' },
];
