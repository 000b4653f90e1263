import {
  coerceInt64,
  coerceUInt64,
  DataType,
  DataValue,
  LocalizedText,
  StatusCode,
  StatusCodes,
  Variant,
  VariantArrayType,
} from 'node-opcua';
import { describe, expect, it } from 'vitest';
import { gatewayStatus } from '../../../adapters/contract.js';
import {
  dataTypeOf,
  decodeVariant,
  epochMillis,
  notConnectedReading,
  qualityOf,
  readingFromDataValue,
  statusOf,
  uneceCodeOf,
  variantForWrite,
} from '../../../adapters/opcua/decode.js';

const scalar = (dataType: DataType, value: unknown) =>
  new Variant({ dataType, arrayType: VariantArrayType.Scalar, value });

describe('qualityOf', () => {
  it('maps the severity bits 30–31', () => {
    expect(qualityOf(StatusCodes.Good.value)).toBe('good');
    expect(qualityOf(StatusCodes.GoodClamped.value)).toBe('good');
    expect(qualityOf(StatusCodes.UncertainLastUsableValue.value)).toBe('uncertain');
    expect(qualityOf(StatusCodes.BadCommunicationError.value)).toBe('bad');
    expect(qualityOf(0xc000_0000)).toBe('bad');
  });
});

describe('statusOf', () => {
  it('omits plain Good and keeps every other code whole', () => {
    expect(statusOf(StatusCodes.Good)).toBeUndefined();
    expect(statusOf(StatusCodes.BadCommunicationError)).toEqual({
      source: 'opcua',
      code: 0x8005_0000,
      name: 'BadCommunicationError',
    });
    const withInfoBits = StatusCode.makeStatusCode(StatusCodes.UncertainLastUsableValue, 'Overflow');
    expect(statusOf(withInfoBits)).toEqual({
      source: 'opcua',
      code: withInfoBits.value,
      name: withInfoBits.name,
    });
    expect(statusOf(withInfoBits)?.code).not.toBe(StatusCodes.UncertainLastUsableValue.value);
  });
});

describe('decodeVariant', () => {
  it('passes numbers, booleans and strings through', () => {
    expect(decodeVariant(scalar(DataType.Double, 1200.5))).toEqual({ ok: true, value: 1200.5 });
    expect(decodeVariant(scalar(DataType.Int32, -42))).toEqual({ ok: true, value: -42 });
    expect(decodeVariant(scalar(DataType.UInt16, 65535))).toEqual({ ok: true, value: 65535 });
    expect(decodeVariant(scalar(DataType.Boolean, false))).toEqual({ ok: true, value: false });
    expect(decodeVariant(scalar(DataType.String, '主轴'))).toEqual({ ok: true, value: '主轴' });
  });

  it('keeps the digits a Float holds instead of its double widening', () => {
    expect(decodeVariant(scalar(DataType.Float, Math.fround(0.1)))).toEqual({ ok: true, value: 0.1 });
    expect(decodeVariant(scalar(DataType.Float, Math.fround(16777217)))).toEqual({
      ok: true,
      value: 16777216,
    });
  });

  it('turns 64-bit integers into exact decimal strings', () => {
    expect(decodeVariant(scalar(DataType.Int64, coerceInt64('9007199254740993')))).toEqual({
      ok: true,
      value: '9007199254740993',
    });
    expect(decodeVariant(scalar(DataType.Int64, coerceInt64('-9223372036854775808')))).toEqual({
      ok: true,
      value: '-9223372036854775808',
    });
    expect(decodeVariant(scalar(DataType.Int64, coerceInt64(-5)))).toEqual({ ok: true, value: '-5' });
    expect(decodeVariant(scalar(DataType.UInt64, coerceUInt64('18446744073709551615')))).toEqual({
      ok: true,
      value: '18446744073709551615',
    });
  });

  it('turns DateTime into epoch ms, LocalizedText into its text, ByteString into base64', () => {
    const when = new Date('2025-03-01T08:00:00.125Z');
    expect(decodeVariant(scalar(DataType.DateTime, when))).toEqual({ ok: true, value: when.getTime() });
    expect(
      decodeVariant(scalar(DataType.LocalizedText, new LocalizedText({ locale: 'zh-CN', text: '运行' }))),
    ).toEqual({ ok: true, value: '运行' });
    expect(decodeVariant(scalar(DataType.ByteString, Buffer.from([0xde, 0xad, 0xbe, 0xef])))).toEqual({
      ok: true,
      value: '3q2+7w==',
    });
  });

  it('turns typed arrays and 64-bit arrays into plain arrays', () => {
    const doubles = new Variant({
      dataType: DataType.Double,
      arrayType: VariantArrayType.Array,
      value: [1.5, 2],
    });
    expect(doubles.value).toBeInstanceOf(Float64Array);
    const decoded = decodeVariant(doubles);
    expect(decoded).toEqual({ ok: true, value: [1.5, 2] });
    expect(decoded.ok && Array.isArray(decoded.value)).toBe(true);
    const counters = new Variant({
      dataType: DataType.UInt64,
      arrayType: VariantArrayType.Array,
      value: [coerceUInt64(1), coerceUInt64('4294967296')],
    });
    expect(decodeVariant(counters)).toEqual({ ok: true, value: ['1', '4294967296'] });
  });

  it('refuses what the wire cannot carry', () => {
    expect(decodeVariant(new Variant({ dataType: DataType.Null }))).toEqual({
      ok: false,
      status: gatewayStatus.noValue,
    });
    expect(decodeVariant(scalar(DataType.Double, Number.NaN))).toEqual({
      ok: false,
      status: gatewayStatus.invalidValue,
    });
    const withInfinity = new Variant({
      dataType: DataType.Double,
      arrayType: VariantArrayType.Array,
      value: [1, Number.POSITIVE_INFINITY],
    });
    expect(decodeVariant(withInfinity)).toEqual({ ok: false, status: gatewayStatus.invalidValue });
  });
});

describe('epochMillis', () => {
  it('treats null and the OPC UA minimum date as absent', () => {
    expect(epochMillis(null)).toBeUndefined();
    expect(epochMillis(new Date('1601-01-01T00:00:00Z'))).toBeUndefined();
    expect(epochMillis(new Date(1_700_000_000_123))).toBe(1_700_000_000_123);
  });
});

describe('readingFromDataValue', () => {
  const source = new Date('2025-03-01T08:00:00.000Z');
  const server = new Date('2025-03-01T08:00:00.040Z');
  const receivedAt = Date.parse('2025-03-01T08:00:01.000Z');

  it('takes the source timestamp as ts and keeps the server timestamp', () => {
    const dataValue = new DataValue({
      value: scalar(DataType.Double, 7.25),
      sourceTimestamp: source,
      serverTimestamp: server,
    });
    expect(readingFromDataValue('spindle-speed', dataValue, receivedAt)).toEqual({
      point: 'spindle-speed',
      value: 7.25,
      ts: source.getTime(),
      serverTs: server.getTime(),
      quality: 'good',
    });
  });

  it('falls back to the server timestamp, then to the receive time', () => {
    const serverOnly = new DataValue({ value: scalar(DataType.Int32, 1), serverTimestamp: server });
    expect(readingFromDataValue('p', serverOnly, receivedAt)).toMatchObject({
      ts: server.getTime(),
      serverTs: server.getTime(),
    });
    const neither = readingFromDataValue(
      'p',
      new DataValue({ value: scalar(DataType.Int32, 1) }),
      receivedAt,
    );
    expect(neither.ts).toBe(receivedAt);
    expect(neither).not.toHaveProperty('serverTs');
  });

  it('never carries a value with a bad status', () => {
    const dataValue = new DataValue({
      value: scalar(DataType.Double, 99.9),
      statusCode: StatusCodes.BadCommunicationError,
      sourceTimestamp: source,
    });
    expect(readingFromDataValue('spindle-temp', dataValue, receivedAt)).toEqual({
      point: 'spindle-temp',
      value: null,
      ts: source.getTime(),
      quality: 'bad',
      status: { source: 'opcua', code: 0x8005_0000, name: 'BadCommunicationError' },
    });
  });

  it('keeps the value and the code of an uncertain reading', () => {
    const dataValue = new DataValue({
      value: scalar(DataType.Double, 41.5),
      statusCode: StatusCodes.UncertainLastUsableValue,
    });
    expect(readingFromDataValue('spindle-temp', dataValue, receivedAt)).toMatchObject({
      value: 41.5,
      quality: 'uncertain',
      status: { source: 'opcua', name: 'UncertainLastUsableValue' },
    });
  });

  it('makes a Good reading without a usable value bad, with a gateway status', () => {
    const dataValue = new DataValue({ value: new Variant({ dataType: DataType.Null }) });
    expect(readingFromDataValue('p', dataValue, receivedAt)).toMatchObject({
      value: null,
      quality: 'bad',
      status: gatewayStatus.noValue,
    });
  });
});

describe('notConnectedReading', () => {
  it('is bad, null and says NotConnected', () => {
    expect(notConnectedReading('state', 1_700_000_000_000)).toEqual({
      point: 'state',
      value: null,
      ts: 1_700_000_000_000,
      quality: 'bad',
      status: { source: 'gateway', code: 2, name: 'NotConnected' },
    });
  });
});

describe('series time', () => {
  const dataValue = new DataValue({
    value: scalar(DataType.Double, 1.5),
    sourceTimestamp: new Date(1_000),
    serverTimestamp: new Date(2_000),
  });

  it('is the source timestamp by default and the server timestamp on request, both carried', () => {
    expect(readingFromDataValue('p', dataValue, 3_000)).toMatchObject({ ts: 1_000, serverTs: 2_000 });
    expect(readingFromDataValue('p', dataValue, 3_000, 'server')).toMatchObject({
      ts: 2_000,
      serverTs: 2_000,
    });
  });

  it('falls back to the other timestamp, then to the receive time', () => {
    const sourceOnly = new DataValue({ value: scalar(DataType.Double, 1), sourceTimestamp: new Date(1_000) });
    expect(readingFromDataValue('p', sourceOnly, 3_000, 'server').ts).toBe(1_000);
    expect(readingFromDataValue('p', new DataValue({ value: scalar(DataType.Double, 1) }), 3_000).ts).toBe(
      3_000,
    );
  });
});

describe('uneceCodeOf', () => {
  it('unpacks the UNECE common code of an EUInformation unitId (OPC UA Part 8)', () => {
    // Part 8's examples: degree Celsius "CEL" = 4408652, revolutions per minute "RPM" = 5394509.
    expect(uneceCodeOf(4_408_652)).toBe('CEL');
    expect(uneceCodeOf(5_394_509)).toBe('RPM');
    expect(uneceCodeOf((0x4b << 16) | (0x57 << 8) | 0x48)).toBe('KWH');
    expect(uneceCodeOf((0x43 << 16) | (0x36 << 8) | 0x32)).toBe('C62');
  });

  it('gives nothing for "no unit" or a code that is not one', () => {
    expect(uneceCodeOf(-1)).toBeUndefined();
    expect(uneceCodeOf(0)).toBeUndefined();
    expect(uneceCodeOf(0x0a0b0c)).toBeUndefined();
  });
});

describe('dataTypeOf', () => {
  it('maps built-in types to the gateway data types', () => {
    expect(dataTypeOf(DataType.Double)).toBe('float64');
    expect(dataTypeOf(DataType.Float)).toBe('float32');
    expect(dataTypeOf(DataType.UInt64)).toBe('uint64');
    expect(dataTypeOf(DataType.LocalizedText)).toBe('string');
    expect(dataTypeOf(DataType.DateTime)).toBe('datetime');
    expect(dataTypeOf(DataType.ExtensionObject)).toBeUndefined();
  });
});

describe('variantForWrite', () => {
  it('encodes values the way decode reads them back', () => {
    for (const [dataType, value] of [
      [DataType.Int64, '-9007199254740993'],
      [DataType.UInt64, '18446744073709551615'],
      [DataType.Double, 12.25],
      [DataType.Boolean, true],
      [DataType.String, 'O1002'],
      [DataType.LocalizedText, 'running'],
      [DataType.DateTime, Date.parse('2025-03-01T08:00:00.000Z')],
    ] as const) {
      const variant = variantForWrite(dataType, value);
      expect(variant && decodeVariant(variant)).toEqual({ ok: true, value });
    }
  });

  it('refuses a value the type cannot take', () => {
    expect(variantForWrite(DataType.Int32, 1.5)).toBeUndefined();
    expect(variantForWrite(DataType.Int64, '12a')).toBeUndefined();
    expect(variantForWrite(DataType.Boolean, 1)).toBeUndefined();
    expect(variantForWrite(DataType.ExtensionObject, 'x')).toBeUndefined();
  });
});
