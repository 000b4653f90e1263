import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS } from '../../../cloud/kpi/model.js';
import { migrations } from '../../../cloud/store/sqlite-schema.js';
import { SqliteStore } from '../../../cloud/store/sqlite-store.js';
import type { TelemetryStore } from '../../../cloud/store/store.js';
import { GATEWAY, SITE, TS, telemetry } from '../fixtures.js';
import { type StoreSubject, storeSubjects } from './store-subjects.js';

/** An hour boundary near the fixtures' time. */
const H = Math.floor(TS / HOUR_MS) * HOUR_MS;
const SECOND_GATEWAY = 'gw-bj-etown-cnc-2';
const OTHER_SITE = 'tj-binhai-press';
const OTHER_GATEWAY = 'gw-tj-binhai-press';

interface Sent {
  gateway: string;
  site?: string;
  boot: number;
  seq: number;
  /** Since `H`. */
  at: number;
  historical?: boolean;
}

const batchOf = ({ gateway, site = SITE, boot, seq, at, historical }: Sent) =>
  telemetry({
    site,
    gateway: { id: gateway, boot, seq },
    sentTs: H + at,
    ...(historical && { historical }),
    points: [
      {
        line: 'machining',
        equipment: 'cnc-01',
        point: 'spindle-speed',
        value: seq,
        ts: H + at,
        quality: 'good',
      },
    ],
  });

/**
 * In arrival order. Gateway 1, boot 1: seq 0–9 over two hours, 3 and 6 missing, 4 arriving last
 * (replayed, 70 minutes late); boot 2 (a reboot mid-hour): 0–4 without 2. Gateway 2 on the same site:
 * 10–13 without 12. Another site's gateway, which must not count.
 */
const sent: Sent[] = [
  ...[0, 1, 2].map((seq) => ({ gateway: GATEWAY, boot: 1, seq, at: seq * 4 * MINUTE_MS })),
  ...[5, 7, 8, 9].map((seq) => ({ gateway: GATEWAY, boot: 1, seq, at: seq * 12 * MINUTE_MS })),
  ...[0, 1, 3, 4].map((seq) => ({
    gateway: GATEWAY,
    boot: 2,
    seq,
    at: 2 * HOUR_MS + 20 * MINUTE_MS + seq * 90_000,
  })),
  ...[10, 11, 13].map((seq) => ({ gateway: SECOND_GATEWAY, boot: 7, seq, at: (seq - 9) * 17 * MINUTE_MS })),
  ...[0, 1, 2, 3].map((seq) => ({
    gateway: OTHER_GATEWAY,
    site: OTHER_SITE,
    boot: 1,
    seq,
    at: seq * MINUTE_MS,
  })),
  { gateway: GATEWAY, boot: 1, seq: 4, at: 16 * MINUTE_MS, historical: true },
];

/** Every window of `windowMs` in [from, to]: the rollups' answer equals `completeness` over it. */
async function expectAsDefined(store: TelemetryStore, from: number, to: number, windowMs: number) {
  const read = await store.completenessWindows([SITE, OTHER_SITE], from, to, windowMs);
  expect([...read.keys()]).toEqual([SITE, OTHER_SITE]);
  for (const site of [SITE, OTHER_SITE]) {
    const answer = read.get(site);
    expect(answer?.total).toEqual(await store.completeness(site, from, to));
    for (let start = from; start <= to; start += windowMs) {
      const defined = await store.completeness(site, start, start + windowMs - 1);
      const window = answer?.windows.get(start) ?? { expectedBatches: 0, receivedBatches: 0 };
      expect(window, `${site} window at H+${start - H}`).toEqual(defined);
    }
  }
  return read;
}

const { subjects, pathFor, cleanup } = storeSubjects('jjj-batch-rollups-');
afterAll(cleanup);

describe.each(subjects)('completeness windows in the %s store', (_name, open) => {
  let subject: StoreSubject;
  let store: TelemetryStore;
  beforeEach(async () => {
    subject = await open();
    store = subject.store;
    for (const batch of sent) await store.writeTelemetry(batchOf(batch), H + batch.at);
  }, 60_000);
  afterEach(async () => {
    await subject.close();
  });

  it('equals completeness over every hour, 5-minute and minute window, and over the range', async () => {
    const read = await expectAsDefined(store, H - HOUR_MS, H + 4 * HOUR_MS - 1, HOUR_MS);
    // By hand, hour 0 of the site: gateway 1 boot 1 seq 0–4 (3 missing, 4 replayed) and gateway 2
    // seq 10–11; over the range: boot 1 0–9 (8 of 10), boot 2 0–4 (4 of 5), gateway 2 10–13 (3 of 4).
    expect(read.get(SITE)?.windows.get(H)).toEqual({ expectedBatches: 5 + 2, receivedBatches: 4 + 2 });
    expect(read.get(SITE)?.total).toEqual({ expectedBatches: 19, receivedBatches: 15 });
    await expectAsDefined(store, H, H + 3 * HOUR_MS - 1, 5 * MINUTE_MS);
    await expectAsDefined(store, H + 2 * HOUR_MS, H + 3 * HOUR_MS - 1, MINUTE_MS);
  });

  it('answers zero counts for a site without batches in the range, and refuses windows not aligned', async () => {
    const read = await store.completenessWindows([SITE], H + 10 * HOUR_MS, H + 11 * HOUR_MS - 1, HOUR_MS);
    expect(read.get(SITE)).toEqual({ total: { expectedBatches: 0, receivedBatches: 0 }, windows: new Map() });
    await expect(store.completenessWindows([SITE], H + 1, H + HOUR_MS, HOUR_MS)).rejects.toThrow(/aligned/);
  });

  it('keeps hour rows when minute rows are pruned; a duplicate batch counts once', async () => {
    const before = await store.completenessWindows([SITE], H, H + 3 * HOUR_MS - 1, HOUR_MS);
    expect(await store.writeTelemetry(batchOf(sent[0] as Sent), H)).toEqual({ outcome: 'duplicate' });
    await store.pruneMinuteRollups(H + 3 * HOUR_MS);
    expect(await store.completenessWindows([SITE], H, H + 3 * HOUR_MS - 1, HOUR_MS)).toEqual(before);
    const minutes = await store.completenessWindows([SITE], H, H + HOUR_MS - 1, MINUTE_MS);
    expect(minutes.get(SITE)?.windows.size).toBe(0);
  });
});

describe('the batch rollups migration', () => {
  let path: string;
  beforeEach(() => {
    path = pathFor('old');
  });

  it("backfills an existing file's batches", async () => {
    // A file as the collector left it before the batch rollups: the migrations before theirs.
    const at = migrations.findIndex((m) => m.sql.includes('CREATE TABLE batch_rollups'));
    expect(at).toBeGreaterThan(0);
    const db = new Database(path);
    for (const migration of migrations.slice(0, at)) db.exec(migration.sql);
    db.pragma(`user_version = ${at}`);
    const insertBatch = db.prepare(
      `INSERT INTO batches (gateway, boot, seq, received_at, points, historical, sent_ts)
       VALUES (?, ?, ?, ?, 1, ?, ?)`,
    );
    const seenGateway = db.prepare(
      'INSERT INTO gateways (id, site, boot, last_seq, last_seen) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    for (const b of sent) {
      insertBatch.run(b.gateway, b.boot, b.seq, H + b.at, b.historical ? 1 : 0, H + b.at);
      seenGateway.run(b.gateway, b.site ?? SITE, b.boot, b.seq, H + b.at);
    }
    db.prepare(
      "INSERT INTO sites (id, region, project, gateway) VALUES (?, 'BJ', 'p', ?), (?, 'TJ', 'q', ?)",
    ).run(SITE, GATEWAY, OTHER_SITE, OTHER_GATEWAY);
    // A batch of a file older than send times: in no window, as `completeness` has it.
    insertBatch.run(GATEWAY, 0, 0, H, 0, null);
    db.close();

    const store = new SqliteStore(path);
    try {
      const read = await expectAsDefined(store, H - HOUR_MS, H + 4 * HOUR_MS - 1, HOUR_MS);
      expect(read.get(SITE)?.total).toEqual({ expectedBatches: 19, receivedBatches: 15 });
      await expectAsDefined(store, H, H + 3 * HOUR_MS - 1, 5 * MINUTE_MS);
      // Batches stored after the migration add to the backfilled rows.
      await store.writeTelemetry(batchOf({ gateway: GATEWAY, boot: 1, seq: 3, at: 10 * MINUTE_MS }), H);
      const after = await expectAsDefined(store, H - HOUR_MS, H + 4 * HOUR_MS - 1, HOUR_MS);
      expect(after.get(SITE)?.total).toEqual({ expectedBatches: 19, receivedBatches: 16 });
    } finally {
      await store.close();
    }
  });
});
