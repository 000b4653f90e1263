/** Comparing a store's aggregated windows with the in-memory reference, `aggregate()`. */
import { expect } from 'vitest';
import type { AggregatedSample } from '../../../cloud/aggregate.js';

/** The same value up to rounding, or both null (a window of bad samples only). */
export function expectSameValue(served: number | null, expected: number | null | undefined): void {
  if (expected === null) expect(served).toBeNull();
  else expect(served).toBeCloseTo(expected ?? Number.NaN, 9);
}

/** The same windows (start, counts of usable, bad and uncertain samples) with the same values. */
export function expectSameWindows(served: AggregatedSample[], expected: AggregatedSample[]): void {
  const shape = ({ ts, count, bad, uncertain }: AggregatedSample) => ({ ts, count, bad, uncertain });
  expect(served.map(shape)).toEqual(expected.map(shape));
  for (const [i, window] of served.entries()) expectSameValue(window.value, expected[i]?.value);
}
