/**
 * The fast telemetry checks (v1 and the compact v2) must never accept what the zod schema refuses or
 * would change: checked on valid batches and on thousands of mutated ones (pure logic, no peer needed).
 */
import { describe, expect, it } from 'vitest';
import {
  isCertainlyValidCompactTelemetry,
  isCertainlyValidTelemetry,
} from '../../cloud/telemetry-fast-path.js';
import {
  CompactTelemetryBatch,
  compactBatch,
  expandCompactBatch,
} from '../../gateway/schema/compact-telemetry.js';
import { TelemetryBatch } from '../../gateway/schema/index.js';
import { numberedBatch, randomBatch, TS, telemetry } from './fixtures.js';

/** Values that probe every rule: types, bounds, patterns, enums, extra keys. */
const probes: unknown[] = [
  undefined,
  null,
  0,
  -1,
  -0,
  1.5,
  2 ** 53,
  1e300,
  // What `1e999` and `-1e999` parse to; NaN cannot come from JSON but must not pass either.
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.NaN,
  [1, Number.POSITIVE_INFINITY],
  '',
  'good',
  'bad',
  'BJ',
  'XX',
  'Upper',
  'ok-id',
  'x'.repeat(64),
  'x'.repeat(65),
  'y'.repeat(4097),
  '😀'.repeat(2049),
  true,
  false,
  [],
  [1, 'a', true],
  [null],
  [[1]],
  {},
  { source: 'modbus', code: 1, name: 'x' },
  { source: 'modbus', code: 1, name: 'x', extra: 1 },
  { source: 'other', code: 1, name: 'x' },
  { id: 'gw', boot: 1, seq: 0 },
  { id: 'gw', boot: 0, seq: 0 },
  { id: 'gw', boot: 1, seq: 0, extra: true },
];

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function mutate(next: () => number): unknown {
  const message = structuredClone(telemetry()) as unknown as Record<string, unknown>;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const points = message.points as Record<string, unknown>[];
  const target: Record<string, unknown> =
    next() < 0.3 ? message : next() < 0.2 ? (message.gateway as Record<string, unknown>) : pick(points);
  const key = pick([...Object.keys(target), 'extra', 'serverTs', 'status', 'historical', 'value']);
  const value = pick(probes);
  if (value === undefined) delete target[key];
  else target[key] = structuredClone(value);
  return message;
}

describe('isCertainlyValidTelemetry', () => {
  it('accepts valid batches, which zod returns unchanged', () => {
    const valid = [
      telemetry(),
      telemetry({ historical: true }),
      telemetry({
        points: [
          { line: 'l', equipment: 'e', point: 'p', value: 1, ts: 0, serverTs: 5, quality: 'uncertain' },
        ],
      }),
    ];
    for (const message of valid) {
      const copy = JSON.parse(JSON.stringify(message)) as unknown;
      expect(isCertainlyValidTelemetry(copy)).toBe(true);
      expect(TelemetryBatch.parse(copy)).toEqual(copy);
    }
  });

  it('leaves every mutation it is unsure of to zod, and never accepts what zod refuses or changes', () => {
    const next = random(6);
    let accepted = 0;
    let refused = 0;
    for (let round = 0; round < 5000; round++) {
      const message = mutate(next);
      if (isCertainlyValidTelemetry(message)) {
        accepted++;
        expect(TelemetryBatch.safeParse(message)).toEqual({ success: true, data: message });
      } else refused++;
    }
    // Both answers occur, so the property above was exercised on both sides.
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });

  it('refuses a null value with good quality, the rule the schema adds in code', () => {
    const message = telemetry({
      points: [{ line: 'l', equipment: 'e', point: 'p', value: null, ts: 0, quality: 'good' }],
    });
    expect(isCertainlyValidTelemetry(message)).toBe(false);
    expect(TelemetryBatch.safeParse(message).success).toBe(false);
  });

  it('refuses 1e999 (Infinity once parsed) in a value or an array, as zod does', () => {
    for (const value of ['1e999', '-1e999', '[1, 1e999]']) {
      const text = JSON.stringify(telemetry()).replace('"value":12000.5', `"value":${value}`);
      const message: unknown = JSON.parse(text);
      expect(isCertainlyValidTelemetry(message)).toBe(false);
      expect(TelemetryBatch.safeParse(message).success).toBe(false);
    }
  });
});

/** A v2 batch with every optional column: several groups, per-sample times, server times, statuses. */
function compact(): CompactTelemetryBatch {
  const batch = telemetry();
  const points = batch.points.map((sample, i) => ({
    ...sample,
    ts: sample.ts + i,
    ...(i === 1 && { serverTs: sample.ts - 5, status: { source: 'opcua' as const, code: 0, name: 'Good' } }),
  }));
  return compactBatch({ ...batch, points });
}

/** Offsets, columns and counts that probe the rules the v2 schema adds in code. */
const columnProbes: unknown[] = [
  ...probes,
  [0, 1, 2],
  [0, -1],
  [null, null],
  [null, -TS - 1],
  [0, Number.MAX_SAFE_INTEGER],
  ['good', 'bad'],
  ['good', 'good', 'good', 'good'],
  [null, { source: 'modbus', code: 1, name: 'x' }],
  [1, null],
  ['p-1', 'p-2', 'p-3', 'p-4'],
];

function mutateCompact(next: () => number): unknown {
  const message = structuredClone(compact()) as unknown as Record<string, unknown>;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const groups = message.groups as Record<string, unknown>[];
  const roll = next();
  let target: Record<string, unknown> | unknown[];
  if (roll < 0.15) target = message;
  else if (roll < 0.25) target = message.gateway as Record<string, unknown>;
  else if (roll < 0.6) target = pick(groups);
  else {
    // One entry of one column of one group.
    const group = pick(groups);
    const columns = ['points', 'values', 'dt', 'serverDt', 'quality', 'status'].filter((key) =>
      Array.isArray(group[key]),
    );
    target = group[pick(columns)] as unknown[];
  }
  const key = Array.isArray(target)
    ? Math.floor(next() * (target.length + 1))
    : pick([
        ...Object.keys(target),
        'extra',
        'dt',
        'serverDt',
        'status',
        'quality',
        'values',
        'points',
        'historical',
      ]);
  const value = pick(columnProbes);
  const record = target as Record<string | number, unknown>;
  if (value === undefined && !Array.isArray(target)) delete record[key];
  else record[key] = structuredClone(value);
  return message;
}

describe('isCertainlyValidCompactTelemetry', () => {
  it('accepts valid batches, which zod returns unchanged', () => {
    const scan = numberedBatch(0, 50);
    const valid = [compact(), compactBatch(telemetry({ historical: true })), compactBatch(scan)];
    for (const message of valid) {
      const copy = JSON.parse(JSON.stringify(message)) as unknown;
      expect(isCertainlyValidCompactTelemetry(copy)).toBe(true);
      expect(CompactTelemetryBatch.parse(copy)).toEqual(copy);
    }
  });

  it('accepts random valid batches packed from v1, which zod returns unchanged and expand to their v1', () => {
    const next = random(21);
    for (let round = 0; round < 500; round++) {
      const batch = randomBatch(next);
      const message = JSON.parse(JSON.stringify(compactBatch(batch))) as unknown;
      expect(isCertainlyValidCompactTelemetry(message)).toBe(true);
      expect(CompactTelemetryBatch.parse(message)).toEqual(message);
      expect(expandCompactBatch(message as CompactTelemetryBatch)).toEqual(batch);
    }
  });

  it('leaves every mutation it is unsure of to zod, and never accepts what zod refuses or changes', () => {
    const next = random(15);
    let accepted = 0;
    let refused = 0;
    for (let round = 0; round < 8000; round++) {
      const message = mutateCompact(next);
      if (isCertainlyValidCompactTelemetry(message)) {
        accepted++;
        expect(CompactTelemetryBatch.safeParse(message)).toEqual({ success: true, data: message });
      } else refused++;
    }
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });

  it.each([
    ['values shorter than points', { values: [1] }],
    ['a quality column of another length', { quality: ['good'] }],
    ['a null value with good quality', { values: [null, true, 'O1234', [1]], quality: 'good' }],
    ['a serverDt before 1970', { serverDt: [null, -TS - 1, null, null] }],
    ['a dt past the safe integers', { dt: [0, Number.MAX_SAFE_INTEGER, 2, 3] }],
    ['status garbage', { status: 'BadTimeout' }],
  ] as [string, Record<string, unknown>][])('refuses %s, as zod does', (_, change) => {
    const batch = compact();
    const message = { ...batch, groups: [{ ...batch.groups[0], ...change }, ...batch.groups.slice(1)] };
    expect(isCertainlyValidCompactTelemetry(message)).toBe(false);
    expect(CompactTelemetryBatch.safeParse(message).success).toBe(false);
  });

  it('refuses more than 50,000 samples summed over groups, as zod does', () => {
    const group = compactBatch(numberedBatch(0, 25_001)).groups[0] as CompactTelemetryBatch['groups'][number];
    expect(isCertainlyValidCompactTelemetry({ ...compact(), groups: [group] })).toBe(true);
    const message = { ...compact(), groups: [group, { ...group, equipment: 'cnc-02' }] };
    expect(isCertainlyValidCompactTelemetry(message)).toBe(false);
    expect(CompactTelemetryBatch.safeParse(message).success).toBe(false);
  });

  it('refuses 1e999 (Infinity once parsed) in a value column, as zod does', () => {
    const text = JSON.stringify(compact()).replace('12000.5', '1e999');
    const message: unknown = JSON.parse(text);
    expect(isCertainlyValidCompactTelemetry(message)).toBe(false);
    expect(CompactTelemetryBatch.safeParse(message).success).toBe(false);
  });
});
