/**
 * Horizontal scale on a real Mosquitto: three collector processes (the built CLI) share one
 * subscription (`$share/collectors/…`) and one SQLite file; one is killed with SIGKILL
 * mid-stream and restarted with its persistent session. Every point ends up stored exactly once.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Peer, startMosquittoBroker } from '../../bench/collector-peers.js';
import { topicFor } from '../../gateway/schema/index.js';
import { repoRoot, type Spawned, spawnNode } from '../helpers/spawn.js';
import { eventually } from '../helpers/wait.js';
import { GATEWAY, numberedBatch, TS } from './fixtures.js';

const BATCHES = 300;
const POINTS_PER_BATCH = 20;

describe('three collectors sharing a subscription', () => {
  let broker: Peer;
  let dir: string;
  const running = new Map<number, Spawned>();

  const start = async (index: number) => {
    const config = join(dir, `collector-${index}.yaml`);
    writeFileSync(
      config,
      [
        `mqtt: { url: "${broker.url}", clientId: collector-${index}, shareGroup: collectors, persistentSession: true }`,
        `store: { path: "${join(dir, 'shared.db')}" }`,
        'http: { port: 0 }',
        'log: { level: info }',
        '',
      ].join('\n'),
    );
    const collector = spawnNode(join(repoRoot, 'dist/cloud/cli.js'), ['run', '--config', config]);
    running.set(index, collector);
    // The CLI logs (pino) on stderr.
    await eventually(() => expect(collector.stderr()).toContain('"msg":"subscribed"'), 30_000);
    return collector;
  };

  beforeAll(async () => {
    broker = await startMosquittoBroker();
    dir = mkdtempSync(join(tmpdir(), 'jjj-shared-'));
    await Promise.all([0, 1, 2].map(start));
  }, 60_000);

  afterAll(async () => {
    for (const collector of running.values()) {
      collector.child.kill('SIGTERM');
      await collector.exited;
    }
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores every point exactly once when one instance is killed mid-stream', async () => {
    const publisher = await connectAsync(broker.url);
    const topic = topicFor({ region: 'BJ', site: 'bj-etown-cnc', gateway: GATEWAY, kind: 'telemetry' });
    for (let seq = 0; seq < BATCHES; seq++) {
      if (seq === BATCHES / 3) {
        const victim = running.get(1) as Spawned;
        victim.child.kill('SIGKILL');
        await victim.exited;
      }
      if (seq === (2 * BATCHES) / 3) await start(1);
      const batch = numberedBatch(seq, POINTS_PER_BATCH, (i) => seq + i / 100);
      await publisher.publishAsync(topic, JSON.stringify(batch), { qos: 1 });
    }
    await publisher.endAsync();

    const db = new Database(join(dir, 'shared.db'), { readonly: true });
    try {
      await eventually(() => {
        const { batches } = db
          .prepare<[], { batches: number }>('SELECT count(*) AS batches FROM batches')
          .get() ?? {
          batches: 0,
        };
        expect(batches).toBe(BATCHES);
      }, 60_000);
      const stored = db
        .prepare<[], { samples: number; unique_samples: number; points: number }>(
          `SELECT count(*) AS samples, count(DISTINCT point_id || '@' || ts) AS unique_samples,
             (SELECT sum(points) FROM batches) AS points FROM samples`,
        )
        .get();
      expect(stored).toEqual({
        samples: BATCHES * POINTS_PER_BATCH,
        unique_samples: BATCHES * POINTS_PER_BATCH,
        points: BATCHES * POINTS_PER_BATCH,
      });
      const values = db
        .prepare<[], { value: number; ts: number; point_id: string }>(
          'SELECT point_id, ts, value FROM samples',
        )
        .all();
      for (const row of values) {
        const seq = (row.ts - TS) / 1000;
        expect(row.value).toBeCloseTo(seq + Number(row.point_id.split('-').pop()) / 100, 9);
      }
    } finally {
      db.close();
    }
  }, 120_000);
});
