/**
 * The rollup job end to end on the SQLite store (a file, reads through read threads): raw samples
 * written as telemetry batches, rollups checked against a hand computation, a replayed outage that
 * arrives late and corrects what it touches, and a new job instance continuing from the cursor.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../cloud/cli.js';
import { KpiConfig } from '../../../cloud/kpi/config.js';
import {
  type Components,
  emptyComponents,
  HOUR_MS,
  MINUTE_MS,
  type RollupRow,
} from '../../../cloud/kpi/model.js';
import { RollupJob } from '../../../cloud/kpi/rollup-job.js';
import { SqliteStore } from '../../../cloud/store/sqlite-store.js';
import type { MetadataMessage, TelemetryBatch } from '../../../gateway/schema/index.js';
import { capturedIo } from '../../helpers/captured-io.js';
import { capturingLogger } from '../../helpers/capturing-logger.js';
import { eventually } from '../../helpers/wait.js';
import { GATEWAY, SITE, telemetry } from '../fixtures.js';
import { rollupRows } from '../store/store-subjects.js';

/** Monday 2026-01-05 10:00 China Standard Time (02:00 UTC), an hour boundary. */
const T0 = Date.UTC(2026, 0, 5, 2);
const M = MINUTE_MS;

/** A day shift with a break 10:30–10:45 local: minutes T0+30m … T0+44m are unplanned. */
const config = KpiConfig.parse({
  calendars: {
    day: { shifts: [{ start: '08:00', end: '20:00', breaks: [{ start: '10:30', end: '10:45' }] }] },
  },
  sites: { [SITE]: 'day' },
});

function roleMetadata(): MetadataMessage {
  const point = (name: string, kpi: NonNullable<MetadataMessage['points'][number]['kpi']>) => ({
    line: 'machining',
    equipment: 'cnc-01',
    point: name,
    protocol: 'opcua' as const,
    address: `ns=1;s=cnc-01.${name}`,
    kpi,
  });
  return {
    schema: 'jjj.metadata/1',
    region: 'BJ',
    project: 'etown-smart-factory',
    site: SITE,
    gateway: { id: GATEWAY, boot: 1 },
    ts: T0,
    siteName: { en: 'E-Town CNC Workshop', zh: '亦庄数控车间' },
    points: [
      point('state', { role: 'machine-state', values: { '1': 'producing', '2': 'idle', '3': 'down' } }),
      point('good', { role: 'good-count', width: 16, reset: 'restart', idealCycleTimeS: 30 }),
      point('reject', { role: 'reject-count', reset: 'restart' }),
      // Not a role point: never read by the job.
      { ...point('spindle', { role: 'unit-value' }), kpi: undefined },
    ],
  };
}

type Sample = [offsetMs: number, point: 'state' | 'good' | 'reject' | 'spindle', value: number];

function batch(seq: number, samples: Sample[], historical = false): TelemetryBatch {
  return telemetry({
    gateway: { id: GATEWAY, boot: 1, seq },
    sentTs: T0,
    ...(historical && { historical: true }),
    points: samples.map(([offset, point, value]) => ({
      line: 'machining',
      equipment: 'cnc-01',
      point,
      value,
      ts: T0 + offset,
      quality: 'good' as const,
    })),
  });
}

/** Live before the outage (T0+5m … T0+65m), live after it, and the replay of the outage. */
const beforeOutage = [
  batch(0, [
    [-30 * M, 'state', 1],
    [-30 * M, 'good', 100],
    [-30 * M, 'reject', 0],
    [-30 * M, 'spindle', 9000],
    [-10 * M, 'good', 120],
  ]),
  batch(1, [
    [0, 'good', 125],
    [2 * M, 'state', 3],
    [3 * M, 'state', 1],
    [5 * M, 'good', 130],
  ]),
];
const afterOutage = batch(3, [
  [65 * M, 'state', 1],
  [65 * M, 'good', 160],
  [66 * M, 'good', 162],
]);
const replayedOutage = batch(
  2,
  [
    [10 * M, 'state', 2],
    [12 * M, 'state', 1],
    [12 * M, 'good', 140],
  ],
  true,
);

const row = (start: number, planned: boolean, parts: Partial<Components>): RollupRow => ({
  site: SITE,
  line: 'machining',
  equipment: 'cnc-01',
  start,
  planned,
  ...emptyComponents(),
  ...parts,
});

describe('rollup job on the SQLite store', () => {
  let dir: string;
  let store: SqliteStore;
  let log: ReturnType<typeof capturingLogger>;
  const newJob = () =>
    new RollupJob({
      store,
      config,
      logger: log.logger,
      maxSamples: 10_000,
      registry: new Registry(),
      now: () => T0 + 70 * M,
    });
  const hours = () =>
    rollupRows(store, { sites: [SITE], from: T0 - HOUR_MS, to: T0 + 2 * HOUR_MS, windowMs: HOUR_MS });
  const minutes = () =>
    rollupRows(store, { sites: [SITE], from: T0 - HOUR_MS, to: T0 + 2 * HOUR_MS, windowMs: M });
  const minute = (rows: RollupRow[], offset: number) => rows.filter((r) => r.start === T0 + offset);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jjj-rollup-job-'));
    store = new SqliteStore(join(dir, 'collector.db'));
    log = capturingLogger();
    await store.writeMetadata(roleMetadata());
    for (const live of [...beforeOutage, afterOutage]) await store.writeTelemetry(live, T0);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rolls raw samples up into minute and hour rows as computed by hand', async () => {
    const job = newJob();
    // First run: the oldest sample (T0−30m) to the newest (T0+66m): 97 minutes.
    expect(await job.runOnce()).toEqual({ sites: 1, minutes: 97, failed: [] });
    expect(log.lines.map((line) => line.msg)).toEqual(['rollup job: first run done']);
    // Producing from T0−30m to the newest sample (T0+66m), down T0+2m … T0+3m (one failure).
    // Parts: 20 at T0−10m, 5 at T0, 5 at T0+5m, 30 at T0+65m, 2 at T0+66m; ideal 30 s each.
    // Unplanned: the break 10:30–10:45 (T0+30m … T0+45m), all of it producing.
    expect(await hours()).toEqual([
      row(T0 - HOUR_MS, true, { producingMs: 30 * M, goodQty: 20, producedQty: 20, idealMs: 20 * 30_000 }),
      row(T0, false, { producingMs: 15 * M }),
      row(T0, true, {
        producingMs: (60 - 1 - 15) * M,
        downMs: M,
        failures: 1,
        goodQty: 10,
        producedQty: 10,
        idealMs: 10 * 30_000,
      }),
      row(T0 + HOUR_MS, true, { producingMs: 6 * M, goodQty: 32, producedQty: 32, idealMs: 32 * 30_000 }),
    ]);
    const rows = await minutes();
    expect(minute(rows, 2 * M)).toEqual([row(T0 + 2 * M, true, { downMs: M, failures: 1 })]);
    expect(minute(rows, 66 * M)).toEqual([
      row(T0 + 66 * M, true, { goodQty: 2, producedQty: 2, idealMs: 60_000 }),
    ]);
    // Rows after newest − grace stay open: the cursor is the minute of T0+65m.
    expect(await store.rollupStates()).toEqual([
      { site: SITE, newestTs: T0 + 66 * M, dirtyFrom: null, cursor: T0 + 65 * M },
    ]);
    // Nothing new: nothing to do.
    expect(await job.runOnce()).toEqual({ sites: 0, minutes: 0, failed: [] });
  });

  it('corrects the minutes and hours a late replayed outage touches, and only those', async () => {
    const job = newJob();
    await job.runOnce();
    const before = await minutes();
    const hoursBefore = await hours();

    await store.writeTelemetry(replayedOutage, T0 + 70 * M);
    // From the replay's oldest minute (T0+10m) to the newest sample (T0+66m).
    expect(await job.runOnce()).toEqual({ sites: 1, minutes: 57, failed: [] });
    expect(log.lines.at(-1)).toMatchObject({
      msg: `late data: recomputing rollups of ${SITE} from ${new Date(T0 + 10 * M).toISOString()}`,
      from: new Date(T0 + 10 * M).toISOString(),
      to: new Date(T0 + 65 * M).toISOString(),
    });

    const after = await minutes();
    // Idle T0+10m … T0+12m instead of producing; 10 of the parts counted at T0+12m, the other 20 at T0+65m.
    expect(minute(after, 10 * M)).toEqual([row(T0 + 10 * M, true, { idleMs: M })]);
    expect(minute(after, 11 * M)).toEqual([row(T0 + 11 * M, true, { idleMs: M })]);
    expect(minute(after, 12 * M)).toEqual([
      row(T0 + 12 * M, true, { producingMs: M, goodQty: 10, producedQty: 10, idealMs: 10 * 30_000 }),
    ]);
    expect(minute(after, 65 * M)).toEqual([
      row(T0 + 65 * M, true, { producingMs: M, goodQty: 20, producedQty: 20, idealMs: 20 * 30_000 }),
    ]);
    const touched = new Set([10, 11, 12, 65].map((m) => T0 + m * M));
    expect(after.filter((r) => !touched.has(r.start))).toEqual(before.filter((r) => !touched.has(r.start)));

    expect(await hours()).toEqual([
      hoursBefore[0],
      row(T0, false, { producingMs: 15 * M }),
      row(T0, true, {
        producingMs: (60 - 1 - 2 - 15) * M,
        downMs: M,
        idleMs: 2 * M,
        failures: 1,
        goodQty: 20,
        producedQty: 20,
        idealMs: 20 * 30_000,
      }),
      row(T0 + HOUR_MS, true, { producingMs: 6 * M, goodQty: 22, producedQty: 22, idealMs: 22 * 30_000 }),
    ]);
  });

  it('continues from the persisted cursor after a restart (a new job instance)', async () => {
    await newJob().runOnce();
    const before = await minutes();
    await store.writeTelemetry(
      batch(4, [
        [67 * M, 'good', 165],
        [67 * M + 30_000, 'state', 1],
      ]),
      T0 + 70 * M,
    );
    log.lines.length = 0;
    const restarted = newJob();
    // From the cursor (T0+65m) to T0+67m30s: three minutes, the carry read from before the cursor.
    expect(await restarted.runOnce()).toEqual({ sites: 1, minutes: 3, failed: [] });
    expect(log.lines.map((line) => line.msg)).toEqual(['rollup job: first run done']);
    const after = await minutes();
    expect(after.filter((r) => r.start < T0 + 65 * M)).toEqual(before.filter((r) => r.start < T0 + 65 * M));
    expect(minute(after, 65 * M)).toEqual(minute(before, 65 * M));
    expect(minute(after, 66 * M)).toEqual([
      row(T0 + 66 * M, true, { producingMs: M, goodQty: 2, producedQty: 2, idealMs: 60_000 }),
    ]);
    expect(minute(after, 67 * M)).toEqual([
      row(T0 + 67 * M, true, { producingMs: 30_000, goodQty: 3, producedQty: 3, idealMs: 90_000 }),
    ]);
    expect((await store.rollupStates())[0]?.cursor).toBe(T0 + 66 * M);
  });

  it('recomputes in smaller chunks when a read holds more samples than its budget', async () => {
    const job = new RollupJob({
      store,
      config: KpiConfig.parse({ ...config, rollups: { maxChunkMs: 24 * HOUR_MS } }),
      logger: log.logger,
      // Fewer than the 14 role samples of the whole range.
      maxSamples: 6,
      now: () => T0 + 70 * M,
    });
    expect(await job.runOnce()).toMatchObject({ sites: 1 });
    const reference = new SqliteStore(':memory:');
    try {
      await reference.writeMetadata(roleMetadata());
      for (const live of [...beforeOutage, afterOutage]) await reference.writeTelemetry(live, T0);
      await new RollupJob({
        store: reference,
        config,
        logger: log.logger,
        maxSamples: 10_000,
        now: () => T0 + 70 * M,
      }).runOnce();
      const all = { sites: [SITE], from: T0 - HOUR_MS, to: T0 + 2 * HOUR_MS, windowMs: M };
      expect(await rollupRows(store, all)).toEqual(await rollupRows(reference, all));
    } finally {
      await reference.close();
    }
  });

  it('prunes minute rows past the retention and keeps the hours whole', async () => {
    const job = new RollupJob({
      store,
      config,
      logger: log.logger,
      maxSamples: 10_000,
      now: () => T0 + 40 * 24 * HOUR_MS,
    });
    await job.runOnce();
    expect(await minutes()).toEqual([]);
    expect((await hours()).map((r) => [r.start - T0, r.planned, r.producingMs, r.goodQty])).toEqual([
      [-HOUR_MS, true, 30 * M, 20],
      [0, false, 15 * M, 0],
      [0, true, 44 * M, 10],
      [HOUR_MS, true, 6 * M, 32],
    ]);
  });

  it('runs on its timer once started and stops with its timer cleared', async () => {
    const registry = new Registry();
    const job = new RollupJob({
      store,
      config: KpiConfig.parse({ ...config, rollups: { intervalMs: 1000 } }),
      logger: log.logger,
      maxSamples: 10_000,
      registry,
      now: () => T0 + 70 * M,
    });
    job.start();
    await eventually(async () => expect((await store.rollupStates())[0]?.cursor).toBe(T0 + 65 * M));
    await store.writeTelemetry(replayedOutage, T0 + 70 * M);
    await eventually(async () => expect((await store.rollupStates())[0]?.dirtyFrom).toBeNull());
    await job.stop();
    await store.writeTelemetry(batch(4, [[67 * M, 'good', 165]]), T0 + 70 * M);
    expect((await store.rollupStates())[0]?.dirtyFrom).toBe(T0 + 67 * M);
    const metrics = await registry.getMetricsAsJSON();
    const lag = metrics.find((m) => m.name === 'jjj_collector_kpi_rollup_lag_seconds');
    expect(lag?.values).toEqual([expect.objectContaining({ labels: { site: SITE }, value: (5 * M) / 1000 })]);
  });
});

describe('jjj-collector rollups rebuild', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jjj-rollup-rebuild-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('recomputes the rollups after a calendar change, with progress lines', async () => {
    const path = join(dir, 'collector.db');
    const store = new SqliteStore(path);
    try {
      await store.writeMetadata(roleMetadata());
      for (const live of [...beforeOutage, afterOutage]) await store.writeTelemetry(live, T0);
      const logger = capturingLogger().logger;
      await new RollupJob({ store, config, logger, maxSamples: 10_000, now: () => T0 + 70 * M }).runOnce();
    } finally {
      await store.close();
    }
    // The break is dropped from the calendar.
    const file = join(dir, 'collector.yaml');
    writeFileSync(
      file,
      [
        `store: { path: ${path} }`,
        'kpi:',
        "  calendars: { day: { shifts: [{ start: '08:00', end: '20:00' }] } }",
        `  sites: { ${SITE}: day }`,
        '',
      ].join('\n'),
    );
    const { io, out } = capturedIo();
    expect(await runCli(['rollups', 'rebuild', '--config', file, '--site', SITE], io)).toBe(0);
    expect(out.stdout).toContain(
      `${SITE}: rollups recomputed through ${new Date(T0 + 66 * M).toISOString()} (100%)`,
    );
    expect(out.stdout).toContain(`rebuilt the rollups of ${SITE}`);

    const reopened = new SqliteStore(path);
    try {
      const rows = await rollupRows(reopened, { sites: [SITE], from: T0, to: T0, windowMs: HOUR_MS });
      expect(rows.map((r) => [r.planned, r.producingMs, r.downMs])).toEqual([[true, 59 * M, M]]);
    } finally {
      await reopened.close();
    }

    const unknown = capturedIo();
    expect(await runCli(['rollups', 'rebuild', '--config', file, '--site', 'nowhere'], unknown.io)).toBe(0);
    expect(unknown.out.stdout).toContain('nothing to rebuild');
    const badFrom = capturedIo();
    expect(await runCli(['rollups', 'rebuild', '--config', file, '--from', 'yesterday'], badFrom.io)).toBe(2);
  });
});
