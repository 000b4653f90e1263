import { describe, expect, it } from 'vitest';
import {
  integerRanges,
  isIntegerType,
  type MetadataMessage,
  PointRecord,
  parsePointId,
  parseTopic,
  pointId,
  type StatusMessage,
  TelemetryBatch,
  topicFor,
  WireMessage,
} from '../../../gateway/schema/index.js';
import { jsonSchemaDocuments, renderJsonSchema } from '../../../gateway/schema/json-schema.js';
import { committedJsonSchemaText, jsonSchemaValidator } from '../../helpers/json-schema.js';

const site = { region: 'TJ', project: 'jjj-dp-02', site: 'tj-binhai-smt' } as const;

const batch: TelemetryBatch = {
  schema: 'jjj.telemetry/1',
  ...site,
  gateway: { id: 'gw-tj-binhai-smt', boot: 3, seq: 41 },
  sentTs: 1_764_000_000_500,
  points: [
    {
      line: 'smt-1',
      equipment: 'placer-01',
      point: 'good-count',
      value: 1200,
      ts: 1_764_000_000_000,
      quality: 'good',
    },
    {
      line: 'smt-1',
      equipment: 'placer-01',
      point: 'energy-wh',
      value: '18446744073709551615',
      ts: 1_764_000_000_000,
      serverTs: 1_764_000_000_010,
      quality: 'uncertain',
      status: { source: 'opcua', code: 0x408f0000, name: 'UncertainDataSubNormal' },
    },
    {
      line: 'utilities',
      equipment: 'meter-main',
      point: 'power',
      value: null,
      ts: 1_764_000_000_000,
      quality: 'bad',
      status: { source: 'modbus', code: 2, name: 'IllegalDataAddress' },
    },
  ],
};

const metadata: MetadataMessage = {
  schema: 'jjj.metadata/1',
  ...site,
  gateway: { id: 'gw-tj-binhai-smt', boot: 3 },
  ts: 1_764_000_000_000,
  siteName: { zh: '滨海电子贴片智能工厂', en: 'Binhai SMT Smart Factory' },
  points: [
    {
      line: 'smt-1',
      equipment: 'placer-01',
      point: 'good-count',
      protocol: 'opcua',
      address: 'ns=1;s=placer-01.good-count',
      dataType: 'uint32',
      unit: 'C62',
    },
  ],
};

const status: StatusMessage = {
  schema: 'jjj.status/1',
  ...site,
  gateway: { id: 'gw-tj-binhai-smt', boot: 3 },
  state: 'offline',
  ts: 1_764_000_000_000,
};

const record: PointRecord = {
  schema: 'jjj.point/1',
  ...site,
  gateway: 'gw-tj-binhai-smt',
  line: 'smt-1',
  equipment: 'placer-01',
  point: 'board-temp',
  value: 41.5,
  ts: 1_764_000_000_000,
  quality: 'good',
  unit: 'CEL',
};

describe('wire schema', () => {
  it.each(jsonSchemaDocuments.map((schema) => [schema.file, schema] as const))(
    'keeps the committed %s in step with the zod source (run `npm run schema:generate`)',
    (file, schema) => {
      expect(committedJsonSchemaText(file)).toBe(renderJsonSchema(schema));
    },
  );

  it('accepts every message kind, in zod and in the JSON Schema alike', () => {
    const validate = jsonSchemaValidator();
    for (const message of [batch, metadata, status]) {
      expect(WireMessage.parse(message)).toEqual(message);
      expect(validate(message)).toEqual([]);
    }
    expect(PointRecord.parse(record)).toEqual(record);
    expect(validate(record)).toEqual([]);
  });

  it.each([
    ['an unknown region', { ...batch, region: 'SH' }],
    ['a fractional sequence number', { ...batch, gateway: { ...batch.gateway, seq: 1.5 } }],
    ['an empty batch', { ...batch, points: [] }],
    ['an identifier with capitals', { ...batch, site: 'TJ Binhai' }],
    ['an unknown quality', { ...batch, points: [{ ...batch.points[0], quality: 'ok' }] }],
    [
      'a millisecond timestamp that is not an integer',
      { ...batch, points: [{ ...batch.points[0], ts: 1.5 }] },
    ],
    ['an unknown schema version', { ...batch, schema: 'jjj.telemetry/3' }],
  ])('rejects %s in zod and in the JSON Schema', (_, message) => {
    expect(WireMessage.safeParse(message).success).toBe(false);
    expect(jsonSchemaValidator()(message)).not.toEqual([]);
  });

  it('refuses a null value unless quality is bad (no invented or stale values)', () => {
    const result = TelemetryBatch.safeParse({ ...batch, points: [{ ...batch.points[0], value: null }] });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['points', 0, 'value']);
  });

  it('builds and parses the topic namespace', () => {
    const topic = topicFor({ region: 'HE', site: 'he-langfang-display', gateway: 'gw-1', kind: 'telemetry' });
    expect(topic).toBe('jjj/v1/HE/he-langfang-display/gw-1/telemetry');
    expect(parseTopic(topic)).toEqual({
      region: 'HE',
      site: 'he-langfang-display',
      gateway: 'gw-1',
      kind: 'telemetry',
    });
    expect(parseTopic('jjj/v1/SH/site/gw/telemetry')).toBeUndefined();
    expect(parseTopic('jjj/v1/HE/site/gw/other')).toBeUndefined();
    expect(parseTopic('jjj/v1/HE/site/telemetry')).toBeUndefined();
  });

  it('names a point by site, line, equipment and point', () => {
    expect(pointId('bj-etown-cnc', { line: 'machining', equipment: 'cnc-01', point: 'spindle-speed' })).toBe(
      'bj-etown-cnc/machining/cnc-01/spindle-speed',
    );
  });

  it('parses a point id back into its parts, and nothing else', () => {
    const identity = { line: 'machining', equipment: 'cnc-01', point: 'spindle-speed' };
    expect(parsePointId(pointId('bj-etown-cnc', identity))).toEqual({ site: 'bj-etown-cnc', ...identity });
    for (const id of ['bj-etown-cnc/machining/cnc-01', 'a/b/c/d/e', 'a/b//d', 'a/B/c/d', '']) {
      expect(parsePointId(id)).toBeUndefined();
    }
  });

  it('gives each integer type the range of its bits', () => {
    expect(integerRanges.int16).toEqual([-32768, 32767]);
    expect(integerRanges.uint32).toEqual([0, 4294967295]);
    expect(integerRanges.uint64).toEqual([0n, 18446744073709551615n]);
    expect(isIntegerType('int64')).toBe(true);
    expect(isIntegerType('float32')).toBe(false);
  });

  it('describes the command messages in the committed command.schema.json', () => {
    const validate = jsonSchemaValidator('command.schema.json');
    const command = {
      schema: 'jjj.command/2',
      id: 'c-1',
      target: { region: 'TJ', site: 'tj-binhai-smt', gateway: 'gw-tj-binhai-smt' },
      ts: 1_764_000_000_000,
      expiresTs: 1_764_000_030_000,
      by: 'operator@plant',
      writes: [{ line: 'machining', equipment: 'cnc-01', point: 'setpoint', value: 5 }],
      signature: { alg: 'ed25519', keyId: 'cloud-1', value: `${'A'.repeat(86)}==` },
    };
    expect(validate(command)).toEqual([]);
    expect(validate({ ...command, writes: [] })).not.toEqual([]);
    const { signature: _, ...unsigned } = command;
    expect(validate(unsigned)).not.toEqual([]);
    const ack = {
      schema: 'jjj.command-ack/1',
      ...site,
      id: 'c-1',
      gateway: { id: 'gw-tj-binhai-smt', boot: 3 },
      ts: 1_764_000_000_000,
      signer: 'cloud-1',
      by: 'operator@plant',
      results: [
        { line: 'machining', equipment: 'cnc-01', point: 'setpoint', ok: false, reason: 'not writable' },
      ],
    };
    expect(validate(ack)).toEqual([]);
    const { signer: _signer, by: _by, ...refused } = ack;
    expect(validate({ ...refused, results: [], error: 'expired: …' })).toEqual([]);
  });
});
