import { describe, expect, it } from 'vitest';
import {
  type MetadataMessage,
  PointRecord,
  parseTopic,
  pointId,
  type StatusMessage,
  TelemetryBatch,
  topicFor,
  WireMessage,
} from '../../../gateway/schema/index.js';
import { renderJsonSchema } from '../../../gateway/schema/json-schema.js';
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
  it('keeps the committed JSON Schema in step with the zod source (run `npm run schema:generate`)', () => {
    expect(committedJsonSchemaText()).toBe(renderJsonSchema());
  });

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
    ['an unknown schema version', { ...batch, schema: 'jjj.telemetry/2' }],
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
});
