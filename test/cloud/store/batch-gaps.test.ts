/**
 * The gaps and the per-boot counts are kept at ingest (boot_batches, batch_gaps) instead of read from
 * every batch ever received: after each batch, in any arrival order, with duplicates and several
 * boots, they must equal what the batches themselves say. A file from before the tables is backfilled.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrations } from '../../../cloud/store/sqlite-schema.js';
import { SqliteStore } from '../../../cloud/store/sqlite-store.js';
import type { SequenceGap } from '../../../cloud/store/store.js';
import { GATEWAY, TS, telemetry } from '../fixtures.js';

type Received = Map<number, Set<number>>;

/** The gaps of the received seqs of each boot, newest first: what the store must answer. */
function gapsOf(received: Received): SequenceGap[] {
  const gaps: SequenceGap[] = [];
  for (const [boot, seqs] of received) {
    const sorted = [...seqs].sort((a, b) => a - b);
    let previous = -1;
    for (const seq of sorted) {
      if (seq > previous + 1) gaps.push({ boot, fromSeq: previous + 1, toSeq: seq - 1 });
      previous = seq;
    }
  }
  return gaps.sort((a, b) => b.boot - a.boot || b.fromSeq - a.fromSeq);
}

function missingOf(received: Received): number {
  let missing = 0;
  for (const seqs of received.values()) missing += Math.max(...seqs) + 1 - seqs.size;
  return missing;
}

/** A small deterministic generator, so a failure replays. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const batch = (boot: number, seq: number) =>
  telemetry({ gateway: { id: GATEWAY, boot, seq }, sentTs: TS + seq });

describe('sequence gaps kept at ingest', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jjj-gaps-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('equal the gaps of the batches received after every batch, in any order, with duplicates', async () => {
    const store = new SqliteStore(join(dir, 'gaps.db'));
    try {
      const next = random(13);
      const received: Received = new Map();
      for (let i = 0; i < 400; i++) {
        // Mostly in order, with jumps, late fills and replays, over three boots.
        const boot = 1 + Math.floor(next() * 3);
        const seqs = received.get(boot) ?? new Set<number>();
        const top = seqs.size === 0 ? -1 : Math.max(...seqs);
        const roll = next();
        const seq =
          roll < 0.5
            ? top + 1
            : roll < 0.7
              ? top + 2 + Math.floor(next() * 6)
              : Math.floor(next() * (top + 2));
        const outcome = await store.writeTelemetry(batch(boot, seq), TS + i);
        expect(outcome.outcome, `boot ${boot} seq ${seq}`).toBe(seqs.has(seq) ? 'duplicate' : 'stored');
        seqs.add(seq);
        received.set(boot, seqs);
        expect((await store.gaps(GATEWAY, 1000)).gaps, `after boot ${boot} seq ${seq}`).toEqual(
          gapsOf(received),
        );
      }
      const [gateway] = await store.gateways();
      expect(gateway?.missingBatches).toBe(missingOf(received));
      expect(gateway?.batches).toBe([...received.values()].reduce((n, seqs) => n + seqs.size, 0));
      expect(gapsOf(received).length).toBeGreaterThan(10);
    } finally {
      await store.close();
    }
  });

  it('answers the newest gaps up to the limit and says when there are more', async () => {
    const store = new SqliteStore(join(dir, 'limit.db'));
    try {
      for (const seq of [0, 2, 4, 6, 8]) await store.writeTelemetry(batch(1, seq), TS);
      await store.writeTelemetry(batch(2, 3), TS);
      expect(await store.gaps(GATEWAY, 2)).toEqual({
        gaps: [
          { boot: 2, fromSeq: 0, toSeq: 2 },
          { boot: 1, fromSeq: 7, toSeq: 7 },
        ],
        truncated: true,
      });
      expect((await store.gaps(GATEWAY, 5)).truncated).toBe(false);
    } finally {
      await store.close();
    }
  });

  it("backfills a file's existing batches when it migrates", async () => {
    const path = join(dir, 'old.db');
    const at = migrations.findIndex((m) => m.sql.includes('CREATE TABLE batch_gaps'));
    expect(at).toBeGreaterThan(0);
    const db = new Database(path);
    for (const migration of migrations.slice(0, at)) db.exec(migration.sql);
    db.pragma(`user_version = ${at}`);
    db.prepare("INSERT INTO gateways (id, site, boot, last_seq, last_seen) VALUES (?, 's', 2, 4, 0)").run(
      GATEWAY,
    );
    const insert = db.prepare(
      'INSERT INTO batches (gateway, boot, seq, received_at, points, historical, sent_ts) VALUES (?, ?, ?, 0, 1, 0, 0)',
    );
    const received: Received = new Map([
      [1, new Set([0, 1, 5, 9])],
      [2, new Set([2, 4])],
    ]);
    for (const [boot, seqs] of received) for (const seq of seqs) insert.run(GATEWAY, boot, seq);
    db.close();

    const store = new SqliteStore(path);
    try {
      expect((await store.gaps(GATEWAY, 100)).gaps).toEqual(gapsOf(received));
      expect((await store.gateways())[0]).toMatchObject({ batches: 6, missingBatches: missingOf(received) });
      // A late batch after the migration splits a backfilled gap.
      await store.writeTelemetry(batch(1, 7), TS);
      received.get(1)?.add(7);
      expect((await store.gaps(GATEWAY, 100)).gaps).toEqual(gapsOf(received));
    } finally {
      await store.close();
    }
  });
});
