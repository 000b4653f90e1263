/**
 * The collector's transport security against real peers: Mosquitto requiring TLS from a private CA
 * and a client certificate, and InfluxDB 1.x behind a TLS-terminating proxy that also asks for one.
 * Good traffic flows end to end (broker → collector → https InfluxDB → API); a broker the CA did not
 * sign, a missing client certificate, bad credentials and an unreachable broker each stop the
 * collector at start with the reason (exit 1) instead of leaving it "degraded" forever.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type Peer, startInfluxdb1 } from '../../bench/collector-peers.js';
import { runCli } from '../../cloud/cli.js';
import { type RunningCollector, startCollector } from '../../cloud/collector.js';
import { buildCollectorConfig, type InfluxStoreConfig } from '../../cloud/config.js';
import { LineWriter } from '../../cloud/store/influx-write.js';
import { topicFor } from '../../gateway/schema/index.js';
import { capturedIo } from '../helpers/captured-io.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { createPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { eventually } from '../helpers/wait.js';
import { SITE, TS, telemetry } from './fixtures.js';

const pki = createPki();
pki.makeCa('ca');
pki.makeCa('rogue-ca');
pki.makeSigned('broker', 'ca', 'subjectAltName = IP:127.0.0.1\n');
pki.makeSigned('influx', 'ca', 'subjectAltName = IP:127.0.0.1\n');
pki.makeSigned('collector', 'ca');
pki.makeSigned('gateway', 'ca');
const dir = mkdtempSync(join(tmpdir(), 'jjj-transport-tls-'));
const clientTls = { ca: pki.file('ca.pem'), cert: pki.file('collector.pem'), key: pki.file('collector.key') };

let mtlsBroker: Mosquitto;
let passwordBroker: Mosquitto;
let influx: Peer;
let proxy: Server;
let proxyPort: number;

beforeAll(async () => {
  mtlsBroker = await startMosquitto([
    `cafile ${pki.file('ca.pem')}`,
    `certfile ${pki.file('broker.pem')}`,
    `keyfile ${pki.file('broker.key')}`,
    'require_certificate true',
  ]);
  const passwords = join(pki.dir, 'passwords');
  writeFileSync(passwords, '');
  execFileSync('/usr/bin/mosquitto_passwd', ['-b', passwords, 'collector', 'right-password'], {
    stdio: 'pipe',
  });
  execFileSync('chmod', ['0644', passwords]);
  passwordBroker = await startMosquitto(['allow_anonymous false', `password_file ${passwords}`]);
  influx = await startInfluxdb1();
  const created = await fetch(`${influx.url}/query?q=${encodeURIComponent('CREATE DATABASE jjj')}`, {
    method: 'POST',
  });
  expect(created.ok).toBe(true);
  // TLS in front of InfluxDB, as a plant's reverse proxy would put it: private CA, client certificates required.
  proxy = createTlsServer(
    {
      key: pki.read('influx.key'),
      cert: pki.read('influx.pem'),
      ca: pki.read('ca.pem'),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => {
      const upstream = netConnect(influx.port, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    },
  );
  proxyPort = await freePort();
  await new Promise<void>((listening) => proxy.listen(proxyPort, '127.0.0.1', listening));
}, 60_000);

afterAll(async () => {
  await new Promise((closed) => proxy?.close(closed));
  await influx?.stop();
  await mtlsBroker?.stop();
  await passwordBroker?.stop();
  rmSync(dir, { recursive: true, force: true });
  pki.remove();
});

const influxStore = (tls?: { ca?: string; cert?: string; key?: string }) =>
  ({
    type: 'influxdb',
    apiVersion: 1,
    url: `https://127.0.0.1:${proxyPort}`,
    database: 'jjj',
    catalogPath: join(dir, `catalog-${Math.random().toString(16).slice(2)}.db`),
    ...(tls && { tls }),
  }) as const;

describe('collector over TLS: private CA and mutual TLS', () => {
  let collector: RunningCollector | undefined;
  afterAll(() => collector?.close());

  it('ingests from a mutual-TLS Mosquitto into an https InfluxDB and reads it back', async () => {
    collector = await startCollector(
      buildCollectorConfig({
        mqtt: { url: `mqtts://127.0.0.1:${mtlsBroker.port}`, tls: clientTls, sparkplug: false },
        store: influxStore(clientTls),
        http: { port: 0 },
        auth: { anonymous: 'viewer' },
      }),
      { logger: pino({ level: 'silent' }) },
    );
    const gateway = await connectAsync(`mqtts://127.0.0.1:${mtlsBroker.port}`, {
      ca: pki.read('ca.pem'),
      cert: pki.read('gateway.pem'),
      key: pki.read('gateway.key'),
    });
    const batch = telemetry();
    await gateway.publishAsync(
      topicFor({ region: batch.region, site: batch.site, gateway: batch.gateway.id, kind: 'telemetry' }),
      JSON.stringify(batch),
      { qos: 1 },
    );
    await gateway.endAsync();
    const base = collector.httpUrl;
    await eventually(async () => {
      const response = await fetch(
        `${base}/api/v1/series?point=${SITE}/machining/cnc-01/spindle-speed&from=${TS - 1}&to=${TS + 1}`,
      );
      expect(response.status).toBe(200);
      expect(((await response.json()) as { samples: unknown[] }).samples).toEqual([
        { ts: TS, value: 12000.5, quality: 'good' },
      ]);
    });
    const health = await fetch(`${base}/api/v1/health`);
    expect(await health.json()).toEqual({ status: 'ok', store: 'up', broker: 'connected' });
  }, 30_000);

  it('refuses an InfluxDB whose certificate the configured CA did not sign, and is refused without a client certificate', async () => {
    const rogue = new LineWriter(
      buildCollectorConfig({ store: influxStore({ ca: pki.file('rogue-ca.pem') }) })
        .store as InfluxStoreConfig,
      { ca: pki.read('rogue-ca.pem'), rejectUnauthorized: true },
    );
    await expect(rogue.write(telemetry())).rejects.toThrow(/self[- ]signed certificate in certificate chain/);
    rogue.close();
    const anonymous = new LineWriter(
      buildCollectorConfig({ store: influxStore({ ca: pki.file('ca.pem') }) }).store as InfluxStoreConfig,
      { ca: pki.read('ca.pem'), rejectUnauthorized: true },
    );
    await expect(anonymous.write(telemetry())).rejects.toThrow(
      /certificate required|socket hang up|ECONNRESET/,
    );
    anonymous.close();
  });
});

describe('jjj-collector run: a broker it cannot connect to at start is fatal, with the reason', () => {
  async function run(mqtt: object): Promise<{ code: number; stderr: string; ms: number }> {
    const file = join(dir, `collector-${Math.random().toString(16).slice(2)}.yaml`);
    writeFileSync(file, stringify({ mqtt, store: { path: ':memory:' }, http: { port: 0 } }));
    const { io, out } = capturedIo();
    const started = performance.now();
    const code = await runCli(['run', '--config', file], io);
    return { code, stderr: out.stderr, ms: performance.now() - started };
  }
  const fatalLine = (stderr: string) =>
    stderr.split('\n').find((line) => line.includes('collector failed to start')) ?? '';

  it('a broker certificate from another CA: exit 1 at once, "not trusted"', async () => {
    const result = await run({
      url: `mqtts://127.0.0.1:${mtlsBroker.port}`,
      tls: { ...clientTls, ca: pki.file('rogue-ca.pem') },
    });
    expect(result.code).toBe(1);
    expect(fatalLine(result.stderr)).toMatch(
      /the broker's certificate is not trusted \(SELF_SIGNED_CERT_IN_CHAIN\)/,
    );
    expect(result.ms).toBeLessThan(5000);
  });

  it('no client certificate for a broker that requires one: exit 1, refused', async () => {
    const result = await run({
      url: `mqtts://127.0.0.1:${mtlsBroker.port}`,
      tls: { ca: pki.file('ca.pem') },
      connectTimeoutMs: 3000,
    });
    expect(result.code).toBe(1);
    expect(fatalLine(result.stderr)).toMatch(
      /cannot connect to the broker mqtts:\/\/127\.0\.0\.1:\d+: broker refused the client certificate/,
    );
    expect(result.ms).toBeLessThan(2500);
  });

  it('a wrong password: exit 1 at once, "bad username or password", and the password is in no log line', async () => {
    const result = await run({
      url: `mqtt://collector:wrong-password@127.0.0.1:${passwordBroker.port}`,
    });
    expect(result.code).toBe(1);
    expect(fatalLine(result.stderr)).toMatch(/not authorized|bad username or password/);
    expect(result.stderr).toContain('mqtt://collector:***@127.0.0.1');
    expect(result.stderr).not.toContain('wrong-password');
    expect(result.ms).toBeLessThan(5000);
  });

  it('nothing listening: exit 1 after mqtt.connectTimeoutMs, "unreachable"', async () => {
    const port = await freePort();
    const result = await run({ url: `mqtt://127.0.0.1:${port}`, connectTimeoutMs: 800 });
    expect(result.code).toBe(1);
    expect(fatalLine(result.stderr)).toMatch(
      /not connected within 800 ms \(mqtt\.connectTimeoutMs\): broker unreachable \(connection refused\)/,
    );
    expect(result.ms).toBeGreaterThanOrEqual(700);
  });

  it('the right password: starts and serves', async () => {
    let stop: (signal: string) => void = () => {};
    const { io, out } = capturedIo({ stop: new Promise((resolveStop) => (stop = resolveStop)) });
    const file = join(dir, 'good.yaml');
    writeFileSync(
      file,
      stringify({
        mqtt: {
          url: `mqtt://127.0.0.1:${passwordBroker.port}`,
          username: 'collector',
          password: 'right-password',
        },
        store: { path: ':memory:' },
        http: { port: 0 },
      }),
    );
    const exit = runCli(['run', '--config', file], io);
    await eventually(() => expect(out.stderr).toContain('collector started'));
    stop('SIGTERM');
    expect(await exit).toBe(0);
  });
});
