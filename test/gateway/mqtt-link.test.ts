import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../gateway/logger.js';
import { MqttLink } from '../../gateway/mqtt-link.js';
import type { MetadataMessage, StatusMessage, TelemetryBatch } from '../../gateway/schema/index.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { recordMqtt } from '../helpers/mqtt-recorder.js';
import { freePort } from '../helpers/ports.js';

const site = { region: 'HE', project: 'jjj-dp-03', site: 'he-test' } as const;
const topics = {
  telemetry: 'jjj/v1/HE/he-test/gw/telemetry',
  status: 'jjj/v1/HE/he-test/gw/status',
  metadata: 'jjj/v1/HE/he-test/gw/metadata',
};

function batch(seq: number, points: number): TelemetryBatch {
  return {
    schema: 'jjj.telemetry/1',
    ...site,
    gateway: { id: 'gw', boot: 1, seq },
    sentTs: 1000 + seq,
    points: Array.from({ length: points }, (_, i) => ({
      line: 'l',
      equipment: 'e',
      point: `p${i}`,
      value: seq,
      ts: 1000 + seq,
      quality: 'good' as const,
    })),
  };
}

function link(url: string, maxQueuedPoints = 100_000): MqttLink {
  return new MqttLink({
    url,
    clientId: `link-test-${Math.random().toString(16).slice(2)}`,
    keepaliveSeconds: 10,
    topics,
    status: (state): StatusMessage => ({
      schema: 'jjj.status/1',
      ...site,
      gateway: { id: 'gw', boot: 1 },
      state,
      ts: 1,
    }),
    metadata: (): MetadataMessage => ({
      schema: 'jjj.metadata/1',
      ...site,
      gateway: { id: 'gw', boot: 1 },
      ts: 1,
      siteName: { zh: '测试', en: 'Test' },
      points: [],
    }),
    maxQueuedPoints,
    logger: createLogger('test', 'silent'),
  });
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function seqs(messages: { topic: string; json: unknown }[]): number[] {
  return messages
    .filter((m) => m.topic === topics.telemetry)
    .map((m) => (m.json as TelemetryBatch).gateway.seq);
}

describe('MqttLink against Mosquitto', () => {
  it('announces status and metadata (retained), sends batches in order, and says offline on close', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const recorder = await recordMqtt(broker.url, 'jjj/v1/#');
    cleanups.push(() => recorder.close());
    const gateway = link(broker.url);
    gateway.start();
    for (let seq = 0; seq < 20; seq++) gateway.enqueue(batch(seq, 3));
    await recorder.waitFor((m) => seqs(m).length === 20, '20 batches');
    expect(seqs(recorder.messages)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const kinds = recorder.messages.map((m) => m.topic.split('/').at(-1));
    expect(kinds.slice(0, 2)).toEqual(['status', 'metadata']);
    expect((recorder.messages[0]?.json as StatusMessage | undefined)?.state).toBe('online');
    await gateway.close();
    await recorder.waitFor(
      (m) => m.some((x) => x.topic === topics.status && (x.json as StatusMessage).state === 'offline'),
      'offline status',
    );
    expect(gateway.counters.pointsAcked).toBe(60);

    // A late subscriber sees the retained state: the gateway is offline.
    const late = await recordMqtt(broker.url, topics.status);
    cleanups.push(() => late.close());
    await late.waitFor((m) => m.length === 1, 'retained status');
    expect(late.messages[0]?.retain).toBe(true);
    expect((late.messages[0]?.json as StatusMessage | undefined)?.state).toBe('offline');
  });

  it('holds batches while the broker is unreachable and delivers them in order once it is up', async () => {
    const port = await freePort();
    const gateway = link(`mqtt://127.0.0.1:${port}`);
    gateway.start();
    cleanups.push(() => gateway.close(0));
    for (let seq = 0; seq < 5; seq++) gateway.enqueue(batch(seq, 10));
    expect(gateway.isConnected).toBe(false);
    expect(gateway.queuedBatchCount).toBe(5);

    let broker: Mosquitto | undefined;
    for (let attempt = 0; !broker; attempt++) {
      try {
        broker = await startMosquittoOn(port);
      } catch (error) {
        if (attempt > 3) throw error;
      }
    }
    const started = broker;
    cleanups.push(() => started.stop());
    const recorder = await recordMqtt(started.url, topics.telemetry);
    cleanups.push(() => recorder.close());
    gateway.enqueue(batch(5, 10));
    await recorder.waitFor((m) => seqs(m).length === 6, 'all six batches');
    expect(seqs(recorder.messages)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('drops the oldest batches beyond its cap, counts every dropped reading, and keeps the newest', async () => {
    const port = await freePort();
    const gateway = link(`mqtt://127.0.0.1:${port}`, 1000);
    gateway.start();
    cleanups.push(() => gateway.close(0));
    for (let seq = 0; seq < 15; seq++) gateway.enqueue(batch(seq, 100));
    expect(gateway.counters.pointsDropped).toBe(500);
    expect(gateway.queuedBatchCount).toBe(10);

    const broker = await startMosquittoOn(port);
    cleanups.push(() => broker.stop());
    const recorder = await recordMqtt(broker.url, topics.telemetry);
    cleanups.push(() => recorder.close());
    await recorder.waitFor(() => gateway.counters.batchesAcked === 10, 'queued batches acknowledged');
    gateway.enqueue(batch(15, 100));
    await recorder.waitFor((m) => seqs(m).includes(15), 'the live batch');
    expect(gateway.counters.pointsDropped).toBe(500);
  });
});

async function startMosquittoOn(port: number): Promise<Mosquitto> {
  return startMosquitto([], port);
}
