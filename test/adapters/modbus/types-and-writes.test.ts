/** Every type and byte order, writes (functions 5, 6, 15, 16) and a shared link, against modbus-serial's ServerTCP. */
import { tmpdir } from 'node:os';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../../adapters/contract.js';
import { ModbusDeviceAdapter } from '../../../adapters/modbus/adapter.js';
import { deviceSchema, type ModbusDevice } from '../../../adapters/modbus/config.js';
import { byteOrders } from '../../../adapters/modbus/decode.js';
import { capturingLogger } from '../../helpers/capturing-logger.js';
import { freePort } from '../../helpers/ports.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { waitUntil } from '../../helpers/wait.js';
import { type EncodableType, encode, put, startServer, type TestServer, type UnitData } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(units: Map<number, UnitData>): Promise<TestServer> {
  const server = await startServer(await freePort(), units);
  cleanups.push(() => server.close());
  return server;
}

function adapterOf(port: number, config: Record<string, unknown>) {
  const device: ModbusDevice = deviceSchema.parse({
    protocol: 'modbus',
    id: 'plc',
    line: 'assembly',
    host: '127.0.0.1',
    port,
    pollIntervalMs: 50,
    timeoutMs: 500,
    ...config,
  });
  const sink = new RecordingSink(device.id);
  const adapter = new ModbusDeviceAdapter(device, {
    sink,
    logger: capturingLogger().logger,
    stateDir: tmpdir(),
    metrics: new Registry(),
  });
  cleanups.push(() => adapter.stop());
  return { adapter, sink };
}

const valuesOf = (readings: readonly Reading[]) =>
  Object.fromEntries(readings.map((r) => [r.point, r.value]));

const samples: { type: EncodableType; value: number | bigint; expected: number | string }[] = [
  { type: 'int16', value: -30000, expected: -30000 },
  { type: 'uint16', value: 65000, expected: 65000 },
  { type: 'int32', value: -2147483000, expected: -2147483000 },
  { type: 'uint32', value: 4000000000, expected: 4000000000 },
  { type: 'int64', value: -9223372036854775000n, expected: '-9223372036854775000' },
  { type: 'uint64', value: 18446744073709551000n, expected: '18446744073709551000' },
  { type: 'float32', value: -1.5e-3, expected: -0.0015 },
  { type: 'float64', value: 6.02214076e23, expected: 6.02214076e23 },
];

describe('every type in every byte order from ServerTCP', () => {
  it('reads each value as Node wrote it, with a per-device default and per-point overrides', async () => {
    const holding = new Map<number, number>();
    const points: Record<string, unknown>[] = [];
    const expected: Record<string, unknown> = {};
    let address = 0;
    for (const order of byteOrders) {
      for (const { type, value, expected: decoded } of samples) {
        const registers = encode(type, value, order);
        put(holding, address, registers);
        const name = `${type}-${order.toLowerCase()}`;
        // The device default is CDAB: CDAB points leave byteOrder out.
        points.push({
          name,
          table: 'holding',
          address,
          type,
          ...(order === 'CDAB' ? {} : { byteOrder: order }),
        });
        expected[name] = decoded;
        address += registers.length;
      }
    }
    put(
      holding,
      address,
      [...Buffer.from('Line 3\0\0')].flatMap((b, i, all) => (i % 2 ? [] : [(b << 8) | (all[i + 1] ?? 0)])),
    );
    points.push({ name: 'label', table: 'holding', address, type: 'string', length: 4 });
    expected.label = 'Line 3';
    put(holding, address + 4, [0b0100_0000_0000_1000]);
    points.push({ name: 'alarm-3', table: 'holding', address: address + 4, type: 'bool', bit: 3 });
    points.push({ name: 'alarm-4', table: 'holding', address: address + 4, type: 'bool', bit: 4 });
    points.push({ name: 'alarm-14', table: 'holding', address: address + 4, type: 'bool', bit: 14 });
    Object.assign(expected, { 'alarm-3': true, 'alarm-4': false, 'alarm-14': true });

    const server = await serve(new Map([[1, { holding }]]));
    const { adapter } = adapterOf(server.port, { byteOrder: 'CDAB', points });
    const readings = await adapter.scanOnce();
    expect(readings.every((r) => r.quality === 'good')).toBe(true);
    expect(valuesOf(readings)).toEqual(expected);
  });
});

describe('write()', () => {
  function writableDevice(multipleWrites: boolean) {
    return {
      multipleWrites,
      points: [
        { name: 'setpoint', table: 'holding', address: 0, type: 'int16', scale: 0.1, writable: true },
        { name: 'target', table: 'holding', address: 1, type: 'float32', byteOrder: 'CDAB', writable: true },
        { name: 'batch', table: 'holding', address: 3, type: 'uint64', byteOrder: 'DCBA', writable: true },
        { name: 'recipe', table: 'holding', address: 7, type: 'string', length: 3, writable: true },
        { name: 'enable', table: 'holding', address: 10, type: 'bool', writable: true },
        { name: 'run', table: 'coil', address: 5, type: 'bool', writable: true },
        { name: 'counter', table: 'holding', address: 11, type: 'uint16' },
      ],
    };
  }
  const table = () => new Map(Array.from({ length: 12 }, (_, i) => [i, 0]));

  it.each([
    { multipleWrites: false, expected: ['fc6', 'fc16', 'fc16', 'fc16', 'fc6', 'coil'] },
    { multipleWrites: true, expected: ['fc16', 'fc16', 'fc16', 'fc16', 'fc16', 'coil'] },
  ])(
    'encodes each type for the device and reads back the same (multipleWrites: $multipleWrites)',
    async ({ multipleWrites, expected }) => {
      const units = new Map<number, UnitData>([[1, { holding: table(), coil: new Map([[5, false]]) }]]);
      const server = await serve(units);
      const { adapter } = adapterOf(server.port, writableDevice(multipleWrites));
      const values = {
        setpoint: -12.3,
        target: 42.5,
        batch: '12345678901234567890',
        recipe: 'PA66',
        enable: true,
        run: true,
      };
      for (const [point, value] of Object.entries(values)) {
        expect(await adapter.write(point, value), point).toEqual({ ok: true });
      }
      expect(server.writes.map((w) => w.kind)).toEqual(expected);
      expect(server.writes[0]?.value).toEqual(multipleWrites ? [0xff85] : 0xff85); // -123 as int16
      expect(server.writes[2]?.value).toEqual(encode('uint64', 12345678901234567890n, 'DCBA'));
      expect(valuesOf(await adapter.scanOnce())).toEqual({ ...values, counter: 0 });
    },
  );

  it('refuses what it cannot write, without sending anything', async () => {
    const server = await serve(new Map([[1, { holding: table(), coil: new Map([[5, false]]) }]]));
    const { adapter } = adapterOf(server.port, writableDevice(false));
    const refusals = [
      await adapter.write('counter', 1),
      await adapter.write('no-such-point', 1),
      await adapter.write('setpoint', 4000), // -32768…32767 tenths
      await adapter.write('recipe', 'too long for three registers'),
      await adapter.write('run', 'yes'),
      await adapter.write('batch', '-1'),
    ];
    for (const refusal of refusals) expect(refusal).toMatchObject({ ok: false, reason: expect.any(String) });
    expect(refusals.map((r) => (r.ok ? '' : r.reason))).toEqual([
      'point counter is not writable',
      'no point no-such-point on device plc',
      expect.stringContaining('does not fit int16'),
      expect.stringContaining('the point holds 6'),
      expect.stringContaining('a coil takes true or false'),
      expect.stringContaining('does not fit uint64'),
    ]);
    expect(server.writes).toEqual([]);
  });

  it('reports NotConnected when the device is down', async () => {
    const { adapter } = adapterOf(await freePort(), writableDevice(false));
    expect(await adapter.write('setpoint', 1)).toMatchObject({
      ok: false,
      status: { source: 'gateway', name: 'NotConnected' },
    });
  });
});

describe('one connection per endpoint', () => {
  it('three unit ids behind one endpoint share one socket, each reading its own registers', async () => {
    const units = new Map<number, UnitData>(
      [1, 2, 3].map((unitId) => [unitId, { holding: new Map([[0, unitId * 100]]) }]),
    );
    const server = await serve(units);
    const devices = [1, 2, 3].map((unitId) =>
      adapterOf(server.port, {
        id: `meter-${unitId}`,
        unitId,
        points: [{ name: 'value', table: 'holding', address: 0, type: 'uint16' }],
      }),
    );
    for (const { adapter } of devices) await adapter.start();
    for (const [index, { sink }] of devices.entries()) {
      await sink.until(`polls of unit ${index + 1}`, () => sink.batches.length >= 2);
      expect(sink.batches.at(-1)?.[0]?.value).toBe((index + 1) * 100);
    }
    expect(server.connections()).toBe(1);
    expect(server.maxInFlight()).toBe(1);
    // The link closes when the last device stops, not before.
    await devices[0]?.adapter.stop();
    await devices[1]?.adapter.stop();
    expect(server.connections()).toBe(1);
    await devices[2]?.adapter.stop();
    await waitUntil('the server to see the link close', () => server.connections() === 0);
  });
});
