/**
 * Commands from the cloud end to end: an operator's `POST /api/v1/commands` on a real collector is
 * signed with the collector's key, published through Mosquitto to a real gateway, written to a real
 * Modbus device, acknowledged, and kept with the operator's name; with no gateway to answer, the
 * caller gets a 504 and the command stays pending.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD_ENV } from '../../cloud/auth/account-cli.js';
import { runCli } from '../../cloud/cli.js';
import { type RunningCollector, startCollector } from '../../cloud/collector.js';
import { PUBLIC_KEY_FILE } from '../../cloud/commands/signing-key.js';
import { loadCollectorConfig } from '../../cloud/config.js';
import type { CommandRecord } from '../../cloud/store/command-table.js';
import { parseGatewayConfig } from '../../gateway/config.js';
import { Gateway } from '../../gateway/gateway.js';
import { commandPublicKey, verifyCommandSignature } from '../../gateway/schema/command-signature.js';
import type { CommandAck, CommandMessage } from '../../gateway/schema/commands.js';
import { tempDir } from '../gateway/delivery-fixtures.js';
import { capturedIo } from '../helpers/captured-io.js';
import { startModbusServer } from '../helpers/modbus-server.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/ports.js';
import { eventually, waitUntil } from '../helpers/wait.js';

const LIFETIME_MS = 20_000;
const SETPOINT = 'he-cmd/press-line/plc/speed-setpoint';

describe('commands from the cloud', () => {
  const dir = tempDir('jjj-commands-api-');
  const registers = new Array<number>(10).fill(0);
  const cleanups: Array<() => unknown> = [];
  let broker: Mosquitto;
  let collector: RunningCollector;
  let gateway: Gateway;
  let sniffer: MqttClient;
  const sniffed: CommandMessage[] = [];
  const tokens = { operator: '', viewer: '' };

  const post = async (body: unknown, token = tokens.operator) => {
    const response = await fetch(`${collector.httpUrl}/api/v1/commands`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      body: (await response.json()) as CommandRecord & { error?: string; command?: CommandRecord },
    };
  };
  const listed = async (query: string) =>
    (await (
      await fetch(`${collector.httpUrl}/api/v1/commands${query}`, {
        headers: { authorization: `Bearer ${tokens.viewer}` },
      })
    ).json()) as CommandRecord[];

  beforeAll(async () => {
    broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const plcPort = await freePort();
    const plc = await startModbusServer(plcPort, {
      getHoldingRegister: (address: number) => Promise.resolve(registers[address] ?? 0),
      setRegister: (address: number, value: number) => {
        registers[address] = value;
        return Promise.resolve();
      },
    });
    cleanups.push(() => plc.close());

    const configFile = join(dir.path, 'collector.yaml');
    writeFileSync(
      configFile,
      [
        `mqtt: { url: "${broker.url}" }`,
        'store: { path: collector.db }',
        'http: { port: 0 }',
        `commands: { signingKeyFile: keys/command-signing-key.pem, keyId: plant-cloud, lifetimeMs: ${LIFETIME_MS} }`,
        '',
      ].join('\n'),
    );
    expect(
      await runCli(['keygen', '--out', join(dir.path, 'keys'), '--key-id', 'plant-cloud'], capturedIo().io),
    ).toBe(0);
    for (const [name, role] of [
      ['anna', 'operator'],
      ['vic', 'viewer'],
    ] as const) {
      const add = capturedIo({ env: { [PASSWORD_ENV]: `${name}-has-a-long-password` } });
      expect(await runCli(['users', 'add', name, '--role', role, '-c', configFile], add.io)).toBe(0);
      const create = capturedIo();
      expect(await runCli(['tokens', 'create', '--user', name, '-c', configFile], create.io)).toBe(0);
      tokens[role] = create.out.stdout.trim();
    }
    collector = await startCollector(loadCollectorConfig(configFile), { logger: pino({ level: 'silent' }) });
    cleanups.push(() => collector.close());

    const gatewayConfig = parseGatewayConfig(
      {
        gateway: {
          id: 'gw-cmd',
          region: 'HE',
          project: 'jjj-dp-01',
          site: 'he-cmd',
          siteName: { zh: '指令测试', en: 'Command test' },
          stateDir: join(dir.path, 'gateway'),
        },
        mqtt: { url: broker.url },
        publish: { intervalMs: 200 },
        commands: {
          trustedKeys: [
            { id: 'plant-cloud', publicKey: readFileSync(join(dir.path, 'keys', PUBLIC_KEY_FILE), 'utf8') },
          ],
        },
        devices: [
          {
            protocol: 'modbus',
            id: 'plc',
            line: 'press-line',
            host: '127.0.0.1',
            port: plcPort,
            pollIntervalMs: 200,
            points: [
              {
                name: 'speed-setpoint',
                table: 'holding',
                address: 0,
                type: 'uint16',
                writable: true,
                min: 0,
                max: 1200,
              },
            ],
          },
        ],
      },
      'test',
      dir.path,
    );
    gateway = new Gateway(gatewayConfig, pino({ level: 'silent' }));
    cleanups.push(() => gateway.stop());
    await gateway.start();

    sniffer = await connectAsync(broker.url);
    cleanups.push(() => sniffer.endAsync());
    sniffer.on('message', (_topic, payload) =>
      sniffed.push(JSON.parse(payload.toString()) as CommandMessage),
    );
    await sniffer.subscribeAsync('jjj/v1/HE/he-cmd/+/command', { qos: 1 });
    // The collector knows the site (and its gateway) once the gateway's first messages are stored.
    await eventually(async () => {
      const sites = await fetch(`${collector.httpUrl}/api/v1/sites`, {
        headers: { authorization: `Bearer ${tokens.viewer}` },
      });
      expect(await sites.json()).toEqual([expect.objectContaining({ id: 'he-cmd', gateway: 'gw-cmd' })]);
    });
  }, 30_000);

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    dir.remove();
  });

  it("signs an operator's command, which a real gateway writes to the PLC and acknowledges; kept with the operator's name", async () => {
    const answer = await post({ site: 'he-cmd', writes: [{ point: SETPOINT, value: 850 }] });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      requestedBy: 'anna',
      target: { region: 'HE', site: 'he-cmd', gateway: 'gw-cmd' },
      status: 'succeeded',
      ack: { gateway: { id: 'gw-cmd' }, results: [{ point: 'speed-setpoint', ok: true }] },
    });
    expect(registers[0]).toBe(850);

    // What went over the broker is signed by the collector's key, for that gateway, with a short expiry.
    await waitUntil('the command seen on the broker', () => sniffed.length === 1);
    const sent = sniffed[0] as CommandMessage;
    const publicKey = commandPublicKey(readFileSync(join(dir.path, 'keys', PUBLIC_KEY_FILE), 'utf8'));
    expect(verifyCommandSignature(sent, new Map([['plant-cloud', publicKey]]))).toEqual({
      ok: true,
      keyId: 'plant-cloud',
    });
    expect(
      verifyCommandSignature({ ...sent, by: 'someone-else' }, new Map([['plant-cloud', publicKey]])).ok,
    ).toBe(false);
    expect(sent).toMatchObject({
      schema: 'jjj.command/2',
      id: answer.body.id,
      by: 'anna',
      target: { gateway: 'gw-cmd' },
    });
    expect(sent.expiresTs - sent.ts).toBe(LIFETIME_MS);

    // A write the gateway refuses comes back as a failed command with the gateway's reason.
    const refused = await post({
      site: 'he-cmd',
      writes: [{ line: 'press-line', equipment: 'plc', point: 'speed-setpoint', value: 5000 }],
    });
    expect(refused.status).toBe(200);
    expect(refused.body.status).toBe('failed');
    expect(refused.body.ack?.results[0]?.reason).toMatch(/maximum 1200/);
    expect(registers[0]).toBe(850);

    const history = await listed('?site=he-cmd&limit=10');
    expect(history.map((c) => [c.id, c.requestedBy, c.status])).toEqual([
      [refused.body.id, 'anna', 'failed'],
      [answer.body.id, 'anna', 'succeeded'],
    ]);
    expect(await listed('?site=bj-elsewhere')).toEqual([]);
  });

  it('refuses a command whose points are not of its site, or too many writes, before sending anything', async () => {
    const before = sniffed.length;
    const otherSite = await post({
      site: 'he-cmd',
      writes: [{ point: 'bj-x/press-line/plc/speed-setpoint', value: 1 }],
    });
    expect(otherSite).toMatchObject({
      status: 400,
      body: { error: '"bj-x/press-line/plc/speed-setpoint" is not a point id of site he-cmd' },
    });
    const many = await post({ site: 'he-cmd', writes: new Array(101).fill({ point: SETPOINT, value: 1 }) });
    expect(many.status).toBe(400);
    const wrongGateway = await post({
      site: 'he-cmd',
      gateway: 'gw-other',
      writes: [{ point: SETPOINT, value: 1 }],
    });
    expect(wrongGateway).toMatchObject({
      status: 404,
      body: { error: 'gateway "gw-other" is not registered for site he-cmd' },
    });
    expect(sniffed.length).toBe(before);
  });

  it('answers 504 when no gateway acknowledges, keeps the command pending, and ignores an answer from another gateway', async () => {
    await gateway.stop();
    const started = Date.now();
    const answer = await post({ site: 'he-cmd', writes: [{ point: SETPOINT, value: 900 }], timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(answer.status).toBe(504);
    expect(answer.body.error).toBe('no acknowledgement within 300 ms; the command stays pending');
    const id = answer.body.command?.id as string;
    expect((await listed('?limit=1'))[0]).toMatchObject({ id, status: 'pending', requestedBy: 'anna' });

    const forged: CommandAck = {
      schema: 'jjj.command-ack/1',
      region: 'HE',
      project: 'jjj-dp-01',
      site: 'he-cmd',
      id,
      gateway: { id: 'gw-evil', boot: 1 },
      ts: Date.now(),
      results: [{ line: 'press-line', equipment: 'plc', point: 'speed-setpoint', ok: true }],
    };
    await sniffer.publishAsync('jjj/v1/HE/he-cmd/gw-evil/command-ack', JSON.stringify(forged), { qos: 1 });
    // Published after the forged one on the same connection: once this arrives, so has the forgery.
    await sniffer.publishAsync('jjj/v1/HE/he-cmd/gw-evil/command-ack', '{}', { qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await listed('?limit=1'))[0]).toMatchObject({ id, status: 'pending', ack: null });
    expect(registers[0]).toBe(850);
  });
});
