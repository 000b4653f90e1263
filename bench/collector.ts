/**
 * Collector ingest benchmark: points/s from MQTT (Mosquitto) through the collector into a store,
 * next to writing the same points straight into the same database in the same run:
 * - VictoriaMetrics over the InfluxDB v2 write API, baseline = @influxdata/influxdb-client WriteApi;
 * - the embedded SQLite store, baseline = SqliteStore.writeTelemetry called directly, one batch after
 *   the other.
 * The collector runs as deployed for throughput: 16 MQTT connections for InfluxDB, 4 for SQLite (each
 * holds one unacknowledged message, so this is how many batches are in flight). The publisher is a
 * worker thread, as gateways are other processes. Environment: BENCH_BATCHES, BENCH_STORES
 * (victoria,sqlite), BENCH_CONNECTIONS, BENCH_SQLITE_CONNECTIONS. Prints one line per figure;
 * `npm run bench:collector`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { InfluxDB } from '@influxdata/influxdb-client';
import { pino } from 'pino';
import { startCollector } from '../cloud/collector.js';
import { buildCollectorConfig, type CollectorConfigInput } from '../cloud/config.js';
import { batchToLines } from '../cloud/store/influx-write.js';
import { SqliteStore } from '../cloud/store/sqlite-store.js';
import { type TelemetryBatch, topicFor } from '../gateway/schema/index.js';
import { exportSeries, startMosquittoBroker, startVictoriaMetrics } from './collector-peers.js';
import type { PublisherInput } from './collector-publisher.js';

const POINTS_PER_BATCH = 1000;
const BATCHES = Number(process.env.BENCH_BATCHES ?? 300);
const TOTAL = POINTS_PER_BATCH * BATCHES;
/** QoS 1 messages the publisher keeps in flight. */
const PUBLISH_WINDOW = 64;
const INFLUX_CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const SQLITE_CONNECTIONS = Number(process.env.BENCH_SQLITE_CONNECTIONS ?? 4);
/** `victoria`, `sqlite` or both (default), to measure one store at a time. */
const STORES = (process.env.BENCH_STORES ?? 'victoria,sqlite').split(',');
const T0 = Date.now() - 86_400_000;

/** Distinct ids per run so the direct and the collector phases write the same shape of data. */
function makeBatches(site: string, gateway: string): TelemetryBatch[] {
  return Array.from({ length: BATCHES }, (_, seq) => ({
    schema: 'jjj.telemetry/1',
    region: 'BJ',
    project: 'bench',
    site,
    gateway: { id: gateway, boot: 1, seq },
    sentTs: T0 + seq * 1000,
    points: Array.from({ length: POINTS_PER_BATCH }, (_, i) => ({
      line: `line-${i % 10}`,
      equipment: `machine-${Math.floor(i / 10) % 10}`,
      point: `p-${Math.floor(i / 100)}`,
      value: seq + i / 1000,
      ts: T0 + seq * 1000,
      quality: 'good' as const,
    })),
  }));
}

const rate = (points: number, ms: number) => Math.round((points / ms) * 1000);

/** VictoriaMetrics may take a moment to make everything searchable, even after a forced flush. */
async function pointsReadBack(victoriaUrl: string, site: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const exported = await exportSeries(victoriaUrl, `{__name__="jjj_value",site="${site}"}`);
    const stored = exported.reduce((sum, series) => sum + series.values.length, 0);
    if (stored >= TOTAL || Date.now() > deadline) return stored;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function pointsStored(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return Number(text.match(/^jjj_collector_points_stored_total (\d+)/m)?.[1] ?? 0);
}

/** Publishes every batch with QoS 1 and waits until the collector has stored them all; returns ms. */
async function throughCollector(
  brokerUrl: string,
  store: CollectorConfigInput['store'],
  connections: number,
  batches: TelemetryBatch[],
  /** Resolves once the store shows every point, for a second figure: until readable. */
  untilReadable: () => Promise<unknown> = async () => undefined,
): Promise<{ acknowledgedMs: number; readableMs: number }> {
  const collector = await startCollector(
    buildCollectorConfig({
      mqtt: { url: brokerUrl, connections, ...(connections > 1 && { shareGroup: 'bench' }) },
      store,
      http: { port: 0 },
    }),
    { logger: pino({ level: 'silent' }) },
  );
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const input: PublisherInput = {
      brokerUrl,
      window: PUBLISH_WINDOW,
      messages: batches.map((batch) => ({
        topic: topicFor({
          region: batch.region,
          site: batch.site,
          gateway: batch.gateway.id,
          kind: 'telemetry',
        }),
        payload: JSON.stringify(batch),
      })),
    };
    const publisher = new Worker(new URL('./collector-publisher.js', import.meta.url), { workerData: input });
    const published = new Promise<void>((resolve, reject) => {
      publisher.on('error', reject);
      publisher.on('message', (message) => {
        if (message === 'published') resolve();
      });
    });
    await new Promise<void>((resolve, reject) => {
      publisher.once('error', reject);
      publisher.once('message', () => resolve());
    });
    const started = performance.now();
    publisher.postMessage('go');
    const deadline = Date.now() + 120_000;
    while ((await pointsStored(collector.httpUrl)) < TOTAL) {
      if (Date.now() > deadline) throw new Error('collector did not store every point within 120 s');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const acknowledgedMs = performance.now() - started;
    await untilReadable();
    const readableMs = performance.now() - started;
    await published;
    await publisher.terminate();
    return { acknowledgedMs, readableMs };
  } finally {
    await collector.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'jjj-bench-collector-'));
  const broker = await startMosquittoBroker();
  const victoria = await startVictoriaMetrics();
  try {
    console.log(
      `collector ingest benchmark: ${BATCHES} batches × ${POINTS_PER_BATCH} points = ${TOTAL} points; ` +
        `InfluxDB: ${INFLUX_CONNECTIONS} connections; SQLite: ${SQLITE_CONNECTIONS} connections`,
    );

    if (STORES.includes('victoria')) {
      // VictoriaMetrics: direct client writes, then the same points through MQTT and the collector.
      const directBatches = makeBatches('bench-direct', 'gw-direct');
      const influx = new InfluxDB({ url: victoria.url, token: 'bench' });
      const writeApi = influx.getWriteApi('jjj', 'telemetry', 'ms', {
        batchSize: 20_000,
        gzipThreshold: 1000,
      });
      const started = performance.now();
      for (const batch of directBatches) writeApi.writeRecords(batchToLines('jjj', batch));
      await writeApi.close();
      const directMs = performance.now() - started;
      // VictoriaMetrics answers a write before it has parsed it: both phases are also timed until
      // every point reads back, which also keeps that work out of the next phase.
      const directStored = await pointsReadBack(victoria.url, 'bench-direct');
      const directReadableMs = performance.now() - started;
      let stored = 0;
      const collector = await throughCollector(
        broker.url,
        {
          type: 'influxdb',
          url: victoria.url,
          org: 'jjj',
          bucket: 'telemetry',
          catalogPath: join(dir, 'catalog.db'),
        },
        INFLUX_CONNECTIONS,
        makeBatches('bench-collector', 'gw-collector'),
        async () => {
          stored = await pointsReadBack(victoria.url, 'bench-collector');
        },
      );
      const line = (label: string, direct: number, through: number) =>
        console.log(
          `victoria-metrics ${label}: direct (influxdb-client) ${rate(TOTAL, direct)} points/s, ` +
            `through collector (MQTT) ${rate(TOTAL, through)} points/s, ratio ${(direct / through).toFixed(2)}`,
        );
      line('until acknowledged', directMs, collector.acknowledgedMs);
      line('until readable    ', directReadableMs, collector.readableMs);
      console.log(
        `victoria-metrics points read back: direct ${directStored}, collector ${stored} of ${TOTAL}`,
      );
    }
    if (STORES.includes('sqlite')) {
      // Embedded SQLite: direct store calls, then through MQTT and the collector, each on a fresh file.
      const direct = new SqliteStore(join(dir, 'direct.db'));
      const sqliteBatches = makeBatches('bench-sqlite', 'gw-sqlite');
      const sqliteStarted = performance.now();
      for (const batch of sqliteBatches) await direct.writeTelemetry(batch, Date.now());
      const sqliteDirectMs = performance.now() - sqliteStarted;
      await direct.close();
      const { acknowledgedMs: sqliteCollectorMs } = await throughCollector(
        broker.url,
        { path: join(dir, 'collector.db') },
        SQLITE_CONNECTIONS,
        makeBatches('bench-sqlite', 'gw-sqlite'),
      );
      console.log(
        `sqlite: direct (SqliteStore) ${rate(TOTAL, sqliteDirectMs)} points/s, ` +
          `through collector (MQTT) ${rate(TOTAL, sqliteCollectorMs)} points/s, ` +
          `ratio ${(sqliteDirectMs / sqliteCollectorMs).toFixed(2)}`,
      );
    }
  } finally {
    await victoria.stop();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
