/**
 * A point's trend: which samples a period reads (raw samples for ≤ 1 h, the store's aggregated
 * windows for longer ones: never millions of raw points in the browser), and the ECharts option
 * that draws them with bad and uncertain quality shown, not hidden.
 */
import { getJson } from '../api.js';
import type { ChartOption } from '../charts.js';
import type { PointValue, Quality } from '../points.js';

export const periods = ['15m', '1h', '8h', '24h', '7d', '30d'] as const;
export type Period = (typeof periods)[number];

export const periodMs: Record<Period, number> = {
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '8h': 8 * 3_600_000,
  '24h': 24 * 3_600_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};

export type WindowName = '1m' | '5m' | '1h';
export const windowMs: Record<WindowName, number> = { '1m': 60_000, '5m': 300_000, '1h': 3_600_000 };

/** How a range is read: raw samples, or windows of a size. */
export type Resolution = { kind: 'raw' } | { kind: 'windows'; window: WindowName };

/** Raw up to an hour; then the smallest window that keeps a range within ~2,000 windows. */
export function resolutionFor(spanMs: number): Resolution {
  if (spanMs <= 3_600_000) return { kind: 'raw' };
  if (spanMs <= 24 * 3_600_000) return { kind: 'windows', window: '1m' };
  if (spanMs <= 7 * 86_400_000) return { kind: 'windows', window: '5m' };
  return { kind: 'windows', window: '1h' };
}

/** Samples one raw read returns at most (the API's own cap). */
export const RAW_LIMIT = 10_000;

export interface RawSample {
  ts: number;
  value: PointValue;
  quality: Quality;
  outOfRange?: string;
}

export interface Window {
  ts: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  count: number;
  bad: number;
  uncertain: number;
}

export type TrendData =
  | { kind: 'raw'; from: number; to: number; samples: RawSample[]; truncated: boolean }
  | {
      kind: 'windows';
      from: number;
      to: number;
      window: WindowName;
      windows: Window[];
      truncated: boolean;
    };

interface SeriesAnswer {
  samples: RawSample[];
  truncated: boolean;
}

interface WindowAnswer {
  samples: { ts: number; value: number | null; count: number; bad?: number; uncertain?: number }[];
  truncated: boolean;
}

/** Reads [from, to] of a point at `resolution`: raw samples, or mean, min and max windows (three reads at once). */
export async function readTrend(
  pointId: string,
  from: number,
  to: number,
  resolution: Resolution,
  signal?: AbortSignal,
): Promise<TrendData> {
  const init = signal ? { signal } : {};
  if (resolution.kind === 'raw') {
    const answer = await getJson<SeriesAnswer>(
      '/api/v1/series',
      { point: pointId, from, to, limit: RAW_LIMIT },
      init,
    );
    return { kind: 'raw', from, to, samples: answer.samples, truncated: answer.truncated };
  }
  const { window } = resolution;
  const read = (aggregate: 'mean' | 'min' | 'max') =>
    getJson<WindowAnswer>('/api/v1/series', { point: pointId, from, to, aggregate, window }, init);
  const [mean, min, max] = await Promise.all([read('mean'), read('min'), read('max')]);
  const lows = new Map(min.samples.map((s) => [s.ts, s.value]));
  const highs = new Map(max.samples.map((s) => [s.ts, s.value]));
  const windows = mean.samples.map((s) => ({
    ts: s.ts,
    mean: s.value,
    min: lows.get(s.ts) ?? s.value,
    max: highs.get(s.ts) ?? s.value,
    count: s.count,
    // Fields added to the API with the drill-down; an older collector leaves them out.
    bad: s.bad ?? 0,
    uncertain: s.uncertain ?? 0,
  }));
  return { kind: 'windows', from, to, window, windows, truncated: mean.truncated };
}

/** A raw sample's value on the chart's axis (booleans as 0/1); null when it has none. */
export function numericOf(value: PointValue): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return Number(value);
  return null;
}

/** True when the samples have no numbers or booleans to draw (a text or array point). */
export function isTextual(samples: RawSample[]): boolean {
  return samples.length > 0 && samples.every((s) => s.value === null || numericOf(s.value) === null);
}

/** Figures of the data for the text beside the chart and for the tests (data attributes). */
export interface TrendFigures {
  n: number;
  min: number | null;
  max: number | null;
  /** Raw: bad samples; windows: windows with bad samples. */
  bad: number;
  /** Raw: bad samples without a value. */
  gaps: number;
  /** Raw: uncertain samples; windows: windows with uncertain samples. */
  uncertain: number;
  /** The newest sample (raw) or window start. */
  lastTs: number | null;
  lastValue: PointValue;
}

export function figuresOf(data: TrendData): TrendFigures {
  let min: number | null = null;
  let max: number | null = null;
  const widen = (low: number | null, high: number | null) => {
    if (low !== null) min = min === null ? low : Math.min(min, low);
    if (high !== null) max = max === null ? high : Math.max(max, high);
  };
  if (data.kind === 'raw') {
    let bad = 0;
    let gaps = 0;
    let uncertain = 0;
    for (const sample of data.samples) {
      if (sample.quality === 'bad') {
        bad++;
        if (numericOf(sample.value) === null) gaps++;
        continue;
      }
      if (sample.quality === 'uncertain') uncertain++;
      const value = numericOf(sample.value);
      widen(value, value);
    }
    const last = data.samples.at(-1);
    return {
      n: data.samples.length,
      min,
      max,
      bad,
      gaps,
      uncertain,
      lastTs: last?.ts ?? null,
      lastValue: last?.value ?? null,
    };
  }
  for (const window of data.windows) widen(window.min, window.max);
  const last = data.windows.at(-1);
  return {
    n: data.windows.length,
    min,
    max,
    bad: data.windows.filter((w) => w.bad > 0).length,
    gaps: data.windows.filter((w) => w.mean === null).length,
    uncertain: data.windows.filter((w) => w.uncertain > 0).length,
    lastTs: last?.ts ?? null,
    lastValue: last?.mean ?? null,
  };
}

export interface ChartLabels {
  value: string;
  mean: string;
  band: string;
  uncertain: string;
  bad: string;
  description: string;
  unit: string;
}

const COLOURS = { value: '#0b5cad', band: '#7fa7d6', uncertain: '#b86e00', bad: '#c0392b' };
const BAD_AREA = 'rgba(192, 57, 43, 0.16)';
const UNCERTAIN_AREA = 'rgba(184, 110, 0, 0.12)';
/** Shaded areas narrower than this share of the axis are drawn as lines instead. */
const MIN_AREA_SHARE = 1 / 400;

type Range = [number, number];

/** Adjacent or overlapping ranges merged, so a long outage is one shaded area, not thousands. */
function merged(ranges: Range[]): Range[] {
  const out: Range[] = [];
  for (const range of [...ranges].sort((a, b) => a[0] - b[0])) {
    const last = out.at(-1);
    if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else out.push([...range]);
  }
  return out;
}

/**
 * Shaded areas for ranges wide enough to see, and a vertical line for each one narrower than
 * `minWidth` (a one-minute window on a 30-day axis is under a pixel: a line keeps it visible).
 */
function marks(ranges: Range[], minWidth: number, colour: string) {
  const areas: { xAxis: number }[][] = [];
  const lines: { xAxis: number }[] = [];
  for (const [from, to] of merged(ranges)) {
    if (to - from >= minWidth) areas.push([{ xAxis: from }, { xAxis: to }]);
    else lines.push({ xAxis: Math.round((from + to) / 2) });
  }
  return {
    markArea: { silent: true, itemStyle: { color: colour }, data: areas as never },
    markLine: {
      silent: true,
      symbol: 'none',
      label: { show: false },
      lineStyle: { color: colour.replace(/[\d.]+\)$/, '0.7)'), type: 'dashed' as const, width: 1 },
      data: lines,
    },
  };
}

/**
 * A silence longer than `factor` times the usual step between samples or windows (the median, at
 * least `floor`) breaks the line: a point sampled every 5 min is a line, an outage is a gap.
 */
function breakAfter(times: number[], factor: number, floor: number): number {
  if (times.length < 3) return Number.POSITIVE_INFINITY;
  const steps = times
    .slice(1)
    .map((ts, i) => ts - (times[i] as number))
    .sort((a, b) => a - b);
  return factor * Math.max(floor, steps[Math.floor(steps.length / 2)] as number);
}

/** Bad samples without a value cover the time from the sample before them to the one after. */
function gapRanges(samples: RawSample[], from: number, to: number): Range[] {
  const ranges: Range[] = [];
  for (const [i, sample] of samples.entries()) {
    if (sample.quality !== 'bad' || numericOf(sample.value) !== null) continue;
    const before = samples[i - 1]?.ts ?? Math.max(from, sample.ts - 1000);
    const after = samples[i + 1]?.ts ?? Math.min(to, sample.ts + 1000);
    ranges.push([before, Math.max(after, sample.ts)]);
  }
  return ranges;
}

/** The chart of `data`: raw values with bad and uncertain samples as marks of their own, or windows' mean with the min–max band and their bad and uncertain windows shaded. */
export function chartOption(data: TrendData, labels: ChartLabels, boolean: boolean): ChartOption {
  const minWidth = (data.to - data.from) * MIN_AREA_SHARE;
  const base: ChartOption = {
    aria: { enabled: true, label: { description: labels.description } },
    animation: false,
    grid: { left: 64, right: 24, top: 40, bottom: 72 },
    legend: { top: 4 },
    // Drawn on the canvas: an HTML tooltip sets inline styles, which the console's CSP (style-src 'self') refuses.
    tooltip: { trigger: 'axis', renderMode: 'richText' },
    xAxis: {
      type: 'time',
      min: data.from,
      max: data.to,
      axisLabel: {
        hideOverlap: true,
        formatter: {
          year: '{yyyy}',
          month: '{MM}-{dd}',
          day: '{MM}-{dd}',
          hour: '{HH}:{mm}',
          minute: '{HH}:{mm}',
        },
      },
    },
    yAxis: {
      type: 'value',
      scale: true,
      name: labels.unit,
      ...(boolean && { min: 0, max: 1, interval: 1 }),
    },
    dataZoom: [
      { type: 'inside', filterMode: 'none' },
      { type: 'slider', filterMode: 'none', height: 22, bottom: 12 },
    ],
  };
  if (data.kind === 'raw') {
    const line: [number, number | null][] = [];
    const uncertain: [number, number][] = [];
    const bad: [number, number][] = [];
    const gap = breakAfter(
      data.samples.map((s) => s.ts),
      5,
      1000,
    );
    let previous: number | undefined;
    for (const sample of data.samples) {
      // No sample for much longer than usual: the line breaks rather than bridging the silence.
      if (previous !== undefined && sample.ts - previous > gap) line.push([previous + 1, null]);
      previous = sample.ts;
      const value = numericOf(sample.value);
      if (sample.quality === 'bad') {
        // The line breaks at a bad sample: never the last good value dressed up as fresh.
        line.push([sample.ts, null]);
        if (value !== null) bad.push([sample.ts, value]);
        continue;
      }
      line.push([sample.ts, value]);
      if (sample.quality === 'uncertain' && value !== null) uncertain.push([sample.ts, value]);
    }
    return {
      ...base,
      legend: { top: 4, data: [labels.value, labels.uncertain, labels.bad] },
      series: [
        {
          type: 'line',
          name: labels.value,
          data: line,
          showSymbol: line.length < 120,
          symbolSize: 4,
          connectNulls: false,
          color: COLOURS.value,
          ...(boolean && { step: 'end' as const }),
        },
        {
          type: 'scatter',
          name: labels.uncertain,
          data: uncertain,
          symbol: 'triangle',
          symbolSize: 10,
          color: COLOURS.uncertain,
        },
        {
          type: 'scatter',
          name: labels.bad,
          data: bad,
          symbol: 'diamond',
          symbolSize: 11,
          color: COLOURS.bad,
          ...marks(gapRanges(data.samples, data.from, data.to), minWidth, BAD_AREA),
        },
      ],
    };
  }
  const size = windowMs[data.window];
  const lows: [number, number | null][] = [];
  const spans: [number, number | null][] = [];
  const means: [number, number | null][] = [];
  const badMarks: [number, number][] = [];
  const uncertainMarks: [number, number][] = [];
  const badRanges: Range[] = [];
  const uncertainRanges: Range[] = [];
  const gap = breakAfter(
    data.windows.map((w) => w.ts),
    2,
    size,
  );
  let previous: number | undefined;
  for (const window of data.windows) {
    // Windows without any sample are absent from the answer: a run of them breaks the line.
    if (previous !== undefined && window.ts - previous > gap) {
      lows.push([previous + size, null]);
      spans.push([previous + size, null]);
      means.push([previous + size, null]);
    }
    previous = window.ts;
    lows.push([window.ts, window.min]);
    spans.push([window.ts, window.min === null || window.max === null ? null : window.max - window.min]);
    means.push([window.ts, window.mean]);
    if (window.bad > 0) {
      badRanges.push([window.ts, window.ts + size]);
      if (window.mean !== null) badMarks.push([window.ts, window.mean]);
    } else if (window.uncertain > 0) {
      uncertainRanges.push([window.ts, window.ts + size]);
      if (window.mean !== null) uncertainMarks.push([window.ts, window.mean]);
    }
  }
  return {
    ...base,
    legend: { top: 4, data: [labels.mean, labels.band, labels.uncertain, labels.bad] },
    series: [
      // The band: an invisible line at the minimum with the max − min stacked on it, filled.
      {
        type: 'line',
        name: labels.band,
        data: lows,
        stack: 'band',
        symbol: 'none',
        lineStyle: { opacity: 0 },
        color: COLOURS.band,
        tooltip: { show: false },
      },
      {
        type: 'line',
        name: labels.band,
        data: spans,
        stack: 'band',
        symbol: 'none',
        lineStyle: { opacity: 0 },
        areaStyle: { color: COLOURS.band, opacity: 0.35 },
        color: COLOURS.band,
        tooltip: { show: false },
      },
      {
        type: 'line',
        name: labels.mean,
        data: means,
        symbol: 'none',
        connectNulls: false,
        color: COLOURS.value,
        ...(boolean && { step: 'end' as const }),
      },
      {
        type: 'scatter',
        name: labels.uncertain,
        data: uncertainMarks,
        symbol: 'triangle',
        symbolSize: 8,
        color: COLOURS.uncertain,
        ...marks(uncertainRanges, minWidth, UNCERTAIN_AREA),
      },
      {
        type: 'scatter',
        name: labels.bad,
        data: badMarks,
        symbol: 'diamond',
        symbolSize: 9,
        color: COLOURS.bad,
        ...marks(badRanges, minWidth, BAD_AREA),
      },
    ],
  };
}
