/**
 * Pure mapping from OPC UA DataValues to readings: StatusCode → quality and status, Variant → a value
 * the wire schema can carry, timestamps → epoch milliseconds. No I/O here.
 */
import { DataType, type DataValue, type Variant, VariantArrayType } from 'node-opcua';
import {
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

/**
 * One reading from one DataValue. A bad status always gives `value: null`, never a stale value. `ts` is
 * the source timestamp, falling back to the server timestamp, then to when the gateway received it.
 */
export function readingFromDataValue(point: string, dataValue: DataValue, receivedAt: number): Reading {
  const serverTs = epochMillis(dataValue.serverTimestamp);
  const ts = epochMillis(dataValue.sourceTimestamp) ?? serverTs ?? receivedAt;
  const base = serverTs === undefined ? { point, ts } : { point, ts, serverTs };
  const quality = qualityOf(dataValue.statusCode.value);
  const status = statusOf(dataValue.statusCode);
  if (quality === 'bad') return { ...base, value: null, quality, ...(status && { status }) };
  const decoded = decodeVariant(dataValue.value);
  if (!decoded.ok) return { ...base, value: null, quality: 'bad', status: decoded.status };
  return { ...base, value: decoded.value, quality, ...(status && { status }) };
}

/** What stands for a point while the server is unreachable, so no stale good value stays current. */
export function notConnectedReading(point: string, now: number): Reading {
  return { point, value: null, ts: now, quality: 'bad', status: gatewayStatus.notConnected };
}
