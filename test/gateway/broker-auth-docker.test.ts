/**
 * docker/mosquitto.conf, as the compose stack runs it, on a real Mosquitto: its paths moved to a
 * temporary folder and its listeners to loopback ports. Anonymous clients are refused on both
 * listeners; real gateways connect over TLS, with a password or (its commented lines switched on) by
 * client certificate, and the collector receives them on the plain listener.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { brokerAuthFiles, COLLECTOR_PASSWORD_ENV } from '../../gateway/broker-auth-command.js';
import { runCli } from '../../gateway/cli.js';
import { loadGatewayConfig } from '../../gateway/config.js';
import { Gateway } from '../../gateway/gateway.js';
import { capturedIo } from '../helpers/captured-io.js';
import { startModbusServer } from '../helpers/modbus-server.js';
import { readableByBroker, startMosquittoWithConfig } from '../helpers/mosquitto.js';
import { createPki, type Pki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';
import { brokerAuthGatewayConfig } from './broker-auth-fixtures.js';

const COLLECTOR_PASSWORD = 'collector-secret-0b7e';
const cleanups: Array<() => unknown> = [];
let dir: string;
let pki: Pki;

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jjj-docker-mosquitto-'));
  // A private CA, the broker's certificate for 127.0.0.1, and a client certificate with CN = gw-cert.
  pki = createPki();
  pki.makeCa('ca');
  pki.makeSigned('server', 'ca', 'subjectAltName = IP:127.0.0.1\n');
  pki.makeSigned('gw-cert', 'ca', 'extendedKeyUsage = clientAuth\n');
  return () => {
    rmSync(dir, { recursive: true, force: true });
    pki.remove();
  };
});

/** docker/mosquitto.conf with its listeners on loopback ports and its folders under `dir`. */
async function startComposeBroker(mutualTls: boolean) {
  const [plain, tls] = [await freePort(), await freePort()];
  const data = mkdtempSync(join(dir, 'data-'));
  let config = readFileSync(new URL('../../docker/mosquitto.conf', import.meta.url), 'utf8')
    .replace(/^listener 1883$/m, `listener ${plain} 127.0.0.1`)
    .replace(/^listener 8883$/m, `listener ${tls} 127.0.0.1`)
    .replaceAll('/mosquitto/auth/', `${join(dir, 'auth')}/`)
    .replace('/mosquitto/certs/ca.crt', pki.file('ca.pem'))
    .replace('/mosquitto/certs/server.crt', pki.file('server.pem'))
    .replace('/mosquitto/certs/server.key', pki.file('server.key'))
    .replace('/mosquitto/data/', `${data}/`);
  if (mutualTls)
    config = config.replace(/^#(require_certificate|use_identity_as_username) true$/gm, '$1 true');
  readableByBroker(
    [dir, join(dir, 'auth'), data],
    Object.values(brokerAuthFiles).map((name) => join(dir, 'auth', name)),
  );
  const broker = await startMosquittoWithConfig(config.split('\n'), plain);
  cleanups.push(() => broker.stop());
  return { plain: broker.url, tls: `mqtts://127.0.0.1:${tls}` };
}

/** Writes the gateway's config (its broker URL filled in when the port is known) and generates the identities. */
async function generate(gateways: Array<{ id: string; mqtt: object }>, modbusPort: number) {
  const files = gateways.map(({ id, mqtt }) => {
    const file = join(dir, `${id}.yaml`);
    const tls = { ca: pki.file('ca.pem'), ...(mqtt as { tls?: object }).tls };
    const config = brokerAuthGatewayConfig(
      { id, region: 'HE', site: 'he-docker' },
      { ...mqtt, tls },
      modbusPort,
    );
    writeFileSync(file, JSON.stringify(config));
    return { file, config };
  });
  const cli = capturedIo({ env: { [COLLECTOR_PASSWORD_ENV]: COLLECTOR_PASSWORD } });
  const exitCode = await runCli(
    ['broker-auth', '--out', join(dir, 'auth'), ...files.map((f) => f.file)],
    cli.io,
  );
  expect(exitCode, cli.out.stderr).toBe(0);
  return files;
}

/** Starts a real gateway from `file` with the broker URL now known. */
async function startGateway(file: { file: string; config: { mqtt: object } }, url: string) {
  writeFileSync(file.file, JSON.stringify({ ...file.config, mqtt: { ...file.config.mqtt, url } }));
  const gateway = new Gateway(loadGatewayConfig(file.file), pino({ level: 'silent' }));
  cleanups.push(() => gateway.stop());
  await gateway.start();
}

async function plc() {
  const port = await freePort();
  const server = await startModbusServer(port, { getHoldingRegister: () => Promise.resolve(3) });
  cleanups.push(() => server.close());
  return port;
}

async function collectorSees(url: string, topic: string) {
  const collector = await connectAsync(url, {
    username: 'jjj-collector',
    password: COLLECTOR_PASSWORD,
    reconnectPeriod: 0,
  });
  cleanups.push(() => collector.endAsync());
  const topics: string[] = [];
  collector.on('message', (t) => topics.push(t));
  await collector.subscribeAsync('jjj/v1/#', { qos: 1 });
  await waitUntil(`${topic} at the collector`, () => topics.includes(topic), 10_000);
}

const refused = /Not authorized|Bad User Name or Password/i;

describe('docker/mosquitto.conf', () => {
  it('refuses anonymous clients on both listeners; a gateway with a password reaches the collector over TLS', async () => {
    const files = await generate([{ id: 'gw-pass', mqtt: { password: 'gw-pass-secret-5d1e' } }], await plc());
    const urls = await startComposeBroker(false);
    const ca = pki.read('ca.pem');
    await expect(connectAsync(urls.plain, { reconnectPeriod: 0 })).rejects.toThrow(refused);
    await expect(connectAsync(urls.tls, { ca, reconnectPeriod: 0 })).rejects.toThrow(refused);
    await startGateway(files[0] as (typeof files)[0], urls.tls);
    await collectorSees(urls.plain, 'jjj/v1/HE/he-docker/gw-pass/telemetry');
  });

  it('with its mutual-TLS lines on, a gateway proves itself by certificate (CN = gateway id) and gets its ACL', async () => {
    const files = await generate(
      [{ id: 'gw-cert', mqtt: { tls: { cert: pki.file('gw-cert.pem'), key: pki.file('gw-cert.key') } } }],
      await plc(),
    );
    expect(readFileSync(join(dir, 'auth', brokerAuthFiles.passwords), 'utf8')).not.toMatch(/^gw-cert:/m);
    const urls = await startComposeBroker(true);
    const ca = pki.read('ca.pem');
    // No certificate: the TLS handshake itself fails.
    await expect(
      connectAsync(urls.tls, {
        ca,
        username: 'jjj-collector',
        password: COLLECTOR_PASSWORD,
        reconnectPeriod: 0,
        connectTimeout: 3000,
      }),
    ).rejects.toThrow();
    await startGateway(files[0] as (typeof files)[0], urls.tls);
    await collectorSees(urls.plain, 'jjj/v1/HE/he-docker/gw-cert/telemetry');
    // The same certificate may not publish as another gateway.
    const cert = pki.read('gw-cert.pem');
    const key = pki.read('gw-cert.key');
    const impostor = await connectAsync(urls.tls, { ca, cert, key, protocolVersion: 5, reconnectPeriod: 0 });
    cleanups.push(() => impostor.endAsync());
    await expect(
      impostor.publishAsync('jjj/v1/HE/he-docker/gw-pass/telemetry', 'x', { qos: 1 }),
    ).rejects.toThrow(/Not authorized/i);
  });
});
