import { describe, expect, it } from 'vitest';
import {
  defaultPlanOptions,
  type PlanItem,
  planReads,
  type ReadRequest,
} from '../../../adapters/modbus/planner.js';

const h = (address: number, length = 1): PlanItem => ({ table: 'holding', address, length });

/** A request as `table address+length [index@offset …]`, to keep the table readable. */
function describeRequests(requests: ReadRequest[]): string[] {
  return requests.map(
    (r) => `${r.table} ${r.address}+${r.length} [${r.items.map((i) => `${i.index}@${i.offset}`).join(' ')}]`,
  );
}

describe('planReads', () => {
  const cases: { name: string; items: PlanItem[]; expected: string[] }[] = [
    { name: 'nothing to read', items: [], expected: [] },
    { name: 'one register', items: [h(7)], expected: ['holding 7+1 [0@0]'] },
    {
      name: 'the energy meter map: adjacent registers in one request',
      items: [h(0, 2), h(2, 2), h(4), h(5), h(6)],
      expected: ['holding 0+7 [0@0 1@2 2@4 3@5 4@6]'],
    },
    {
      name: 'input order does not matter',
      items: [h(4), h(0, 2), h(2, 2)],
      expected: ['holding 0+5 [1@0 2@2 0@4]'],
    },
    {
      name: 'a gap splits (max gap 0)',
      items: [h(0), h(2)],
      expected: ['holding 0+1 [0@0]', 'holding 2+1 [1@0]'],
    },
    {
      name: 'overlapping points share registers',
      items: [h(0, 2), h(1), h(0)],
      expected: ['holding 0+2 [0@0 2@0 1@1]'],
    },
    { name: 'the same register twice', items: [h(3), h(3)], expected: ['holding 3+1 [0@0 1@0]'] },
    {
      name: 'tables never mix, and come out in table order',
      items: [
        { table: 'coil', address: 0, length: 1 },
        { table: 'input', address: 1, length: 2 },
        h(0),
        { table: 'discrete', address: 1, length: 1 },
        { table: 'input', address: 0, length: 1 },
      ],
      expected: ['holding 0+1 [2@0]', 'input 0+3 [4@0 1@1]', 'coil 0+1 [0@0]', 'discrete 1+1 [3@0]'],
    },
    {
      name: 'splits at 125 registers',
      items: Array.from({ length: 64 }, (_, i) => h(i * 2, 2)),
      expected: [
        `holding 0+124 [${Array.from({ length: 62 }, (_, i) => `${i}@${i * 2}`).join(' ')}]`,
        'holding 124+4 [62@0 63@2]',
      ],
    },
    {
      name: 'a 32-bit value is never split across requests',
      items: [h(0, 124), h(124, 2)],
      expected: ['holding 0+124 [0@0]', 'holding 124+2 [1@0]'],
    },
    {
      name: 'exactly 125 registers fit',
      items: [h(0, 123), h(123, 2)],
      expected: ['holding 0+125 [0@0 1@123]'],
    },
    {
      name: 'at the top of the address space',
      items: [h(65534, 2), h(65533)],
      expected: ['holding 65533+3 [1@0 0@1]'],
    },
  ];
  it.each(cases)('$name', ({ items, expected }) => {
    expect(describeRequests(planReads(items))).toEqual(expected);
  });

  it('coalesces up to 2000 coils per request', () => {
    const coils = Array.from(
      { length: 2001 },
      (_, address): PlanItem => ({ table: 'coil', address, length: 1 }),
    );
    const requests = planReads(coils);
    expect(requests.map((r) => [r.address, r.length])).toEqual([
      [0, 2000],
      [2000, 1],
    ]);
    expect(requests[0]?.items).toHaveLength(2000);
  });

  const gapCases: { name: string; maxGap: number; items: PlanItem[]; expected: string[] }[] = [
    {
      name: 'no bridging (devices that reject reads over unmapped addresses)',
      maxGap: 0,
      items: [h(0), h(2), h(3, 2)],
      expected: ['holding 0+1 [0@0]', 'holding 2+3 [1@0 2@1]'],
    },
    {
      name: 'a gap of exactly maxGap is bridged',
      maxGap: 8,
      items: [h(0), h(9)],
      expected: ['holding 0+10 [0@0 1@9]'],
    },
    {
      name: 'a gap one beyond maxGap is not',
      maxGap: 8,
      items: [h(0), h(10)],
      expected: ['holding 0+1 [0@0]', 'holding 10+1 [1@0]'],
    },
    {
      name: 'bridging never exceeds 125 registers',
      maxGap: 8,
      items: [h(0, 100), h(105, 20), h(126)],
      expected: ['holding 0+125 [0@0 1@105]', 'holding 126+1 [2@0]'],
    },
    {
      name: 'scattered bits in one register share it',
      maxGap: 0,
      items: [h(4), h(4), h(4)],
      expected: ['holding 4+1 [0@0 1@0 2@0]'],
    },
    {
      name: 'coils bridge gaps too, within 2000',
      maxGap: 8,
      items: [
        { table: 'coil', address: 0, length: 1 },
        { table: 'coil', address: 5, length: 1 },
        { table: 'coil', address: 1999, length: 1 },
      ],
      expected: ['coil 0+6 [0@0 1@5]', 'coil 1999+1 [2@0]'],
    },
    {
      name: 'tables are planned apart even when addresses line up',
      maxGap: 8,
      items: [h(0), { table: 'input', address: 1, length: 1 }, h(2)],
      expected: ['holding 0+3 [0@0 2@2]', 'input 1+1 [1@0]'],
    },
  ];
  it.each(gapCases)('maxGap $maxGap: $name', ({ maxGap, items, expected }) => {
    expect(describeRequests(planReads(items, { ...defaultPlanOptions, maxGap }))).toEqual(expected);
  });

  it('bridges gaps up to maxGap when asked', () => {
    const options = { ...defaultPlanOptions, maxGap: 2 };
    expect(describeRequests(planReads([h(0), h(3), h(7)], options))).toEqual([
      'holding 0+4 [0@0 1@3]',
      'holding 7+1 [2@0]',
    ]);
  });

  it('respects a lower per-device length limit, never a higher one than the protocol', () => {
    const small = { ...defaultPlanOptions, maxLength: { ...defaultPlanOptions.maxLength, holding: 4 } };
    expect(planReads([h(0, 2), h(2, 2), h(4, 2)], small).map((r) => r.length)).toEqual([4, 2]);
    const large = { ...defaultPlanOptions, maxLength: { ...defaultPlanOptions.maxLength, holding: 1000 } };
    expect(planReads([h(0, 100), h(100, 100)], large).map((r) => r.length)).toEqual([100, 100]);
  });

  it('rejects an item longer than one request can carry', () => {
    expect(() => planReads([h(0, 126)])).toThrow(RangeError);
  });

  it('maps every item into exactly one request, inside its bounds', () => {
    const items = [h(10, 2), h(0), h(11), h(300, 2), { table: 'input', address: 5, length: 2 } as PlanItem];
    const requests = planReads(items);
    const seen = requests.flatMap((r) =>
      r.items.map((i) => {
        const item = items[i.index];
        expect(item?.table).toBe(r.table);
        expect(r.address + i.offset).toBe(item?.address);
        expect(i.offset + i.length).toBeLessThanOrEqual(r.length);
        return i.index;
      }),
    );
    expect(seen.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
  });
});
