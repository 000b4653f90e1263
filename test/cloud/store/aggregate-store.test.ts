/**
 * Aggregated windows with their quality, in every store (SQLite in memory, an SQLite file through
 * read threads, InfluxDB 1.x on a real influxd): each store's windows (value, usable, bad and
 * uncertain counts; windows of bad samples only with `value: null`) equal the in-memory reference
 * `aggregate()` over the same samples read back raw, for every function; the limit keeps the first
 * windows, bad-only ones included.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aggregate, aggregateFunctions } from '../../../cloud/aggregate.js';
import type { TelemetryStore } from '../../../cloud/store/store.js';
import type { TelemetryBatch } from '../../../gateway/schema/index.js';
import { GATEWAY, metadata, SITE, TS, telemetry } from '../fixtures.js';
import { expectSameWindows } from './aggregate-expect.js';
import { type StoreSubject, storeSubjects } from './store-subjects.js';

const MINUTE = 60_000;
/** A minute boundary near the fixtures' time. */
const M = Math.floor(TS / MINUTE) * MINUTE;
const SPINDLE = `${SITE}/machining/cnc-01/spindle-speed`;
const PROGRAM = `${SITE}/machining/cnc-01/program`;

type Sample = TelemetryBatch['points'][number];
const spindle = (ts: number, value: number | null, quality: Sample['quality']): Sample => ({
  line: 'machining',
  equipment: 'cnc-01',
  point: 'spindle-speed',
  value,
  ts,
  quality,
});
const program = (ts: number, value: string, quality: Sample['quality']): Sample => ({
  ...spindle(ts, null, quality),
  point: 'program',
  value,
});

/**
 * Eight minutes of the spindle: good only; good with uncertain and bad; bad only (no value); empty;
 * uncertain only; bad only again; good and bad; good. The program (text) has a bad minute and
 * uncertain texts.
 */
function fixture(): Sample[] {
  const samples: Sample[] = [];
  const minute = (m: number, qualities: Sample['quality'][]) =>
    qualities.forEach((quality, i) => {
      const ts = M + m * MINUTE + i * 7_000 + 1_000;
      samples.push(spindle(ts, quality === 'bad' ? null : 1000 + m * 10 + i * 3.5, quality));
    });
  minute(0, ['good', 'good', 'good']);
  minute(1, ['good', 'uncertain', 'bad', 'good', 'uncertain']);
  minute(2, ['bad', 'bad']);
  minute(4, ['uncertain', 'uncertain']);
  minute(5, ['bad']);
  minute(6, ['good', 'bad', 'good']);
  minute(7, ['good']);
  samples.push(
    program(M + 1_000, 'O1234', 'good'),
    program(M + 2 * MINUTE + 2_000, 'O1234', 'bad'),
    program(M + 2 * MINUTE + 3_000, 'O????', 'uncertain'),
    program(M + 4 * MINUTE + 2_000, 'O????', 'uncertain'),
  );
  return samples;
}

const { subjects, cleanup } = storeSubjects('jjj-aggregate-store-');
afterAll(cleanup);

describe.each(subjects)('aggregated windows with their quality in the %s store', (_name, open) => {
  let subject: StoreSubject;
  let store: TelemetryStore;
  const range = { from: M - MINUTE, to: M + 10 * MINUTE };

  beforeEach(async () => {
    subject = await open();
    store = subject.store;
    const described = metadata();
    const first = described.points[0] as (typeof described.points)[number];
    described.points.push({ ...first, point: 'program', dataType: 'string', unit: undefined });
    await store.writeMetadata(described);
    await store.writeTelemetry(
      telemetry({ gateway: { id: GATEWAY, boot: 1, seq: 0 }, points: fixture() }),
      TS,
    );
  }, 60_000);
  afterEach(async () => {
    await subject.close();
  });

  it.each(aggregateFunctions)(
    'computes %s per window as aggregate() does, bad and uncertain counted',
    async (fn) => {
      for (const pointId of [SPINDLE, PROGRAM]) {
        const raw = await store.series({ pointId, ...range, limit: 1000 });
        const expected = aggregate(raw?.samples ?? [], fn, MINUTE);
        const served = await store.aggregateSeries({
          pointId,
          ...range,
          limit: 1000,
          fn,
          windowMs: MINUTE,
          maxSamples: 1000,
        });
        expect(served?.truncated).toBe(false);
        expectSameWindows(served?.samples ?? [], expected);
      }
    },
  );

  it('answers the spindle minute by minute, a bad-only minute without a value, up to the limit', async () => {
    const query = { pointId: SPINDLE, ...range, fn: 'max' as const, windowMs: MINUTE, maxSamples: 1000 };
    const all = await store.aggregateSeries({ ...query, limit: 1000 });
    expect(
      all?.samples.map(({ ts, value, count, bad, uncertain }) => [
        (ts - M) / MINUTE,
        value,
        count,
        bad,
        uncertain,
      ]),
    ).toEqual([
      [0, 1007, 3, 0, 0],
      [1, 1024, 4, 1, 2],
      [2, null, 0, 2, 0],
      [4, 1043.5, 2, 0, 2],
      [5, null, 0, 1, 0],
      [6, 1067, 2, 1, 0],
      [7, 1070, 1, 0, 0],
    ]);
    const firstThree = await store.aggregateSeries({ ...query, limit: 3 });
    expect(firstThree?.truncated).toBe(true);
    expect(firstThree?.samples).toEqual(all?.samples.slice(0, 3));
    const firstFive = await store.aggregateSeries({ ...query, limit: 5 });
    expect(firstFive?.samples).toEqual(all?.samples.slice(0, 5));
  });
});
