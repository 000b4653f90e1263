/**
 * What was last handed on per point, so a republished or re-sent sample is not passed on twice. It
 * covers every point of a device (10,000s), so it is kept flat, indexed by point, instead of holding
 * on to one reading object per point: those would outlive the young generation and grow the old one.
 */
import type { Reading, ReadingValue } from '../contract.js';

export class LastSamples {
  /** Series time of the last sample per point; NaN when none was handed on since the last reset. */
  private readonly ts: Float64Array;
  private readonly statusCode: Uint32Array;
  private readonly value: ReadingValue[];

  constructor(points: number) {
    this.ts = new Float64Array(points).fill(Number.NaN);
    this.statusCode = new Uint32Array(points);
    this.value = new Array<ReadingValue>(points).fill(null);
  }

  /** Remembers `reading` as point `index`'s last sample; false when it is that very sample again. */
  record(index: number, reading: Reading): boolean {
    const statusCode = reading.status?.code ?? 0;
    if (
      this.ts[index] === reading.ts &&
      this.statusCode[index] === statusCode &&
      sameValue(this.value[index] ?? null, reading.value)
    ) {
      return false;
    }
    this.ts[index] = reading.ts;
    this.statusCode[index] = statusCode;
    this.value[index] = reading.value;
    return true;
  }

  /** The next sample of point `index` is passed on whatever it is. */
  forget(index: number): void {
    this.ts[index] = Number.NaN;
    this.value[index] = null;
  }

  forgetAll(): void {
    this.ts.fill(Number.NaN);
    this.value.fill(null);
  }
}

function sameValue(last: ReadingValue, next: ReadingValue): boolean {
  if (Array.isArray(last) && Array.isArray(next)) {
    return last.length === next.length && last.every((element, index) => element === next[index]);
  }
  return last === next;
}
