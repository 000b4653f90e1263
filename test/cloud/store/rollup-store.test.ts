import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Components,
  emptyComponents,
  HOUR_MS,
  MINUTE_MS,
  type RollupRow,
} from '../../../cloud/kpi/model.js';
import { QueryRefusedError } from '../../../cloud/query/query-errors.js';
import type { TelemetryStore } from '../../../cloud/store/store.js';
import type { TelemetryBatch } from '../../../gateway/schema/index.js';
import { GATEWAY, metadata, SITE, TS, telemetry } from '../fixtures.js';
import { rollupRows, type StoreSubject, storeSubjects } from './store-subjects.js';

/** An hour boundary near the fixtures' time. */
const H = Math.floor(TS / HOUR_MS) * HOUR_MS;
const RUNNING = `${SITE}/machining/cnc-01/running`;
const GOOD = `${SITE}/machining/cnc-01/good-count`;
const PROGRAM = `${SITE}/machining/cnc-01/program`;

const row = (start: number, equipment: string, planned: boolean, parts: Partial<Components>): RollupRow => ({
  site: SITE,
  line: 'machining',
  equipment,
  start,
  planned,
  ...emptyComponents(),
  ...parts,
});

const sample = (
  point: string,
  ts: number,
  value: TelemetryBatch['points'][number]['value'],
  quality = 'good',
) =>
  ({ line: 'machining', equipment: 'cnc-01', point, value, ts, quality }) as TelemetryBatch['points'][number];

const batch = (seq: number, points: TelemetryBatch['points']) =>
  telemetry({ gateway: { id: GATEWAY, boot: 1, seq }, points });

const { subjects, cleanup } = storeSubjects('jjj-rollup-store-');
afterAll(cleanup);

/** Rows of `<measurement>_kpi` as `resolution equipment planned start: producing_ms good_qty`. */
async function copiedTo({ url, database }: { url: string; database: string }): Promise<string[]> {
  const q = `SELECT producing_ms, good_qty, equipment, planned, resolution FROM jjj_kpi WHERE site = '${SITE}'`;
  const response = await fetch(`${url}/query?db=${database}&epoch=ms&q=${encodeURIComponent(q)}`);
  const answer = (await response.json()) as { results: { series?: { values: unknown[][] }[] }[] };
  return (answer.results[0]?.series?.[0]?.values ?? [])
    .map(([time, producing, good, equipment, planned, resolution]) =>
      [resolution, equipment, planned, Number(time) - H, `${producing} ${good}`].join(' '),
    )
    .sort();
}

describe.each(subjects)('rollups in the %s store', (_name, open) => {
  let subject: StoreSubject;
  let store: TelemetryStore;
  beforeEach(async () => {
    subject = await open();
    store = subject.store;
  }, 60_000);
  afterEach(async () => {
    await subject.close();
  });

  it("keeps a point's KPI role from its metadata, and forgets it when the metadata drops it", async () => {
    const role = { role: 'machine-state', values: { true: 'producing', false: 'down' } } as const;
    const withRole = metadata();
    const spindle = withRole.points[0] as (typeof withRole.points)[number];
    withRole.points.push({ ...spindle, point: 'running', dataType: 'bool', unit: undefined, kpi: role });
    await store.writeMetadata(withRole);
    const points = await store.points(SITE);
    expect(points?.find((p) => p.pointId === RUNNING)?.kpi).toEqual(role);
    expect(points?.filter((p) => p.kpi !== undefined)).toHaveLength(1);
    const withoutRole = metadata();
    withoutRole.points.push({ ...spindle, point: 'running', dataType: 'bool', unit: undefined });
    await store.writeMetadata(withoutRole);
    expect((await store.points(SITE))?.find((p) => p.pointId === RUNNING)).not.toHaveProperty('kpi');
  });

  it('marks the rollup state in the telemetry transaction; a duplicate batch marks nothing', async () => {
    await store.writeTelemetry(
      batch(0, [sample('running', TS + 5000, true), sample('running', TS + 2000, false)]),
      TS,
    );
    expect(await store.rollupStates()).toEqual([
      { site: SITE, newestTs: TS + 5000, dirtyFrom: TS + 2000, cursor: null },
    ]);
    expect(await store.takeRollupDirty(SITE)).toBe(TS + 2000);
    expect(await store.takeRollupDirty(SITE)).toBeNull();
    // Taking the mark brought the cursor to its minute.
    const minute = TS + 2000 - ((TS + 2000) % MINUTE_MS);
    expect(await store.rollupStates()).toEqual([
      { site: SITE, newestTs: TS + 5000, dirtyFrom: null, cursor: minute },
    ]);

    await store.setRollupCursor(SITE, minute + 5 * MINUTE_MS);
    expect(await store.writeTelemetry(batch(0, [sample('running', TS - HOUR_MS, true)]), TS)).toEqual({
      outcome: 'duplicate',
    });
    expect((await store.rollupStates())[0]?.dirtyFrom).toBeNull();

    // A replayed batch from before the cursor: marked, newest unchanged, the cursor comes down when taken.
    await store.writeTelemetry(batch(1, [sample('running', TS - HOUR_MS, true)]), TS);
    expect(await store.rollupStates()).toEqual([
      { site: SITE, newestTs: TS + 5000, dirtyFrom: TS - HOUR_MS, cursor: minute + 5 * MINUTE_MS },
    ]);
    await store.takeRollupDirty(SITE);
    expect((await store.rollupStates())[0]?.cursor).toBe(TS - HOUR_MS - ((TS - HOUR_MS) % MINUTE_MS));
  });

  it('reads good scalar samples of the asked points only, oldest first, within a budget', async () => {
    await store.writeTelemetry(
      batch(0, [
        sample('running', TS, true),
        sample('good-count', TS, 7),
        sample('program', TS, 'O1'),
        sample('spindle-speed', TS, 100),
      ]),
      TS,
    );
    await store.writeTelemetry(
      batch(1, [
        sample('running', TS + 1000, false),
        sample('good-count', TS + 1000, 8, 'uncertain'),
        sample('good-count', TS + 2000, 9),
        sample('program', TS + 1000, null, 'bad'),
        sample('program', TS + 3000, [1, 2]),
      ]),
      TS,
    );
    const got = await store.scalarSamplesOf(
      [RUNNING, GOOD, PROGRAM, `${SITE}/machining/cnc-01/none`],
      TS,
      TS + 2000,
      100,
    );
    expect(Object.fromEntries(got)).toEqual({
      [RUNNING]: { ts: [TS, TS + 1000], value: [true, false] },
      [GOOD]: { ts: [TS, TS + 2000], value: [7, 9] },
      [PROGRAM]: { ts: [TS], value: ['O1'] },
    });
    const narrow = await store.scalarSamplesOf([GOOD], TS + 1, TS + 2000, 100);
    expect(Object.fromEntries(narrow)).toEqual({ [GOOD]: { ts: [TS + 2000], value: [9] } });
    await expect(store.scalarSamplesOf([RUNNING, GOOD], TS, TS + 2000, 3)).rejects.toBeInstanceOf(
      QueryRefusedError,
    );
  });

  it('replaces minute rows, re-sums the hours they touch and reads them back in windows', async () => {
    // 10:58, 10:59 (hour H) and 11:00, 11:01 (hour H+1), two machines, planned and not.
    const first = [
      row(H + 58 * MINUTE_MS, 'cnc-01', true, { producingMs: 60_000, goodQty: 3 }),
      row(H + 59 * MINUTE_MS, 'cnc-01', true, {
        producingMs: 30_000,
        downMs: 30_000,
        failures: 1,
        goodQty: 1,
      }),
      row(H + 59 * MINUTE_MS, 'cnc-02', true, { producingMs: 60_000, goodQty: 2 }),
      row(H + 60 * MINUTE_MS, 'cnc-01', false, { idleMs: 60_000 }),
      row(H + 61 * MINUTE_MS, 'cnc-01', false, { producingMs: 60_000, goodQty: 5 }),
    ];
    await store.writeRollups(SITE, H + 58 * MINUTE_MS, H + 61 * MINUTE_MS + 59_999, first);
    // Another site's rows are its own.
    await store.writeRollups('other', H, H, [{ ...row(H, 'x', true, { goodQty: 100 }), site: 'other' }]);

    const hours = await rollupRows(store, { sites: [SITE], from: H, to: H + 2 * HOUR_MS, windowMs: HOUR_MS });
    expect(hours).toEqual([
      row(H, 'cnc-01', true, { producingMs: 90_000, downMs: 30_000, failures: 1, goodQty: 4 }),
      row(H, 'cnc-02', true, { producingMs: 60_000, goodQty: 2 }),
      row(H + HOUR_MS, 'cnc-01', false, { producingMs: 60_000, idleMs: 60_000, goodQty: 5 }),
    ]);
    const byLine = await rollupRows(store, {
      sites: [SITE],
      from: H,
      to: H + 2 * HOUR_MS,
      windowMs: HOUR_MS,
      by: 'line',
    });
    expect(byLine).toEqual([
      // cnc-01 and cnc-02 summed.
      row(H, '', true, { producingMs: 150_000, downMs: 30_000, failures: 1, goodQty: 6 }),
      row(H + HOUR_MS, '', false, { producingMs: 60_000, idleMs: 60_000, goodQty: 5 }),
    ]);
    // Two-minute windows from minute rows, aligned to multiples of two minutes since the epoch.
    const twoMinutes = await rollupRows(store, {
      sites: [SITE],
      from: H + 58 * MINUTE_MS,
      to: H + 61 * MINUTE_MS,
      windowMs: 2 * MINUTE_MS,
    });
    expect(twoMinutes.map((r) => [r.start - H, r.equipment, r.planned, r.goodQty])).toEqual([
      [58 * MINUTE_MS, 'cnc-01', true, 4],
      [58 * MINUTE_MS, 'cnc-02', true, 2],
      [60 * MINUTE_MS, 'cnc-01', false, 5],
    ]);

    // Late data recomputed 10:59–11:00: cnc-02's row is gone, cnc-01's changed; 10:58 and 11:01 untouched.
    await store.writeRollups(SITE, H + 59 * MINUTE_MS, H + 60 * MINUTE_MS + 59_999, [
      row(H + 59 * MINUTE_MS, 'cnc-01', true, { producingMs: 60_000, goodQty: 2 }),
      row(H + 60 * MINUTE_MS, 'cnc-01', false, { producingMs: 60_000, goodQty: 1 }),
    ]);
    expect(
      await rollupRows(store, { sites: [SITE, 'other'], from: H, to: H + 2 * HOUR_MS, windowMs: HOUR_MS }),
    ).toEqual([
      row(H, 'cnc-01', true, { producingMs: 120_000, goodQty: 5 }),
      row(H + HOUR_MS, 'cnc-01', false, { producingMs: 120_000, goodQty: 6 }),
      { ...row(H, 'x', true, { goodQty: 100 }), site: 'other' },
    ]);
    const days = await rollupRows(store, {
      sites: [SITE],
      from: H - 24 * HOUR_MS,
      to: H + 24 * HOUR_MS,
      windowMs: 24 * HOUR_MS,
    });
    expect(days.map((r) => [r.planned, r.goodQty])).toEqual([
      [false, 6],
      [true, 5],
    ]);

    if (subject.influx) {
      // The InfluxDB copy: every minute and hour as the catalog has it, a vanished row as zeros.
      expect(await copiedTo(subject.influx)).toEqual(
        [
          `1h cnc-01 false ${HOUR_MS} 120000 6`,
          '1h cnc-01 true 0 120000 5',
          '1h cnc-02 true 0 0 0',
          `1m cnc-01 false ${60 * MINUTE_MS} 60000 1`,
          `1m cnc-01 false ${61 * MINUTE_MS} 60000 5`,
          `1m cnc-01 true ${58 * MINUTE_MS} 60000 3`,
          `1m cnc-01 true ${59 * MINUTE_MS} 60000 2`,
          `1m cnc-02 true ${59 * MINUTE_MS} 0 0`,
        ].sort(),
      );
    }
  });

  it('refuses a row outside the range it replaces', async () => {
    await expect(
      store.writeRollups(SITE, H, H + MINUTE_MS - 1, [row(H + MINUTE_MS, 'cnc-01', true, {})]),
    ).rejects.toMatchObject({ code: 'STORE_FAILED' });
  });

  it('prunes minute rows before a time and keeps the hour rows', async () => {
    await store.writeTelemetry(batch(0, [sample('running', H, true)]), TS);
    await store.writeRollups(SITE, H, H + 2 * HOUR_MS, [
      row(H, 'cnc-01', true, { goodQty: 1 }),
      row(H + HOUR_MS, 'cnc-01', true, { goodQty: 2 }),
    ]);
    expect(await store.pruneMinuteRollups(H + HOUR_MS)).toBe(1);
    const minutes = await rollupRows(store, {
      sites: [SITE],
      from: H,
      to: H + 2 * HOUR_MS,
      windowMs: MINUTE_MS,
    });
    expect(minutes.map((r) => r.goodQty)).toEqual([2]);
    const hours = await rollupRows(store, { sites: [SITE], from: H, to: H + 2 * HOUR_MS, windowMs: HOUR_MS });
    expect(hours.map((r) => r.goodQty)).toEqual([1, 2]);
  });
});
