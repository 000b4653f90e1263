/**
 * Aggregation windows, the same for every store. The stores compute them where the samples are
 * (SQL, InfluxQL); `aggregate` is the definition they follow, kept as the reference the tests hold
 * them to.
 */
import type { SeriesSample } from './store/store.js';

export const aggregateFunctions = ['mean', 'min', 'max', 'last'] as const;
export type AggregateFunction = (typeof aggregateFunctions)[number];

export const windowSizes = { '1m': 60_000, '5m': 300_000, '1h': 3_600_000 } as const;
export type WindowSize = keyof typeof windowSizes;

export interface AggregatedSample {
  /** Start of the window (aligned to a multiple of its length since the epoch), ms. */
  ts: number;
  value: number;
  /** Samples the value was computed from. */
  count: number;
}

/**
 * One value per window holding at least one usable sample. Numbers are used as they are,
 * booleans as 0/1; bad-quality samples and other types are left out.
 */
export function aggregate(
  samples: SeriesSample[],
  fn: AggregateFunction,
  windowMs: number,
): AggregatedSample[] {
  const windows = new Map<number, number[]>();
  for (const sample of samples) {
    if (sample.quality === 'bad') continue;
    const value = typeof sample.value === 'boolean' ? Number(sample.value) : sample.value;
    if (typeof value !== 'number') continue;
    const start = Math.floor(sample.ts / windowMs) * windowMs;
    const values = windows.get(start);
    if (values) values.push(value);
    else windows.set(start, [value]);
  }
  return [...windows.entries()]
    .sort(([a], [b]) => a - b)
    .map(([ts, values]) => ({ ts, value: reduce(values, fn), count: values.length }));
}

/** `values` is in time order and never empty. */
function reduce(values: number[], fn: AggregateFunction): number {
  switch (fn) {
    case 'mean':
      return values.reduce((sum, v) => sum + v, 0) / values.length;
    // Loops rather than Math.min(...values): spreading a long window overflows the call stack.
    case 'min':
      return values.reduce((low, v) => Math.min(low, v));
    case 'max':
      return values.reduce((high, v) => Math.max(high, v));
    case 'last':
      return values[values.length - 1] as number;
  }
}
