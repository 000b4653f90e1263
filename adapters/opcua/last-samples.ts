/**
 * What was last handed on per point, so a republished or re-sent sample is not passed on twice. It
 * covers every point of a device (10,000s), so it is kept flat, indexed by point, instead of holding
 * on to one reading object per point: those would outlive the young generation and grow the old one.
 * Numbers go in a typed array for the same reason (in a plain array each would be an object).
 */
import type { Reading, ReadingValue } from '../contract.js';

export class LastSamples {
  /** Series time of the last sample per point; NaN when none was handed on since the last reset. */
  private readonly ts: Float64Array;
  private readonly statusCode: Uint32Array;
  private readonly numbers: Float64Array;
  /** The values that are not numbers; `undefined` where the value is in `numbers`. */
  private readonly others: (ReadingValue | undefined)[];

  constructor(points: number) {
    this.ts = new Float64Array(points).fill(Number.NaN);
    this.statusCode = new Uint32Array(points);
    this.numbers = new Float64Array(points);
    this.others = new Array<ReadingValue | undefined>(points).fill(null);
  }

  /** Remembers `reading` as point `index`'s last sample; false when it is that very sample again. */
  record(index: number, reading: Reading): boolean {
    const statusCode = reading.status?.code ?? 0;
    if (
      this.ts[index] === reading.ts &&
      this.statusCode[index] === statusCode &&
      this.sameValue(index, reading.value)
    ) {
      return false;
    }
    this.ts[index] = reading.ts;
    this.statusCode[index] = statusCode;
    if (typeof reading.value === 'number') {
      this.numbers[index] = reading.value;
      this.others[index] = undefined;
    } else {
      this.others[index] = reading.value;
    }
    return true;
  }

  /** The next sample of point `index` is passed on whatever it is. */
  forget(index: number): void {
    this.ts[index] = Number.NaN;
    this.others[index] = null;
  }

  forgetAll(): void {
    this.ts.fill(Number.NaN);
    this.others.fill(null);
  }

  private sameValue(index: number, next: ReadingValue): boolean {
    const other = this.others[index];
    if (other === undefined) return this.numbers[index] === next;
    if (Array.isArray(other) && Array.isArray(next)) {
      return other.length === next.length && other.every((element, i) => element === next[i]);
    }
    return other === next;
  }
}
