/** The ISO 22400-2 KPIs on a hand-computed enum-state fixture, null denominators, and missing roles. */
import { describe, expect, it } from 'vitest';
import { plannedMinutes } from '../../../cloud/kpi/calendar.js';
import { KpiConfig } from '../../../cloud/kpi/config.js';
import { kpiDefinitions, kpiNames, kpiValuesOf, missingRoles } from '../../../cloud/kpi/definitions.js';
import { computeMinuteRollups } from '../../../cloud/kpi/minutes.js';
import { planSite } from '../../../cloud/kpi/plan.js';
import { emptySums, summarise } from '../../../cloud/kpi/summarise.js';
import { id, MINUTE, rolePoint, SITE, series, T0 } from './fixtures.js';

/** A cell reporting an enum state (1 producing, 2 idle, 3 down, 4 setup, 5 maintenance), totals, rejects, meters. */
const cellPoints = [
  rolePoint('l1/cell/state', {
    role: 'machine-state',
    values: { '1': 'producing', '2': 'idle', '3': 'down', '4': 'setup', '5': 'maintenance' },
  }),
  rolePoint('l1/cell/total', { role: 'total-count', idealCycleTimeS: 15, unitValue: 50 }),
  rolePoint('l1/cell/rejects', { role: 'reject-count' }),
  rolePoint('l1/cell/energy', { role: 'energy' }, 'WHR'),
  rolePoint('l1/cell/water', { role: 'water' }, 'LTR'),
];
const m = (minutes: number) => minutes * MINUTE;
const cellSamples = new Map([
  // setup 0–10 min, producing 10–30, down 30–35, producing 35–45, maintenance 45–50, down 50–54, idle 54–59 (observed until).
  [
    id('l1/cell/state'),
    series([0, 4], [m(10), 1], [m(30), 3], [m(35), 1], [m(45), 5], [m(50), 3], [m(54), 2]),
  ],
  [id('l1/cell/total'), series([0, 100], [m(20), 160], [m(40), 190])], // +60, +30 = 90 parts
  [id('l1/cell/rejects'), series([0, 5], [m(40), 14])], // +9
  [id('l1/cell/energy'), series([0, 1_000_000], [m(59), 1_405_000])], // 405,000 Wh = 405 kWh
  [id('l1/cell/water'), series([0, 0], [m(59), 8100])], // 8100 L = 8.1 m³
]);

function cellKpis(isPlanned: (minute: number) => boolean) {
  const plan = planSite(SITE, cellPoints);
  const rows = computeMinuteRollups({
    plan,
    isPlanned,
    from: T0,
    to: T0 + m(60) - 1,
    observedUntil: T0 + m(59),
    carry: new Map(),
    samples: cellSamples,
  });
  const sums = summarise('site', rows, { plans: new Map([[SITE, plan]]), projectOf: new Map() }).get(SITE);
  if (!sums) throw new Error('no sums');
  return { sums: sums.total, kpis: kpiValuesOf(sums.total) };
}

describe('kpiValuesOf', () => {
  it('an enum state with setup and maintenance, all of it planned', () => {
    const { sums, kpis } = cellKpis(() => true);
    // APT = 20 + 10 min = 1800 s; AUST = 600 s; ADET = 5 + 4 min = 540 s; PBT = 2940 s; two changes into down
    // (producing → down at 30 min, maintenance → down at 50 min). Maintenance and idle are planned stops.
    expect(sums.planned).toMatchObject({
      producingMs: 1_800_000,
      setupMs: 600_000,
      downMs: 540_000,
      maintenanceMs: 300_000,
      idleMs: 300_000,
      failures: 2,
      producedQty: 90,
      goodQty: 81, // 90 − 9 rejects
      scrapQty: 9,
      idealMs: 1_350_000, // 90 × 15 s
      valueAdded: 4050, // 81 × 50 CNY
    });
    expect(kpis.availability).toBeCloseTo(1800 / 2940, 12); // 0.6122
    expect(kpis.effectiveness).toBeCloseTo(1350 / 1800, 12); // 0.75
    expect(kpis.quality_ratio).toBeCloseTo(0.9, 12); // 81 / 90
    expect(kpis.oee).toBeCloseTo((1800 / 2940) * 0.75 * 0.9, 12); // 0.4133
    expect(kpis.technical_efficiency).toBeCloseTo(1800 / 2340, 12); // APT / (APT + ADET) = 0.7692
    expect(kpis.setup_ratio).toBeCloseTo(0.25, 12); // 600 / (1800 + 600)
    expect(kpis.scrap_ratio).toBeCloseTo(0.1, 12); // 9 / 90
    expect(kpis.mttr).toBeCloseTo(4.5, 12); // 540 s / 2 = 270 s = 4.5 min
    expect(kpis.mtbf).toBeCloseTo(15, 12); // 1800 s / 2 = 900 s = 15 min
    expect(kpis.output).toBe(81);
    expect(kpis.energy_per_unit).toBeCloseTo(5, 9); // 405 kWh / 81
    expect(kpis.water_per_unit).toBeCloseTo(0.1, 9); // 8.1 m³ / 81
    expect(kpis.energy_per_value_added).toBeCloseTo(1000, 6); // 405 kWh / (4050 CNY / 10,000)
    expect(kpis.water_per_value_added).toBeCloseTo(20, 6); // 8.1 m³ / 0.405
  });

  it('counts time KPIs over planned minutes only, output and meters over all', () => {
    // A shift on Mondays 00:00–00:50 UTC: minutes 50–59 (down 50–54 with its failure, idle 54–59) are unplanned.
    const config = KpiConfig.parse({
      calendars: { short: { timeZone: 'UTC', shifts: [{ days: ['mon'], start: '00:00', end: '00:50' }] } },
      sites: { [SITE]: 'short' },
    });
    const { kpis } = cellKpis(plannedMinutes(config, SITE));
    // PBT = 1800 + 600 + 300 = 2700 s; one failure.
    expect(kpis.availability).toBeCloseTo(1800 / 2700, 12);
    expect(kpis.mttr).toBeCloseTo(5, 12); // 300 s / 1
    expect(kpis.mtbf).toBeCloseTo(30, 12); // 1800 s / 1
    expect(kpis.quality_ratio).toBeCloseTo(0.9, 12); // all parts were counted in planned minutes
    expect(kpis.output).toBe(81);
    expect(kpis.energy_per_unit).toBeCloseTo(5, 9); // the meter sample at 59 min is unplanned, still counted
  });

  it('answers null, never 0, for a zero denominator', () => {
    expect(kpiValuesOf(emptySums())).toEqual({
      oee: null,
      availability: null,
      effectiveness: null,
      quality_ratio: null,
      technical_efficiency: null,
      setup_ratio: null,
      scrap_ratio: null,
      mttr: null,
      mtbf: null,
      output: 0,
      energy_per_unit: null,
      water_per_unit: null,
      energy_per_value_added: null,
      water_per_value_added: null,
    });
  });

  it('defines every KPI with a unit, formula, reference, and an English and Chinese label and description', () => {
    for (const name of kpiNames) {
      const definition = kpiDefinitions[name];
      expect(definition.formula, name).not.toBe('');
      expect(definition.reference, name).toMatch(/ISO 22400-2|Column 2|not an ISO 22400 KPI/);
      expect(definition.description.en, name).not.toBe('');
      expect(definition.description.zh, name).toMatch(/[\u4e00-\u9fff]/);
      expect(definition.label.en, name).not.toBe('');
      expect(definition.label.zh, name).toMatch(/[\u4e00-\u9fff]/);
    }
  });
});

describe('missingRoles', () => {
  const plan = planSite(SITE, [
    ...cellPoints,
    rolePoint('l1/press/good', { role: 'good-count' }),
    rolePoint('utilities/main/energy', { role: 'energy', scope: 'site' }),
    rolePoint('utilities/main/water', { role: 'water', scope: 'line' }),
  ]);

  it('names each equipment lacking a role, and nothing for a KPI it can compute', () => {
    expect(missingRoles(plan, 'availability')).toEqual(['l1/press: needs a machine-state point']);
    expect(missingRoles(plan, 'oee')).toEqual([
      'l1/press: needs a machine-state point',
      'l1/press: needs a reject-count point (or both good-count and total-count); without it every part counts as good',
      'l1/press: needs an ideal-cycle-time point or idealCycleTimeS on its count role',
    ]);
    expect(missingRoles(plan, 'output')).toEqual([]);
    expect(missingRoles(plan, 'energy_per_unit')).toEqual([]);
    expect(missingRoles(plan, 'completeness')).toEqual([]);
  });

  it('judges meters by what they measure at the level asked', () => {
    // The site has water (a line meter on utilities), line l1 has its equipment meter, press has none.
    expect(missingRoles(plan, 'water_per_unit')).toEqual([]);
    expect(missingRoles(plan, 'water_per_unit', { line: 'l1' })).toEqual([]);
    expect(missingRoles(plan, 'energy_per_value_added', { line: 'l1', equipment: 'press' })).toEqual([
      'l1/press: needs an energy point of scope equipment',
      'l1/press: needs a unit-value point or unitValue on its count role',
    ]);
    const noWater = planSite(SITE, cellPoints.slice(0, 3));
    expect(missingRoles(noWater, 'water_per_unit', { line: 'l1' })).toEqual([
      'line l1: needs a water point of scope line or equipment on the line',
    ]);
  });

  it('says so when no equipment has the roles at all', () => {
    const metersOnly = planSite(SITE, [
      rolePoint('utilities/main/energy', { role: 'energy', scope: 'site' }),
    ]);
    expect(missingRoles(metersOnly, 'availability')).toEqual([
      `site ${SITE}: no equipment has a machine-state point`,
    ]);
  });
});
