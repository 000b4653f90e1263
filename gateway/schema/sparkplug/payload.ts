/**
 * Typed Sparkplug B payloads: encode our metrics to protobuf and decode any implementation's
 * payload back (checked against Eclipse Tahu, the reference implementation). 64-bit integers travel as decimal strings (as in the jjj schema), DateTime as epoch
 * milliseconds; signed 8/16/32/64-bit values use two's complement in the unsigned wire fields, as
 * Sparkplug 3.0 requires.
 */
import { integerRanges } from '../index.js';
import { PayloadType } from './proto.js';

export const sparkplugDataTypes = {
  Unknown: 0,
  Int8: 1,
  Int16: 2,
  Int32: 3,
  Int64: 4,
  UInt8: 5,
  UInt16: 6,
  UInt32: 7,
  UInt64: 8,
  Float: 9,
  Double: 10,
  Boolean: 11,
  String: 12,
  DateTime: 13,
  Text: 14,
  UUID: 15,
  DataSet: 16,
  Bytes: 17,
  File: 18,
  Template: 19,
  PropertySet: 20,
  PropertySetList: 21,
} as const;
export type SparkplugDataType = keyof typeof sparkplugDataTypes;

/**
 * The values each Sparkplug integer type of at most 32 bits holds: jjj's ranges, and the 8-bit
 * types jjj has no data type for. (64-bit values travel as decimal strings and are checked as such.)
 */
export const sparkplugIntegerRanges: Partial<Record<SparkplugDataType, readonly [number, number]>> = {
  Int8: [-(2 ** 7), 2 ** 7 - 1],
  UInt8: [0, 2 ** 8 - 1],
  Int16: integerRanges.int16,
  UInt16: integerRanges.uint16,
  Int32: integerRanges.int32,
  UInt32: integerRanges.uint32,
};

const dataTypeNames = new Map<number, SparkplugDataType>(
  Object.entries(sparkplugDataTypes).map(([name, code]) => [code, name as SparkplugDataType]),
);

/** A scalar value; 64-bit integers as decimal strings, DateTime as epoch ms, Bytes as base64. */
export type SparkplugValue = number | boolean | string | null;

export interface SparkplugProperty {
  type: SparkplugDataType;
  value: SparkplugValue;
}

export interface SparkplugMetric {
  name?: string;
  alias?: number;
  timestamp?: number;
  datatype?: SparkplugDataType;
  isHistorical?: boolean;
  isTransient?: boolean;
  /** `null` is sent as `is_null`. */
  value: SparkplugValue;
  properties?: Record<string, SparkplugProperty>;
  /** Carried in the metric's MetaData. */
  description?: string;
  /** Decoded with `skipUnsupported`: why the value could not be read (a DataSet, Template, File, …); `value` is null. */
  unsupported?: string;
}

export interface SparkplugPayload {
  timestamp?: number;
  seq?: number;
  uuid?: string;
  metrics: SparkplugMetric[];
}

export class SparkplugCodecError extends Error {
  constructor(
    readonly code: 'SPARKPLUG_MALFORMED' | 'SPARKPLUG_UNSUPPORTED' | 'SPARKPLUG_VALUE',
    message: string,
  ) {
    super(message);
    this.name = 'SparkplugCodecError';
  }
}

type WireValue = Record<string, unknown>;

/** The protobuf value field for a typed scalar (shared by metrics and properties). */
function encodeValue(type: SparkplugDataType, value: Exclude<SparkplugValue, null>, what: string): WireValue {
  const integer = () => {
    const [min, max] = sparkplugIntegerRanges[type] as readonly [number, number];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new SparkplugCodecError('SPARKPLUG_VALUE', `${what}: ${String(value)} is not a ${type}`);
    }
    return value >>> 0;
  };
  const long = (signed: boolean) => {
    const text = String(value);
    const parsed = /^-?\d+$/.test(text) ? BigInt(text) : undefined;
    const fits =
      parsed !== undefined && (signed ? BigInt.asIntN(64, parsed) : BigInt.asUintN(64, parsed)) === parsed;
    if (!fits) throw new SparkplugCodecError('SPARKPLUG_VALUE', `${what}: ${text} is not a ${type}`);
    return BigInt.asUintN(64, parsed).toString();
  };
  switch (type) {
    case 'Int8':
    case 'Int16':
    case 'Int32':
    case 'UInt8':
    case 'UInt16':
      return { intValue: integer() };
    case 'UInt32':
      // As Eclipse Tahu (the reference implementation) writes it, so Tahu-based hosts read it.
      return { longValue: String(integer()) };
    case 'Int64':
      return { longValue: long(true) };
    case 'UInt64':
      return { longValue: long(false) };
    case 'DateTime':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
        throw new SparkplugCodecError(
          'SPARKPLUG_VALUE',
          `${what}: ${String(value)} is not epoch milliseconds`,
        );
      }
      return { longValue: String(value) };
    case 'Float':
      return { floatValue: Number(value) };
    case 'Double':
      return { doubleValue: Number(value) };
    case 'Boolean':
      return { booleanValue: Boolean(value) };
    case 'String':
    case 'Text':
    case 'UUID':
      return { stringValue: String(value) };
    case 'Bytes':
      return { bytesValue: Buffer.from(String(value), 'base64') };
    default:
      throw new SparkplugCodecError('SPARKPLUG_UNSUPPORTED', `${what}: datatype ${type} is not supported`);
  }
}

function decodeValue(type: SparkplugDataType, wire: WireValue, what: string): SparkplugValue {
  const int = wire.intValue as number | undefined;
  const long = wire.longValue as string | undefined;
  const need = <T>(value: T | undefined): T => {
    if (value === undefined)
      throw new SparkplugCodecError('SPARKPLUG_MALFORMED', `${what}: no value for ${type}`);
    return value;
  };
  switch (type) {
    case 'Int8':
      return (need(int) << 24) >> 24;
    case 'Int16':
      return (need(int) << 16) >> 16;
    case 'Int32':
      return need(int) | 0;
    case 'UInt8':
    case 'UInt16':
      return need(int) >>> 0;
    case 'UInt32':
      // Tahu writes it in long_value, the letter of the specification in int_value: accept both.
      return long !== undefined ? Number(long) : need(int) >>> 0;
    case 'Int64':
      return BigInt.asIntN(64, BigInt(need(long))).toString();
    case 'UInt64':
      return need(long);
    case 'DateTime':
      return Number(need(long));
    case 'Float':
      return shortestFloat32(need(wire.floatValue as number | undefined));
    case 'Double':
      return need(wire.doubleValue as number | undefined);
    case 'Boolean':
      return need(wire.booleanValue as boolean | undefined);
    case 'String':
    case 'Text':
    case 'UUID':
      return need(wire.stringValue as string | undefined);
    case 'Bytes':
      return Buffer.from(need(wire.bytesValue as Uint8Array | undefined)).toString('base64');
    default:
      throw new SparkplugCodecError('SPARKPLUG_UNSUPPORTED', `${what}: datatype ${type} is not supported`);
  }
}

/** The shortest decimal that is the same float32: 0.1, not 0.10000000149011612. */
function shortestFloat32(value: number): number {
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

function typeName(code: unknown, what: string): SparkplugDataType {
  const name = typeof code === 'number' ? dataTypeNames.get(code) : undefined;
  if (!name)
    throw new SparkplugCodecError('SPARKPLUG_MALFORMED', `${what}: unknown datatype ${String(code)}`);
  return name;
}

/** What a DATA metric sent by alias, without its own datatype, was declared as in its BIRTH. */
export type DatatypeLookup = (metric: { name?: string; alias?: number }) => SparkplugDataType | undefined;

/** Encodes a payload. Metrics without a datatype (DATA by alias, as Sparkplug recommends) take `datatypeOf`'s. */
export function encodePayload(
  payload: SparkplugPayload,
  datatypeOf: DatatypeLookup = () => undefined,
): Buffer {
  const metrics = payload.metrics.map((metric, i) => {
    const what = `metric ${metric.name ?? metric.alias ?? i}`;
    const wire: WireValue = {};
    if (metric.name !== undefined) wire.name = metric.name;
    if (metric.alias !== undefined) wire.alias = metric.alias;
    if (metric.timestamp !== undefined) wire.timestamp = metric.timestamp;
    if (metric.datatype !== undefined) wire.datatype = sparkplugDataTypes[metric.datatype];
    if (metric.isHistorical) wire.isHistorical = true;
    if (metric.isTransient) wire.isTransient = true;
    if (metric.description !== undefined) wire.metadata = { description: metric.description };
    if (metric.properties) {
      const entries = Object.entries(metric.properties);
      wire.properties = {
        keys: entries.map(([key]) => key),
        values: entries.map(([key, property]) =>
          property.value === null
            ? { type: sparkplugDataTypes[property.type], isNull: true }
            : {
                type: sparkplugDataTypes[property.type],
                ...encodeValue(property.type, property.value, `${what} property ${key}`),
              },
        ),
      };
    }
    if (metric.value === null) wire.isNull = true;
    else {
      const datatype = metric.datatype ?? datatypeOf(metric);
      if (datatype === undefined) {
        throw new SparkplugCodecError('SPARKPLUG_VALUE', `${what}: a value needs a datatype`);
      }
      Object.assign(wire, encodeValue(datatype, metric.value, what));
    }
    return wire;
  });
  const message: WireValue = { metrics };
  if (payload.timestamp !== undefined) message.timestamp = payload.timestamp;
  if (payload.seq !== undefined) message.seq = payload.seq;
  if (payload.uuid !== undefined) message.uuid = payload.uuid;
  return Buffer.from(PayloadType.encode(PayloadType.fromObject(message)).finish());
}

/** How strictly to decode another implementation's payload. */
export interface DecodeOptions {
  /**
   * A metric of a type jjj cannot hold (DataSet, Template, File, …) gets `unsupported` and a null value,
   * and such a property is left out, instead of the whole payload being refused.
   */
  skipUnsupported?: boolean;
}

/**
 * Decodes a payload. A DATA metric sent by alias has no datatype of its own: `datatypeOf` supplies
 * the one its BIRTH declared.
 */
export function decodePayload(
  bytes: Uint8Array,
  datatypeOf: DatatypeLookup = () => undefined,
  options: DecodeOptions = {},
): SparkplugPayload {
  let raw: WireValue;
  try {
    raw = PayloadType.toObject(PayloadType.decode(bytes), { longs: String, bytes: Buffer }) as WireValue;
  } catch (error) {
    throw new SparkplugCodecError(
      'SPARKPLUG_MALFORMED',
      `not a Sparkplug B payload: ${(error as Error).message}`,
    );
  }
  const lenient = (decode: () => SparkplugValue): { value: SparkplugValue } | { unsupported: string } => {
    try {
      return { value: decode() };
    } catch (error) {
      const skip = options.skipUnsupported && (error as SparkplugCodecError).code === 'SPARKPLUG_UNSUPPORTED';
      if (!skip) throw error;
      return { unsupported: (error as Error).message };
    }
  };
  const payload: SparkplugPayload = { metrics: [] };
  if (raw.timestamp !== undefined) payload.timestamp = Number(raw.timestamp);
  if (raw.seq !== undefined) payload.seq = Number(raw.seq);
  if (raw.uuid !== undefined) payload.uuid = raw.uuid as string;
  for (const [i, wire] of ((raw.metrics as WireValue[] | undefined) ?? []).entries()) {
    const metric: SparkplugMetric = { value: null };
    if (wire.name !== undefined) metric.name = wire.name as string;
    if (wire.alias !== undefined) metric.alias = Number(wire.alias);
    const what = `metric ${metric.name ?? metric.alias ?? i}`;
    if (wire.timestamp !== undefined) metric.timestamp = Number(wire.timestamp);
    if (wire.isHistorical) metric.isHistorical = true;
    if (wire.isTransient) metric.isTransient = true;
    const description = (wire.metadata as WireValue | undefined)?.description;
    if (typeof description === 'string') metric.description = description;
    // A type newer than this decoder (Sparkplug 3.0's arrays) is only unsupported when skipping those.
    const unknownType =
      options.skipUnsupported && wire.datatype !== undefined && !dataTypeNames.has(wire.datatype as number);
    if (unknownType) metric.unsupported = `${what}: datatype ${String(wire.datatype)} is not supported`;
    const datatype = unknownType
      ? undefined
      : wire.datatype !== undefined
        ? typeName(wire.datatype, what)
        : datatypeOf({ ...metric });
    if (datatype) metric.datatype = datatype;
    const properties = wire.properties as { keys?: string[]; values?: WireValue[] } | undefined;
    if (properties?.keys?.length) {
      metric.properties = {};
      properties.keys.forEach((key, k) => {
        const value = properties.values?.[k] ?? {};
        const type = typeName(value.type, `${what} property ${key}`);
        const decoded = lenient(() =>
          value.isNull ? null : decodeValue(type, value, `${what} property ${key}`),
        );
        if ('value' in decoded)
          (metric.properties as Record<string, SparkplugProperty>)[key] = { type, value: decoded.value };
      });
    }
    if (!wire.isNull && !unknownType) {
      if (!datatype) throw new SparkplugCodecError('SPARKPLUG_MALFORMED', `${what}: no datatype known`);
      const decoded = lenient(() => decodeValue(datatype, wire, what));
      if ('value' in decoded) metric.value = decoded.value;
      else metric.unsupported = decoded.unsupported;
    }
    payload.metrics.push(metric);
  }
  return payload;
}
