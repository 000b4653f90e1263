/**
 * Write-back end to end: the cloud sends a command (JSON contract, or a Sparkplug DCMD) through
 * Mosquitto; the gateway writes a real Modbus holding register or OPC UA variable through the
 * adapter, answers with an acknowledgement, and refuses what the config does not allow.
 */

import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../gateway/config.js';
import { Gateway } from '../../gateway/gateway.js';
import type { CommandAck, CommandMessage } from '../../gateway/schema/commands.js';
import type { TelemetryBatch } from '../../gateway/schema/index.js';
import { encodePayload } from '../../gateway/schema/sparkplug/index.js';
import { startTestServer } from '../adapters/opcua/opcua-test-server.js';
import { startModbusServer } from '../helpers/modbus-server.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';
import { tempDir } from './delivery-fixtures.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

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
  cleanups.push(close);
  return { port, registers };
}

async function startGateway(format: 'json' | 'sparkplug', extraDevices: unknown[] = []) {
  const broker = await startMosquitto();
  cleanups.push(() => broker.stop());
  const plc = await startPlc();
  const dir = tempDir('jjj-commands-');
  cleanups.push(() => dir.remove());
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
      mqtt: { url: broker.url, format },
      publish: { intervalMs: 200 },
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
        ...extraDevices,
      ],
    },
    'test',
    dir.path,
  );
  const gateway = new Gateway(config, pino({ level: 'silent' }));
  cleanups.push(() => gateway.stop());
  await gateway.start();
  const cloud = await connectAsync(broker.url);
  cleanups.push(() => cloud.endAsync());
  return { plc, cloud, gateway };
}

describe('commands (write-back)', () => {
  it('writes a Modbus register on a JSON command and acknowledges each write, refusing what is not allowed', async () => {
    const { plc, cloud, gateway } = await startGateway('json');
    const acks: CommandAck[] = [];
    cloud.on('message', (_topic, payload) => acks.push(JSON.parse(payload.toString()) as CommandAck));
    await cloud.subscribeAsync('jjj/v1/HE/he-cmd/gw-cmd/command-ack', { qos: 1 });
    await waitUntil('the gateway online', () => gateway.stats.delivered.live.batches > 0);

    const command: CommandMessage = {
      schema: 'jjj.command/1',
      id: 'cmd-42',
      ts: Date.now(),
      by: 'line-supervisor',
      writes: [
        { line: 'press-line', equipment: 'plc', point: 'speed-setpoint', value: 850 },
        { line: 'press-line', equipment: 'plc', point: 'speed-setpoint', value: 5000 },
        { line: 'press-line', equipment: 'plc', point: 'good-count', value: 0 },
      ],
    };
    await cloud.publishAsync('jjj/v1/HE/he-cmd/gw-cmd/command', JSON.stringify(command), { qos: 1 });
    await waitUntil('the acknowledgement', () => acks.length === 1);
    expect(acks[0]).toMatchObject({
      schema: 'jjj.command-ack/1',
      id: 'cmd-42',
      site: 'he-cmd',
      gateway: { id: 'gw-cmd' },
    });
    expect(acks[0]?.results.map((r) => [r.point, r.ok, r.reason])).toEqual([
      ['speed-setpoint', true, undefined],
      ['speed-setpoint', false, "value 5000: above the point's maximum 1200"],
      ['good-count', false, 'the point is not writable (set `writable: true` in the config)'],
    ]);
    expect(plc.registers[0]).toBe(850);
    expect(plc.registers[1]).toBe(0);

    await cloud.publishAsync('jjj/v1/HE/he-cmd/gw-cmd/command', '{"schema":"jjj.command/1","id":"broken"}', {
      qos: 1,
    });
    await waitUntil('the refusal of a malformed command', () => acks.length === 2);
    expect(acks[1]).toMatchObject({ id: 'broken', results: [] });
    expect(acks[1]?.error).toMatch(/writes/);
  });

  it('writes an OPC UA variable on a JSON command, and the new value comes back in the telemetry', async () => {
    const pki = tempDir('jjj-commands-opcua-');
    cleanups.push(() => pki.remove());
    const server = await startTestServer(await freePort(), pki.path);
    cleanups.push(() => server.stop());
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
    const { cloud } = await startGateway('json', [cnc]);
    const acks: CommandAck[] = [];
    const speeds: unknown[] = [];
    cloud.on('message', (topic, payload) => {
      const message = JSON.parse(payload.toString());
      if (topic.endsWith('/command-ack')) acks.push(message as CommandAck);
      else {
        for (const sample of (message as TelemetryBatch).points) {
          if (sample.point === 'spindle-speed') speeds.push(sample.value);
        }
      }
    });
    await cloud.subscribeAsync(['jjj/v1/HE/he-cmd/gw-cmd/command-ack', 'jjj/v1/HE/he-cmd/gw-cmd/telemetry'], {
      qos: 1,
    });
    await waitUntil('the current spindle speed', () => speeds.includes(1200.5));
    const command: CommandMessage = {
      schema: 'jjj.command/1',
      id: 'cmd-opcua',
      ts: Date.now(),
      writes: [{ line: 'machining', equipment: 'cnc-01', point: 'spindle-speed', value: 1800.25 }],
    };
    await cloud.publishAsync('jjj/v1/HE/he-cmd/gw-cmd/command', JSON.stringify(command), { qos: 1 });
    await waitUntil('the acknowledgement', () => acks.length === 1);
    expect(acks[0]?.results).toEqual([
      { line: 'machining', equipment: 'cnc-01', point: 'spindle-speed', ok: true },
    ]);
    await waitUntil('the written value read back from the server', () => speeds.includes(1800.25));
  });

  it('writes a Modbus register on a Sparkplug DCMD', async () => {
    const { plc, cloud, gateway } = await startGateway('sparkplug');
    await waitUntil('the gateway online', () => gateway.stats.delivered.live.batches > 0);
    await cloud.publishAsync(
      'spBv1.0/he-cmd/DCMD/gw-cmd/plc',
      encodePayload({
        timestamp: Date.now(),
        metrics: [{ name: 'speed-setpoint', datatype: 'UInt16', value: 640 }],
      }),
    );
    await waitUntil('the register written', () => plc.registers[0] === 640);
  });
});
