import { describe, expect, it } from 'vitest';
import {
  applyScaling,
  decodeRegisters,
  type ModbusType,
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
});
