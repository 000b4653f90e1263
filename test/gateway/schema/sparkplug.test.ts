import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  decodePayload,
  encodePayload,
  parseSparkplugTopic,
  qualityCodes,
  qualityOfCode,
  SparkplugCodecError,
  type SparkplugMetric,
  sparkplugTopic,
  stateTopic,
} from '../../../gateway/schema/sparkplug/index.js';

// Eclipse Tahu's JavaScript payload library: an independent implementation to check against.
const tahu = createRequire(import.meta.url)('sparkplug-payload').get('spBv1.0') as {
  encodePayload(payload: unknown): Uint8Array;
  decodePayload(bytes: Uint8Array): {
    timestamp: unknown;
    seq: unknown;
    metrics: Array<Record<string, unknown>>;
  };
};

/** Tahu decodes 64-bit fields as Long objects; compare them as decimal strings. */
function plain(value: unknown): unknown {
  if (value && typeof value === 'object' && 'low' in value && 'high' in value) return String(value);
  return value;
}

const everyType: SparkplugMetric[] = [
  { name: 'int8', datatype: 'Int8', value: -128 },
  { name: 'int16', datatype: 'Int16', value: -32768 },
  { name: 'int32', datatype: 'Int32', value: -2147483648 },
  { name: 'int64', datatype: 'Int64', value: '-9223372036854775808' },
  { name: 'uint8', datatype: 'UInt8', value: 255 },
  { name: 'uint16', datatype: 'UInt16', value: 65535 },
  { name: 'uint32', datatype: 'UInt32', value: 4294967295 },
  { name: 'uint64', datatype: 'UInt64', value: '18446744073709551615' },
  { name: 'float', datatype: 'Float', value: 0.1 },
  { name: 'double', datatype: 'Double', value: 1234.000000000001 },
  { name: 'bool', datatype: 'Boolean', value: true },
  { name: 'string', datatype: 'String', value: '主轴转速' },
  { name: 'datetime', datatype: 'DateTime', value: 1_764_000_000_123 },
  { name: 'null', datatype: 'Double', value: null },
];

describe('Sparkplug B payload codec', () => {
  it("round-trips every scalar type exactly, including two's complement extremes", () => {
    const bytes = encodePayload({ timestamp: 1_764_000_000_000, seq: 7, metrics: everyType });
    const decoded = decodePayload(bytes);
    expect(decoded.seq).toBe(7);
    expect(decoded.timestamp).toBe(1_764_000_000_000);
    expect(decoded.metrics.map((m) => [m.name, m.datatype, m.value])).toEqual(
      everyType.map((m) => [m.name, m.datatype, m.value]),
    );
  });

  it('writes payloads that Eclipse Tahu decodes to the same values', () => {
    const metrics: SparkplugMetric[] = [
      ...everyType.filter((m) => m.name !== 'float'),
      {
        name: 'temp',
        alias: 12,
        timestamp: 1_764_000_000_500,
        datatype: 'Double',
        value: 41.5,
        isHistorical: true,
        properties: { Quality: { type: 'Int32', value: 192 }, Line: { type: 'String', value: 'machining' } },
      },
    ];
    const decoded = tahu.decodePayload(encodePayload({ timestamp: 1_764_000_000_000, seq: 255, metrics }));
    expect(plain(decoded.seq)).toBe('255');
    const byName = new Map(decoded.metrics.map((m) => [m.name, m]));
    const signed = (v: unknown, bits: number) => (Number(v) << (32 - bits)) >> (32 - bits);
    expect(signed(byName.get('int8')?.value, 8)).toBe(-128);
    expect(signed(byName.get('int16')?.value, 16)).toBe(-32768);
    expect(Number(byName.get('int32')?.value) | 0).toBe(-2147483648);
    expect(BigInt.asIntN(64, BigInt(plain(byName.get('int64')?.value) as string))).toBe(
      -9223372036854775808n,
    );
    expect(plain(byName.get('uint64')?.value)).toBe('18446744073709551615');
    expect(plain(byName.get('uint32')?.value)).toBe('4294967295');
    expect(byName.get('string')?.value).toBe('主轴转速');
    expect(plain(byName.get('datetime')?.value)).toBe('1764000000123');
    expect(byName.get('null')?.value).toBeNull();
    const temp = byName.get('temp') as Record<string, unknown>;
    expect(plain(temp.alias)).toBe('12');
    expect(temp.isHistorical).toBe(true);
    expect(temp.value).toBe(41.5);
    expect(temp.properties).toMatchObject({
      Quality: { type: 'Int32', value: 192 },
      Line: { value: 'machining' },
    });
  });

  it('reads payloads that Eclipse Tahu wrote', () => {
    const bytes = tahu.encodePayload({
      timestamp: 1_764_000_000_000,
      seq: 3,
      metrics: [
        { name: 'bdSeq', type: 'Int64', value: 4 },
        { name: 'Node Control/Rebirth', type: 'Boolean', value: false },
        {
          name: 'speed',
          alias: 2,
          type: 'Float',
          value: 1450.5,
          properties: { Quality: { type: 'Int32', value: 0 } },
        },
        { name: 'label', type: 'String', value: 'CNC-01' },
      ],
    });
    const decoded = decodePayload(bytes);
    expect(decoded.seq).toBe(3);
    expect(decoded.metrics).toEqual([
      { name: 'bdSeq', datatype: 'Int64', value: '4' },
      { name: 'Node Control/Rebirth', datatype: 'Boolean', value: false },
      {
        name: 'speed',
        alias: 2,
        datatype: 'Float',
        value: 1450.5,
        properties: { Quality: { type: 'Int32', value: 0 } },
      },
      { name: 'label', datatype: 'String', value: 'CNC-01' },
    ]);
  });

  it('decodes DATA metrics sent by alias with the datatype their BIRTH declared', () => {
    const birthTypes = new Map([[5, 'UInt32' as const]]);
    const bytes = encodePayload({ seq: 1, metrics: [{ alias: 5, value: 42 }] }, (m) =>
      birthTypes.get(m.alias ?? -1),
    );
    expect(decodePayload(bytes, (m) => birthTypes.get(m.alias ?? -1)).metrics).toEqual([
      { alias: 5, datatype: 'UInt32', value: 42 },
    ]);
    expect(() => decodePayload(bytes)).toThrow(/no datatype known/);
  });

  it('refuses values that do not fit their type, and bytes that are not a payload', () => {
    expect(() => encodePayload({ metrics: [{ name: 'x', datatype: 'UInt16', value: 70000 }] })).toThrow(
      SparkplugCodecError,
    );
    expect(() =>
      encodePayload({ metrics: [{ name: 'x', datatype: 'Int64', value: '9223372036854775808' }] }),
    ).toThrow(/not a Int64/);
    expect(() => decodePayload(Buffer.from([0x0a, 0xff, 0xff, 0xff]))).toThrow(SparkplugCodecError);
  });
});

describe('Sparkplug B quality codes', () => {
  it('reads quality codes of the OPC-classic and Ignition 8 conventions', () => {
    expect([192, 216, 64, 100, 0, 24].map(qualityOfCode)).toEqual([
      'good',
      'good',
      'uncertain',
      'uncertain',
      'bad',
      'bad',
    ]);
    expect([1073742080, -2147483136].map(qualityOfCode)).toEqual(['uncertain', 'bad']);
  });

  it('reads back the code the edge node writes for each quality', () => {
    for (const [quality, code] of Object.entries(qualityCodes)) expect(qualityOfCode(code)).toBe(quality);
  });
});

describe('Sparkplug B topics', () => {
  it('builds and parses edge node and device topics', () => {
    const topic = sparkplugTopic({
      groupId: 'bj-etown-cnc',
      messageType: 'DDATA',
      edgeNodeId: 'gw-1',
      deviceId: 'cnc-01',
    });
    expect(topic).toBe('spBv1.0/bj-etown-cnc/DDATA/gw-1/cnc-01');
    expect(parseSparkplugTopic(topic)).toEqual({
      groupId: 'bj-etown-cnc',
      messageType: 'DDATA',
      edgeNodeId: 'gw-1',
      deviceId: 'cnc-01',
    });
    expect(parseSparkplugTopic('spBv1.0/g/NBIRTH/n')).toEqual({
      groupId: 'g',
      messageType: 'NBIRTH',
      edgeNodeId: 'n',
    });
    expect(parseSparkplugTopic('spBv1.0/g/DDATA/n')).toBeUndefined();
    expect(parseSparkplugTopic('spBv1.0/g/NDATA/n/d')).toBeUndefined();
    expect(parseSparkplugTopic(stateTopic('scada-1'))).toBeUndefined();
    expect(parseSparkplugTopic('jjj/v1/BJ/s/g/telemetry')).toBeUndefined();
  });
});
