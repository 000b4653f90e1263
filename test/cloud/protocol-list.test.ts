/**
 * The collector follows the contract's one protocol list: a protocol added there is taken by the
 * telemetry fast path and keeps its metadata and status through Sparkplug, without touching cloud/.
 */
import { describe, expect, it } from 'vitest';
import { SparkplugHost } from '../../cloud/sparkplug-host.js';
import { isCertainlyValidTelemetry } from '../../cloud/telemetry-fast-path.js';
import { type PointSample, type Protocol, protocols, TelemetryBatch } from '../../gateway/schema/index.js';
import { telemetry, tianjinEdgeNode } from './fixtures.js';

const badSample = (protocol: Protocol): PointSample => ({
  line: 'machining',
  equipment: 'cnc-01',
  point: 'spindle-speed',
  value: null,
  ts: 1500,
  quality: 'bad',
  status: { source: protocol, code: 7, name: 'DeviceFailure' },
});

describe.each(protocols)('protocol %s', (protocol) => {
  it('passes the telemetry fast path, as zod takes it', () => {
    const batch = telemetry({ points: [badSample(protocol)] });
    expect(TelemetryBatch.safeParse(batch).success).toBe(true);
    expect(isCertainlyValidTelemetry(batch)).toBe(true);
  });

  it('keeps its point metadata and status through Sparkplug', () => {
    const edge = tianjinEdgeNode({
      points: [
        {
          line: 'machining',
          equipment: 'cnc-01',
          point: 'spindle-speed',
          protocol,
          address: `${protocol}-address`,
        },
      ],
    });
    edge.nextSessionWill();
    const host = new SparkplugHost();
    const feed = (messages: { topic: string; payload: string | Buffer }[]) =>
      messages.flatMap((m) => host.handle(m.topic, Buffer.from(m.payload), 1000));

    const metadata = feed(edge.births(1000)).flatMap((e) => (e.kind === 'metadata' ? e.message.points : []));
    expect(metadata).toEqual([
      {
        line: 'machining',
        equipment: 'cnc-01',
        point: 'spindle-speed',
        protocol,
        address: `${protocol}-address`,
      },
    ]);
    const batch = telemetry({
      region: 'TJ',
      project: 'jjj-dp-03',
      site: 'tj-binhai-smt',
      gateway: { id: 'gw-tj', boot: 1, seq: 0 },
      points: [badSample(protocol)],
    });
    const samples = feed(edge.data(batch)).flatMap((e) => (e.kind === 'telemetry' ? e.message.points : []));
    expect(samples).toEqual([badSample(protocol)]);
  });
});
