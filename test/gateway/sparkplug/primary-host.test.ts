/**
 * The collector as the gateway's Sparkplug primary host, all real: Mosquitto, a Modbus counter
 * device, a Gateway in Sparkplug mode with `primaryHostId`, and the collector with `sparkplug.hostId`.
 * Every edge message is decoded with Eclipse Tahu's library, STATE as the JSON Sparkplug 3.0 defines.
 */
import { createRequire } from 'node:module';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningCollector, startCollector } from '../../../cloud/collector.js';
import { buildCollectorConfig } from '../../../cloud/config.js';
import { parseGatewayConfig } from '../../../gateway/config.js';
import { Gateway } from '../../../gateway/gateway.js';
import { capturingLogger } from '../../helpers/capturing-logger.js';
import { startMosquitto } from '../../helpers/mosquitto.js';
import { waitUntil } from '../../helpers/wait.js';
import {
  COUNTER_POINTS,
  counterGatewayConfig,
  expectCounting,
  SITE,
  startCounterDevice,
  storedSeries,
  tempDir,
} from '../delivery-fixtures.js';

const HOST_ID = 'jjj-collector';
const STATE_TOPIC = `spBv1.0/STATE/${HOST_ID}`;

const tahu = createRequire(import.meta.url)('sparkplug-payload').get('spBv1.0') as {
  decodePayload(bytes: Uint8Array): {
    metrics: Array<{ name?: string; type?: string; value: unknown }>;
  };
};

/** A STATE (online, timestamp, retained) or an edge message (its bdSeq, if any, and its values). */
interface Seen {
  kind: string;
  online?: boolean;
  timestamp?: number;
  retained?: boolean;
  bdSeq?: number;
  values?: unknown[];
}

/** Everything on the Sparkplug namespace, in the order the broker delivered it. */
async function recordSparkplug(url: string) {
  const client = await connectAsync(url);
  const seen: Seen[] = [];
  client.on('message', (topic, payload, packet) => {
    if (topic === STATE_TOPIC) {
      const { online, timestamp } = JSON.parse(payload.toString()) as { online: boolean; timestamp: number };
      seen.push({ kind: 'STATE', online, timestamp, retained: packet.retain });
      return;
    }
    const { metrics } = tahu.decodePayload(payload);
    const bdSeq = metrics.find((m) => m.name === 'bdSeq')?.value;
    seen.push({
      kind: topic.split('/')[2] as string,
      ...(bdSeq !== undefined && { bdSeq: Number(String(bdSeq)) }),
      values: metrics.map((m) => m.value),
    });
  });
  await client.subscribeAsync([STATE_TOPIC, `spBv1.0/${SITE}/#`], { qos: 1 });
  const of = (kind: string) => seen.filter((m) => m.kind === kind);
  return { seen, of, states: () => of('STATE'), client };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startHost(brokerUrl: string, dir: string): Promise<RunningCollector> {
  const collector = await startCollector(
    buildCollectorConfig({
      mqtt: { url: brokerUrl },
      store: { path: `${dir}/collector.db` },
      http: { port: 0 },
      auth: { anonymous: 'viewer' },
      sparkplug: { hostId: HOST_ID },
    }),
    { logger: pino({ level: 'silent' }) },
  );
  cleanups.push(() => collector.close());
  return collector;
}

async function peers() {
  const broker = await startMosquitto();
  cleanups.push(() => broker.stop());
  const device = await startCounterDevice();
  cleanups.push(() => device.close());
  const dir = tempDir('jjj-primary-host-');
  cleanups.push(() => dir.remove());
  const recorder = await recordSparkplug(broker.url);
  cleanups.push(() => recorder.client.endAsync());
  const gatewayConfig = (mqtt: Record<string, unknown>) =>
    parseGatewayConfig(
      counterGatewayConfig({
        gatewayId: 'gw-sparkplug',
        mqttUrl: broker.url,
        devicePort: device.port,
        stateDir: `${dir.path}/gateway`,
        mqtt: { format: 'sparkplug', ...mqtt },
      }),
      'test',
      dir.path,
    );
  return { broker, dir, recorder, gatewayConfig };
}

describe('the collector as Sparkplug primary host of a gateway', () => {
  it('the gateway waits for the STATE, ends its session when the host leaves, ignores a stale "online", and births again when the host is back', async () => {
    const { broker, dir, recorder, gatewayConfig } = await peers();
    const { logger, lines } = capturingLogger();
    const gateway = new Gateway(gatewayConfig({ sparkplug: { primaryHostId: HOST_ID } }), logger);
    cleanups.push(() => gateway.stop());
    const logged = (msg: string) => lines.filter((l) => l.msg === msg).length;

    // No host yet: readings go to the outbox, nothing to the broker.
    await gateway.start();
    await waitUntil('batches taken into the outbox', () => gateway.stats.seq >= 3);
    expect(recorder.seen).toEqual([]);

    // The host comes: its retained STATE birth, then (and only then) the gateway's births and data.
    const first = await startHost(broker.url, dir.path);
    await waitUntil('DDATA', () => recorder.of('DDATA').length > 0);
    expect(recorder.seen.slice(0, 3).map((m) => m.kind)).toEqual(['STATE', 'NBIRTH', 'DBIRTH']);
    const [birth] = recorder.states();
    expect(birth).toMatchObject({ online: true, retained: false });
    const hostSession = birth?.timestamp as number;
    // Typed DDATA: Tahu reads every value without the DBIRTH at hand.
    expect(recorder.of('DDATA').flatMap((m) => m.values)).not.toContain(null);
    await waitUntil(
      'readings stored by the host',
      async () => (await storedSeries(first, COUNTER_POINTS[0])).length > 0,
    );
    const firstBdSeq = recorder.of('NBIRTH')[0]?.bdSeq as number;

    // The host stops cleanly: STATE offline stamped with the stop; the gateway sends its NDEATH and
    // disconnects, then reconnects to wait for the host.
    await first.close();
    await waitUntil('the NDEATH', () => recorder.of('NDEATH').length === 1);
    expect(recorder.of('NDEATH')[0]?.bdSeq).toBe(firstBdSeq);
    const [, stop] = recorder.states();
    expect(stop).toMatchObject({ online: false });
    expect(stop?.timestamp).toBeGreaterThanOrEqual(hostSession);
    // Without a DISCONNECT the broker then delivers the host's Will: offline, stamped with the
    // connect time, as the birth was.
    await waitUntil('the host Will', () => recorder.states().length === 3);
    expect(recorder.states()[2]).toMatchObject({ online: false, timestamp: hostSession });
    await waitUntil('the gateway reconnected', () => logged('connected to broker') === 2);

    // A stale "online" (the first session's timestamp, retained) must not bring the gateway back.
    const stale = await connectAsync(broker.url);
    cleanups.push(() => stale.endAsync());
    await stale.publishAsync(STATE_TOPIC, JSON.stringify({ online: true, timestamp: hostSession }), {
      qos: 1,
      retain: true,
    });
    await waitUntil('the stale STATE ignored', () =>
      lines.some(
        (l) =>
          l.msg === 'STATE older than the last one taken; ignored' &&
          (l as { timestamp?: number }).timestamp === hostSession,
      ),
    );
    expect(recorder.of('NBIRTH')).toHaveLength(1);
    expect(logged('primary host online: publishing births and data')).toBe(1);

    // The host is back (a new session, a newer timestamp): births with the next bdSeq, the backlog
    // replays, and nothing counted while the host was away is lost.
    const second = await startHost(broker.url, dir.path);
    await waitUntil('the second NBIRTH', () => recorder.of('NBIRTH').length === 2);
    const secondBdSeq = recorder.of('NBIRTH')[1]?.bdSeq as number;
    expect(secondBdSeq).toBeGreaterThan(firstBdSeq);
    // The replay started with the birth: once it is over, the backlog is in.
    await waitUntil('the backlog replayed', () => !gateway.stats.replaying);
    await gateway.stop();
    for (const point of COUNTER_POINTS) {
      const values = await storedSeries(second, point);
      expect(expectCounting(values), `${point}: ${values.join(',')}`).toBe(true);
    }
  });

  it('the host answers an offline STATE on its own id (a late Will) with its birth again, once for a burst', async () => {
    const { broker, dir, recorder } = await peers();
    await startHost(broker.url, dir.path);
    await waitUntil('the STATE birth', () => recorder.states().length === 1);
    const birth = recorder.states()[0];
    const peer = await connectAsync(broker.url);
    cleanups.push(() => peer.endAsync());
    const lateWill = JSON.stringify({ online: false, timestamp: (birth?.timestamp as number) - 60_000 });
    for (let i = 0; i < 20; i++) await peer.publishAsync(STATE_TOPIC, lateWill, { qos: 1, retain: true });
    await waitUntil('the birth again', () => recorder.states().filter((m) => m.online).length === 2);
    const births = recorder.states().filter((m) => m.online);
    // The same session, the same timestamp: what the Will of this session would carry.
    expect(births.map((m) => m.timestamp)).toEqual([birth?.timestamp, birth?.timestamp]);
    // What a node connecting now reads: the birth, retained over the late Will.
    const late = await recordSparkplug(broker.url);
    cleanups.push(() => late.client.endAsync());
    await waitUntil('the retained STATE', () => late.states().length === 1);
    expect(late.states()[0]).toMatchObject({ online: true, retained: true, timestamp: birth?.timestamp });
    expect(recorder.states().filter((m) => m.online)).toHaveLength(2);
  });

  it('bdSeq survives a restart: the second process connects with the next bdSeq; an MQTT 5 stop leaves the NDEATH to the broker', async () => {
    const { recorder, gatewayConfig } = await peers();
    const config = gatewayConfig({ protocolVersion: 5 });
    const run = async () => {
      const gateway = new Gateway(config, pino({ level: 'silent' }));
      cleanups.push(() => gateway.stop());
      const births = recorder.of('NBIRTH').length;
      await gateway.start();
      await waitUntil('NBIRTH', () => recorder.of('NBIRTH').length === births + 1);
      const deaths = recorder.of('NDEATH').length;
      await gateway.stop();
      await waitUntil('the NDEATH Will', () => recorder.of('NDEATH').length === deaths + 1);
    };
    await run();
    await run();
    expect(recorder.of('NBIRTH').map((m) => m.bdSeq)).toEqual([0, 1]);
    expect(recorder.of('NDEATH').map((m) => m.bdSeq)).toEqual([0, 1]);
  });
});
