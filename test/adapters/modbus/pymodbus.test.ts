/** The adapter against pymodbus, an independent Modbus implementation that encodes the values itself. */
import { type ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../../adapters/contract.js';
import { ModbusDeviceAdapter } from '../../../adapters/modbus/adapter.js';
import { deviceSchema, type ModbusDevice } from '../../../adapters/modbus/config.js';
import { freePort } from '../../helpers/ports.js';
import { capturingLogger, recordingSink } from './helpers.js';

const PYTHON = '/usr/bin/python3';
const script = join(dirname(fileURLToPath(import.meta.url)), 'pymodbus-server.py');

interface PythonPoint {
  name: string;
  table: string;
  address: number;
  type: string;
  value: number | boolean;
}

let python: ChildProcess | undefined;
let written: PythonPoint[] = [];
let device: ModbusDevice;

/** Starts the Python server and resolves with the points it wrote, from its READY line. */
async function startPymodbus(port: number): Promise<PythonPoint[]> {
  const child = spawn(PYTHON, [script, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  python = child;
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

beforeAll(async () => {
  const port = await freePort();
  written = await startPymodbus(port);
  device = deviceSchema.parse({
    protocol: 'modbus',
    id: 'py-meter',
    line: 'utilities',
    host: '127.0.0.1',
    port,
    unitId: 1,
    pollIntervalMs: 50,
    timeoutMs: 1000,
    points: [
      ...written.map(({ value: _value, ...point }) => point),
      { name: 'beyond-the-map', table: 'holding', address: 500, type: 'uint16' },
    ],
  });
});

afterAll(async () => {
  const child = python;
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin?.end();
    await exited;
  }
});

function expectWrittenValues(readings: readonly Reading[]) {
  expect(written.length).toBeGreaterThan(10);
  for (const point of written) {
    const reading = readings.find((r) => r.point === point.name);
    expect(reading, point.name).toMatchObject({ quality: 'good', value: point.value });
  }
  expect(readings.find((r) => r.point === 'beyond-the-map')).toMatchObject({
    quality: 'bad',
    value: null,
    status: { source: 'modbus', code: 2, name: 'IllegalDataAddress' },
  });
}

describe('ModbusDeviceAdapter against pymodbus', () => {
  it('scanOnce() reads every type as Python wrote it, and the exception for an unmapped address', async () => {
    const adapter = new ModbusDeviceAdapter(device, {
      stateDir: tmpdir(),
      sink: recordingSink(device.id),
      logger: capturingLogger().logger,
    });
    try {
      expectWrittenValues(await adapter.scanOnce());
    } finally {
      await adapter.stop();
    }
  });

  it('start() delivers the same values through the sink', async () => {
    const sink = recordingSink(device.id);
    const adapter = new ModbusDeviceAdapter(device, {
      sink,
      logger: capturingLogger().logger,
      stateDir: tmpdir(),
    });
    try {
      await adapter.start();
      await sink.until(() => sink.batches.length >= 2, 'two polls');
      expect(sink.states.map((s) => s.state)).toEqual(['connected']);
      expectWrittenValues(sink.batches.at(-1) ?? []);
    } finally {
      await adapter.stop();
    }
  });
});
