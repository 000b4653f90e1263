/**
 * The memory side of `npm run bench:gateway` (issue 15): the gateway's heap after GC, read from its
 * own `/metrics` (jjj_gateway_heap_after_gc_bytes, which needs no V8 flag), and the soak option.
 * `BENCH_SOAK=1` measures for 10 minutes (BENCH_SECONDS is ignored) and reads the heap after GC at
 * minute 1 and at the end: flat means it grew by less than 5 MB in between.
 */
import { readFileSync } from 'node:fs';
import { sleep } from './collector-load.js';

export const soak = process.env.BENCH_SOAK === '1';
export const soakSeconds = 600;
/** The soak's first minute is warm-up for the heap: growth counts from there. */
const heapStartS = 60;
const flatMb = 5;

/** How often RSS is sampled: every 5 s, every 30 s in a soak (20 figures rather than 120). */
export const rssSampleMs = soak ? 30_000 : 5000;

/** The config fragment that makes the gateway serve /metrics on a free port. */
export const metricsConfig = { metrics: { port: 0 } };

interface HeapReading {
  atS: number;
  mb: number;
  fullGcs: number;
}

export class GatewayHeap {
  private start: HeapReading | undefined;
  private end: HeapReading | undefined;
  /** Full GCs before measuring: the start figure comes from a later one (not a start-up GC's). */
  private gcsBefore = Number.POSITIVE_INFINITY;

  private constructor(
    private readonly url: string,
    /** Seconds after measuring began from which the start figure is read (60, or 0 in a shorter run). */
    readonly startAtS: number,
  ) {}

  /** Finds the metrics URL in the gateway's log ("serving metrics", logged before its devices start). */
  static async fromLog(logFile: string, measuredSeconds: number): Promise<GatewayHeap> {
    for (let tries = 0; tries < 100; tries++) {
      for (const line of readFileSync(logFile, 'utf8').split('\n')) {
        if (!line.includes('"serving metrics"')) continue;
        const { url } = JSON.parse(line) as { url: string };
        return new GatewayHeap(url, measuredSeconds > heapStartS ? heapStartS : 0);
      }
      await sleep(100);
    }
    throw new Error(`no "serving metrics" line in ${logFile}`);
  }

  async read(atS: number): Promise<HeapReading> {
    const text = await (await fetch(this.url)).text();
    const value = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1]);
    return {
      atS,
      mb: value('jjj_gateway_heap_after_gc_bytes') / 2 ** 20,
      fullGcs: value('jjj_gateway_full_gcs_total'),
    };
  }

  /**
   * Called as the measured run begins (0) and every 10 s of it: the start figure is the first read
   * from `startAtS` on that follows a full GC made while measuring.
   */
  async tick(atS: number): Promise<void> {
    if (this.start) return;
    const reading = await this.read(atS);
    if (atS === 0) this.gcsBefore = reading.fullGcs;
    if (atS >= this.startAtS && reading.fullGcs > this.gcsBefore) this.start = reading;
  }

  async finish(atS: number): Promise<void> {
    this.start ??= await this.read(atS);
    this.end = await this.read(atS);
  }

  /** The report's lines. */
  lines(): string[] {
    const { start, end } = this;
    if (!start || !end) return [];
    const at = (r: HeapReading) =>
      `${r.mb.toFixed(1)} MB at ${r.atS.toFixed(0)} s (${r.fullGcs} full GCs by then)`;
    const growth = end.mb - start.mb;
    return [
      `  heap after full GC       ${at(start)} → ${at(end)}`,
      `  heap growth              ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB${soak ? ` (target < ${flatMb} MB after the first minute)` : ''}`,
    ];
  }
}
