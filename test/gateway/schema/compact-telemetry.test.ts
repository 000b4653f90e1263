/**
 * `jjj.telemetry/2`: a v1 batch packed compact and expanded again is the same batch, the packed form
 * is what the zod schema and the committed JSON Schema accept, it is small, and every rule the
 * schema adds in code (column lengths, null only with bad quality, times) refuses with its path.
 */
import { describe, expect, it } from 'vitest';
import {
  CompactTelemetryBatch,
  compactBatch,
  compactSampleCount,
  expandCompactBatch,
  MAX_BATCH_SAMPLES,
} from '../../../gateway/schema/compact-telemetry.js';
import {
  type PointSample,
  type TelemetryBatch,
  TelemetryBatch as V1,
} from '../../../gateway/schema/index.js';
import { jsonSchemaValidator } from '../../helpers/json-schema.js';

const TS = 1_764_000_000_000;
const site = { region: 'TJ', project: 'jjj-dp-02', site: 'tj-binhai-smt' } as const;

const v1 = (points: PointSample[], extra: Partial<TelemetryBatch> = {}): TelemetryBatch => ({
  schema: 'jjj.telemetry/1',
  ...site,
  gateway: { id: 'gw-tj-binhai-smt', boot: 3, seq: 41 },
  sentTs: TS + 500,
  points,
  ...extra,
});

/** A Modbus device's whole scan: `count` points at one time, all good. */
const scan = (equipment: string, count: number, ts = TS): PointSample[] =>
  Array.from({ length: count }, (_, i) => ({
    line: 'smt-1',
    equipment,
    point: `hr-${i}`,
    value: 1000 + i * 7.25,
    ts,
    quality: 'good' as const,
  }));

const mixed: PointSample[] = [
  { line: 'smt-1', equipment: 'placer-01', point: 'good-count', value: 1200, ts: TS + 3, quality: 'good' },
  {
    line: 'smt-1',
    equipment: 'placer-01',
    point: 'energy-wh',
    value: '18446744073709551615',
    ts: TS,
    serverTs: TS + 10,
    quality: 'uncertain',
    status: { source: 'opcua', code: 0x408f0000, name: 'UncertainDataSubNormal' },
  },
  { line: 'smt-1', equipment: 'placer-01', point: 'recipe', value: 'A-7', ts: TS + 1, quality: 'good' },
  {
    line: 'utilities',
    equipment: 'meter-main',
    point: 'power',
    value: null,
    ts: TS,
    quality: 'bad',
    status: { source: 'modbus', code: 2, name: 'IllegalDataAddress' },
  },
  {
    line: 'utilities',
    equipment: 'meter-main',
    point: 'voltage',
    value: null,
    ts: TS,
    quality: 'bad',
    status: { source: 'modbus', code: 2, name: 'IllegalDataAddress' },
  },
  // The same equipment again after another: a group of its own, order kept.
  { line: 'smt-1', equipment: 'placer-01', point: 'axes', value: [1, 2.5, true], ts: TS, quality: 'good' },
];

const batches: [string, TelemetryBatch][] = [
  ['a 50-point scan', v1(scan('plc-01', 50))],
  [
    'two devices, historical',
    v1([...scan('plc-01', 3), ...scan('plc-02', 2, TS + 1000)], { historical: true }),
  ],
  ['mixed times, server times, qualities and statuses', v1(mixed)],
];

describe('jjj.telemetry/2', () => {
  it.each(batches)('expands %s back to exactly the v1 batch', (_, batch) => {
    const compact = compactBatch(batch);
    // Through the wire: JSON text, then the schema.
    const received = CompactTelemetryBatch.parse(JSON.parse(JSON.stringify(compact)));
    expect(received).toEqual(compact);
    expect(compactSampleCount(received)).toBe(batch.points.length);
    expect(expandCompactBatch(received)).toEqual(batch);
    expect(V1.parse(expandCompactBatch(received))).toEqual(batch);
    expect(jsonSchemaValidator()(received)).toEqual([]);
  });

  it('writes a scan of one equipment with scalar columns: identity once, about 15 bytes a point', () => {
    const compact = compactBatch(v1(scan('plc-01', 50)));
    expect(compact.groups).toHaveLength(1);
    expect(compact.groups[0]).toMatchObject({ quality: 'good' });
    expect(compact.groups[0]?.dt).toBeUndefined();
    const bytes = JSON.stringify(compact).length;
    const v1Bytes = JSON.stringify(v1(scan('plc-01', 50))).length;
    expect(bytes / 50).toBeLessThan(25);
    expect(v1Bytes / bytes).toBeGreaterThan(4);
  });

  const group = compactBatch(v1(mixed)).groups[0] as CompactTelemetryBatch['groups'][number];
  const one = (changes: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    ...compactBatch(v1(mixed)),
    groups: [{ ...group, ...changes }],
    ...extra,
  });
  const manySamples = (groups: number, each: number) => ({
    ...compactBatch(v1(mixed)),
    groups: Array.from({ length: groups }, (_, g) => ({
      line: 'l',
      equipment: `e-${g}`,
      ts: TS,
      points: Array.from({ length: each }, (_, i) => `p-${i}`),
      values: Array.from({ length: each }, () => 1),
      quality: 'good',
    })),
  });

  it.each([
    ['values shorter than points', one({ values: [1] }), ['groups', 0, 'values']],
    [
      'a quality column longer than points',
      one({ quality: ['good', 'good', 'good', 'good'] }),
      ['groups', 0, 'quality'],
    ],
    ['a dt column of another length', one({ dt: [0] }), ['groups', 0, 'dt']],
    ['a status column of another length', one({ status: [null] }), ['groups', 0, 'status']],
    [
      'a null value with good quality',
      one({ values: [null, 1, 2], quality: 'good' }),
      ['groups', 0, 'values', 0],
    ],
    ['a negative dt', one({ dt: [0, -1, 0] }), ['groups', 0, 'dt', 1]],
    ['a serverDt before 1970', one({ serverDt: [null, -TS - 1, null] }), ['groups', 0, 'serverDt', 1]],
    ['a dt past the safe integers', one({ dt: [0, Number.MAX_SAFE_INTEGER, 0] }), ['groups', 0, 'dt', 1]],
    ['a fractional dt', one({ dt: [0, 0.5, 0] }), ['groups', 0, 'dt', 1]],
    ['a value of the wrong type', one({ values: [{ a: 1 }, 1, 2] }), ['groups', 0, 'values', 0]],
    ['status garbage', one({ status: 'IllegalDataAddress' }), ['groups', 0, 'status']],
    [
      'a status of an unknown source',
      one({ status: { source: 'bacnet', code: 1, name: 'x' } }),
      ['groups', 0, 'status'],
    ],
    ['no points', one({ points: [], values: [], quality: [] }), ['groups', 0, 'points']],
    ['no groups', { ...compactBatch(v1(mixed)), groups: [] }, ['groups']],
    ['more than 50,000 samples over its groups', manySamples(2, 25_001), ['groups']],
    ['a column of more than 50,000 entries', manySamples(1, MAX_BATCH_SAMPLES + 1), ['groups', 0, 'points']],
    ['points given as one string', one({ points: 'hr-0' }), ['groups', 0, 'points']],
  ])('refuses %s, naming where', (_, message, path) => {
    const result = CompactTelemetryBatch.safeParse(message);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path)).toContainEqual(path);
  });

  it.each([
    ['an unknown quality', one({ quality: 'ok' })],
    ['a negative dt', one({ dt: [0, -1, 0] })],
    ['no groups', { ...compactBatch(v1(mixed)), groups: [] }],
  ])('refuses %s in the committed JSON Schema too', (_, message) => {
    expect(CompactTelemetryBatch.safeParse(message).success).toBe(false);
    expect(jsonSchemaValidator()(message)).not.toEqual([]);
  });

  it('has the JSON Schema refuse keys it does not know, which zod strips', () => {
    const cases = [
      [one({ unit: 'KWH' }), one({})],
      [{ ...compactBatch(v1(mixed)), points: mixed }, compactBatch(v1(mixed))],
    ];
    for (const [message, stripped] of cases) {
      expect(jsonSchemaValidator()(message)).not.toEqual([]);
      expect(CompactTelemetryBatch.parse(message)).toEqual(stripped);
    }
  });
});
