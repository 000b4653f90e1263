/**
 * Pure mapping from OPC UA DataValues to readings: StatusCode → quality and status, Variant → a value
 * the wire schema can carry, timestamps → epoch milliseconds. No I/O here.
 */
import { DataType, type DataValue, LocalizedText, Variant, VariantArrayType } from 'node-opcua-client';
import {
  type DataType as GatewayDataType,
  gatewayStatus,
  type ProtocolStatus,
  type Quality,
  type Reading,
  type ReadingScalar,
  type ReadingValue,
} from '../contract.js';

/** The StatusCode fields decode needs; node-opcua's StatusCode objects have both. */
export interface StatusCodeLike {
  value: number;
  name: string;
}

/** Severity is in bits 30–31: 00 Good, 01 Uncertain, 10 Bad (11 is reserved and treated as Bad). */
export function qualityOf(code: number): Quality {
  const severity = (code >>> 30) & 0b11;
  if (severity === 0) return 'good';
  if (severity === 1) return 'uncertain';
  return 'bad';
}

/** The status to publish: omitted for plain Good (code 0), otherwise the full code and its name. */
export function statusOf(statusCode: StatusCodeLike): ProtocolStatus | undefined {
  const code = statusCode.value >>> 0;
  if (code === 0) return undefined;
  return { source: 'opcua', code, name: statusCode.name };
}

type Decoded = { ok: true; value: ReadingValue } | { ok: false; status: ProtocolStatus };

const noValue: Decoded = { ok: false, status: gatewayStatus.noValue };
const invalid: Decoded = { ok: false, status: gatewayStatus.invalidValue };

/** Decodes a Variant into a value the wire schema carries; arrays and matrices become flat plain arrays. */
export function decodeVariant(variant: Variant): Decoded {
  if (variant.dataType === DataType.Null || variant.value === null || variant.value === undefined)
    return noValue;
  if (variant.arrayType === VariantArrayType.Scalar) {
    const scalar = decodeScalar(variant.dataType, variant.value);
    return scalar === undefined ? invalid : { ok: true, value: scalar };
  }
  const elements: ReadingScalar[] = [];
  for (const element of Array.from(variant.value as ArrayLike<unknown>)) {
    const scalar = decodeScalar(variant.dataType, element);
    if (scalar === undefined) return invalid;
    elements.push(scalar);
  }
  return { ok: true, value: elements };
}

/** One scalar, or `undefined` when it has no representation on the wire. */
function decodeScalar(dataType: DataType, value: unknown): ReadingScalar | undefined {
  switch (dataType) {
    case DataType.Boolean:
      return typeof value === 'boolean' ? value : undefined;
    case DataType.SByte:
    case DataType.Byte:
    case DataType.Int16:
    case DataType.UInt16:
    case DataType.Int32:
    case DataType.UInt32:
    case DataType.Double:
      return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
    case DataType.Float:
      return typeof value === 'number' && Number.isFinite(value) ? shortestFloat32(value) : undefined;
    case DataType.Int64:
      return int64ToDecimal(value, true);
    case DataType.UInt64:
      return int64ToDecimal(value, false);
    case DataType.String:
    case DataType.XmlElement:
      return typeof value === 'string' ? value : undefined;
    case DataType.DateTime:
      return value instanceof Date && Number.isFinite(value.getTime()) ? value.getTime() : undefined;
    case DataType.LocalizedText: {
      const text = (value as { text?: unknown } | null)?.text;
      return typeof text === 'string' ? text : undefined;
    }
    case DataType.ByteString:
      return Buffer.isBuffer(value) ? value.toString('base64') : undefined;
    case DataType.Guid:
      return typeof value === 'string' ? value : undefined;
    case DataType.NodeId:
    case DataType.ExpandedNodeId:
    case DataType.QualifiedName:
      return value === null || value === undefined ? undefined : String(value);
    default:
      return undefined;
  }
}

/** node-opcua carries 64-bit integers as [high, low] uint32 words; the wire carries exact decimal strings. */
function int64ToDecimal(value: unknown, signed: boolean): string | undefined {
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [high, low] = value as unknown[];
  if (typeof high !== 'number' || typeof low !== 'number') return undefined;
  const bits = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
  return (signed ? BigInt.asIntN(64, bits) : bits).toString();
}

/** A Float widened to double shows noise digits (0.1 → 0.10000000149011612); keep the digits float32 holds. */
function shortestFloat32(value: number): number {
  for (let digits = 6; digits < 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return Number(value.toPrecision(9));
}

/** Epoch ms of an OPC UA timestamp, or `undefined` when absent (null or the 1601 "MinDateTime"). */
export function epochMillis(date: Date | null | undefined): number | undefined {
  if (!date) return undefined;
  const ms = date.getTime();
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** Which timestamp of a DataValue is the series time (`ts`). */
export type SeriesTime = 'source' | 'server';

/**
 * One reading from one DataValue. A bad status always gives `value: null`, never a stale value. `ts` is
 * the chosen timestamp (source by default), falling back to the other one, then to when the gateway
 * received it.
 */
export function readingFromDataValue(
  point: string,
  dataValue: DataValue,
  receivedAt: number,
  seriesTime: SeriesTime = 'source',
): Reading {
  const serverTs = epochMillis(dataValue.serverTimestamp);
  const sourceTs = epochMillis(dataValue.sourceTimestamp);
  const ts = (seriesTime === 'source' ? (sourceTs ?? serverTs) : (serverTs ?? sourceTs)) ?? receivedAt;
  // Built in one object literal per outcome: this runs once per notification.
  let reading: Reading;
  const quality = qualityOf(dataValue.statusCode.value);
  const decoded = quality === 'bad' ? undefined : decodeVariant(dataValue.value);
  if (decoded && !decoded.ok) reading = { point, value: null, ts, quality: 'bad', status: decoded.status };
  else {
    reading = { point, value: decoded ? decoded.value : null, ts, quality };
    const status = statusOf(dataValue.statusCode);
    if (status) reading.status = status;
  }
  if (serverTs !== undefined) reading.serverTs = serverTs;
  return reading;
}

/**
 * The UNECE Rec 20 common code in an EUInformation `unitId` (OPC UA Part 8, 5.6.3): the code's ASCII
 * characters packed big-endian into the integer; -1 or 0 means none.
 */
export function uneceCodeOf(unitId: number): string | undefined {
  if (!Number.isInteger(unitId) || unitId <= 0) return undefined;
  let code = '';
  for (let shift = 24; shift >= 0; shift -= 8) {
    const byte = (unitId >>> shift) & 0xff;
    if (byte !== 0) code += String.fromCharCode(byte);
  }
  return /^[A-Z0-9]{2,3}$/.test(code) ? code : undefined;
}

/** The gateway data type of an OPC UA built-in type, for point metadata; `undefined` when it has none. */
export function dataTypeOf(dataType: DataType): GatewayDataType | undefined {
  return gatewayDataTypes[dataType];
}

const gatewayDataTypes: Partial<Record<DataType, GatewayDataType>> = {
  [DataType.Boolean]: 'bool',
  [DataType.SByte]: 'int16',
  [DataType.Byte]: 'uint16',
  [DataType.Int16]: 'int16',
  [DataType.UInt16]: 'uint16',
  [DataType.Int32]: 'int32',
  [DataType.UInt32]: 'uint32',
  [DataType.Int64]: 'int64',
  [DataType.UInt64]: 'uint64',
  [DataType.Float]: 'float32',
  [DataType.Double]: 'float64',
  [DataType.String]: 'string',
  [DataType.LocalizedText]: 'string',
  [DataType.DateTime]: 'datetime',
};

/**
 * The Variant to write for a command value, given the variable's built-in type: 64-bit integers from
 * decimal strings, DateTime from epoch ms. `undefined` when the value cannot take that type.
 */
export function variantForWrite(dataType: DataType, value: ReadingScalar): Variant | undefined {
  const scalar = encodeScalar(dataType, value);
  return scalar === undefined
    ? undefined
    : new Variant({ dataType, arrayType: VariantArrayType.Scalar, value: scalar });
}

function encodeScalar(dataType: DataType, value: ReadingScalar): unknown {
  switch (dataType) {
    case DataType.Boolean:
      return typeof value === 'boolean' ? value : undefined;
    case DataType.SByte:
    case DataType.Byte:
    case DataType.Int16:
    case DataType.UInt16:
    case DataType.Int32:
    case DataType.UInt32:
      return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
    case DataType.Float:
    case DataType.Double:
      return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
    case DataType.Int64:
    case DataType.UInt64: {
      if (typeof value !== 'string' && !(typeof value === 'number' && Number.isSafeInteger(value)))
        return undefined;
      if (!/^-?\d+$/.test(String(value))) return undefined;
      const bits = BigInt.asUintN(64, BigInt(value));
      // node-opcua writes the high word of an Int64 as a signed 32-bit integer.
      const high = dataType === DataType.Int64 ? BigInt.asIntN(32, bits >> 32n) : bits >> 32n;
      return [Number(high), Number(bits & 0xffff_ffffn)];
    }
    case DataType.String:
      return typeof value === 'string' ? value : undefined;
    case DataType.LocalizedText:
      return typeof value === 'string' ? new LocalizedText({ text: value }) : undefined;
    case DataType.DateTime:
      return typeof value === 'number' && Number.isFinite(value) ? new Date(value) : undefined;
    default:
      return undefined;
  }
}

/** What stands for a point while the server is unreachable, so no stale good value stays current. */
export function notConnectedReading(point: string, now: number): Reading {
  return { point, value: null, ts: now, quality: 'bad', status: gatewayStatus.notConnected };
}
