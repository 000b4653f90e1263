/**
 * The publishing pipeline end to end, against real peers (a Modbus TCP device, Mosquitto): how
 * soon a reading reaches the broker with the default settings, the format and compression options,
 * no reading lost or reordered across cuts, and an outbox written by an older gateway (samples,
 * `jjj.telemetry/1`) replayed after the upgrade, in the JSON contract and in Sparkplug B.
 */
import { connectAsync, type IPublishPacket } from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type LoadedGatewayConfig, parseGatewayConfig } from '../../gateway/config.js';
import { Gateway } from '../../gateway/gateway.js';
import { DiskOutbox } from '../../gateway/outbox/disk-outbox.js';
import { serialiseBatch } from '../../gateway/outbox/outbox.js';
import type { TelemetryBatch } from '../../gateway/schema/index.js';
import { decodePayload } from '../../gateway/schema/sparkplug/index.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { payloadJson, telemetrySamples } from '../helpers/telemetry.js';
import { waitUntil } from '../helpers/wait.js';
import {
  COUNTER_POINTS,
  counterGatewayConfig,
  expectCounting,
  SITE,
  startCounterDevice,
  tempDir,
} from './delivery-fixtures.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Received {
  topic: string;
  payload: Buffer;
  contentType: string | undefined;
  at: number;
}

async function subscriber(url: string, filter: string) {
  const client = await connectAsync(url, { protocolVersion: 5 });
  cleanups.push(() => client.endAsync());
  const received: Received[] = [];
  client.on('message', (topic, payload, packet: IPublishPacket) => {
    received.push({ topic, payload, contentType: packet.properties?.contentType, at: Date.now() });
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return received;
}

/** A broker, the counter device, a subscriber to every message, and a gateway made from `tweak`ed config. */
async function setup(
  id: string,
  tweak: (raw: ReturnType<typeof counterGatewayConfig>) => object,
  beforeStart?: (config: LoadedGatewayConfig) => void,
) {
  const broker = await startMosquitto();
  cleanups.push(() => broker.stop());
  const device = await startCounterDevice();
  cleanups.push(() => device.close());
  const dir = tempDir('jjj-pipeline-');
  cleanups.push(() => dir.remove());
  const received = await subscriber(broker.url, '#');
  const raw = counterGatewayConfig({
    gatewayId: id,
    mqttUrl: broker.url,
    devicePort: device.port,
    stateDir: `${dir.path}/gateway`,
    pollIntervalMs: 100,
  });
  const config = parseGatewayConfig(tweak(raw), 'test', dir.path);
  beforeStart?.(config);
  const gateway = new Gateway(config, pino({ level: 'silent' }));
  cleanups.push(() => gateway.stop());
  return { broker, config, gateway, received };
}

const telemetryOf = (received: Received[]) => received.filter((m) => m.topic.endsWith('/telemetry'));

describe('the publishing pipeline', () => {
  it.each([
    ['the defaults', {}],
    ['maxPoints splitting every scan', { maxPoints: 1 }],
  ])('with %s: every reading reaches the broker once, in order, well within a second', async (_, publish) => {
    const { gateway, received } = await setup('gw-pipeline', (raw) => ({ ...raw, publish }));
    await gateway.start();
    await waitUntil('40 readings of each point', () => {
      const samples = telemetryOf(received).flatMap((m) => telemetrySamples(m.payload).points);
      return samples.filter((s) => s.point === 'count-a').length >= 40;
    });
    await gateway.stop();
    const batches = telemetryOf(received).map((m) => ({ ...m, batch: telemetrySamples(m.payload) }));
    expect(new Set(batches.map((m) => (payloadJson(m.payload) as { schema: string }).schema))).toEqual(
      new Set(['jjj.telemetry/2']),
    );
    // In sequence order, each point counts 1, 2, 3, … : nothing lost or reordered across cuts.
    batches.sort((a, b) => a.batch.gateway.seq - b.batch.gateway.seq);
    expect(batches.map((m) => m.batch.gateway.seq)).toEqual([...batches.keys()]);
    for (const point of COUNTER_POINTS) {
      const values = batches.flatMap((m) =>
        m.batch.points.filter((s) => s.point === point).map((s) => s.value),
      );
      expect(expectCounting(values as number[]), `${point}: ${values.join(',')}`).toBe(true);
    }
    if ('maxPoints' in publish)
      expect(new Set(batches.map((m) => m.batch.points.length))).toEqual(new Set([1]));
    // Read → at the subscriber: a live batch leaves lingerMs (15 ms) after its first reading, not on
    // a one-second tick. Loose bound: the point is "well under a second", not a timing figure.
    const latencies = batches
      .filter((m) => m.batch.historical !== true)
      .flatMap((m) => m.batch.points.map((s) => m.at - s.ts))
      .sort((a, b) => a - b);
    expect(latencies.length).toBeGreaterThan(60);
    expect(latencies[Math.floor(latencies.length * 0.9)]).toBeLessThan(400);
  });

  it.each([
    { format: 'samples', compression: 'zlib', schema: 'jjj.telemetry/1', contentType: 'application/zlib' },
    { format: 'compact', compression: 'zlib', schema: 'jjj.telemetry/2', contentType: 'application/zlib' },
    { format: 'samples', compression: 'none', schema: 'jjj.telemetry/1', contentType: 'application/json' },
  ] as const)(
    'publishes format $format with compression $compression (MQTT 5 content type $contentType)',
    async ({ format, compression, schema, contentType }) => {
      const { gateway, received } = await setup('gw-options', (raw) => ({
        ...raw,
        mqtt: { ...raw.mqtt, protocolVersion: 5 },
        publish: { format, compression },
      }));
      await gateway.start();
      await waitUntil('telemetry', () =>
        telemetryOf(received).some((m) => telemetrySamples(m.payload).points.length > 0),
      );
      await gateway.stop();
      for (const message of telemetryOf(received)) {
        expect(message.contentType).toBe(contentType);
        expect(message.payload[0] === 0x78).toBe(compression === 'zlib');
        expect((payloadJson(message.payload) as { schema: string }).schema).toBe(schema);
      }
      // Status and metadata stay plain JSON.
      const other = received.filter((m) => !m.topic.endsWith('/telemetry'));
      expect(other.length).toBeGreaterThan(0);
      for (const message of other) expect(message.payload[0]).toBe('{'.charCodeAt(0));
    },
  );
});

/** Batches as a gateway before `jjj.telemetry/2` stored them: samples, in the same outbox table. */
function oldBatches(boot: number): TelemetryBatch[] {
  const ts = Date.now() - 3_600_000;
  return [0, 1, 2].map((seq) => ({
    schema: 'jjj.telemetry/1',
    region: 'HE',
    project: 'jjj-dp-03',
    site: SITE,
    gateway: { id: 'gw-upgrade', boot, seq },
    sentTs: ts + seq * 1000,
    points: COUNTER_POINTS.map((point, i) => ({
      line: 'test-line',
      equipment: 'counter',
      point,
      value: 40_000 + seq * 10 + i,
      ts: ts + seq * 1000,
      quality: 'good',
    })),
  }));
}

/** Fills the gateway's outbox before it starts, as the older gateway left it. */
const writeOldOutbox = (batches: TelemetryBatch[]) => (config: LoadedGatewayConfig) => {
  const outbox = new DiskOutbox({ dir: config.outboxDir, maxBytes: 1 << 30, fsync: 'every-batch' });
  outbox.appendAll(batches.map(serialiseBatch));
  outbox.close();
};

describe('an outbox written by an older gateway', () => {
  it('replays its jjj.telemetry/1 batches as they were stored, marked historical', async () => {
    const old = oldBatches(1000);
    const { gateway, received } = await setup('gw-upgrade', (raw) => raw, writeOldOutbox(old));
    await gateway.start();
    await waitUntil('the old batches replayed', () => gateway.stats.delivered.history.batches === 3);
    await gateway.stop();
    const texts = telemetryOf(received).map((m) => m.payload.toString('utf8'));
    for (const batch of old) expect(texts).toContain(JSON.stringify({ ...batch, historical: true }));
    expect(gateway.stats.outbox.batches).toBe(0);
  });

  it('replays them in Sparkplug B mode as DDATA marked historical, with their values and timestamps', async () => {
    const old = oldBatches(1000);
    const { gateway, received } = await setup(
      'gw-upgrade',
      (raw) => ({ ...raw, mqtt: { ...raw.mqtt, format: 'sparkplug' } }),
      writeOldOutbox(old),
    );
    await gateway.start();
    await waitUntil('the old batches replayed', () => gateway.stats.delivered.history.batches === 3);
    await gateway.stop();
    const historical = received
      .filter((m) => m.topic.startsWith(`spBv1.0/${SITE}/DDATA/`))
      .flatMap((m) => decodePayload(m.payload).metrics)
      .filter((metric) => metric.isHistorical === true)
      .map((metric) => [Number(metric.value), Number(metric.timestamp)]);
    expect(historical).toEqual(old.flatMap((b) => b.points.map((s) => [s.value, s.ts])));
  });
});
