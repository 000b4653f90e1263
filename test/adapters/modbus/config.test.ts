import { describe, expect, it } from 'vitest';
import { deviceSchema } from '../../../adapters/modbus/config.js';
import { modbusAdapter } from '../../../adapters/modbus/index.js';
import { formatIssues } from '../../../gateway/config-format.js';

const minimal = {
  protocol: 'modbus',
  id: 'meter-main',
  line: 'utilities',
  host: '127.0.0.1',
  points: [{ name: 'energy-total', table: 'holding', address: 0, type: 'uint32', scale: 0.1, unit: 'KWH' }],
};

/** The `path: reason` lines a deployer would see for this device entry. */
function problems(entry: unknown): string[] {
  const result = deviceSchema.safeParse(entry);
  return result.success ? [] : formatIssues(result.error.issues);
}

function withPoint(point: Record<string, unknown>): unknown {
  return { ...minimal, points: [{ name: 'p', table: 'holding', address: 0, type: 'uint16', ...point }] };
}

describe('deviceSchema', () => {
  it('fills the documented defaults', () => {
    const device = deviceSchema.parse(minimal);
    expect(device).toMatchObject({
      transport: 'tcp',
      port: 502,
      unitId: 1,
      pollIntervalMs: 1000,
      timeoutMs: 1000,
    });
    expect(device.points[0]).toMatchObject({ scale: 0.1, offset: 0 });
  });

  it('accepts every table with a type that fits it', () => {
    const points = [
      { name: 'a', table: 'holding', address: 65534, type: 'float32' },
      { name: 'b', table: 'input', address: 65535, type: 'int16' },
      { name: 'c', table: 'coil', address: 65535, type: 'bool' },
      { name: 'd', table: 'discrete', address: 0, type: 'bool' },
      { name: 'e', table: 'holding', address: 3, type: 'bool' },
    ];
    expect(problems({ ...minimal, unitId: 0, points })).toEqual([]);
    expect(problems({ ...minimal, unitId: 255, points })).toEqual([]);
  });

  const mistakes: { name: string; entry: unknown; expected: string }[] = [
    {
      name: 'negative address',
      entry: withPoint({ address: -1 }),
      expected: 'points[0].address: a Modbus address is 0–65535',
    },
    {
      name: '40001-style address',
      entry: withPoint({ address: 400001 }),
      expected: 'points[0].address: a Modbus address is 0–65535',
    },
    {
      name: 'fractional address',
      entry: withPoint({ address: 1.5 }),
      expected: 'points[0].address: expected a whole number',
    },
    {
      name: '32-bit type at the last register',
      entry: withPoint({ address: 65535, type: 'uint32' }),
      expected: 'points[0].address: a uint32 spans 2 registers, so its address must be at most 65534',
    },
    {
      name: 'number type in a bit table',
      entry: withPoint({ table: 'coil', type: 'uint16' }),
      expected: 'points[0].type: the coil table holds single bits: type must be bool',
    },
    {
      name: 'unknown table',
      entry: withPoint({ table: 'holdings' }),
      expected: 'points[0].table: expected one of holding, input, coil, discrete',
    },
    {
      name: 'unknown type',
      entry: withPoint({ type: 'float' }),
      expected: 'points[0].type: expected one of bool, int16',
    },
    {
      name: 'zero scale',
      entry: withPoint({ scale: 0 }),
      expected: 'points[0].scale: expected a finite, non-zero number',
    },
    {
      name: 'scaled bool',
      entry: withPoint({ type: 'bool', scale: 0.1 }),
      expected: 'points[0].scale: scale and offset apply to numbers',
    },
    {
      name: 'writable input register',
      entry: withPoint({ table: 'input', writable: true }),
      expected: 'points[0].writable: the input table is read-only',
    },
    { name: 'unit id too large', entry: { ...minimal, unitId: 256 }, expected: 'unitId: a unit id is 0–255' },
    {
      name: 'rtu transport',
      entry: { ...minimal, transport: 'rtu' },
      expected: 'transport: expected tcp (rtu and rtu-over-tcp are not supported yet)',
    },
    { name: 'misspelt key', entry: { ...minimal, unitID: 3 }, expected: 'unitID' },
    { name: 'misspelt point key', entry: withPoint({ adress: 3 }), expected: 'adress' },
    { name: 'no points', entry: { ...minimal, points: [] }, expected: 'points: expected at least one point' },
    {
      name: 'bad point name',
      entry: withPoint({ name: 'Energy Total' }),
      expected: 'points[0].name: expected lower-case',
    },
    {
      name: 'bad unit code',
      entry: withPoint({ unit: 'kWh' }),
      expected: 'points[0].unit: expected a UNECE',
    },
    { name: 'port out of range', entry: { ...minimal, port: 70000 }, expected: 'port:' },
  ];
  it.each(mistakes)('explains: $name', ({ entry, expected }) => {
    const lines = problems(entry);
    expect(
      lines.some((line) => line.includes(expected)),
      lines.join('\n'),
    ).toBe(true);
  });
});

describe('modbusAdapter.addressOf', () => {
  it('names unit, table and 0-based address, with the data type', () => {
    const device = deviceSchema.parse({ ...minimal, unitId: 2 });
    const point = device.points[0];
    if (!point) throw new Error('no point');
    expect(modbusAdapter.addressOf(device, point)).toEqual({
      address: 'unit=2;holding=0',
      dataType: 'uint32',
    });
  });
});
