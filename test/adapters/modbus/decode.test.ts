import { describe, expect, it } from 'vitest';
import {
  applyScaling,
  type ByteOrder,
  byteOrders,
  type DecodedValue,
  decodeRegisters,
  defaultFormat,
  encodeRegisters,
  type ModbusType,
  type PointFormat,
  registerCount,
  registersToBytes,
  shortestFloat32,
} from '../../../adapters/modbus/decode.js';

describe('decodeRegisters (ABCD word order)', () => {
  const cases: { type: ModbusType; registers: number[]; expected: number | boolean }[] = [
    { type: 'bool', registers: [0], expected: false },
    { type: 'bool', registers: [1], expected: true },
    { type: 'bool', registers: [0x8000], expected: true },
    { type: 'int16', registers: [0x0000], expected: 0 },
    { type: 'int16', registers: [0x7fff], expected: 32767 },
    { type: 'int16', registers: [0x8000], expected: -32768 },
    { type: 'int16', registers: [0xffff], expected: -1 },
    { type: 'uint16', registers: [0xffff], expected: 65535 },
    { type: 'uint16', registers: [0x1234], expected: 0x1234 },
    { type: 'int32', registers: [0xffff, 0xfffe], expected: -2 },
    { type: 'int32', registers: [0x8000, 0x0000], expected: -2147483648 },
    { type: 'int32', registers: [0x0001, 0x0000], expected: 65536 },
    { type: 'uint32', registers: [0x0001, 0x0000], expected: 65536 },
    { type: 'uint32', registers: [0x0000, 0x0001], expected: 1 },
    { type: 'uint32', registers: [0xffff, 0xffff], expected: 4294967295 },
    { type: 'float32', registers: [0x3f80, 0x0000], expected: 1 },
    { type: 'float32', registers: [0xc020, 0x0000], expected: -2.5 },
    { type: 'float32', registers: [0x42f6, 0xcccd], expected: 123.4 },
    { type: 'float32', registers: [0x402d, 0xf854], expected: 2.7182817 },
    { type: 'float32', registers: [0x0000, 0x0000], expected: 0 },
  ];
  it.each(cases)('$type $registers → $expected', ({ type, registers, expected }) => {
    expect(decodeRegisters(type, registers)).toBe(expected);
  });

  it('agrees with Node Buffer encodings for float32 values', () => {
    for (const value of [0.1, -273.15, 1e-20, 65504.5, 3.4e38]) {
      const bytes = Buffer.alloc(4);
      bytes.writeFloatBE(value);
      const decoded = decodeRegisters('float32', [bytes.readUInt16BE(0), bytes.readUInt16BE(2)]);
      expect(Math.fround(decoded as number)).toBe(Math.fround(value));
    }
  });

  it('gives float32 NaN and infinity through, for the adapter to mark bad', () => {
    expect(decodeRegisters('float32', [0x7fc0, 0x0000])).toBeNaN();
    expect(decodeRegisters('float32', [0x7f80, 0x0000])).toBe(Number.POSITIVE_INFINITY);
  });

  it('rejects a register count that does not fit the type', () => {
    expect(() => decodeRegisters('uint32', [1])).toThrow(RangeError);
    expect(() => decodeRegisters('int16', [1, 2])).toThrow(RangeError);
  });
});

describe('decodeRegisters with scale and offset', () => {
  const cases: { type: ModbusType; registers: number[]; scale: number; offset: number; expected: number }[] =
    [
      { type: 'uint16', registers: [3], scale: 0.1, offset: 0, expected: 0.3 },
      { type: 'uint16', registers: [2305], scale: 0.1, offset: 0, expected: 230.5 },
      { type: 'uint16', registers: [1234], scale: 0.01, offset: 0, expected: 12.34 },
      { type: 'int16', registers: [0xfc18], scale: 0.001, offset: 0, expected: -1 },
      { type: 'int16', registers: [985], scale: 0.001, offset: 0, expected: 0.985 },
      { type: 'int16', registers: [0xffff], scale: 0.01, offset: 1, expected: 0.99 },
      { type: 'uint16', registers: [500], scale: 0.1, offset: -40, expected: 10 },
      { type: 'uint32', registers: [0x0001, 0xe240], scale: 0.1, offset: 0, expected: 12345.6 },
      { type: 'uint32', registers: [0xffff, 0xffff], scale: 1000, offset: 0, expected: 4294967295000 },
      { type: 'int32', registers: [0xffff, 0xffff], scale: 2, offset: 7, expected: 5 },
      { type: 'float32', registers: [0x42f6, 0xcccd], scale: 10, offset: 0, expected: 1234 },
      { type: 'float32', registers: [0x3f80, 0x0000], scale: 1, offset: 0.5, expected: 1.5 },
    ];
  it.each(cases)(
    '$type $registers * $scale + $offset → $expected',
    ({ type, registers, scale, offset, expected }) => {
      expect(decodeRegisters(type, registers, { scale, offset })).toBe(expected);
    },
  );
});

describe('helpers', () => {
  it.each([
    ['bool', 1],
    ['int16', 1],
    ['uint16', 1],
    ['int32', 2],
    ['uint32', 2],
    ['float32', 2],
  ] as const)('registerCount(%s) = %i', (type, count) => {
    expect(registerCount(type)).toBe(count);
  });

  it('lays registers out high byte first', () => {
    expect([...registersToBytes([0x1234, 0xabcd])]).toEqual([0x12, 0x34, 0xab, 0xcd]);
  });

  it('keeps integer scaling exact and rounds fractional noise to 12 significant digits', () => {
    expect(applyScaling(9007199254740991, { scale: 1, offset: 0 }, true)).toBe(9007199254740991);
    expect(applyScaling(3, { scale: 0.1, offset: 0 }, true)).toBe(0.3);
    expect(applyScaling(1 / 3, { scale: 3, offset: 0 }, false)).toBe(1);
  });

  it.each([
    [Math.fround(0.1), 0.1],
    [Math.fround(123.4), 123.4],
    [Math.fround(-0.000123), -0.000123],
    [16777216, 16777216],
    [Math.fround(16777217), 16777216],
  ])('shortestFloat32(%d) = %d', (input, expected) => {
    expect(shortestFloat32(input)).toBe(expected);
    expect(Math.fround(shortestFloat32(input))).toBe(input);
  });

  it('finds the same shortest decimal as trying every length in turn, for any float32', () => {
    const byLength = (value: number) => {
      if (value === 0) return value;
      for (let digits = 1; digits < 9; digits++) {
        const candidate = Number(value.toPrecision(digits));
        if (Math.fround(candidate) === value) return candidate;
      }
      return value;
    };
    const float = new Float32Array(1);
    const bits = new Uint32Array(float.buffer);
    const values: number[] = [];
    // Random bit patterns (every exponent), powers of two and their neighbours, short decimals.
    for (let i = 0; i < 100_000; i++) {
      bits[0] = Math.floor(Math.random() * 2 ** 32);
      values.push(float[0] as number);
    }
    for (let e = -149; e < 128; e++) {
      const power = Math.fround(2 ** e);
      bits[0] = 0;
      float[0] = power;
      const at = bits[0] as number;
      for (const step of [-1, 0, 1]) {
        bits[0] = at + step;
        values.push(float[0] as number, -(float[0] as number));
      }
    }
    for (let i = 0; i < 10_000; i++) values.push(Math.fround(i / 100), Math.fround(i * 0.37));
    const differing = values.filter(
      (value) => Number.isFinite(value) && !Object.is(shortestFloat32(value), byLength(value)),
    );
    expect(differing).toEqual([]);
  });
});

/** The value 0x0102030405060708 (or its first 2/4 bytes) laid out in each byte order, as registers. */
describe('byte and word orders', () => {
  const layouts: { order: ByteOrder; four: number[]; eight: number[]; two: number[] }[] = [
    { order: 'ABCD', two: [0x0102], four: [0x0102, 0x0304], eight: [0x0102, 0x0304, 0x0506, 0x0708] },
    { order: 'CDAB', two: [0x0102], four: [0x0304, 0x0102], eight: [0x0708, 0x0506, 0x0304, 0x0102] },
    { order: 'BADC', two: [0x0201], four: [0x0201, 0x0403], eight: [0x0201, 0x0403, 0x0605, 0x0807] },
    { order: 'DCBA', two: [0x0201], four: [0x0403, 0x0201], eight: [0x0807, 0x0605, 0x0403, 0x0201] },
  ];
  it.each(layouts)('$order', ({ order, two, four, eight }) => {
    expect(decodeRegisters('uint16', two, { byteOrder: order })).toBe(0x0102);
    expect(decodeRegisters('uint32', four, { byteOrder: order })).toBe(0x01020304);
    expect(decodeRegisters('uint64', eight, { byteOrder: order })).toBe('72623859790382856');
    const format = { ...defaultFormat, byteOrder: order };
    expect(encodeRegisters({ ...format, type: 'uint16' }, 0x0102)).toEqual(two);
    expect(encodeRegisters({ ...format, type: 'uint32' }, 0x01020304)).toEqual(four);
    expect(encodeRegisters({ ...format, type: 'uint64' }, '72623859790382856')).toEqual(eight);
  });
});

describe('64-bit, float64, string and bit points', () => {
  const cases: { name: string; type: ModbusType; registers: number[]; format?: object; expected: unknown }[] =
    [
      { name: 'int64 -1', type: 'int64', registers: [0xffff, 0xffff, 0xffff, 0xffff], expected: '-1' },
      { name: 'int64 min', type: 'int64', registers: [0x8000, 0, 0, 0], expected: '-9223372036854775808' },
      {
        name: 'uint64 max',
        type: 'uint64',
        registers: [0xffff, 0xffff, 0xffff, 0xffff],
        expected: '18446744073709551615',
      },
      { name: 'float64 1', type: 'float64', registers: [0x3ff0, 0, 0, 0], expected: 1 },
      { name: 'float64 pi', type: 'float64', registers: [0x4009, 0x21fb, 0x5444, 0x2d18], expected: Math.PI },
      {
        name: 'float64 scaled',
        type: 'float64',
        registers: [0x4024, 0, 0, 0],
        format: { scale: 0.5, offset: 1 },
        expected: 6,
      },
      { name: 'string, NUL padded', type: 'string', registers: [0x4142, 0x4300], expected: 'ABC' },
      { name: 'string, space padded', type: 'string', registers: [0x4142, 0x2020], expected: 'AB' },
      {
        name: 'string byte-swapped',
        type: 'string',
        registers: [0x4241, 0x0043],
        format: { byteOrder: 'BADC' },
        expected: 'ABC',
      },
      { name: 'UTF-8 string', type: 'string', registers: [0xe4ba, 0xac00], expected: '京' },
      { name: 'bit 0', type: 'bool', registers: [0x0001], format: { bit: 0 }, expected: true },
      { name: 'bit 1 clear', type: 'bool', registers: [0x0001], format: { bit: 1 }, expected: false },
      { name: 'bit 15', type: 'bool', registers: [0x8000], format: { bit: 15 }, expected: true },
      {
        name: 'bit 8 of a byte-swapped register',
        type: 'bool',
        registers: [0x0001],
        format: { bit: 8, byteOrder: 'BADC' },
        expected: true,
      },
    ];
  it.each(cases)('$name', ({ type, registers, format, expected }) => {
    expect(decodeRegisters(type, registers, format)).toBe(expected);
  });

  it('counts registers per type', () => {
    expect(registerCount('int64')).toBe(4);
    expect(registerCount('float64')).toBe(4);
    expect(registerCount('string', 10)).toBe(10);
  });
});

describe('encodeRegisters (for writes)', () => {
  const formats: PointFormat[] = byteOrders.flatMap((byteOrder) => [
    { type: 'int16', byteOrder, scale: 0.1, offset: 0 },
    { type: 'uint16', byteOrder, scale: 1, offset: -40 },
    { type: 'int32', byteOrder, scale: 1, offset: 0 },
    { type: 'uint32', byteOrder, scale: 0.001, offset: 0 },
    { type: 'int64', byteOrder, scale: 1, offset: 0 },
    { type: 'float32', byteOrder, scale: 1, offset: 0 },
    { type: 'float64', byteOrder, scale: 2, offset: 0 },
    { type: 'string', byteOrder, scale: 1, offset: 0, length: 4 },
  ]);
  const values: Record<string, DecodedValue> = {
    int16: -123.4,
    uint16: 25,
    int32: -2147483648,
    uint32: 4294967.295,
    int64: '-9223372036854775807',
    float32: 123.4,
    float64: -0.125,
    string: 'jjj-01',
  };
  it.each(formats)('$type $byteOrder reads back what it wrote', (format) => {
    const value = values[format.type] as DecodedValue;
    const registers = encodeRegisters(format, value);
    expect(registers).toHaveLength(registerCount(format.type, format.length));
    expect(decodeRegisters(format.type, registers, format)).toBe(value);
  });

  it('refuses values that do not fit, rounds integers, and writes a plain bool register as 0/1', () => {
    const int16 = { ...defaultFormat, type: 'int16' as const };
    expect(() => encodeRegisters(int16, 40000)).toThrow(RangeError);
    expect(() => encodeRegisters({ ...int16, type: 'uint16' }, -1)).toThrow(RangeError);
    expect(() => encodeRegisters({ ...int16, type: 'uint64' }, '-1')).toThrow(RangeError);
    expect(() => encodeRegisters({ ...int16, type: 'int64' }, 1.5)).toThrow(RangeError);
    expect(() => encodeRegisters({ ...int16, type: 'string', length: 1 }, 'abc')).toThrow(RangeError);
    expect(() => encodeRegisters({ ...int16, type: 'bool', bit: 3 }, true)).toThrow(RangeError);
    expect(() => encodeRegisters(int16, Number.NaN)).toThrow(RangeError);
    expect(encodeRegisters({ ...int16, scale: 0.1 }, 23.46)).toEqual([235]);
    expect(encodeRegisters({ ...int16, type: 'bool' }, true)).toEqual([1]);
    expect(encodeRegisters({ ...int16, type: 'bool' }, false)).toEqual([0]);
  });
});
