/**
 * Pure decoding of Modbus data into point values. Registers are first laid out as bytes in
 * big-endian (ABCD) order, then read by a per-type decoder; other byte/word orders plug in by
 * reordering the bytes in `registersToBytes`, new types by adding one entry to `registerDecoders`.
 */

/** Types stored in 16-bit registers (holding and input tables). */
export const registerTypes = ['int16', 'uint16', 'int32', 'uint32', 'float32'] as const;
export type RegisterType = (typeof registerTypes)[number];

/** Every type a point may have; `bool` is a coil/discrete bit, or a register that is non-zero. */
export const modbusTypes = ['bool', ...registerTypes] as const;
export type ModbusType = (typeof modbusTypes)[number];

export type DecodedValue = number | boolean;

interface RegisterDecoder {
  /** How many 16-bit registers the type spans. */
  registers: number;
  /** Whether the raw value is an integer, so scaling by integers stays exact. */
  integer: boolean;
  read(bytes: Buffer): number;
}

const registerDecoders: Record<RegisterType, RegisterDecoder> = {
  int16: { registers: 1, integer: true, read: (b) => b.readInt16BE(0) },
  uint16: { registers: 1, integer: true, read: (b) => b.readUInt16BE(0) },
  int32: { registers: 2, integer: true, read: (b) => b.readInt32BE(0) },
  uint32: { registers: 2, integer: true, read: (b) => b.readUInt32BE(0) },
  float32: { registers: 2, integer: false, read: (b) => shortestFloat32(b.readFloatBE(0)) },
};

/** Registers a point of this type occupies (a bool occupies one register, or one bit in a bit table). */
export function registerCount(type: ModbusType): number {
  return type === 'bool' ? 1 : registerDecoders[type].registers;
}

export interface Scaling {
  /** value = raw * scale + offset */
  scale: number;
  offset: number;
}

export const noScaling: Scaling = { scale: 1, offset: 0 };

/** Lays 16-bit registers out as bytes, high byte first (ABCD word order). */
export function registersToBytes(registers: readonly number[]): Buffer {
  const bytes = Buffer.alloc(registers.length * 2);
  registers.forEach((word, i) => {
    bytes.writeUInt16BE(word & 0xffff, i * 2);
  });
  return bytes;
}

/**
 * Decodes the registers of one point (exactly `registerCount(type)` of them) and applies scaling.
 * A `bool` register is true when non-zero; scaling does not apply to it.
 */
export function decodeRegisters(
  type: ModbusType,
  registers: readonly number[],
  scaling: Scaling = noScaling,
): DecodedValue {
  const expected = registerCount(type);
  if (registers.length !== expected) {
    throw new RangeError(`a ${type} needs ${expected} register(s), got ${registers.length}`);
  }
  if (type === 'bool') return registers[0] !== 0;
  const decoder = registerDecoders[type];
  return applyScaling(decoder.read(registersToBytes(registers)), scaling, decoder.integer);
}

/**
 * raw * scale + offset. Integer arithmetic stays exact when it can; otherwise the result is rounded
 * to 12 significant digits, so 3 * 0.1 gives 0.3 and not 0.30000000000000004.
 */
export function applyScaling(raw: number, { scale, offset }: Scaling, rawIsInteger: boolean): number {
  if (scale === 1 && offset === 0) return raw;
  const value = raw * scale + offset;
  const exact =
    rawIsInteger && Number.isInteger(scale) && Number.isInteger(offset) && Number.isSafeInteger(value);
  if (exact || !Number.isFinite(value)) return value;
  return Number(value.toPrecision(12));
}

/**
 * The shortest decimal that reads back as the same float32: a register holding 123.4 gives 123.4,
 * not 123.40000152587891 (the float64 widening of the float32 nearest to 123.4).
 */
export function shortestFloat32(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}
