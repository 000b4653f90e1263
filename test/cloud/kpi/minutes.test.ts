/** Minute rollups from role samples, each fixture computed by hand (arithmetic in the comments). */
import { describe, expect, it } from 'vitest';
import { carryBefore, computeMinuteRollups, type MinuteInput } from '../../../cloud/kpi/minutes.js';
import { type Components, emptyComponents, type RollupRow } from '../../../cloud/kpi/model.js';
import { planSite } from '../../../cloud/kpi/plan.js';
import type { PointInfo } from '../../../cloud/store/store.js';
import { id, MINUTE, rolePoint, SECOND, SITE, sample, series, T0 } from './fixtures.js';

/** Rollups of `minutes` minutes from T0 for the given points and samples. */
function rollups(
  points: PointInfo[],
  data: Pick<Partial<MinuteInput>, 'carry' | 'samples' | 'isPlanned'> & {
    minutes: number;
    observedFor: number;
  },
): RollupRow[] {
  return computeMinuteRollups({
    plan: planSite(SITE, points),
    isPlanned: data.isPlanned ?? (() => true),
    from: T0,
    to: T0 + data.minutes * MINUTE - 1,
    observedUntil: T0 + data.observedFor,
    carry: data.carry ?? new Map(),
    samples: data.samples ?? new Map(),
  });
}

/** The expected row of minute `index` of an equipment: zero but for `components`. */
function row(where: string, index: number, components: Partial<Components>, planned = true): RollupRow {
  const [line = '', equipment = ''] = where.split('/');
  return {
    site: SITE,
    line,
    equipment,
    start: T0 + index * MINUTE,
    planned,
    ...emptyComponents(),
    ...components,
  };
}

/** Rows with every number rounded to 1e-9 (power integration and unit scaling are binary fractions). */
const rounded = (rows: RollupRow[]) =>
  rows.map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 1e9) / 1e9 : v]),
    ),
  );

describe('computeMinuteRollups', () => {
  it('a boolean "running" point and a 16-bit good counter that wraps', () => {
    const points = [
      rolePoint('l1/press/running', { role: 'machine-state', values: { true: 'producing', false: 'down' } }),
      rolePoint('l1/press/good', { role: 'good-count', width: 16, idealCycleTimeS: 10 }),
    ];
    const rows = rollups(points, {
      minutes: 5,
      observedFor: 270 * SECOND,
      isPlanned: (minute) => minute < T0 + 4 * MINUTE,
      carry: new Map([
        [id('l1/press/running'), sample(-30 * SECOND, true)],
        [id('l1/press/good'), sample(-10 * SECOND, 65_530)],
      ]),
      samples: new Map([
        [id('l1/press/running'), series([90 * SECOND, false], [150 * SECOND, true])],
        [
          id('l1/press/good'),
          series(
            [30 * SECOND, 65_534], // +4 from the carried 65,530
            [80 * SECOND, 2], // wrap: 2 + 65,536 − 65,534 = +4
            [200 * SECOND, 5], // +3
            [230 * SECOND, true], // not a number: skipped
            [250 * SECOND, 'n/a'], // skipped
            [270 * SECOND, 7], // +2 from 5
          ),
        ],
      ]),
    });
    // Running (carried from −30 s) 0–90 s, down 90–150 s (one failure at 90 s), running 150–270 s (observed until).
    // Ideal time: parts × 10 s × 1000.
    expect(rows).toEqual([
      row('l1/press', 0, { producingMs: 60_000, goodQty: 4, producedQty: 4, idealMs: 40_000 }),
      row('l1/press', 1, {
        producingMs: 30_000,
        downMs: 30_000,
        failures: 1,
        goodQty: 4,
        producedQty: 4,
        idealMs: 40_000,
      }),
      row('l1/press', 2, { downMs: 30_000, producingMs: 30_000 }),
      row('l1/press', 3, { producingMs: 60_000, goodQty: 3, producedQty: 3, idealMs: 30_000 }),
      row('l1/press', 4, { producingMs: 30_000, goodQty: 2, producedQty: 2, idealMs: 20_000 }, false),
    ]);
  });

  it('counts no failure for a first-ever down state, and no time while a value maps to no state', () => {
    const points = [
      rolePoint('l1/mill/status', { role: 'machine-state', values: { RUN: 'producing', FAULT: 'down' } }),
      // A counter without samples and an equipment without data: no rows.
      rolePoint('l1/mill/good', { role: 'good-count' }),
      rolePoint('l2/idle/good', { role: 'good-count' }),
    ];
    const rows = rollups(points, {
      minutes: 4,
      observedFor: 150 * SECOND,
      samples: new Map([
        [
          id('l1/mill/status'),
          series([0, 'FAULT'], [60 * SECOND, 'RUN'], [90 * SECOND, 'WARMUP'], [120 * SECOND, 'FAULT']),
        ],
      ]),
    });
    // Down 0–60 s (no failure: nothing before it); running 60–90 s; WARMUP unknown 90–120 s (no time);
    // FAULT at 120 s follows a state that was not down: a failure; down until observed 150 s. Minute 3: nothing.
    expect(rows).toEqual([
      row('l1/mill', 0, { downMs: 60_000 }),
      row('l1/mill', 1, { producingMs: 30_000 }),
      row('l1/mill', 2, { downMs: 30_000, failures: 1 }),
    ]);
  });

  it('reads a status word by bits: the first listed bit set gives the state, `otherwise` the rest', () => {
    const points = [
      rolePoint('l1/robot/word', {
        role: 'machine-state',
        bits: [
          { bit: 0, state: 'down' },
          { bit: 2, state: 'setup' },
          { bit: 1, state: 'producing' },
        ],
        otherwise: 'idle',
      }),
    ];
    const rows = rollups(points, {
      minutes: 2,
      observedFor: 120 * SECOND,
      samples: new Map([
        [
          id('l1/robot/word'),
          // 0b010 producing; 0b011 bit 0 first → down; 0b110 bit 2 before bit 1 → setup; 0 → idle; 0b010.
          series([0, 2], [30 * SECOND, 3], [60 * SECOND, 6], [90 * SECOND, 0], [100 * SECOND, 2]),
        ],
      ]),
    });
    expect(rows).toEqual([
      row('l1/robot', 0, { producingMs: 30_000, downMs: 30_000, failures: 1 }),
      row('l1/robot', 1, { setupMs: 30_000, idleMs: 10_000, producingMs: 20_000 }),
    ]);
  });

  it('integrates power (W) to kWh, held until the next sample, and scales meters into their scope columns', () => {
    const points = [
      rolePoint('utilities/feeder/power', { role: 'energy', measure: 'power', scope: 'line' }, 'WTT'),
      rolePoint('utilities/feeder/energy', { role: 'energy', width: 32 }, 'WHR'),
      rolePoint('utilities/feeder/water', { role: 'water', scope: 'site' }, 'LTR'),
    ];
    const rows = rollups(points, {
      minutes: 3,
      observedFor: 120 * SECOND,
      carry: new Map([
        [id('utilities/feeder/power'), sample(-60 * SECOND, 30_000)],
        [id('utilities/feeder/energy'), sample(-60 * SECOND, 4_294_967_000)],
        [id('utilities/feeder/water'), sample(-60 * SECOND, 500)],
      ]),
      samples: new Map([
        [id('utilities/feeder/power'), series([30 * SECOND, 60_000], [45 * SECOND, true])],
        // 32-bit wrap: 704 + 2^32 − 4,294,967,000 = 1000 Wh = 1 kWh at 20 s.
        [id('utilities/feeder/energy'), series([20 * SECOND, 704])],
        [id('utilities/feeder/water'), series([70 * SECOND, 1500])],
      ]),
    });
    // Minute 0: 30 kW × 30 s / 3600 = 0.25 kWh + 60 kW × 30 s / 3600 = 0.5 kWh → 0.75 (the boolean is skipped).
    // Minute 1: 60 kW × 60 s / 3600 = 1 kWh; water 1500 − 500 L = 1 m³. Minute 2: past observed, nothing: no row.
    expect(rounded(rows)).toEqual([
      row('utilities/feeder', 0, { energyLineKwh: 0.75, energyEquipmentKwh: 1 }),
      row('utilities/feeder', 1, { energyLineKwh: 1, waterSiteM3: 1 }),
    ]);
  });

  it('derives good as total − rejects, values parts at their time, and scrap as total − good', () => {
    const points = [
      rolePoint('l1/lathe/total', { role: 'total-count', width: 32 }),
      rolePoint('l1/lathe/rejects', { role: 'reject-count' }),
      rolePoint('l1/lathe/ideal', { role: 'ideal-cycle-time' }, 'SEC'),
      rolePoint('l1/lathe/value', { role: 'unit-value' }),
      rolePoint('l1/mill/good', { role: 'good-count', unitValue: 40 }),
      rolePoint('l1/mill/total', { role: 'total-count', idealCycleTimeS: 5 }),
      rolePoint('l1/drill/good', { role: 'good-count' }),
      rolePoint('l1/drill/rejects', { role: 'reject-count' }),
    ];
    const rows = rollups(points, {
      minutes: 2,
      observedFor: 120 * SECOND,
      carry: new Map([
        [id('l1/lathe/total'), sample(-5 * SECOND, 1000)],
        [id('l1/lathe/rejects'), sample(-5 * SECOND, 50)],
        [id('l1/lathe/ideal'), sample(-60 * SECOND, 20)],
        [id('l1/mill/good'), sample(-5 * SECOND, 0)],
        [id('l1/mill/total'), sample(-5 * SECOND, 0)],
        [id('l1/drill/good'), sample(-5 * SECOND, 0)],
        [id('l1/drill/rejects'), sample(-5 * SECOND, 0)],
      ]),
      samples: new Map([
        [id('l1/lathe/total'), series([30 * SECOND, 1010], [90 * SECOND, 1016])],
        [id('l1/lathe/rejects'), series([40 * SECOND, 52], [100 * SECOND, 53])],
        [id('l1/lathe/ideal'), series([60 * SECOND, 30])],
        [id('l1/lathe/value'), series([0, 100])],
        [id('l1/mill/good'), series([30 * SECOND, 9])],
        [id('l1/mill/total'), series([30 * SECOND, 10])],
        [id('l1/drill/good'), series([30 * SECOND, 5])],
        [id('l1/drill/rejects'), series([30 * SECOND, 1])],
      ]),
    });
    expect(rows).toEqual([
      // drill: good 5 + rejects 1 = produced 6; no ideal cycle time known → ideal 0.
      row('l1/drill', 0, { goodQty: 5, scrapQty: 1, producedQty: 6 }),
      // lathe, minute 0: total +10 at 30 s, ideal 20 s (carried) → 200 s; rejects +2 at 40 s → good 10 − 2 = 8;
      // value added 10 × 100 − 2 × 100 = 800.
      row('l1/lathe', 0, { producedQty: 10, idealMs: 200_000, goodQty: 8, scrapQty: 2, valueAdded: 800 }),
      // mill: good 9 of total 10 → scrap 1; ideal 10 × 5 s; value 9 × 40.
      row('l1/mill', 0, { goodQty: 9, producedQty: 10, scrapQty: 1, idealMs: 50_000, valueAdded: 360 }),
      // lathe, minute 1: total +6 at 90 s, ideal 30 s since 60 s → 180 s; rejects +1 → good 5; value 600 − 100.
      row('l1/lathe', 1, { producedQty: 6, idealMs: 180_000, goodQty: 5, scrapQty: 1, valueAdded: 500 }),
    ]);
  });

  it('answers no rows for a range without a whole minute start', () => {
    const points = [rolePoint('l1/m/state', { role: 'machine-state', values: { '1': 'producing' } })];
    const plan = planSite(SITE, points);
    const input = { plan, isPlanned: () => true, carry: new Map(), samples: new Map() };
    expect(computeMinuteRollups({ ...input, from: T0, to: T0 - 1, observedUntil: T0 })).toEqual([]);
  });
});

describe('carryBefore', () => {
  it('takes each point’s newest sample before the cursor, from the samples or else the carry', () => {
    const carry = new Map([
      ['a', sample(-5 * SECOND, 1)],
      ['b', sample(-5 * SECOND, 'RUN')],
      ['d', sample(20 * SECOND, 9)], // not before the cursor
    ]);
    const samples = new Map([
      ['a', series([10 * SECOND, 2], [20 * SECOND, 3])],
      ['c', series([15 * SECOND, 4])], // at the cursor: not before it
    ]);
    expect(carryBefore(carry, samples, T0 + 15 * SECOND)).toEqual(
      new Map([
        ['a', sample(10 * SECOND, 2)],
        ['b', sample(-5 * SECOND, 'RUN')],
      ]),
    );
  });
});
