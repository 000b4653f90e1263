/**
 * Write-back end to end: the cloud sends a signed command (JSON contract) or a Sparkplug DCMD through
 * Mosquitto; the gateway writes a real Modbus holding register or OPC UA variable through the
 * adapter, answers with an acknowledgement, audits it, and refuses what is not signed by a trusted
 * key, not for it, not fresh, replayed, over the rate, or more writes than allowed.
 */

import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../gateway/command-audit.js';
import { parseGatewayConfig } from '../../gateway/config.js';
import { Gateway } from '../../gateway/gateway.js';
import { signCommand } from '../../gateway/schema/command-signature.js';
import type {
  CommandAck,
  CommandMessage,
  UnsignedCommand,
  WriteRequest,
} from '../../gateway/schema/commands.js';
import { encodePayload } from '../../gateway/schema/sparkplug/index.js';
import { startTestServer } from '../adapters/opcua/opcua-test-server.js';
import { startModbusServer } from '../helpers/modbus-server.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/ports.js';
import { telemetrySamples } from '../helpers/telemetry.js';
import { waitUntil } from '../helpers/wait.js';
import { tempDir } from './delivery-fixtures.js';

const COMMAND_TOPIC = 'jjj/v1/HE/he-cmd/gw-cmd/command';
const cloudKeys = generateKeyPairSync('ed25519');
const rogueKeys = generateKeyPairSync('ed25519');
const cloudPublicPem = cloudKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString();

const setpoint = (value: number): WriteRequest => ({
  line: 'press-line',
  equipment: 'plc',
  point: 'speed-setpoint',
  value,
});

function unsigned(id: string, extra: Partial<UnsignedCommand> = {}): UnsignedCommand {
  const ts = Date.now();
  return {
    schema: 'jjj.command/2',
    id,
    target: { region: 'HE', site: 'he-cmd', gateway: 'gw-cmd' },
    ts,
    expiresTs: ts + 30_000,
    by: 'line-supervisor',
    writes: [setpoint(850)],
    ...extra,
  };
}

const signed = (command: UnsignedCommand, key: KeyObject = cloudKeys.privateKey, keyId = 'cloud-1') =>
  signCommand(command, keyId, key);

/** A PLC with holding registers 0–9 that keep what is written to them. */
async function startPlc() {
  const port = await freePort();
  const registers = new Array<number>(10).fill(0);
  const { close } = await startModbusServer(port, {
    getHoldingRegister: (address: number) =>
      address < registers.length
        ? Promise.resolve(registers[address])
        : Promise.reject({ modbusErrorCode: 2 }),
    setRegister: (address: number, value: number) => {
      if (address >= registers.length) return Promise.reject({ modbusErrorCode: 2 });
      registers[address] = value;
      return Promise.resolve();
    },
  });
  return { port, registers, close };
}
type Plc = Awaited<ReturnType<typeof startPlc>>;

interface RigOptions {
  format?: 'json' | 'sparkplug';
  commands?: Record<string, unknown>;
  extraDevices?: unknown[];
  /** Reuse the broker, PLC and state folder of another rig (a restart). */
  reuse?: { broker: Mosquitto; plc: Plc; dir: ReturnType<typeof tempDir> };
  logLines?: string[];
}

/** Mosquitto, a Modbus PLC, a real gateway on a temporary state folder, and a cloud client recording acks. */
async function startRig(options: RigOptions = {}): Promise<Rig> {
  const cleanups: Array<() => unknown> = [];
  const broker: Mosquitto = options.reuse?.broker ?? (await startMosquitto());
  const plc = options.reuse?.plc ?? (await startPlc());
  const dir = options.reuse?.dir ?? tempDir('jjj-commands-');
  if (!options.reuse)
    cleanups.push(
      () => broker.stop(),
      () => plc.close(),
      () => dir.remove(),
    );
  const config = parseGatewayConfig(
    {
      gateway: {
        id: 'gw-cmd',
        region: 'HE',
        project: 'jjj-dp-01',
        site: 'he-cmd',
        siteName: { zh: '指令测试', en: 'Command test' },
        stateDir: dir.path,
      },
      mqtt: { url: broker.url, format: options.format ?? 'json' },
      publish: { intervalMs: 200 },
      commands: { trustedKeys: [{ id: 'cloud-1', publicKey: cloudPublicPem }], ...options.commands },
      devices: [
        {
          protocol: 'modbus',
          id: 'plc',
          line: 'press-line',
          host: '127.0.0.1',
          port: plc.port,
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
            { name: 'good-count', table: 'holding', address: 1, type: 'uint16' },
          ],
        },
        ...(options.extraDevices ?? []),
      ],
    },
    'test',
    dir.path,
  );
  const logLines = options.logLines;
  const logger = logLines
    ? pino({ level: 'warn' }, { write: (line: string) => logLines.push(line) })
    : pino({ level: 'silent' });
  const gateway = new Gateway(config, logger);
  await gateway.start();
  const cloud: MqttClient = await connectAsync(broker.url);
  const acks = new Map<string, CommandAck[]>();
  let telemetry = 0;
  cloud.on('message', (topic, payload) => {
    if (topic.endsWith('/telemetry')) telemetry += 1;
    if (!topic.endsWith('/command-ack')) return;
    const ack = JSON.parse(payload.toString()) as CommandAck;
    acks.set(ack.id, [...(acks.get(ack.id) ?? []), ack]);
  });
  await cloud.subscribeAsync(['jjj/v1/HE/he-cmd/gw-cmd/command-ack', 'jjj/v1/HE/he-cmd/gw-cmd/telemetry'], {
    qos: 1,
  });
  await waitUntil('the gateway online', () => gateway.stats.delivered.live.batches > 0);
  cleanups.push(
    () => gateway.stop(),
    () => cloud.endAsync(),
  );
  return {
    broker,
    plc,
    dir,
    gateway,
    cloud,
    acks,
    telemetry: () => telemetry,
    send: (command: CommandMessage | string) =>
      cloud.publishAsync(COMMAND_TOPIC, typeof command === 'string' ? command : JSON.stringify(command), {
        qos: 1,
      }),
    /** The (first) acknowledgement of `id`, once it arrives. */
    async ack(id: string): Promise<CommandAck> {
      await waitUntil(`the acknowledgement of ${id}`, () => acks.has(id));
      return acks.get(id)?.[0] as CommandAck;
    },
    audit: (): AuditEntry[] =>
      readFileSync(join(dir.path, 'audit.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as AuditEntry),
    async stop() {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    },
  };
}

interface Rig {
  broker: Mosquitto;
  plc: Plc;
  dir: ReturnType<typeof tempDir>;
  gateway: Gateway;
  cloud: MqttClient;
  acks: Map<string, CommandAck[]>;
  telemetry(): number;
  send(command: CommandMessage | string): Promise<unknown>;
  ack(id: string): Promise<CommandAck>;
  audit(): AuditEntry[];
  stop(): Promise<void>;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0).reverse()) await rig.stop();
});

describe('commands (write-back)', () => {
  it('writes a Modbus register on a signed command, acknowledges each write with the signer, and audits it at log level warn', async () => {
    const logLines: string[] = [];
    const rig = await startRig({ logLines });
    rigs.push(rig);
    await rig.send(
      signed(
        unsigned('cmd-42', {
          writes: [setpoint(850), setpoint(5000), { ...setpoint(0), point: 'good-count' }],
        }),
      ),
    );
    const ack = await rig.ack('cmd-42');
    expect(ack).toMatchObject({
      schema: 'jjj.command-ack/1',
      id: 'cmd-42',
      site: 'he-cmd',
      gateway: { id: 'gw-cmd' },
      signer: 'cloud-1',
      by: 'line-supervisor',
    });
    expect(ack.error).toBeUndefined();
    expect(ack.results.map((r) => [r.point, r.ok, r.reason])).toEqual([
      ['speed-setpoint', true, undefined],
      ['speed-setpoint', false, "value 5000: above the point's maximum 1200"],
      ['good-count', false, 'the point is not writable (set `writable: true` in the config)'],
    ]);
    expect(rig.plc.registers[0]).toBe(850);
    expect(rig.plc.registers[1]).toBe(0);

    const [entry] = rig.audit();
    expect(entry).toMatchObject({
      command: 'cmd-42',
      via: 'json',
      outcome: 'executed',
      signer: 'cloud-1',
      by: 'line-supervisor',
    });
    expect(entry?.writes?.map((w) => [w.point, w.value, w.ok])).toEqual([
      ['speed-setpoint', 850, true],
      ['speed-setpoint', 5000, false],
      ['good-count', 0, false],
    ]);
    const writeLines = logLines.map((line) => JSON.parse(line)).filter((line) => line.audit === 'write');
    expect(writeLines).toHaveLength(3);
    expect(writeLines[0]).toMatchObject({ level: 40, command: 'cmd-42', signer: 'cloud-1', ok: true });
  });

  describe('attacks: each is refused with its reason, and the register keeps its value', () => {
    let rig: Rig;
    beforeAll(async () => {
      rig = await startRig({ commands: { maxWritesPerCommand: 5 } });
    });
    afterAll(() => rig.stop());

    async function expectRefused(id: string, error: RegExp): Promise<CommandAck> {
      const ack = await rig.ack(id);
      expect(ack.error).toMatch(error);
      expect(ack.results).toEqual([]);
      expect(ack.signer).toBeUndefined();
      expect(rig.plc.registers[0]).toBe(0);
      expect(rig.audit().find((e) => e.command === id)).toMatchObject({ outcome: 'refused' });
      return ack;
    }

    it('an unsigned command', async () => {
      const { signature: _, ...bare } = signed(unsigned('no-signature', { writes: [setpoint(111)] }));
      await rig.send(JSON.stringify(bare));
      await expectRefused('no-signature', /^invalid: signature: /);
    });

    it('a garbage signature', async () => {
      const command = signed(unsigned('garbage', { writes: [setpoint(112)] }));
      command.signature.value = `${'A'.repeat(86)}==`;
      await rig.send(command);
      await expectRefused('garbage', /^bad-signature: the signature does not match/);
    });

    it('a command signed by a key the gateway does not trust', async () => {
      await rig.send(signed(unsigned('rogue', { writes: [setpoint(113)] }), rogueKeys.privateKey, 'rogue'));
      await expectRefused('rogue', /^untrusted-key: signed by key "rogue"/);
    });

    it('a rogue key presenting the trusted key id', async () => {
      await rig.send(signed(unsigned('impostor', { writes: [setpoint(114)] }), rogueKeys.privateKey));
      await expectRefused('impostor', /^bad-signature: /);
    });

    it('a validly signed command whose writes were altered', async () => {
      const command = signed(unsigned('altered', { writes: [setpoint(115)] }));
      command.writes = [setpoint(1199)];
      await rig.send(command);
      await expectRefused('altered', /^bad-signature: /);
    });

    it('a command signed for another gateway', async () => {
      const command = unsigned('elsewhere', { writes: [setpoint(116)] });
      command.target = { region: 'HE', site: 'he-cmd', gateway: 'gw-other' };
      await rig.send(signed(command));
      await expectRefused('elsewhere', /^wrong-target: the command is for HE\/he-cmd\/gw-other/);
    });

    it('an expired command', async () => {
      const ts = Date.now() - 120_000;
      await rig.send(signed(unsigned('expired', { ts, expiresTs: ts + 50_000, writes: [setpoint(117)] })));
      await expectRefused('expired', /^expired: expired at /);
    });

    it('ts far in the future (2^53-1)', async () => {
      const ts = Number.MAX_SAFE_INTEGER;
      await rig.send(signed(unsigned('future', { ts, expiresTs: ts, writes: [setpoint(118)] })));
      await expectRefused('future', /^not-yet-valid: signed at 9007199254740991/);
    });

    it('ts 0', async () => {
      await rig.send(signed(unsigned('epoch', { ts: 0, expiresTs: 30_000, writes: [setpoint(119)] })));
      await expectRefused('epoch', /^expired: /);
    });

    it('an expiry too far ahead', async () => {
      const ts = Date.now();
      await rig.send(signed(unsigned('forever', { ts, expiresTs: ts + 3_600_000, writes: [setpoint(120)] })));
      await expectRefused('forever', /^lifetime-too-long: /);
    });

    it('more writes than commands.maxWritesPerCommand', async () => {
      const writes = Array.from({ length: 6 }, (_, i) => setpoint(200 + i));
      await rig.send(signed(unsigned('many-writes', { writes })));
      await expectRefused('many-writes', /^too-many-writes: 6 writes; at most 5/);
    });

    it('the same command id twice', async () => {
      const command = signed(unsigned('twice', { writes: [setpoint(300)] }));
      await rig.send(command);
      expect((await rig.ack('twice')).results[0]?.ok).toBe(true);
      expect(rig.plc.registers[0]).toBe(300);
      rig.plc.registers[0] = 0;
      await rig.send(command);
      await waitUntil('the second acknowledgement', () => rig.acks.get('twice')?.length === 2);
      expect(rig.acks.get('twice')?.[1]?.error).toMatch(/^replayed: command id "twice" was already executed/);
      expect(rig.plc.registers[0]).toBe(0);
    });
  });

  it('refuses a replayed command after a gateway restart on the same state folder', async () => {
    const first = await startRig();
    const command = signed(unsigned('across-restart', { writes: [setpoint(400)] }));
    await first.send(command);
    expect((await first.ack('across-restart')).results[0]?.ok).toBe(true);
    await first.gateway.stop();
    await first.cloud.endAsync();
    first.plc.registers[0] = 0;

    const second = await startRig({ reuse: first });
    rigs.push(second, first);
    await second.send(command);
    expect((await second.ack('across-restart')).error).toMatch(/^replayed: /);
    expect(first.plc.registers[0]).toBe(0);
  });

  it('refuses a burst beyond the rate limit, acknowledges a flood of refusals at a bounded rate, and keeps publishing telemetry', async () => {
    const rig = await startRig({ commands: { ratePerMinute: 3 } });
    rigs.push(rig);
    const ids = Array.from({ length: 6 }, (_, i) => `burst-${i}`);
    await Promise.all(ids.map((id, i) => rig.send(signed(unsigned(id, { writes: [setpoint(500 + i)] })))));
    const acks = await Promise.all(ids.map((id) => rig.ack(id)));
    expect(acks.filter((ack) => ack.error === undefined)).toHaveLength(3);
    const refused = acks.filter((ack) => ack.error !== undefined);
    expect(refused).toHaveLength(3);
    for (const ack of refused)
      expect(ack.error).toMatch(/^rate-limited: already 3 commands in the last minute/);

    const garbage = Array.from({ length: 300 }, (_, i) => `{"id":"flood-${i}"}`);
    const telemetryBefore = rig.telemetry();
    await Promise.all(garbage.map((text) => rig.send(text)));
    await waitUntil('telemetry still flowing', () => rig.telemetry() > telemetryBefore + 3);
    await waitUntil('the flood summarised in the audit', () =>
      rig.audit().some((e) => e.count !== undefined),
    );
    const floodAcks = [...rig.acks.keys()].filter((id) => id.startsWith('flood-')).length;
    expect(floodAcks).toBeGreaterThan(0);
    expect(floodAcks).toBeLessThan(100);
    const summarised = rig.audit().reduce((sum, e) => sum + (e.count ?? 0), 0);
    expect(floodAcks + summarised).toBeLessThanOrEqual(300);
  });

  it('writes an OPC UA variable on a signed command, and the new value comes back in the telemetry', async () => {
    const pki = tempDir('jjj-commands-opcua-');
    const server = await startTestServer(await freePort(), pki.path);
    const cnc = {
      protocol: 'opcua',
      id: 'cnc-01',
      line: 'machining',
      endpoint: server.endpoint,
      publishingIntervalMs: 200,
      samplingIntervalMs: 100,
      points: [
        {
          name: 'spindle-speed',
          nodeId: 'ns=1;s=cnc-01.spindle-speed',
          unit: 'RPM',
          writable: true,
          max: 3000,
        },
      ],
    };
    const rig = await startRig({ extraDevices: [cnc] });
    rigs.push(rig);
    const speeds: unknown[] = [];
    rig.cloud.on('message', (topic, payload) => {
      if (!topic.endsWith('/telemetry')) return;
      for (const sample of telemetrySamples(payload).points) {
        if (sample.point === 'spindle-speed') speeds.push(sample.value);
      }
    });
    try {
      await rig.send(
        signed(
          unsigned('cmd-opcua', {
            writes: [{ line: 'machining', equipment: 'cnc-01', point: 'spindle-speed', value: 1800.25 }],
          }),
        ),
      );
      expect((await rig.ack('cmd-opcua')).results).toEqual([
        { line: 'machining', equipment: 'cnc-01', point: 'spindle-speed', ok: true },
      ]);
      await waitUntil('the written value read back from the server', () => speeds.includes(1800.25));
    } finally {
      await rig.stop();
      await server.stop();
      pki.remove();
    }
  });

  describe('Sparkplug DCMD', () => {
    const dcmd = (value: number) =>
      encodePayload({
        timestamp: Date.now(),
        metrics: [{ name: 'speed-setpoint', datatype: 'UInt16', value }],
      });

    it('is refused by default (it carries no signature), and the refusal is audited', async () => {
      const rig = await startRig({ format: 'sparkplug' });
      rigs.push(rig);
      await rig.cloud.publishAsync('spBv1.0/he-cmd/DCMD/gw-cmd/plc', dcmd(640));
      await waitUntil('the refusal audited', () => rig.audit().length > 0);
      expect(rig.audit()[0]).toMatchObject({ via: 'sparkplug', outcome: 'refused' });
      expect(rig.audit()[0]?.reason).toMatch(/^sparkplug-disabled: /);
      expect(rig.plc.registers[0]).toBe(0);
    });

    it('writes a Modbus register when commands.acceptSparkplugCommands is on, audited as sparkplug-dcmd', async () => {
      const rig = await startRig({ format: 'sparkplug', commands: { acceptSparkplugCommands: true } });
      rigs.push(rig);
      await rig.cloud.publishAsync('spBv1.0/he-cmd/DCMD/gw-cmd/plc', dcmd(640));
      await waitUntil('the register written', () => rig.plc.registers[0] === 640);
      await waitUntil('the write audited', () => rig.audit().length > 0);
      expect(rig.audit()[0]).toMatchObject({
        via: 'sparkplug',
        outcome: 'executed',
        signer: 'sparkplug-dcmd',
        writes: [{ point: 'speed-setpoint', value: 640, ok: true }],
      });
    });
  });
});
