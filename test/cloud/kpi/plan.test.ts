/** Site plans: role points by equipment, unit scaling, duplicates and unusable units as warnings. */
import { describe, expect, it } from 'vitest';
import { planSite } from '../../../cloud/kpi/plan.js';
import type { PointInfo } from '../../../cloud/store/store.js';
import { id, rolePoint, SITE } from './fixtures.js';

describe('planSite', () => {
  it('scales each UNECE unit into the role unit, and a point without unit is taken in the role unit', () => {
    const plan = planSite(SITE, [
      rolePoint('l1/m1/e-wh', { role: 'energy' }, 'WHR'),
      rolePoint('l1/m1/e-kwh', { role: 'energy' }, 'KWH'),
      rolePoint('l1/m1/e-mwh', { role: 'energy', scope: 'site' }, 'MWH'),
      rolePoint('l1/m1/p-w', { role: 'energy', measure: 'power' }, 'WTT'),
      rolePoint('l1/m1/p-mw', { role: 'energy', measure: 'power' }, 'MAW'),
      rolePoint('l1/m1/p-kw', { role: 'energy', measure: 'power' }, 'KWT'),
      rolePoint('l1/m1/w-l', { role: 'water' }, 'LTR'),
      rolePoint('l1/m1/w-m3', { role: 'water' }, 'MTQ'),
      rolePoint('l1/m1/w-none', { role: 'water' }),
      rolePoint('l1/m2/ict-ms', { role: 'ideal-cycle-time' }, 'C26'),
      rolePoint('l1/m3/ict-min', { role: 'ideal-cycle-time' }, 'MIN'),
      rolePoint('l1/m4/ict-h', { role: 'ideal-cycle-time' }, 'HUR'),
      rolePoint('l1/m5/ict-s', { role: 'ideal-cycle-time' }, 'SEC'),
      // Counts and states take any unit (pieces, none) as they are.
      rolePoint('l1/m5/good', { role: 'good-count' }, 'C62'),
    ]);
    const scales = Object.fromEntries(
      plan.equipment.flatMap((e) =>
        [...e.energy, ...e.water, ...e.goodCounts, ...(e.idealCycleTime ? [e.idealCycleTime] : [])].map(
          (p) => [p.point, p.scale],
        ),
      ),
    );
    expect(scales).toEqual({
      'e-wh': 0.001,
      'e-kwh': 1,
      'e-mwh': 1000,
      'p-w': 0.001,
      'p-mw': 1000,
      'p-kw': 1,
      'w-l': 0.001,
      'w-m3': 1,
      'w-none': 1,
      'ict-ms': 0.001,
      'ict-min': 60,
      'ict-h': 3600,
      'ict-s': 1,
      good: 1,
    });
    expect(plan.warnings).toEqual([]);
  });

  it('leaves a point with a unit it cannot convert out, with a warning', () => {
    const plan = planSite(SITE, [
      rolePoint('l1/m1/energy', { role: 'energy' }, 'KWT'), // power unit on an energy counter
      rolePoint('l1/m1/water', { role: 'water' }, 'MTQ'),
    ]);
    expect(plan.pointIds).toEqual([id('l1/m1/water')]);
    expect(plan.warnings).toEqual([
      `${id('l1/m1/energy')}: unit KWT cannot be turned into kWh (KWH) for role energy; point left out (use one of KWH, WHR, MWH)`,
    ]);
  });

  it('uses the first of duplicate single roles by point id, whatever the listing order, and warns', () => {
    const points: PointInfo[] = [
      rolePoint('l1/m1/state-b', { role: 'machine-state', values: { '1': 'producing' } }),
      rolePoint('l1/m1/state-a', { role: 'machine-state', values: { true: 'producing' } }),
      rolePoint('l1/m1/ict-2', { role: 'ideal-cycle-time' }),
      rolePoint('l1/m1/ict-1', { role: 'ideal-cycle-time' }),
      rolePoint('l1/m1/uv-1', { role: 'unit-value' }),
      rolePoint('l1/m1/uv-2', { role: 'unit-value' }),
    ];
    const plan = planSite(SITE, points);
    expect(planSite(SITE, [...points].reverse())).toEqual(plan);
    const [machine] = plan.equipment;
    expect(machine?.state?.point).toBe('state-a');
    expect(machine?.idealCycleTime?.point).toBe('ict-1');
    expect(machine?.unitValue?.point).toBe('uv-1');
    expect(plan.warnings).toEqual([
      `${id('l1/m1/ict-2')}: l1/m1 already has its ideal-cycle-time point (${id('l1/m1/ict-1')}, the first by point id); this one is left out`,
      `${id('l1/m1/state-b')}: l1/m1 already has its machine-state point (${id('l1/m1/state-a')}, the first by point id); this one is left out`,
      `${id('l1/m1/uv-2')}: l1/m1 already has its unit-value point (${id('l1/m1/uv-1')}, the first by point id); this one is left out`,
    ]);
    expect(plan.pointIds).toEqual([id('l1/m1/ict-1'), id('l1/m1/state-a'), id('l1/m1/uv-1')]);
  });

  it('groups role points by equipment (sorted), keeps several counters, takes constants from count roles', () => {
    const plan = planSite(SITE, [
      rolePoint('l2/a/good', { role: 'good-count', width: 16 }),
      {
        pointId: id('l1/z/label'),
        line: 'l1',
        equipment: 'z',
        point: 'label',
        protocol: null,
        unit: null,
        dataType: 'string',
        description: null,
        min: null,
        max: null,
        writable: false,
      },
      rolePoint('l1/z/total-b', { role: 'total-count', idealCycleTimeS: 12, unitValue: 30 }),
      rolePoint('l1/z/total-a', { role: 'total-count', idealCycleTimeS: 10 }),
      rolePoint('l1/z/reject', { role: 'reject-count' }),
    ]);
    expect(plan.equipment.map((e) => `${e.line}/${e.equipment}`)).toEqual(['l1/z', 'l2/a']);
    const [z] = plan.equipment;
    expect(z?.totalCounts.map((p) => p.point)).toEqual(['total-a', 'total-b']);
    expect(z?.rejectCounts.map((p) => p.point)).toEqual(['reject']);
    // idealCycleTimeS from total-a (first by id); unitValue only total-b declares.
    expect(z?.idealCycleTimeS).toBe(10);
    expect(z?.unitValueConstant).toBe(30);
    expect(plan.warnings).toEqual([
      `${id('l1/z/total-b')}: idealCycleTimeS 12 differs from 10 declared first on l1/z; the first is used`,
    ]);
    expect(plan.pointIds).toEqual([
      id('l1/z/reject'),
      id('l1/z/total-a'),
      id('l1/z/total-b'),
      id('l2/a/good'),
    ]);
    expect(plan.site).toBe(SITE);
  });
});
