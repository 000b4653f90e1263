/**
 * A gateway in Sparkplug B mode against real peers: a Modbus counter device, the fault-injecting
 * proxy, Mosquitto, and the collector ingesting Sparkplug into its store. Every message is decoded
 * with Eclipse Tahu's library, an independent implementation.
 */
import { createRequire } from 'node:module';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SparkplugHost } from '../../../cloud/sparkplug-host.js';
import { parseGatewayConfig } from '../../../gateway/config.js';
import { Gateway } from '../../../gateway/gateway.js';
import { encodePayload, REBIRTH_METRIC, stateTopic } from '../../../gateway/schema/sparkplug/index.js';
import { startMosquitto } from '../../helpers/mosquitto.js';
import { startTcpProxy } from '../../helpers/tcp-proxy.js';
import { waitUntil } from '../../helpers/wait.js';
import {
  COUNTER_POINTS,
  counterGatewayConfig,
  expectCounting,
  SITE,
  startCounterDevice,
  startTestCollector,
  storedSeries,
  tempDir,
} from '../delivery-fixtures.js';

const tahu = createRequire(import.meta.url)('sparkplug-payload').get('spBv1.0') as {
  decodePayload(bytes: Uint8Array): { seq?: unknown; metrics: Array<Record<string, unknown>> };
};

interface Seen {
  type: string;
  device?: string;
  seq?: number;
  bdSeq?: number;
  historical: boolean;
}

async function recordSparkplug(url: string) {
  const client = await connectAsync(url);
  const seen: Seen[] = [];
  client.on('message', (topic, payload) => {
    const [, , type, , device] = topic.split('/');
    const decoded = tahu.decodePayload(payload);
    const bdSeq = decoded.metrics.find((m) => m.name === 'bdSeq')?.value;
    seen.push({
      type: type as string,
      ...(device !== undefined && { device }),
      ...(decoded.seq !== undefined && decoded.seq !== null && { seq: Number(String(decoded.seq)) }),
      ...(bdSeq !== undefined && { bdSeq: Number(String(bdSeq)) }),
      historical: decoded.metrics.some((m) => m.isHistorical === true),
    });
  });
  await client.subscribeAsync(`spBv1.0/${SITE}/#`, { qos: 1 });
  return { seen, client };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(sparkplug: Record<string, unknown> = {}) {
  const broker = await startMosquitto();
  cleanups.push(() => broker.stop());
  const proxy = await startTcpProxy(broker.port);
  cleanups.push(() => proxy.close());
  const device = await startCounterDevice();
  cleanups.push(() => device.close());
  const dir = tempDir('jjj-sparkplug-');
  cleanups.push(() => dir.remove());
  const collector = await startTestCollector(broker.url, dir.path);
  cleanups.push(() => collector.close());
  const recorder = await recordSparkplug(broker.url);
  cleanups.push(() => recorder.client.endAsync());
  const raw = counterGatewayConfig({
    gatewayId: 'gw-sparkplug',
    mqttUrl: proxy.url(),
    devicePort: device.port,
    stateDir: `${dir.path}/gateway`,
    mqtt: { format: 'sparkplug', sparkplug },
  });
  const gateway = new Gateway(parseGatewayConfig(raw, 'test', dir.path), pino({ level: 'silent' }));
  cleanups.push(() => gateway.stop());
  return { broker, proxy, collector, recorder, gateway };
}

describe('a gateway in Sparkplug B mode', () => {
  it('births, sends data by alias, takes a new bdSeq per connection, rebirths on NCMD, and every reading lands once', async () => {
    const { proxy, collector, recorder, gateway } = await setup();
    const { seen } = recorder;
    await gateway.start();
    await waitUntil('five DDATA', () => seen.filter((m) => m.type === 'DDATA').length >= 5);

    expect(seen.slice(0, 2).map((m) => m.type)).toEqual(['NBIRTH', 'DBIRTH']);
    expect(seen[1]?.device).toBe('counter');
    const firstBdSeq = seen[0]?.bdSeq as number;
    // Until the outage below, everything belongs to the first session: seq counts from the NBIRTH's 0.
    expect(seen.map((m) => m.seq)).toEqual(seen.map((_, i) => i % 256));

    // The link drops: the broker publishes the Will (NDEATH, this session's bdSeq); readings wait.
    proxy.cut();
    await waitUntil('the NDEATH Will', () => seen.some((m) => m.type === 'NDEATH'));
    expect(seen.find((m) => m.type === 'NDEATH')?.bdSeq).toBe(firstBdSeq);
    const heldAtCut = gateway.stats.outbox.batches;
    await waitUntil('readings held in the outbox', () => gateway.stats.outbox.batches >= heldAtCut + 5);
    proxy.restore();
    await waitUntil('the second NBIRTH', () => seen.filter((m) => m.type === 'NBIRTH').length === 2);
    const births = seen.filter((m) => m.type === 'NBIRTH');
    // bdSeq goes up with every CONNECT, the failed attempts during the outage included.
    const secondBdSeq = births[1]?.bdSeq as number;
    expect(secondBdSeq).toBeGreaterThan(firstBdSeq);
    expect(births[1]?.seq).toBe(0);
    await waitUntil('replayed DDATA marked historical', () =>
      seen.some((m) => m.type === 'DDATA' && m.historical),
    );

    // A host asks for a rebirth: NBIRTH (same bdSeq, seq 0) and DBIRTH again.
    const host = await connectAsync(proxy.url());
    cleanups.push(() => host.endAsync());
    await host.publishAsync(
      `spBv1.0/${SITE}/NCMD/gw-sparkplug`,
      encodePayload({
        timestamp: Date.now(),
        metrics: [{ name: REBIRTH_METRIC, datatype: 'Boolean', value: true }],
      }),
    );
    await waitUntil('the rebirth', () => seen.filter((m) => m.type === 'NBIRTH').length === 3);
    const rebirth = seen.filter((m) => m.type === 'NBIRTH')[2];
    expect(rebirth).toMatchObject({ bdSeq: secondBdSeq, seq: 0 });

    // Everything the device counted is in the store once, in order, whatever the outage did.
    await waitUntil(
      'stored readings',
      async () => (await storedSeries(collector, COUNTER_POINTS[0])).length >= 20,
    );
    await waitUntil('the backlog replayed', () => !gateway.stats.replaying);
    await gateway.stop();
    await waitUntil('the NDEATH of a clean stop', () => seen.filter((m) => m.type === 'NDEATH').length === 2);
    expect(seen.filter((m) => m.type === 'NDEATH')[1]?.bdSeq).toBe(secondBdSeq);
    for (const point of COUNTER_POINTS) {
      const values = await storedSeries(collector, point);
      expect(expectCounting(values), `${point}: ${values.join(',')}`).toBe(true);
    }
    const sites = (await (await fetch(`${collector.httpUrl}/api/v1/sites`)).json()) as Array<{
      id: string;
      region: string;
      protocols: string[];
    }>;
    expect(sites.find((s) => s.id === SITE)).toMatchObject({ region: 'HE', protocols: ['modbus'] });
  });

  it('publishes nothing until its primary host says it is online', async () => {
    const { broker, recorder, gateway } = await setup({ primaryHostId: 'scada-1' });
    await gateway.start();
    await waitUntil('a few batches taken into the outbox', () => gateway.stats.seq >= 5);
    expect(recorder.seen.filter((m) => m.type !== 'NDEATH')).toEqual([]);
    const host = await connectAsync(broker.url);
    cleanups.push(() => host.endAsync());
    await host.publishAsync(stateTopic('scada-1'), JSON.stringify({ online: true, timestamp: Date.now() }), {
      qos: 1,
      retain: true,
    });
    await waitUntil('data once the host is online', () => recorder.seen.some((m) => m.type === 'DDATA'));
    expect(recorder.seen[0]?.type).toBe('NBIRTH');
  });

  it("carries a point's KPI role from its config through the broker to the collector's Sparkplug host", async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const device = await startCounterDevice();
    cleanups.push(() => device.close());
    const dir = tempDir('jjj-sparkplug-roles-');
    cleanups.push(() => dir.remove());
    const births: Array<{ topic: string; payload: Buffer }> = [];
    const listener = await connectAsync(broker.url);
    cleanups.push(() => listener.endAsync());
    listener.on('message', (topic, payload) => {
      if (/\/(NBIRTH|DBIRTH)\//.test(topic)) births.push({ topic, payload });
    });
    await listener.subscribeAsync(`spBv1.0/${SITE}/#`, { qos: 1 });
    const raw = counterGatewayConfig({
      gatewayId: 'gw-sparkplug',
      mqttUrl: broker.url,
      devicePort: device.port,
      stateDir: `${dir.path}/gateway`,
      mqtt: { format: 'sparkplug' },
    });
    // A 16-bit parts counter that wraps; the other point has no role.
    Object.assign(raw.devices[0]?.points[0] as object, { kpi: { role: 'total-count', width: 16 } });
    const gateway = new Gateway(parseGatewayConfig(raw, 'test', dir.path), pino({ level: 'silent' }));
    cleanups.push(() => gateway.stop());
    await gateway.start();
    await waitUntil('NBIRTH and DBIRTH', () => births.length >= 2);

    const host = new SparkplugHost();
    const metadata = births
      .flatMap((birth) => host.handle(birth.topic, birth.payload))
      .flatMap((event) => (event.kind === 'metadata' ? event.message.points : []));
    expect(metadata.map((m) => [m.point, m.kpi])).toEqual([
      [COUNTER_POINTS[0], { role: 'total-count', width: 16, reset: 'restart' }],
      [COUNTER_POINTS[1], undefined],
    ]);
  });
});
