/**
 * The adapter against pymodbus, an independent Modbus implementation that encodes the values itself:
 * every type in every byte/word order, over Modbus TCP, RTU over TCP, and RTU on a serial line (a
 * pseudo-terminal pair made by socat).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../../adapters/contract.js';
import { ModbusDeviceAdapter } from '../../../adapters/modbus/adapter.js';
import { deviceSchema, type ModbusDevice } from '../../../adapters/modbus/config.js';
import { capturingLogger } from '../../helpers/capturing-logger.js';
import { freePort } from '../../helpers/ports.js';
import { RecordingSink } from '../../helpers/recording-sink.js';

const PYTHON = '/usr/bin/python3';
const script = join(dirname(fileURLToPath(import.meta.url)), 'pymodbus-server.py');

interface PythonPoint {
  name: string;
  table: string;
  address: number;
  type: string;
  value: number | boolean | string;
}

const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children.reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
  }
});

/** Starts the Python server and resolves with the points it wrote, from its READY line. */
async function startPymodbus(mode: string, where: string): Promise<PythonPoint[]> {
  const child = spawn(PYTHON, [script, mode, where], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`pymodbus server exited (${code}): ${stderr}`)));
    child.once('error', reject);
    lines.on('line', (line) => {
      if (line.startsWith('READY ')) resolve((JSON.parse(line.slice(6)) as { points: PythonPoint[] }).points);
    });
  });
}

/** A pseudo-terminal pair joined by socat: what is written to one end comes out of the other. */
async function startPtyPair(): Promise<[string, string]> {
  const child = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: 'pipe' });
  children.push(child);
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`socat exited (${code}): ${stderr}`)));
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
      const paths = [...stderr.matchAll(/PTY is (\S+)/g)].map((match) => match[1] as string);
      if (paths.length === 2 && stderr.includes('starting data transfer loop')) {
        resolve(paths as [string, string]);
      }
    });
  });
}

function deviceFor(
  written: readonly PythonPoint[],
  connection: Record<string, unknown>,
  unitId: number,
): ModbusDevice {
  return deviceSchema.parse({
    protocol: 'modbus',
    id: `py-unit-${unitId}`,
    line: 'utilities',
    unitId,
    pollIntervalMs: 50,
    timeoutMs: 1000,
    ...connection,
    points: [
      ...written.map(({ value: _value, ...point }) => point),
      { name: 'unit-id', table: 'holding', address: 299, type: 'uint16' },
      { name: 'beyond-the-map', table: 'holding', address: 500, type: 'uint16' },
    ],
  });
}

function expectWrittenValues(written: readonly PythonPoint[], readings: readonly Reading[], unitId: number) {
  expect(written.length).toBeGreaterThan(40);
  const byName = new Map(readings.map((r) => [r.point, r]));
  for (const point of written) {
    expect(byName.get(point.name), point.name).toMatchObject({ quality: 'good', value: point.value });
  }
  expect(byName.get('unit-id')).toMatchObject({ quality: 'good', value: unitId });
  expect(byName.get('beyond-the-map')).toMatchObject({
    quality: 'bad',
    value: null,
    status: { source: 'modbus', code: 2, name: 'IllegalDataAddress' },
  });
}

function adapterOf(device: ModbusDevice) {
  const sink = new RecordingSink(device.id);
  const adapter = new ModbusDeviceAdapter(device, {
    sink,
    logger: capturingLogger().logger,
    stateDir: tmpdir(),
    metrics: new Registry(),
  });
  return { adapter, sink };
}

const transports: { name: string; start: () => Promise<[PythonPoint[], Record<string, unknown>]> }[] = [
  {
    name: 'Modbus TCP',
    start: async () => {
      const port = await freePort();
      return [await startPymodbus('tcp', String(port)), { transport: 'tcp', host: '127.0.0.1', port }];
    },
  },
  {
    name: 'RTU over TCP',
    start: async () => {
      const port = await freePort();
      return [
        await startPymodbus('rtu-over-tcp', String(port)),
        { transport: 'rtu-over-tcp', host: '127.0.0.1', port },
      ];
    },
  },
  {
    name: 'RTU on a serial line (pty pair)',
    start: async () => {
      const [deviceEnd, gatewayEnd] = await startPtyPair();
      return [
        await startPymodbus('rtu', deviceEnd),
        { transport: 'rtu', serialPort: gatewayEnd, baudRate: 19200, parity: 'none' },
      ];
    },
  },
];

describe.each(transports)('ModbusDeviceAdapter against pymodbus over $name', ({ start }) => {
  let written: PythonPoint[] = [];
  let connection: Record<string, unknown> = {};
  beforeAll(async () => {
    [written, connection] = await start();
  });

  it('scanOnce() reads every type in every byte order as Python wrote it, and the exception for an unmapped address', async () => {
    const { adapter } = adapterOf(deviceFor(written, connection, 1));
    try {
      expectWrittenValues(written, await adapter.scanOnce(), 1);
    } finally {
      await adapter.stop();
    }
  });

  it('two unit ids poll through one shared link and each gets its own values', async () => {
    const units = [1, 2].map((unitId) => adapterOf(deviceFor(written, connection, unitId)));
    try {
      await Promise.all(units.map(({ adapter }) => adapter.start()));
      for (const [index, { sink }] of units.entries()) {
        await sink.until(`two polls of unit ${index + 1}`, () => sink.batches.length >= 2);
        expect(sink.states.map((s) => s.state)).toEqual(['connected']);
        expectWrittenValues(written, sink.batches.at(-1) ?? [], index + 1);
      }
    } finally {
      await Promise.all(units.map(({ adapter }) => adapter.stop()));
    }
  });

  // Last in its block: it changes unit 1's values.
  it('writes with functions 5, 6, 15 and 16, reads the values back, and reports a refused write', async () => {
    const writable = (device: ModbusDevice, multipleWrites: boolean): ModbusDevice => ({
      ...device,
      multipleWrites,
      points: device.points.map((point) => ({
        ...point,
        writable: point.table !== 'input' && point.table !== 'discrete' && point.bit === undefined,
      })),
    });
    const base = deviceFor(written, connection, 1);
    const single = adapterOf(writable(base, false)).adapter;
    const multiple = adapterOf(writable(base, true)).adapter;
    try {
      const singles = { 'int16-abcd': 321, 'uint16-dcba': 4660, 'valve-open': false };
      const multiples = {
        'float64-cdab': 2.5,
        'int64-badc': '-42',
        'serial-number-badc': 'JJJ',
        'pump-on': true,
      };
      for (const [point, value] of Object.entries(singles)) {
        expect(await single.write(point, value), point).toEqual({ ok: true });
      }
      for (const [point, value] of Object.entries(multiples)) {
        expect(await multiple.write(point, value), point).toEqual({ ok: true });
      }
      const readBack = new Map((await single.scanOnce()).map((r) => [r.point, r.value]));
      for (const [point, value] of Object.entries({ ...singles, ...multiples })) {
        expect(readBack.get(point), point).toEqual(value);
      }
      expect(await single.write('beyond-the-map', 1)).toMatchObject({
        ok: false,
        status: { source: 'modbus', code: 2, name: 'IllegalDataAddress' },
      });
    } finally {
      await single.stop();
      await multiple.stop();
    }
  });
});
