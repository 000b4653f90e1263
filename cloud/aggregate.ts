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
  /** Computed from the good and uncertain samples; null when the window holds only bad ones. */
  value: number | null;
  /** Samples the value was computed from (good and uncertain). */
  count: number;
  /** Bad-quality samples in the window (of any type): never in `value`, counted so the gap shows. */
  bad: number;
  /** Uncertain-quality samples in the window (of any type); the usable ones are in `value`. */
  uncertain: number;
}

interface Window {
  values: number[];
  bad: number;
  uncertain: number;
}

/**
 * One value per window holding at least one usable or one bad sample. Numbers are used as they
 * are, booleans as 0/1, good and uncertain quality alike; bad-quality samples never count in the
 * value (a window of bad samples only has `value: null`), but each window says how many bad and
 * uncertain samples it held, so a chart can show them instead of hiding them. Samples of other
 * types (text, arrays) count as bad or uncertain by their quality, and are otherwise left out.
 */
export function aggregate(
  samples: SeriesSample[],
  fn: AggregateFunction,
  windowMs: number,
): AggregatedSample[] {
  const windows = new Map<number, Window>();
  for (const sample of samples) {
    const start = Math.floor(sample.ts / windowMs) * windowMs;
    let window = windows.get(start);
    if (!window) {
      window = { values: [], bad: 0, uncertain: 0 };
      windows.set(start, window);
    }
    if (sample.quality === 'bad') {
      window.bad++;
      continue;
    }
    if (sample.quality === 'uncertain') window.uncertain++;
    const value = typeof sample.value === 'boolean' ? Number(sample.value) : sample.value;
    if (typeof value === 'number') window.values.push(value);
  }
  return [...windows.entries()]
    .filter(([, window]) => window.values.length > 0 || window.bad > 0)
    .sort(([a], [b]) => a - b)
    .map(([ts, { values, bad, uncertain }]) => ({
      ts,
      value: values.length > 0 ? reduce(values, fn) : null,
      count: values.length,
      bad,
      uncertain,
    }));
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
