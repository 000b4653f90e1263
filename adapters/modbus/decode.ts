/**
 * Pure conversion between Modbus registers and point values. A response's bytes arrive big-endian
 * (ABCD); a point's byte order is applied by reordering its bytes into a scratch buffer, then a
 * per-type codec reads (or, for writes, writes) the value. New types add one entry to `codecs`.
 * Integer bounds come from the wire contract's `integerRanges`, the one list of them.
 */
import { DataType, integerRanges } from '../../gateway/schema/index.js';

/** Types stored in 16-bit registers (holding and input tables): the contract's data types but bool and datetime. */
export const registerTypes = DataType.exclude(['bool', 'datetime']).options;
export type RegisterType = (typeof registerTypes)[number];

/** Every type a point may have; `bool` is a coil/discrete bit, a bit of a register, or a register that is non-zero. */
export const modbusTypes = ['bool', ...registerTypes] as const;
export type ModbusType = (typeof modbusTypes)[number];

/**
 * Byte order of a multi-byte value, naming the bytes of the big-endian value A (most significant)
 * to D: ABCD is big-endian, CDAB swaps the 16-bit words, BADC swaps the bytes inside each word,
 * DCBA is little-endian. For 64-bit values the same two swaps apply over four words; strings take
 * only the byte swap (BADC and DCBA), their characters running from the first register on.
 */
export const byteOrders = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
export type ByteOrder = (typeof byteOrders)[number];

/** 64-bit integers travel as decimal strings, so no digit is lost. */
export type DecodedValue = number | boolean | string;

interface Codec {
  /** 16-bit registers the type spans; strings span their configured length. */
  registers: number;
  /** Whether the raw value is an integer, so scaling by integers stays exact. */
  integer: boolean;
  read(bytes: Buffer, at: number): number | string;
  /** Writes the raw value big-endian; throws a RangeError when it does not fit. */
  write(bytes: Buffer, raw: number | bigint): void;
}

function integerCodec(type: 'int16' | 'uint16' | 'int32' | 'uint32'): Codec {
  const [min, max] = integerRanges[type];
  const registers = type.endsWith('16') ? 1 : 2;
  const signed = min < 0;
  return {
    registers,
    integer: true,
    read: (b, at) =>
      registers === 1
        ? signed
          ? b.readInt16BE(at)
          : b.readUInt16BE(at)
        : signed
          ? b.readInt32BE(at)
          : b.readUInt32BE(at),
    write: (b, raw) => {
      const value = Number(raw);
      if (!Number.isInteger(value) || value < min || value > max) {
        throw new RangeError(`${raw} does not fit ${type} (${min}…${max})`);
      }
      if (registers === 1) b.writeUInt16BE(value & 0xffff, 0);
      else b.writeUInt32BE(value >>> 0, 0);
    },
  };
}

function bigIntegerCodec(type: 'int64' | 'uint64'): Codec {
  const [min, max] = integerRanges[type];
  const signed = min < 0n;
  return {
    registers: 4,
    integer: true,
    read: (b, at) => (signed ? b.readBigInt64BE(at) : b.readBigUInt64BE(at)).toString(),
    write: (b, raw) => {
      const value = BigInt(raw);
      if (value < min || value > max) throw new RangeError(`${raw} does not fit ${type}`);
      b.writeBigUInt64BE(BigInt.asUintN(64, value), 0);
    },
  };
}

const codecs: Record<Exclude<RegisterType, 'string'>, Codec> = {
  int16: integerCodec('int16'),
  uint16: integerCodec('uint16'),
  int32: integerCodec('int32'),
  uint32: integerCodec('uint32'),
  int64: bigIntegerCodec('int64'),
  uint64: bigIntegerCodec('uint64'),
  float32: {
    registers: 2,
    integer: false,
    read: (b, at) => shortestFloat32(b.readFloatBE(at)),
    write: (b, raw) => {
      b.writeFloatBE(Number(raw), 0);
    },
  },
  float64: {
    registers: 4,
    integer: false,
    read: (b, at) => b.readDoubleBE(at),
    write: (b, raw) => {
      b.writeDoubleBE(Number(raw), 0);
    },
  },
};

/** How one point's registers are read: its type and everything that shapes the value. */
export interface PointFormat {
  type: ModbusType;
  byteOrder: ByteOrder;
  /** value = raw * scale + offset */
  scale: number;
  offset: number;
  /** For a `bool` in a register: the bit (0 = least significant) that holds it. */
  bit?: number;
  /** For a `string`: how many registers (two characters each) it spans. */
  length?: number;
}

export const defaultFormat: Omit<PointFormat, 'type'> = { byteOrder: 'ABCD', scale: 1, offset: 0 };

/** Registers a point of this type occupies (a bool occupies one register, or one bit in a bit table). */
export function registerCount(type: ModbusType, length = 1): number {
  if (type === 'bool') return 1;
  if (type === 'string') return length;
  return codecs[type].registers;
}

/** Lays 16-bit registers out as bytes, high byte first (ABCD order). */
export function registersToBytes(registers: readonly number[]): Buffer {
  const bytes = Buffer.alloc(registers.length * 2);
  for (let i = 0; i < registers.length; i++) bytes.writeUInt16BE((registers[i] ?? 0) & 0xffff, i * 2);
  return bytes;
}

/** Big-endian 16-bit words of `bytes`. */
function bytesToRegisters(bytes: Buffer): number[] {
  return Array.from({ length: bytes.length / 2 }, (_, i) => bytes.readUInt16BE(i * 2));
}

const scratch = Buffer.alloc(8);

/**
 * Copies `count` registers from `source` at byte `at` into `target` in ABCD order. Both swaps undo
 * themselves, so the same function turns ABCD back into the device's order for writes.
 */
function reorder(source: Buffer, at: number, count: number, order: ByteOrder, target: Buffer): Buffer {
  const swapWords = order === 'CDAB' || order === 'DCBA';
  const swapBytes = order === 'BADC' || order === 'DCBA';
  for (let i = 0; i < count; i++) {
    const from = at + (swapWords ? count - 1 - i : i) * 2;
    const high = source[from] ?? 0;
    const low = source[from + 1] ?? 0;
    target[i * 2] = swapBytes ? low : high;
    target[i * 2 + 1] = swapBytes ? high : low;
  }
  return target;
}

/**
 * Decodes one point from the register bytes of a response (`bytes`, big-endian as received),
 * starting at register `register` of it, and applies scaling. The caller checks the bytes are there.
 */
export function decodeAt(format: PointFormat, bytes: Buffer, register: number): DecodedValue {
  const { type, byteOrder } = format;
  const count = registerCount(type, format.length);
  const at = register * 2;
  if (type === 'string') {
    const text = reorder(bytes, at, count, stringOrder(byteOrder), Buffer.alloc(count * 2)).toString('utf8');
    return text.replace(/[\0 ]+$/, '');
  }
  const ordered = byteOrder === 'ABCD' ? bytes : reorder(bytes, at, count, byteOrder, scratch);
  const start = byteOrder === 'ABCD' ? at : 0;
  if (type === 'bool') {
    const word = ordered.readUInt16BE(start);
    return format.bit === undefined ? word !== 0 : ((word >> format.bit) & 1) === 1;
  }
  const codec = codecs[type];
  const raw = codec.read(ordered, start);
  return typeof raw === 'string' ? raw : applyScaling(raw, format, codec.integer);
}

/** Decodes exactly the registers of one point; `format` defaults to ABCD, unscaled. */
export function decodeRegisters(
  type: ModbusType,
  registers: readonly number[],
  format: Partial<Omit<PointFormat, 'type'>> = {},
): DecodedValue {
  const full: PointFormat = { ...defaultFormat, ...format, type };
  if (type === 'string' && full.length === undefined) full.length = registers.length;
  const expected = registerCount(type, full.length);
  if (registers.length !== expected) {
    throw new RangeError(`a ${type} needs ${expected} register(s), got ${registers.length}`);
  }
  return decodeAt(full, registersToBytes(registers), 0);
}

/**
 * The registers that make the device read back `value` for this point: the inverse of scaling,
 * rounded for integer types, in the point's byte order. Throws a RangeError when the value does
 * not fit the type (or a string is longer than its registers).
 */
export function encodeRegisters(format: PointFormat, value: DecodedValue): number[] {
  const { type, byteOrder } = format;
  const count = registerCount(type, format.length);
  const ordered = Buffer.alloc(count * 2);
  if (type === 'bool') {
    if (format.bit !== undefined) throw new RangeError('a bit inside a register cannot be written alone');
    return [value === true || value === 1 ? 1 : 0];
  }
  if (type === 'string') {
    const text = Buffer.from(String(value), 'utf8');
    if (text.length > ordered.length) {
      throw new RangeError(`"${value}" needs ${text.length} bytes; the point holds ${ordered.length}`);
    }
    text.copy(ordered);
  } else {
    const codec = codecs[type];
    codec.write(ordered, rawOf(format, codec, value));
  }
  const order = type === 'string' ? stringOrder(byteOrder) : byteOrder;
  return bytesToRegisters(reorder(ordered, 0, count, order, Buffer.alloc(count * 2)));
}

/** Text runs first register first: of a byte order, only the swap of the bytes inside a word applies. */
function stringOrder(order: ByteOrder): ByteOrder {
  return order === 'BADC' || order === 'DCBA' ? 'BADC' : 'ABCD';
}

function rawOf({ scale, offset, type }: PointFormat, codec: Codec, value: DecodedValue): number | bigint {
  if (type === 'int64' || type === 'uint64') {
    if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
    if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
    throw new RangeError(`${value} is not a whole number`);
  }
  const number = Number(value);
  if (!Number.isFinite(number)) throw new RangeError(`${value} is not a finite number`);
  const raw = scale === 1 && offset === 0 ? number : (number - offset) / scale;
  return codec.integer ? Math.round(raw) : raw;
}

/**
 * raw * scale + offset. Integer arithmetic stays exact when it can; otherwise the result is rounded
 * to 12 significant digits, so 3 * 0.1 gives 0.3 and not 0.30000000000000004.
 */
export function applyScaling(
  raw: number,
  { scale, offset }: { scale: number; offset: number },
  rawIsInteger: boolean,
): number {
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
  float32[0] = value;
  if (((float32Bits[0] as number) & 0x7fffff) === 0) return shortestByLength(value);
  // Away from a power of two, the nearest decimal of d + 1 digits is at least as close as that of d
  // digits (which it can also write), so reading back turns from no to yes once as digits grow:
  // a binary search finds the shortest in 3 or 4 tries, not up to 8. 9 digits always read back.
  let fewest = 1;
  let most = 9;
  let shortest = value;
  while (fewest < most) {
    const digits = (fewest + most) >> 1;
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) {
      most = digits;
      shortest = candidate;
    } else fewest = digits + 1;
  }
  return shortest;
}

const float32 = new Float32Array(1);
const float32Bits = new Uint32Array(float32.buffer);

/**
 * At a power of two the float32s below are twice as dense as above, so a closer decimal may not
 * read back where a farther one did: each length is tried in turn.
 */
function shortestByLength(value: number): number {
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}
