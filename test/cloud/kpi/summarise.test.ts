/** Summing rollup rows per entity and window, with the meter precedence at line, site and project. */
import { describe, expect, it } from 'vitest';
import { type Components, emptyComponents, type RollupRow, type SitePlan } from '../../../cloud/kpi/model.js';
import { planSite } from '../../../cloud/kpi/plan.js';
import { type Level, summarise } from '../../../cloud/kpi/summarise.js';
import { rolePoint, T0 } from './fixtures.js';

const HOUR = 3_600_000;
const W0 = T0;
const W1 = T0 + HOUR;

function row(where: string, start: number, components: Partial<Components>, planned = true): RollupRow {
  const [site = '', line = '', equipment = ''] = where.split('/');
  return { site, line, equipment, start, planned, ...emptyComponents(), ...components };
}

/** Plans of sites A and B, with points in their own site ids. */
function planOf(site: string, points: ReturnType<typeof rolePoint>[]): SitePlan {
  return planSite(
    site,
    points.map((p) => ({ ...p, pointId: p.pointId.replace(/^[^/]+/, site) })),
  );
}

const plans = new Map([
  [
    'a',
    planOf('a', [
      rolePoint('l1/m1/energy', { role: 'energy' }),
      rolePoint('l1/m2/energy', { role: 'energy' }),
      rolePoint('l2/m3/energy', { role: 'energy' }),
      rolePoint('l2/sub/energy', { role: 'energy', scope: 'line' }),
      rolePoint('utilities/main/energy', { role: 'energy', scope: 'site' }),
    ]),
  ],
  [
    'b',
    planOf('b', [rolePoint('l1/m1/energy', { role: 'energy' }), rolePoint('l1/m1/water', { role: 'water' })]),
  ],
]);
const projectOf = new Map([
  ['a', 'p1'],
  ['b', 'p1'],
  ['c', 'p2'],
]);
const rows = [
  row('a/l1/m1', W0, { energyEquipmentKwh: 10, producingMs: 100 }),
  row('a/l1/m2', W0, { energyEquipmentKwh: 5, producingMs: 40 }, false),
  row('a/l2/m3', W0, { energyEquipmentKwh: 7 }),
  row('a/l2/sub', W0, { energyLineKwh: 20 }),
  row('a/utilities/main', W0, { energySiteKwh: 50 }),
  row('a/l1/m1', W1, { energyEquipmentKwh: 12 }),
  row('a/utilities/main', W1, { energySiteKwh: 40 }),
  row('b/l1/m1', W0, { energyEquipmentKwh: 3, waterEquipmentM3: 1 }),
  // Site c has no plan (e.g. its points are not registered yet): its line meter is known from the data.
  row('c/x/e', W0, { energyEquipmentKwh: 2, energyLineKwh: 9 }),
];

/** Entity → [total kWh, kWh per window]. */
function energyAt(level: Level): Record<string, [number, Record<number, number>]> {
  const summaries = summarise(level, rows, { plans, projectOf });
  return Object.fromEntries(
    [...summaries].map(([entity, s]) => [
      entity,
      [s.total.energyKwh, Object.fromEntries([...s.windows].map(([start, w]) => [start, w.energyKwh]))],
    ]),
  );
}

describe('summarise', () => {
  it('equipment: only its own equipment-scope meters', () => {
    const energy = energyAt('equipment');
    expect(energy['a/l1/m1']).toEqual([22, { [W0]: 10, [W1]: 12 }]);
    expect(energy['a/l2/sub']).toEqual([0, { [W0]: 0 }]); // its meter measures the line
    expect(energy['a/utilities/main']).toEqual([0, { [W0]: 0, [W1]: 0 }]);
  });

  it('line: its line meters if it has any, else the sum of its equipment meters', () => {
    const energy = energyAt('line');
    expect(energy['a/l1']).toEqual([27, { [W0]: 15, [W1]: 12 }]); // 10 + 5, then 12
    expect(energy['a/l2']).toEqual([20, { [W0]: 20 }]); // the line meter, not m3's 7 again
    expect(energy['a/utilities']).toEqual([0, { [W0]: 0, [W1]: 0 }]); // the site meter is not the line's
    expect(energy['c/x']).toEqual([9, { [W0]: 9 }]);
  });

  it('site: its site meters if any, else the sum of its lines; project: the sum of its sites', () => {
    const energy = energyAt('site');
    expect(energy.a).toEqual([90, { [W0]: 50, [W1]: 40 }]);
    expect(energy.b).toEqual([3, { [W0]: 3 }]);
    expect(energy.c).toEqual([9, { [W0]: 9 }]);
    expect(energyAt('project')).toEqual({
      p1: [93, { [W0]: 53, [W1]: 40 }], // a 90 + b 3
      p2: [9, { [W0]: 9 }],
    });
  });

  it('sums planned rows apart from all rows, per window and in total', () => {
    const site = summarise('site', rows, { plans, projectOf }).get('a');
    expect(site?.total.planned.producingMs).toBe(100);
    expect(site?.total.all.producingMs).toBe(140);
    expect(site?.windows.get(W0)?.all.energyEquipmentKwh).toBe(22); // raw columns stay as the rows had them
    const b = summarise('site', rows, { plans, projectOf }).get('b');
    expect(b?.total.waterM3).toBe(1);
  });

  it('leaves rows of a site without project out of the project level', () => {
    const projects = summarise('project', rows, { plans, projectOf: new Map([['a', 'p1']]) });
    expect([...projects.keys()]).toEqual(['p1']);
    expect(projects.get('p1')?.total.energyKwh).toBe(90);
  });
});
