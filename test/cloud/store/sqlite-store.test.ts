import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../cloud/store/sqlite-store.js';
import { eventually } from '../../helpers/wait.js';
import { GATEWAY, metadata, SITE, status, storedSite, TS, telemetry } from '../fixtures.js';

const SPINDLE = `${SITE}/machining/cnc-01/spindle-speed`;

describe('SqliteStore (:memory:)', () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = new SqliteStore(':memory:');
  });
  afterEach(async () => {
    await store.close();
  });

  it('reads every value back with its JSON type, plus unit and status', async () => {
    await store.writeMetadata(metadata());
    expect(await store.writeTelemetry(telemetry(), TS)).toEqual({
      outcome: 'stored',
      points: 5,
      missingBefore: 0,
      filledGap: false,
      outOfRange: 0,
    });
    const latest = await store.latest(SITE);
    expect(latest?.map((p) => [p.point, p.value])).toEqual([
      ['axis-load', [1, 2.5, 3]],
      ['program', 'O1234'],
      ['running', true],
      ['spindle-speed', 12000.5],
      ['power', null],
    ]);
    const power = latest?.find((p) => p.point === 'power');
    expect(power).toMatchObject({
      pointId: `${SITE}/utilities/meter-main/power`,
      line: 'utilities',
      equipment: 'meter-main',
      quality: 'bad',
      unit: 'KWT',
      status: { source: 'modbus', code: 11, name: 'GatewayTargetDeviceFailedToRespond' },
    });
    expect(latest?.find((p) => p.point === 'program')).not.toHaveProperty('unit');
  });

  it('drops a batch whose gateway, boot and seq were already stored', async () => {
    await store.writeTelemetry(telemetry(), TS);
    const replay = telemetry({
      points: [
        { line: 'machining', equipment: 'cnc-01', point: 'spindle-speed', value: 1, ts: TS, quality: 'good' },
      ],
    });
    expect(await store.writeTelemetry(replay, TS)).toEqual({ outcome: 'duplicate' });
    const series = await store.series({ pointId: SPINDLE, from: 0, to: TS * 2, limit: 100 });
    expect(series?.samples).toEqual([{ ts: TS, value: 12000.5, quality: 'good' }]);
    // The same seq from a new boot is a new batch.
    const nextBoot = telemetry({ gateway: { id: GATEWAY, boot: 2, seq: 0 } });
    expect(await store.writeTelemetry(nextBoot, TS)).toEqual({
      outcome: 'stored',
      points: 5,
      missingBefore: 0,
      filledGap: false,
      outOfRange: 0,
    });
  });

  it('overwrites a sample at the same point and ts, and keeps the newest as latest', async () => {
    const at = (seq: number, ts: number, value: number) =>
      telemetry({
        gateway: { id: GATEWAY, boot: 1, seq },
        points: [
          { line: 'machining', equipment: 'cnc-01', point: 'spindle-speed', value, ts, quality: 'good' },
        ],
      });
    await store.writeTelemetry(at(0, TS + 2000, 3), TS);
    await store.writeTelemetry(at(1, TS, 1), TS); // replayed, older
    await store.writeTelemetry(at(2, TS, 2), TS); // same ts again: replaces
    const series = await store.series({ pointId: SPINDLE, from: 0, to: TS * 2, limit: 100 });
    expect(series?.samples.map((s) => [s.ts, s.value])).toEqual([
      [TS, 2],
      [TS + 2000, 3],
    ]);
    expect((await store.latest(SITE))?.[0]).toMatchObject({ value: 3, ts: TS + 2000 });
  });

  it('commits concurrent writes as one group, each with its own outcome, as if written in order', async () => {
    const at = (seq: number, ts: number, value: number) =>
      telemetry({
        gateway: { id: GATEWAY, boot: 1, seq },
        points: [
          { line: 'machining', equipment: 'cnc-01', point: 'spindle-speed', value, ts, quality: 'good' },
        ],
      });
    const outcomes = await Promise.all([
      store.writeTelemetry(at(0, TS + 2000, 3), TS),
      store.writeTelemetry(at(0, TS + 2000, 3), TS), // the same batch again
      store.writeTelemetry(at(2, TS, 1), TS), // seq 1 never came; an older sample
      store.writeTelemetry(at(3, TS + 2000, 4), TS), // same ts as the newest: replaces it
    ]);
    expect(outcomes).toEqual([
      { outcome: 'stored', points: 1, missingBefore: 0, filledGap: false, outOfRange: 0 },
      { outcome: 'duplicate' },
      { outcome: 'stored', points: 1, missingBefore: 1, filledGap: false, outOfRange: 0 },
      { outcome: 'stored', points: 1, missingBefore: 0, filledGap: false, outOfRange: 0 },
    ]);
    const series = await store.series({ pointId: SPINDLE, from: 0, to: TS * 2, limit: 100 });
    expect(series?.samples.map((s) => [s.ts, s.value])).toEqual([
      [TS, 1],
      [TS + 2000, 4],
    ]);
    expect((await store.latest(SITE))?.[0]).toMatchObject({ value: 4, ts: TS + 2000 });
    expect(await store.gaps(GATEWAY, 100)).toEqual({
      gaps: [{ boot: 1, fromSeq: 1, toSeq: 1 }],
      truncated: false,
    });
    // Seq 1 after all (say, through another collector of a shared subscription): it fills the gap.
    expect(await store.writeTelemetry(at(1, TS + 1000, 2), TS)).toEqual({
      outcome: 'stored',
      points: 1,
      missingBefore: 0,
      filledGap: true,
      outOfRange: 0,
    });
    expect(await store.gaps(GATEWAY, 100)).toEqual({ gaps: [], truncated: false });
  });

  it('fails only the batch that cannot be stored when a group fails', async () => {
    const good = store.writeTelemetry(telemetry({ gateway: { id: GATEWAY, boot: 1, seq: 0 } }), TS);
    // NOT NULL on samples.ts: a batch no validated message can produce, standing in for any failure.
    const broken = telemetry({ gateway: { id: GATEWAY, boot: 1, seq: 1 } });
    (broken.points[0] as { ts: number | null }).ts = null;
    const failing = store.writeTelemetry(broken, TS);
    await expect(good).resolves.toMatchObject({ outcome: 'stored', points: 5 });
    await expect(failing).rejects.toThrow();
    expect((await store.gateways())[0]).toMatchObject({ lastSeq: 0, batches: 1 });
  });

  it('returns a window of a series in ts order, capped with a truncated flag', async () => {
    await store.writeMetadata(metadata());
    for (let seq = 0; seq < 5; seq++) {
      await store.writeTelemetry(
        telemetry({
          gateway: { id: GATEWAY, boot: 1, seq },
          points: [
            {
              line: 'machining',
              equipment: 'cnc-01',
              point: 'spindle-speed',
              value: seq,
              ts: TS + (4 - seq) * 1000,
              quality: 'good',
            },
          ],
        }),
        TS,
      );
    }
    const window = await store.series({ pointId: SPINDLE, from: TS + 1000, to: TS + 3000, limit: 100 });
    expect(window).toEqual({
      point: SPINDLE,
      unit: 'RPM',
      truncated: false,
      samples: [
        { ts: TS + 1000, value: 3, quality: 'good' },
        { ts: TS + 2000, value: 2, quality: 'good' },
        { ts: TS + 3000, value: 1, quality: 'good' },
      ],
    });
    const capped = await store.series({ pointId: SPINDLE, from: 0, to: TS * 2, limit: 2 });
    expect(capped?.truncated).toBe(true);
    expect(capped?.samples.map((s) => s.ts)).toEqual([TS, TS + 1000]);
    expect(
      await store.series({ pointId: `${SITE}/machining/cnc-01/nothing`, from: 0, to: 1, limit: 1 }),
    ).toBe(undefined);
  });

  it('lists sites by region (BJ, TJ, HE) then id, with names, counts, protocols and gateway state', async () => {
    const tianjin = { region: 'TJ' as const, project: 'tj-auto', site: 'tj-auto-body' };
    const hebei = { region: 'HE' as const, project: 'he-steel', site: 'he-steel-rolling' };
    await store.writeStatus(status({ ...hebei, gateway: { id: 'gw-he', boot: 1 } }));
    await store.writeStatus(status({ ...tianjin, gateway: { id: 'gw-tj', boot: 1 }, state: 'offline' }));
    await store.writeMetadata(metadata());
    await store.writeStatus(status());
    await store.writeTelemetry(telemetry(), TS);

    const sites = await store.listSites();
    expect(sites.map((s) => s.id)).toEqual([SITE, 'tj-auto-body', 'he-steel-rolling']);
    expect(sites[0]).toEqual(storedSite);
    expect(sites[1]).toMatchObject({
      name: 'tj-auto-body',
      nameZh: null,
      online: false,
      points: 0,
      lastTs: null,
    });
    expect(sites[1]?.protocols).toEqual([]);
  });

  it('ignores a stale status: an older boot, or an older declaration of the same boot', async () => {
    const online = async () => (await store.listSites())[0]?.online;
    await store.writeStatus(status({ gateway: { id: GATEWAY, boot: 2 }, ts: TS + 10 }));
    await store.writeStatus(status({ gateway: { id: GATEWAY, boot: 1 }, state: 'offline', ts: TS + 20 }));
    expect(await online()).toBe(true);
    await store.writeStatus(status({ gateway: { id: GATEWAY, boot: 2 }, state: 'offline', ts: TS + 5 }));
    expect(await online()).toBe(true);
    // A Last Will carries its session's start time, equal to that session's online declaration.
    await store.writeStatus(status({ gateway: { id: GATEWAY, boot: 2 }, state: 'offline', ts: TS + 10 }));
    expect(await online()).toBe(false);
  });

  it('answers undefined for an unknown site and fails to ping once closed', async () => {
    expect(await store.latest('nowhere')).toBe(undefined);
    await expect(store.ping()).resolves.toBe(undefined);
    await store.close();
    await expect(store.ping()).rejects.toThrow();
  });
});

describe('SqliteStore latest values shared through one file', () => {
  it("writes a point's newest value within a second, for another instance that reads the same file", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jjj-latest-'));
    const writer = new SqliteStore(join(dir, 'catalog.db'));
    const reader = new SqliteStore(join(dir, 'catalog.db'));
    try {
      await writer.writeMetadata(metadata());
      await writer.writeTelemetry(telemetry(), TS);
      // The reader does not flush the writer's pending values: only the writer's timer puts them in the file.
      await eventually(async () => {
        const spindle = (await reader.latest(SITE))?.find((point) => point.pointId === SPINDLE);
        expect(spindle).toMatchObject({ value: 12000.5, ts: TS });
      }, 5000);
    } finally {
      await writer.close();
      await reader.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
