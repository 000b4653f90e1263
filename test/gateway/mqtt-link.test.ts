/**
 * The MQTT link against Mosquitto: birth, Last Will, MQTT 3.1.1 and 5, username/password, TLS with
 * a CA and mutual TLS with certificates this test makes with openssl; refusals are logged with why.
 * No batch precedes its connection's birth; a Sparkplug node's clean stop on MQTT 5 leaves the
 * NDEATH to the broker (DISCONNECT 0x04), and ending a session on purpose reconnects.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { jsonEncoder } from '../../gateway/json-encoder.js';
import { MqttLink, type MqttLinkOptions, type MqttTls } from '../../gateway/mqtt-link.js';
import { serialiseBatch } from '../../gateway/outbox/outbox.js';
import type { MetadataMessage, StatusMessage } from '../../gateway/schema/index.js';
import { SparkplugEdgeNode } from '../../gateway/sparkplug/edge-node.js';
import { sparkplugEncoder } from '../../gateway/sparkplug/encoder.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { recordMqtt } from '../helpers/mqtt-recorder.js';
import { createPki } from '../helpers/pki.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { telemetrySamples } from '../helpers/telemetry.js';
import { waitUntil } from '../helpers/wait.js';
import { telemetryBatch } from './outbox/outbox-suite.js';

const site = { region: 'HE', project: 'jjj-dp-03', site: 'he-test' } as const;
const topics = {
  telemetry: 'jjj/v1/HE/he-test/gw/telemetry',
  status: 'jjj/v1/HE/he-test/gw/status',
  metadata: 'jjj/v1/HE/he-test/gw/metadata',
  command: 'jjj/v1/HE/he-test/gw/command',
};

const encoder = jsonEncoder({
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
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function startLink(url: string, extra: Partial<MqttLinkOptions> = {}) {
  const lines: string[] = [];
  // The link asks for the Will before every connection attempt: that counts the attempts.
  let attempts = 0;
  const link = new MqttLink({
    url,
    clientId: `link-test-${Math.random().toString(16).slice(2)}`,
    protocolVersion: 4,
    keepaliveSeconds: 10,
    reconnect: { minMs: 100, maxMs: 400 },
    encoder: {
      ...encoder,
      will: () => {
        attempts++;
        return encoder.will();
      },
    },
    logger: pino({ level: 'info' }, { write: (line: string) => lines.push(line) }),
    onConnectionChange: (connected) => {
      if (connected) link.announce();
    },
    ...extra,
  });
  link.start();
  cleanups.push(() => link.close());
  return {
    link,
    lines,
    attempts: () => attempts,
    failures: () => lines.filter((l) => l.includes('cannot connect')),
  };
}

describe('MqttLink against Mosquitto', () => {
  it.each([4, 5] as const)(
    'MQTT protocol level %i: birth first, batches acknowledged, death on close',
    async (version) => {
      const broker = await startMosquitto();
      cleanups.push(() => broker.stop());
      const recorder = await recordMqtt(broker.url, 'jjj/v1/#');
      cleanups.push(() => recorder.close());
      const { link } = startLink(broker.url, { protocolVersion: version });
      await waitUntil('connected', () => link.isConnected);
      for (let seq = 0; seq < 5; seq++)
        await link.publishAll(encoder.batch(serialiseBatch(telemetryBatch(seq, 2)), seq === 0));
      await recorder.waitFor(
        (m) => m.filter((x) => x.topic === topics.telemetry).length === 5,
        'five batches',
      );
      const kinds = recorder.messages.map((m) => m.topic.split('/').at(-1));
      expect(kinds.slice(0, 2)).toEqual(['status', 'metadata']);
      const batches = recorder.messages
        .filter((m) => m.topic === topics.telemetry)
        .map((m) => telemetrySamples(m.json as object));
      expect(batches.map((b) => b.gateway.seq)).toEqual([0, 1, 2, 3, 4]);
      expect(batches.map((b) => b.historical ?? false)).toEqual([true, false, false, false, false]);
      await link.close();
      await recorder.waitFor(
        (m) => m.some((x) => x.topic === topics.status && (x.json as StatusMessage).state === 'offline'),
        'offline status',
      );
    },
  );

  it('leaves its Last Will (offline, retained) when the connection dies without a goodbye', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const proxy = await startTcpProxy(broker.port);
    cleanups.push(() => proxy.close());
    const { link } = startLink(proxy.url(), { keepaliveSeconds: 5 });
    await waitUntil('connected', () => link.isConnected);
    proxy.cut();
    const late = await recordMqtt(broker.url, topics.status);
    cleanups.push(() => late.close());
    await late.waitFor((m) => (m.at(-1)?.json as StatusMessage | undefined)?.state === 'offline', 'the Will');
    expect(late.messages.at(-1)?.retain).toBe(true);
  });

  it('logs in with username and password, and says "bad username or password" once when refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jjj-auth-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const passwords = join(dir, 'passwords');
    execFileSync('/usr/bin/mosquitto_passwd', ['-b', '-c', passwords, 'gw', 's3cret']);
    chmodSync(dir, 0o755);
    chmodSync(passwords, 0o644);
    const broker = await startMosquitto(['allow_anonymous false', `password_file ${passwords}`]);
    cleanups.push(() => broker.stop());

    const good = startLink(broker.url, { username: 'gw', password: 's3cret' });
    await waitUntil('connected with the right password', () => good.link.isConnected);
    const bad = startLink(broker.url, { username: 'gw', password: 'wrong', protocolVersion: 5 });
    // Several attempts (100–400 ms apart), one log line.
    await waitUntil('four attempts', () => bad.attempts() >= 4);
    expect(bad.link.isConnected).toBe(false);
    expect(bad.failures()).toHaveLength(1);
    expect(bad.failures()[0]).toMatch(/bad username or password|not authorized/);
  });
});

describe('MqttLink: the birth comes first on every connection', () => {
  it('holds a batch handed over before the birth, and sends it right after the birth', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const recorder = await recordMqtt(broker.url, 'jjj/v1/#');
    cleanups.push(() => recorder.close());
    let up = false;
    const { link } = startLink(broker.url, { onConnectionChange: (connected) => (up = connected) });
    await waitUntil('connected and subscribed', () => up);
    const sent = link.publishAll(encoder.batch(serialiseBatch(telemetryBatch(0, 1)), false));
    link.announce();
    await sent;
    await recorder.waitFor((m) => m.length === 3, 'birth and batch');
    expect(recorder.messages.map((m) => m.topic.split('/').at(-1))).toEqual([
      'status',
      'metadata',
      'telemetry',
    ]);
  });

  it('refuses a batch without a connection, and rejects one held when the connection ends first', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const proxy = await startTcpProxy(broker.port);
    cleanups.push(() => proxy.close());
    const changes: boolean[] = [];
    const { link } = startLink(proxy.url(), { onConnectionChange: (connected) => changes.push(connected) });
    const batch = () => encoder.batch(serialiseBatch(telemetryBatch(0, 1)), false);
    await expect(link.publishAll(batch())).rejects.toThrow(/not connected/);
    await waitUntil('connected and subscribed', () => changes.includes(true));
    const held = link.publishAll(batch());
    proxy.cut();
    await expect(held).rejects.toThrow(/ended before its birth/);
  });

  it('a subscription failing because the connection dropped does not report the link up', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const proxy = await startTcpProxy(broker.port);
    cleanups.push(() => proxy.close());
    const changes: boolean[] = [];
    let first = true;
    const { lines } = startLink(proxy.url(), {
      encoder: {
        ...encoder,
        // First connection: hold its SUBSCRIBE in the proxy, then drop the connection under it.
        subscriptions: () => {
          if (first) {
            first = false;
            proxy.pause();
            setImmediate(() => {
              proxy.cut();
              proxy.resume();
              proxy.restore();
            });
          }
          return encoder.subscriptions();
        },
      },
      onConnectionChange: (connected) => changes.push(connected),
    });
    await waitUntil(
      'the second connection up',
      () => lines.filter((l) => l.includes('connected to broker')).length === 2 && changes.at(-1) === true,
    );
    // Down once (the drop), up once (the second connection): no "up" from the failed subscription.
    expect(changes).toEqual([false, true]);
  });
});

describe('MqttLink with a Sparkplug B node', () => {
  const tahu = createRequire(import.meta.url)('sparkplug-payload').get('spBv1.0') as {
    decodePayload(bytes: Uint8Array): { metrics: Array<{ name?: string; value: unknown }> };
  };

  async function sparkplugLink(url: string, protocolVersion: 4 | 5) {
    const node = new SparkplugEdgeNode({
      site: 'he-test',
      gateway: 'gw',
      region: 'HE',
      project: 'jjj-dp-03',
      siteName: { zh: '测试', en: 'Test' },
      boot: 1,
      points: [],
      dataQos: 1,
    });
    const sparkplug = sparkplugEncoder(node);
    let deathsPublished = 0;
    let up = 0;
    const { link } = startLink(url, {
      protocolVersion,
      encoder: {
        ...sparkplug,
        death: () => {
          deathsPublished++;
          return sparkplug.death();
        },
      },
      onConnectionChange: (connected) => {
        if (!connected) return;
        up++;
        link.announce();
      },
    });
    return { link, deathsPublished: () => deathsPublished, ups: () => up };
  }

  async function recordDeaths(url: string) {
    const client = await connectAsync(url);
    cleanups.push(() => client.endAsync());
    const types: string[] = [];
    const deaths: number[] = [];
    client.on('message', (topic, payload) => {
      const type = topic.split('/')[2] as string;
      types.push(type);
      const bdSeq = tahu.decodePayload(payload).metrics.find((m) => m.name === 'bdSeq')?.value;
      if (type === 'NDEATH') deaths.push(Number(String(bdSeq)));
    });
    await client.subscribeAsync('spBv1.0/he-test/+/gw', { qos: 1 });
    return { types, deaths };
  }

  it('MQTT 5 clean stop: DISCONNECT 0x04, and the broker delivers the NDEATH Will', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const seen = await recordDeaths(broker.url);
    const { link, deathsPublished } = await sparkplugLink(broker.url, 5);
    await waitUntil('NBIRTH', () => seen.types.includes('NBIRTH'));
    await link.close();
    await waitUntil('the NDEATH Will', () => seen.deaths.length === 1);
    // Not published by the link: the broker sent the Will, which a DISCONNECT with reason 0 discards.
    expect(deathsPublished()).toBe(0);
    expect(seen.deaths).toEqual([0]);
  });

  it('MQTT 3.1.1 clean stop: the NDEATH is published, then a normal DISCONNECT', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const seen = await recordDeaths(broker.url);
    const { link, deathsPublished } = await sparkplugLink(broker.url, 4);
    await waitUntil('NBIRTH', () => seen.types.includes('NBIRTH'));
    await link.close();
    await waitUntil('the NDEATH', () => seen.deaths.length === 1);
    expect(deathsPublished()).toBe(1);
    expect(seen.deaths).toEqual([0]);
  });

  it.each([4, 5] as const)(
    'MQTT level %i: ending the session on purpose sends one NDEATH, reconnects and births again',
    async (version) => {
      const broker = await startMosquitto();
      cleanups.push(() => broker.stop());
      const seen = await recordDeaths(broker.url);
      const { link, ups } = await sparkplugLink(broker.url, version);
      await waitUntil('NBIRTH', () => seen.types.includes('NBIRTH'));
      await link.restartSession();
      await waitUntil('the second NBIRTH', () => seen.types.filter((t) => t === 'NBIRTH').length === 2);
      expect(ups()).toBe(2);
      expect(seen.types).toEqual(['NBIRTH', 'NDEATH', 'NBIRTH']);
      // The NDEATH names the first session; the new session has the next bdSeq.
      expect(seen.deaths).toEqual([0]);
    },
  );
});

describe('MqttLink over TLS', () => {
  const pki = createPki();
  afterAll(() => pki.remove());
  const { file, read } = pki;
  pki.makeCa('ca');
  pki.makeCa('rogue-ca');
  pki.makeSigned('broker', 'ca', 'subjectAltName = IP:127.0.0.1\n');
  pki.makeSigned('gateway', 'ca');
  pki.makeSigned('intruder', 'rogue-ca');

  async function tlsBroker(requireCertificate: boolean) {
    const broker = await startMosquitto([
      `cafile ${file('ca.pem')}`,
      `certfile ${file('broker.pem')}`,
      `keyfile ${file('broker.key')}`,
      `require_certificate ${requireCertificate}`,
    ]);
    cleanups.push(() => broker.stop());
    return `mqtts://127.0.0.1:${broker.port}`;
  }
  const tls = (extra: Partial<MqttTls>): MqttTls => ({
    ca: read('ca.pem'),
    rejectUnauthorized: true,
    ...extra,
  });

  it('connects to a broker whose certificate the configured CA signed', async () => {
    const url = await tlsBroker(false);
    const { link } = startLink(url, { tls: tls({}) });
    await waitUntil('connected over TLS', () => link.isConnected);
    await link.publishAll(encoder.batch(serialiseBatch(telemetryBatch(0, 1)), false));
  });

  it('refuses a broker certificate from another CA and says so', async () => {
    const url = await tlsBroker(false);
    const { link, failures } = startLink(url, { tls: tls({ ca: read('rogue-ca.pem') }) });
    await waitUntil('the failure logged', () => failures().length > 0);
    expect(link.isConnected).toBe(false);
    expect(failures()[0]).toMatch(/broker's certificate is not trusted/);
  });

  it('mutual TLS: the right client certificate is accepted, a wrong one refused with the reason', async () => {
    const url = await tlsBroker(true);
    const good = startLink(url, { tls: tls({ cert: read('gateway.pem'), key: read('gateway.key') }) });
    await waitUntil('connected with the client certificate', () => good.link.isConnected);
    const bad = startLink(url, { tls: tls({ cert: read('intruder.pem'), key: read('intruder.key') }) });
    await waitUntil('the refusal logged', () => bad.failures().length > 0);
    const refusedAt = bad.attempts();
    await waitUntil('three more attempts', () => bad.attempts() >= refusedAt + 3);
    expect(bad.link.isConnected).toBe(false);
    expect(bad.failures()).toHaveLength(1);
    expect(bad.failures()[0]).toMatch(/broker refused the client certificate/);
  });
});
