import { tmpdir } from 'node:os';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { addressWarnings, deviceSchema } from '../../../adapters/modbus/config.js';
import { modbusAdapter } from '../../../adapters/modbus/index.js';
import { createDeviceAdapter } from '../../../gateway/adapter-modules.js';
import { formatIssues } from '../../../gateway/common/config-loading.js';
import { capturingLogger } from '../../helpers/capturing-logger.js';
import { RecordingSink } from '../../helpers/recording-sink.js';

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

  it('accepts every transport with what it needs', () => {
    expect(problems({ ...minimal, transport: 'rtu-over-tcp', port: 4001 })).toEqual([]);
    const serial = { ...minimal, host: undefined, transport: 'rtu', serialPort: '/dev/ttyUSB0' };
    expect(
      problems({ ...serial, baudRate: 19200, parity: 'even', stopBits: 1, interFrameDelayMs: 5 }),
    ).toEqual([]);
    expect(deviceSchema.parse(serial)).toMatchObject({
      baudRate: 9600,
      parity: 'none',
      dataBits: 8,
      stopBits: 1,
    });
  });

  it('accepts every type, byte order, bit, deadband and interval option', () => {
    const points = [
      { name: 'a', table: 'holding', address: 0, type: 'int64', byteOrder: 'DCBA' },
      { name: 'b', table: 'holding', address: 4, type: 'uint64', deadband: 10, maxSilenceMs: 5000 },
      { name: 'c', table: 'input', address: 0, type: 'float64', byteOrder: 'CDAB', pollIntervalMs: 100 },
      { name: 'd', table: 'input', address: 4, type: 'string', length: 8, byteOrder: 'BADC' },
      { name: 'e', table: 'holding', address: 8, type: 'bool', bit: 15 },
      { name: 'f', table: 'holding', address: 9, type: 'float32', scale: 2, offset: 1, deadband: 0.5 },
    ];
    expect(problems({ ...minimal, byteOrder: 'CDAB', maxGap: 0, multipleWrites: true, points })).toEqual([]);
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
      name: 'rtu without a serial port',
      entry: { ...minimal, transport: 'rtu' },
      expected: 'serialPort: rtu needs serialPort',
    },
    {
      name: 'rtu-over-tcp without a host',
      entry: { ...minimal, host: undefined, transport: 'rtu-over-tcp' },
      expected: 'host: rtu-over-tcp needs host',
    },
    {
      name: 'unknown transport',
      entry: { ...minimal, transport: 'udp' },
      expected: 'transport: expected one of tcp',
    },
    {
      name: 'unknown byte order',
      entry: withPoint({ byteOrder: 'BACD' }),
      expected: 'points[0].byteOrder: expected one of ABCD, CDAB, BADC, DCBA',
    },
    {
      name: 'string without length',
      entry: withPoint({ type: 'string' }),
      expected: 'points[0].length: a string needs',
    },
    {
      name: 'length on a number',
      entry: withPoint({ length: 2 }),
      expected: 'points[0].length: length applies',
    },
    {
      name: 'bit on a number',
      entry: withPoint({ bit: 3 }),
      expected: 'points[0].bit: bit applies to a bool in a holding or input register',
    },
    {
      name: 'bit on a coil',
      entry: withPoint({ table: 'coil', type: 'bool', bit: 3 }),
      expected: 'points[0].bit: bit applies',
    },
    { name: 'bit out of range', entry: withPoint({ type: 'bool', bit: 16 }), expected: 'points[0].bit' },
    {
      name: 'scaled 64-bit integer',
      entry: withPoint({ type: 'uint64', scale: 0.001 }),
      expected: 'points[0].scale: scale and offset apply to numbers, not to uint64',
    },
    {
      name: 'a 64-bit value past the end',
      entry: withPoint({ type: 'float64', address: 65533 }),
      expected: 'points[0].address: a float64 spans 4 registers, so its address must be at most 65532',
    },
    {
      name: 'string past the end',
      entry: withPoint({ type: 'string', length: 10, address: 65530 }),
      expected: 'points[0].address: a string spans 10 registers',
    },
    {
      name: 'writable bit in a register',
      entry: withPoint({ type: 'bool', bit: 2, writable: true }),
      expected: 'points[0].writable: a bit inside a register cannot be written alone',
    },
    { name: 'negative deadband', entry: withPoint({ deadband: -1 }), expected: 'points[0].deadband' },
    { name: 'gap beyond a request', entry: { ...minimal, maxGap: 200 }, expected: 'maxGap' },
    { name: 'odd parity spelling', entry: { ...minimal, parity: 'E' }, expected: 'parity' },
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
  it('names unit, table and 0-based address, with the type of the value published', () => {
    const device = deviceSchema.parse({
      ...minimal,
      unitId: 2,
      points: [...minimal.points, { name: 'state', table: 'holding', address: 4, type: 'uint16' }],
    });
    const [scaled, raw] = device.points;
    if (!scaled || !raw) throw new Error('no point');
    // 0.1 kWh steps: the value is a decimal number whatever register holds it.
    expect(modbusAdapter.addressOf(device, scaled)).toEqual({
      address: 'unit=2;holding=0',
      dataType: 'float64',
    });
    expect(modbusAdapter.addressOf(device, raw)).toEqual({ address: 'unit=2;holding=4', dataType: 'uint16' });
  });
});

describe('addressWarnings (valid addresses that look like 3xxxx/4xxxx references)', () => {
  const point = (table: string, address: number, name = `p${address}`) => ({
    name,
    table,
    address,
    type: table === 'coil' || table === 'discrete' ? 'bool' : 'uint16',
  });
  const parse = (points: ReturnType<typeof point>[]) =>
    deviceSchema.parse({ protocol: 'modbus', id: 'm', line: 'l', host: 'h', points });

  it('accepts the address, and points at the table and address the reference stands for', () => {
    const device = parse([point('holding', 0), point('holding', 40001), point('input', 30010)]);
    expect(addressWarnings(device)).toEqual([
      {
        path: ['points', 1, 'address'],
        message:
          '40001 looks like a 4xxxx register reference: did you mean address 0 of the holding table? addresses are 0-based protocol addresses; keep 40001 only if the manual gives it as the protocol address',
      },
      {
        path: ['points', 2, 'address'],
        message: expect.stringContaining(
          '30010 looks like a 3xxxx register reference: did you mean address 9 of the input table?',
        ),
      },
    ]);
  });

  it('names the other table when the reference belongs to it, and says once per table how many more', () => {
    const device = parse([point('input', 40100), point('holding', 30002), point('holding', 30003)]);
    expect(addressWarnings(device).map((w) => [w.path, w.message.split(':')[0]])).toEqual([
      [
        ['points', 1, 'address'],
        '30002 looks like a 3xxxx register reference (so do 1 more holding address of this device)',
      ],
      [['points', 0, 'address'], '40100 looks like a 4xxxx register reference'],
    ]);
    expect(addressWarnings(device)[1]?.message).toContain('did you mean address 99 of the holding table?');
  });

  it('says nothing of ordinary addresses, of 40000 (not a reference), or of bit tables', () => {
    const device = parse([
      point('holding', 40000),
      point('holding', 50000),
      point('input', 29999),
      point('coil', 40001),
      point('discrete', 30001),
    ]);
    expect(addressWarnings(device)).toEqual([]);
  });
});

describe('the gateway creating a Modbus device with a 4xxxx-looking address', () => {
  it('logs the warning once, on the device logger, with the path inside the entry', async () => {
    const log = capturingLogger();
    const device = deviceSchema.parse({
      protocol: 'modbus',
      id: 'meter',
      line: 'utilities',
      host: '127.0.0.1',
      points: [{ name: 'energy', table: 'holding', address: 40001, type: 'uint16' }],
    });
    const sink = new RecordingSink('meter');
    const adapter = createDeviceAdapter(device, {
      sink,
      logger: log.logger,
      stateDir: tmpdir(),
      metrics: new Registry(),
    });
    expect(log.lines).toMatchObject([
      { level: 40, path: 'points[0].address', msg: expect.stringMatching(/^40001 looks like a 4xxxx/) },
    ]);
    await adapter.stop();
  });
});
