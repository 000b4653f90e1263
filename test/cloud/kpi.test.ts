/** KPI definitions on the hand-computed fixture, through the embedded store, plus aggregation windows. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregate } from '../../cloud/aggregate.js';
import { compareSites, kpis, planSite } from '../../cloud/kpi.js';
import { SqliteStore } from '../../cloud/store/sqlite-store.js';
import { expectKpi, KPI_FROM, KPI_SITE, KPI_TO, kpiBatches, kpiMetadata, T0 } from './kpi-fixture.js';

describe('KPIs on the embedded store', () => {
  const store = new SqliteStore(':memory:');

  beforeAll(async () => {
    await store.writeMetadata(kpiMetadata());
    for (const batch of kpiBatches()) await store.writeTelemetry(batch, batch.sentTs);
  });
  afterAll(() => store.close());

  it('counts only machines (with an ideal cycle time) and meters on lines without machines', async () => {
    const plan = planSite((await store.points(KPI_SITE)) ?? []);
    expect(plan.machines).toEqual([
      {
        state: `${KPI_SITE}/assembly/cnc-01/state`,
        'good-count': `${KPI_SITE}/assembly/cnc-01/good-count`,
        'reject-count': `${KPI_SITE}/assembly/cnc-01/reject-count`,
        'ideal-cycle-time': `${KPI_SITE}/assembly/cnc-01/ideal-cycle-time`,
      },
    ]);
    expect(plan.energyMeters).toEqual([`${KPI_SITE}/utilities/meter-main/energy-total`]);
    expect(plan.waterMeters).toEqual([`${KPI_SITE}/utilities/water-main/volume-total`]);
  });

  it.each(kpis)('%s matches the hand-computed figures', async (kpi) => {
    const answer = await compareSites(
      store,
      kpi,
      [KPI_SITE],
      {
        from: KPI_FROM,
        to: KPI_TO,
        windowMs: 60_000,
      },
      10_000,
    );
    if (!('sites' in answer)) throw new Error(`unknown site ${answer.unknownSite}`);
    expect(answer.sites[0]?.site).toBe(KPI_SITE);
    expectKpi(answer.sites[0] as never, kpi);
  });

  it('names an unknown site', async () => {
    const answer = await compareSites(
      store,
      'oee',
      [KPI_SITE, 'nowhere'],
      {
        from: KPI_FROM,
        to: KPI_TO,
        windowMs: 60_000,
      },
      10_000,
    );
    expect(answer).toEqual({ unknownSite: 'nowhere' });
  });

  it('gives null, not 0, when there is no planned time or output', async () => {
    const answer = await compareSites(
      store,
      'energy_per_unit',
      [KPI_SITE],
      {
        from: T0 + 10_000_000,
        to: T0 + 10_059_999,
        windowMs: 60_000,
      },
      10_000,
    );
    expect(answer).toEqual({
      sites: [{ site: KPI_SITE, value: null, windows: [{ start: T0 + 10_000_000, value: null }] }],
    });
  });
});

describe('aggregate', () => {
  const at = (minute: number, second: number) => minute * 60_000 + second * 1000;
  const samples = [
    { ts: at(0, 1), value: 4, quality: 'good' as const },
    { ts: at(0, 30), value: 2, quality: 'good' as const },
    { ts: at(0, 40), value: 100, quality: 'bad' as const },
    { ts: at(0, 50), value: true, quality: 'good' as const },
    { ts: at(2, 0), value: 'text', quality: 'good' as const },
    { ts: at(2, 5), value: 9, quality: 'uncertain' as const },
  ];

  it('computes mean, min, max and last per aligned window, leaving bad and non-numeric samples out', () => {
    expect(aggregate(samples, 'mean', 60_000)).toEqual([
      { ts: 0, value: 7 / 3, count: 3 },
      { ts: at(2, 0), value: 9, count: 1 },
    ]);
    expect(aggregate(samples, 'min', 60_000).map((w) => w.value)).toEqual([1, 9]);
    expect(aggregate(samples, 'max', 60_000).map((w) => w.value)).toEqual([4, 9]);
    expect(aggregate(samples, 'last', 300_000)).toEqual([{ ts: 0, value: 9, count: 4 }]);
  });
});
