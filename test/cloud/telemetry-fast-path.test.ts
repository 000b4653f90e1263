/**
 * The fast telemetry check must never accept what the zod schema refuses or would change: checked
 * on valid batches and on thousands of mutated ones (pure logic, no peer needed).
 */
import { describe, expect, it } from 'vitest';
import { isCertainlyValidTelemetry } from '../../cloud/telemetry-fast-path.js';
import { TelemetryBatch } from '../../gateway/schema/index.js';
import { telemetry } from './fixtures.js';

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
