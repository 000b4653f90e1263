/**
 * The scale-out example of docs/scale-out.md, run: three `jjj-collector` processes sharing one
 * subscription on a real Mosquitto, writing to one real VictoriaMetrics (the InfluxDB v2 write API)
 * with one shared SQLite catalog. Every point is searchable exactly once with its value, each
 * instance took a share, and a batch published twice is stored once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exportSeries,
  type Peer,
  startMosquittoBroker,
  startVictoriaMetrics,
} from '../../bench/collector-peers.js';
import { topicFor } from '../../gateway/schema/index.js';
import { repoRoot, type Spawned, spawnNode } from '../helpers/spawn.js';
import { eventually } from '../helpers/wait.js';
import { GATEWAY, numberedBatch, SITE, TS } from './fixtures.js';

const BATCHES = 90;
const POINTS_PER_BATCH = 50;
const METRICS_TOKEN = 'scale-out-test-scraper';

describe('three collectors, one broker, one VictoriaMetrics', () => {
  let broker: Peer;
  let victoria: Peer;
  let dir: string;
  const collectors: Spawned[] = [];

  beforeAll(async () => {
    [broker, victoria] = await Promise.all([startMosquittoBroker(), startVictoriaMetrics({ dedupe: true })]);
    dir = mkdtempSync(join(tmpdir(), 'jjj-scale-out-'));
    for (let index = 0; index < 3; index++) {
      const config = join(dir, `collector-${index}.yaml`);
      writeFileSync(
        config,
        [
          `mqtt: { url: "${broker.url}", clientId: collector-${index}, shareGroup: collectors, connections: 2, persistentSession: true }`,
          `store: { type: influxdb, url: "${victoria.url}", org: jjj, bucket: telemetry, catalogPath: "${join(dir, 'catalog.db')}" }`,
          'http: { port: 0 }',
          `auth: { metricsToken: ${METRICS_TOKEN} }`,
          '',
        ].join('\n'),
      );
      const collector = spawnNode(join(repoRoot, 'dist/cloud/cli.js'), ['run', '--config', config]);
      collectors.push(collector);
      await eventually(() => expect(collector.stderr()).toContain('"msg":"subscribed"'), 30_000);
    }
  }, 90_000);

  afterAll(async () => {
    for (const collector of collectors) {
      collector.child.kill('SIGTERM');
      await collector.exited;
    }
    await Promise.all([victoria?.stop(), broker?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores every point once, spread over the instances, a batch sent twice included', async () => {
    const publisher = await connectAsync(broker.url);
    const topic = topicFor({ region: 'BJ', site: SITE, gateway: GATEWAY, kind: 'telemetry' });
    for (let seq = 0; seq < BATCHES; seq++) {
      const payload = JSON.stringify(numberedBatch(seq, POINTS_PER_BATCH, (i) => seq + i / 100));
      await publisher.publishAsync(topic, payload, { qos: 1 });
      // A gateway resends after a lost PUBACK: the copy may reach another instance.
      if (seq % 30 === 0) await publisher.publishAsync(topic, payload, { qos: 1 });
    }
    await publisher.endAsync();

    const catalog = new Database(join(dir, 'catalog.db'), { readonly: true });
    try {
      await eventually(() => {
        const row = catalog.prepare<[], { batches: number }>('SELECT count(*) AS batches FROM batches').get();
        expect(row?.batches).toBe(BATCHES);
      }, 60_000);
    } finally {
      catalog.close();
    }
    await eventually(async () => {
      const series = await exportSeries(victoria.url, `{__name__="jjj_value",site="${SITE}"}`);
      expect(series.reduce((sum, s) => sum + s.values.length, 0)).toBe(BATCHES * POINTS_PER_BATCH);
    }, 30_000);
    const series = await exportSeries(victoria.url, `{__name__="jjj_value",site="${SITE}"}`);
    expect(series).toHaveLength(POINTS_PER_BATCH);
    for (const { metric, values, timestamps } of series) {
      const index = Number(metric.point?.split('-').pop());
      expect(new Set(timestamps).size).toBe(BATCHES);
      timestamps.forEach((ts, k) => {
        expect(values[k]).toBeCloseTo((ts - TS) / 1000 + index / 100, 9);
      });
    }

    const shares = await Promise.all(
      collectors.map(async (collector) => {
        const httpUrl = /"httpUrl":"([^"]+)"/.exec(collector.stderr())?.[1];
        const text = await (
          await fetch(`${httpUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
        ).text();
        return Number(/^jjj_collector_points_stored_total (\d+)/m.exec(text)?.[1] ?? 0);
      }),
    );
    expect(shares.reduce((sum, n) => sum + n, 0)).toBe(BATCHES * POINTS_PER_BATCH);
    for (const share of shares) expect(share).toBeGreaterThan(0);
  }, 120_000);
});
