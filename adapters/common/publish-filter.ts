/**
 * Deadband with maximum silence, per point: a reading passes when its quality or status changed, its
 * value moved beyond the point's deadband since the last reading that passed (any change for bool
 * and string), or the point has been silent for its maximum silence. Points without a deadband pass always.
 */
import type { Reading } from '../contract.js';

export interface PublishRule {
  /** Absent: publish every poll. */
  deadband?: number;
  maxSilenceMs: number;
}

interface Published {
  value: Reading['value'];
  quality: Reading['quality'];
  code: number | undefined;
  ts: number;
}

export class PublishFilter {
  private readonly last: (Published | undefined)[];

  constructor(private readonly rules: readonly PublishRule[]) {
    this.last = new Array(rules.length);
  }

  /** Whether the reading of point `index` is to be published; remembers it when it is. */
  passes(index: number, reading: Reading): boolean {
    const rule = this.rules[index];
    if (rule?.deadband === undefined) return true;
    const last = this.last[index];
    const code = reading.status?.code;
    if (
      last === undefined ||
      last.quality !== reading.quality ||
      last.code !== code ||
      reading.ts - last.ts >= rule.maxSilenceMs ||
      moved(last.value, reading.value, rule.deadband)
    ) {
      this.last[index] = { value: reading.value, quality: reading.quality, code, ts: reading.ts };
      return true;
    }
    return false;
  }

  /** Forgets what was published, so the next reading of every point passes (e.g. after a restart). */
  reset(): void {
    this.last.fill(undefined);
  }
}

function moved(before: Reading['value'], now: Reading['value'], deadband: number): boolean {
  if (typeof before === 'number' && typeof now === 'number') return Math.abs(now - before) > deadband;
  // 64-bit integers arrive as decimal strings; a deadband on them compares their magnitude.
  if (
    typeof before === 'string' &&
    typeof now === 'string' &&
    /^-?\d+$/.test(now) &&
    /^-?\d+$/.test(before)
  ) {
    const difference = BigInt(now) - BigInt(before);
    return (difference < 0n ? -difference : difference) > BigInt(Math.floor(deadband));
  }
  return before !== now;
}
