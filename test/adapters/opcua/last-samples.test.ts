import { describe, expect, it } from 'vitest';
import type { Reading } from '../../../adapters/contract.js';
import { LastSamples } from '../../../adapters/opcua/last-samples.js';

const reading = (value: Reading['value'], ts = 1000, code?: number): Reading => ({
  point: 'p',
  value,
  ts,
  quality: 'good',
  ...(code !== undefined && { status: { source: 'opcua' as const, code, name: 'X' } }),
});

describe('LastSamples', () => {
  it('passes a sample once, and again only when its time, value or status differs', () => {
    const last = new LastSamples(2);
    expect(last.record(0, reading(1.5))).toBe(true);
    expect(last.record(0, reading(1.5))).toBe(false);
    expect(last.record(1, reading(1.5))).toBe(true);
    expect(last.record(0, reading(1.5, 2000))).toBe(true);
    expect(last.record(0, reading(2.5, 2000))).toBe(true);
    expect(last.record(0, reading(2.5, 2000, 0x80000000))).toBe(true);
    expect(last.record(0, reading(2.5, 2000, 0x80000000))).toBe(false);
  });

  it('tells a number from a value of another type kept for the same point', () => {
    const last = new LastSamples(1);
    expect(last.record(0, reading(0))).toBe(true);
    expect(last.record(0, reading(null))).toBe(true);
    expect(last.record(0, reading(null))).toBe(false);
    expect(last.record(0, reading(0))).toBe(true);
    expect(last.record(0, reading('0'))).toBe(true);
    expect(last.record(0, reading(false))).toBe(true);
    expect(last.record(0, reading(false))).toBe(false);
  });

  it('compares arrays element by element, and never takes NaN for the same value', () => {
    const last = new LastSamples(1);
    expect(last.record(0, reading([1, 2]))).toBe(true);
    expect(last.record(0, reading([1, 2]))).toBe(false);
    expect(last.record(0, reading([1, 3]))).toBe(true);
    expect(last.record(0, reading(Number.NaN))).toBe(true);
    expect(last.record(0, reading(Number.NaN))).toBe(true);
  });

  it('passes the next sample of a forgotten point', () => {
    const last = new LastSamples(2);
    last.record(0, reading(7));
    last.record(1, reading(7));
    last.forget(0);
    expect(last.record(0, reading(7))).toBe(true);
    expect(last.record(1, reading(7))).toBe(false);
    last.forgetAll();
    expect(last.record(1, reading(7))).toBe(true);
  });
});
