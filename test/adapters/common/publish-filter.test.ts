import { describe, expect, it } from 'vitest';
import { PublishFilter } from '../../../adapters/common/publish-filter.js';
import { gatewayStatus, type Reading } from '../../../adapters/contract.js';

const good = (value: Reading['value'], ts: number): Reading => ({ point: 'p', value, ts, quality: 'good' });
const bad = (ts: number): Reading => ({
  point: 'p',
  value: null,
  ts,
  quality: 'bad',
  status: gatewayStatus.timeout,
});

/** Which of `readings` (of one point with `rule`) pass, as their indexes. */
function passing(rule: { deadband?: number; maxSilenceMs: number }, readings: Reading[]): number[] {
  const filter = new PublishFilter([rule]);
  return readings.flatMap((reading, index) => (filter.passes(0, reading) ? [index] : []));
}

describe('PublishFilter', () => {
  const cases: {
    name: string;
    rule: { deadband?: number; maxSilenceMs: number };
    readings: Reading[];
    expected: number[];
  }[] = [
    {
      name: 'no deadband: every reading',
      rule: { maxSilenceMs: 1000 },
      readings: [good(1, 0), good(1, 10), good(1, 20)],
      expected: [0, 1, 2],
    },
    {
      name: 'within the deadband of the last published value, then beyond it',
      rule: { deadband: 0.5, maxSilenceMs: 10_000 },
      readings: [good(10, 0), good(10.3, 10), good(10.5, 20), good(10.6, 30), good(10.9, 40), good(11.2, 50)],
      expected: [0, 3, 5],
    },
    {
      name: 'deadband 0: any change',
      rule: { deadband: 0, maxSilenceMs: 10_000 },
      readings: [good(1, 0), good(1, 10), good(2, 20), good(2, 30)],
      expected: [0, 2],
    },
    {
      name: 'maximum silence republishes an unchanged value',
      rule: { deadband: 1, maxSilenceMs: 100 },
      readings: [good(5, 0), good(5, 50), good(5, 100), good(5, 150), good(5, 200)],
      expected: [0, 2, 4],
    },
    {
      name: 'a quality change always passes, and so does the recovery',
      rule: { deadband: 100, maxSilenceMs: 10_000 },
      readings: [good(5, 0), bad(10), bad(20), good(5, 30), good(6, 40)],
      expected: [0, 1, 3],
    },
    {
      name: 'bool and string: any change',
      rule: { deadband: 10, maxSilenceMs: 10_000 },
      readings: [good(true, 0), good(true, 10), good(false, 20), good('a', 30), good('a', 40), good('b', 50)],
      expected: [0, 2, 3, 5],
    },
    {
      name: '64-bit strings compare by magnitude',
      rule: { deadband: 10, maxSilenceMs: 10_000 },
      readings: [
        good('9007199254740993', 0),
        good('9007199254741000', 10),
        good('9007199254741004', 20),
        good('9007199254740990', 30),
      ],
      expected: [0, 2, 3],
    },
  ];
  it.each(cases)('$name', ({ rule, readings, expected }) => {
    expect(passing(rule, readings)).toEqual(expected);
  });

  it('reset() lets the next reading of every point through', () => {
    const filter = new PublishFilter([{ deadband: 1, maxSilenceMs: 10_000 }]);
    expect(filter.passes(0, good(1, 0))).toBe(true);
    expect(filter.passes(0, good(1, 1))).toBe(false);
    filter.reset();
    expect(filter.passes(0, good(1, 2))).toBe(true);
  });
});
