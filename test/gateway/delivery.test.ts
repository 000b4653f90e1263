/**
 * Store-and-forward end to end: counter device → gateway (disk outbox) → fault-injecting proxy →
 * broker → collector (SQLite). The outage lasts 10 s by default (at 20 readings/s per point, 200
 * readings and 100 batches of backlog); `npm run soak:outage` runs the 60 s outage.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedBroker } from '../../cloud/embedded-broker.js';
import { parseGatewayConfig } from '../../gateway/config.js';
import { Gateway } from '../../gateway/gateway.js';
import { createLogger } from '../../gateway/logger.js';
import type { TelemetryBatch } from '../../gateway/schema/index.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { recordMqtt } from '../helpers/mqtt-recorder.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { telemetrySamples } from '../helpers/telemetry.js';
import { waitUntil } from '../helpers/wait.js';
import {
  COUNTER_POINTS,
  counterGatewayConfig,
  expectCounting,
  startCounterDevice,
  startTestCollector,
  storedSeries,
  tempDir,
} from './delivery-fixtures.js';

/** How long the broker stays unreachable while the device keeps producing (OUTAGE_MS sets it). */
const OUTAGE_MS = Number(process.env.OUTAGE_MS ?? 10_000);
/**
 * Slack in the count of replayed batches, one in-flight window (`delivery.inFlightBatches`): every
 * batch held at the cut replays as history, as delivery resends whatever was unacknowledged from
 * the outbox itself, but an acknowledgement racing the cut settles its batch uncounted.
 */
const IN_FLIGHT_WINDOW = 8;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function brokerOf(kind: 'mosquitto' | 'aedes') {
  if (kind === 'mosquitto') {
    const broker = await startMosquitto();
    return { url: broker.url, port: broker.port, close: () => broker.stop() };
  }
  const broker = await startEmbeddedBroker();
  return { url: broker.url, port: broker.port, close: () => broker.close() };
}

async function collectorHealthy(httpUrl: string): Promise<boolean> {
  const health = (await (await fetch(`${httpUrl}/api/v1/health`)).json()) as { broker: string };
  return health.broker === 'connected';
}

/** A broker, the collector on it, the counter device, and the proxy the gateway reaches the broker through. */
async function startPeers(kind: 'mosquitto' | 'aedes', prefix: string) {
  const dir = tempDir(prefix);
  cleanups.push(() => dir.remove());
  const broker = await brokerOf(kind);
  cleanups.push(() => broker.close());
  const collector = await startTestCollector(broker.url, dir.path);
  cleanups.push(() => collector.close());
  await waitUntil('the collector on the broker', () => collectorHealthy(collector.httpUrl));
  const device = await startCounterDevice();
  cleanups.push(() => device.close());
  const proxy = await startTcpProxy(broker.port);
  cleanups.push(() => proxy.close());
  return { dir, broker, collector, device, proxy };
}

describe.each(['mosquitto', 'aedes'] as const)('delivery through an outage (%s)', (kind) => {
  it(
    'stores every reading exactly once and in order, replaying the backlog while live data flows',
    async () => {
      const { dir, broker, collector, device, proxy } = await startPeers(kind, 'jjj-delivery-');
      const recorder = await recordMqtt(broker.url, 'jjj/v1/+/+/+/telemetry');
      cleanups.push(() => recorder.close());

      const config = parseGatewayConfig(
        counterGatewayConfig({
          gatewayId: `gw-outage-${kind}`,
          mqttUrl: proxy.url(),
          devicePort: device.port,
          stateDir: `${dir.path}/gateway`,
          // A slow replay (a window of batches per 25 ms) so live batches demonstrably pass it.
          delivery: { replaySpeedup: 4 },
        }),
        'test',
        dir.path,
      );
      const gateway = new Gateway(config, createLogger('test', (process.env.GW_LOG as 'info') ?? 'silent'));
      cleanups.push(() => gateway.stop());
      await gateway.start();
      await waitUntil(
        'live readings stored',
        async () => (await storedSeries(collector, 'count-a')).length >= 5,
      );

      proxy.cut();
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      expect(gateway.stats.outbox.batches).toBeGreaterThan(10);
      const heldBeforeReplay = gateway.stats.outbox.batches;
      proxy.restore();
      await waitUntil(
        'backlog replayed',
        () => gateway.stats.delivered.history.batches >= heldBeforeReplay - IN_FLIGHT_WINDOW,
      );
      // The whole backlog replayed (what remains is live and in flight: stopping drains it).
      await waitUntil(
        'backlog replayed and outbox emptied',
        () => !gateway.stats.replaying && gateway.stats.outbox.batches <= 2,
      );
      await gateway.stop();

      const sent = gateway.stats.delivered.live.points + gateway.stats.delivered.history.points;
      await waitUntil('every delivered reading stored', async () => {
        const lengths = await Promise.all(
          COUNTER_POINTS.map(async (p) => (await storedSeries(collector, p)).length),
        );
        return lengths.reduce((a, b) => a + b, 0) >= sent;
      });
      for (const point of COUNTER_POINTS) {
        const values = (await storedSeries(collector, point)).filter((v) => v !== null);
        expect(expectCounting(values), `${point}: ${values.join(',')}`).toBe(true);
      }
      expect(gateway.stats.pointsDropped).toBe(0);
      expect(gateway.stats.outbox.batches).toBe(0);

      // History went out marked historical, and live batches were not held back behind it: one
      // arrived before the last historical batch did.
      const batches = recorder.messages.map((m) => telemetrySamples(m.json as object));
      const historical = batches.filter((b) => b.historical === true);
      expect(historical.length).toBeGreaterThanOrEqual(heldBeforeReplay - IN_FLIGHT_WINDOW);
      const lastHistorical = batches.lastIndexOf(historical.at(-1) as TelemetryBatch);
      const firstHistorical = batches.indexOf(historical[0] as TelemetryBatch);
      const liveDuringReplay = batches
        .slice(firstHistorical, lastHistorical)
        .filter(
          (b) => b.historical !== true && b.gateway.seq > (historical.at(-1) as TelemetryBatch).gateway.seq,
        );
      expect(liveDuringReplay.length).toBeGreaterThan(0);
      // Each stream is in order.
      const seqs = (list: TelemetryBatch[]) => list.map((b) => b.gateway.seq);
      expect(seqs(historical)).toEqual([...seqs(historical)].sort((a, b) => a - b));
    },
    OUTAGE_MS + 120_000,
  );
});

describe('a tiny outbox cap', () => {
  it('counts exactly the readings it drops, logs the episode once, and keeps running', async () => {
    const { dir, collector, device, proxy } = await startPeers('mosquitto', 'jjj-cap-');
    proxy.cut();

    const lines: string[] = [];
    const config = parseGatewayConfig(
      counterGatewayConfig({
        gatewayId: 'gw-tiny-cap',
        mqttUrl: proxy.url(),
        devicePort: device.port,
        stateDir: `${dir.path}/gateway`,
        outbox: { maxBytes: 2048 },
      }),
      'test',
      dir.path,
    );
    const gateway = new Gateway(
      config,
      pino({ level: 'warn' }, { write: (line: string) => lines.push(line) }),
    );
    cleanups.push(() => gateway.stop());
    await gateway.start();
    await waitUntil('readings dropped while the outbox is full', () => gateway.stats.pointsDropped >= 40);
    proxy.restore();
    await waitUntil('live delivery after the outage', () => gateway.stats.delivered.live.batches >= 5);
    await waitUntil('outbox emptied', () => gateway.stats.outbox.batches === 0);
    await gateway.stop();

    const { pointsDropped, delivered } = gateway.stats;
    const allStored = () => Promise.all(COUNTER_POINTS.map((p) => storedSeries(collector, p)));
    const count = (series: number[][]) => series.reduce((n, values) => n + values.length, 0);
    await waitUntil(
      'every delivered reading stored',
      async () => count(await allStored()) === delivered.live.points + delivered.history.points,
    );
    // Each counter's missing values are exactly the dropped readings: none lost uncounted.
    const stored = await allStored();
    let missing = 0;
    for (const values of stored) {
      expect(new Set(values).size).toBe(values.length);
      expect(values).toEqual([...values].sort((a, b) => a - b));
      missing += Math.max(...values) - values.length;
    }
    expect(pointsDropped).toBeGreaterThan(0);
    expect(missing).toBe(pointsDropped);
    const metric = await gateway.metrics.registry.getSingleMetricAsString('jjj_gateway_points_dropped_total');
    expect(metric).toMatch(new RegExp(` ${pointsDropped}$`, 'm'));
    expect(lines.filter((line) => line.includes('outbox full'))).toHaveLength(1);
  }, 60_000);
});
