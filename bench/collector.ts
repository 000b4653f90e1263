/**
 * Collector ingest benchmark: points/s from MQTT (Mosquitto) through the collector into a store,
 * next to writing the same points straight into the same database in the same run:
 * - VictoriaMetrics over the InfluxDB v2 write API, baseline = @influxdata/influxdb-client WriteApi;
 * - the embedded SQLite store, baseline = SqliteStore.writeTelemetry called directly, one batch after
 *   the other.
 * Each collector run is timed twice: draining a backlog already waiting in the broker, and live while
 * a publisher (a worker thread, as gateways are other processes) publishes. For VictoriaMetrics both
 * "until acknowledged" and "until searchable" are printed: it acknowledges a write before processing
 * it, so only the second compares the database's whole work on both sides.
 * The collector runs as deployed for throughput: 32 MQTT connections and 4 write requests in flight
 * for InfluxDB, 8 connections for SQLite (each connection holds one unacknowledged message, so this
 * is how many batches are in flight). Environment: BENCH_BATCHES, BENCH_STORES (victoria,sqlite),
 * BENCH_CONNECTIONS, BENCH_WRITE_CONCURRENCY, BENCH_SQLITE_CONNECTIONS. `npm run bench:collector`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from '@influxdata/influxdb-client';
import { pino } from 'pino';
import { startCollector } from '../cloud/collector.js';
import { buildCollectorConfig, type CollectorConfigInput } from '../cloud/config.js';
import { batchToLines } from '../cloud/store/influx-write.js';
import { SqliteStore } from '../cloud/store/sqlite-store.js';
import {
  type Cpu,
  cpuOf,
  cpuSince,
  makeBatches,
  POINTS_PER_BATCH,
  preparePublisher,
  rate,
  sleep,
  untilSearchable,
} from './collector-load.js';
import { exportSeries, startMosquittoBroker, startVictoriaMetrics } from './collector-peers.js';

const BATCHES = Number(process.env.BENCH_BATCHES ?? 300);
const TOTAL = POINTS_PER_BATCH * BATCHES;
const INFLUX_CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WRITE_CONCURRENCY = Number(process.env.BENCH_WRITE_CONCURRENCY ?? 4);
const SQLITE_CONNECTIONS = Number(process.env.BENCH_SQLITE_CONNECTIONS ?? 8);
/** `victoria`, `sqlite` or both (default), to measure one store at a time. */
const STORES = (process.env.BENCH_STORES ?? 'victoria,sqlite').split(',');

/** Every stored value, read back through the export API (outside the timing). */
async function pointsExported(victoriaUrl: string, site: string): Promise<number> {
  const exported = await exportSeries(victoriaUrl, `{__name__="jjj_value",site="${site}"}`);
  return exported.reduce((sum, series) => sum + series.values.length, 0);
}

async function pointsStored(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return Number(text.match(/^jjj_collector_points_stored_total (\d+)/m)?.[1] ?? 0);
}

/**
 * `live`: the collector runs while the publisher publishes. `backlog`: every message is already
 * waiting in the broker (published while the collector's persistent sessions were away), as the
 * direct write starts with every point in memory: the timing starts with the collector itself.
 */
type Mode = 'live' | 'backlog';

interface Timing {
  /** Until the collector counts every point stored (InfluxDB acknowledged it, the catalog committed). */
  acknowledgedMs: number;
  /** Until the database can search every point. */
  searchableMs: number;
  /** CPU-seconds per process until then. */
  cpu: string;
}

async function throughCollector(
  brokerUrl: string,
  store: CollectorConfigInput['store'],
  connections: number,
  site: string,
  gateway: string,
  mode: Mode,
  cpu: () => Cpu,
  /** Resolves with the ms since `started` when the store can search every point. */
  untilSearchableSince: (started: number) => Promise<number> = async (started) => performance.now() - started,
): Promise<Timing> {
  const config = buildCollectorConfig({
    mqtt: {
      url: brokerUrl,
      connections,
      // A group per run: an earlier run's persistent sessions would otherwise get a share of the messages.
      ...(connections > 1 && { shareGroup: `bench-${site}` }),
      ...(mode === 'backlog' && { clientId: `bench-${site}`, persistentSession: true }),
    },
    store,
    http: { port: 0 },
    auth: { anonymous: 'viewer' },
  });
  const start = () => startCollector(config, { logger: pino({ level: 'silent' }) });
  const publisher = await preparePublisher(brokerUrl, site, gateway, BATCHES);
  let collector = await start();
  try {
    // Subscribed (the persistent sessions exist from now on).
    await sleep(500);
    let started: number;
    let cpuAtStart: Cpu;
    let published: Promise<void>;
    if (mode === 'backlog') {
      await collector.close();
      await publisher.go();
      published = Promise.resolve();
      cpuAtStart = cpu();
      started = performance.now();
      collector = await start();
    } else {
      cpuAtStart = cpu();
      started = performance.now();
      published = publisher.go();
    }
    const deadline = Date.now() + 120_000;
    while ((await pointsStored(collector.httpUrl)) < TOTAL) {
      if (Date.now() > deadline) throw new Error('collector did not store every point within 120 s');
      await sleep(20);
    }
    const acknowledgedMs = performance.now() - started;
    const searchableMs = await untilSearchableSince(started);
    const cpuUsed = cpuSince(cpuAtStart, cpu());
    await published;
    return { acknowledgedMs, searchableMs, cpu: cpuUsed };
  } finally {
    await collector.close();
    await publisher.stop();
  }
}

/** One result line: the rate through the collector and its ratio to the direct write's. */
function report(label: string, directMs: number, throughMs: number): void {
  console.log(
    `${label.padEnd(44)} ${String(rate(TOTAL, throughMs)).padStart(7)} points/s  ` +
      `(direct ${rate(TOTAL, directMs)} points/s)  ratio ${(directMs / throughMs).toFixed(2)}`,
  );
}

async function benchVictoria(
  brokerUrl: string,
  victoriaUrl: string,
  dir: string,
  cpu: () => Cpu,
): Promise<void> {
  const store = (site: string): CollectorConfigInput['store'] => ({
    type: 'influxdb',
    url: victoriaUrl,
    org: 'jjj',
    bucket: 'telemetry',
    catalogPath: join(dir, `${site}.db`),
    writeConcurrency: WRITE_CONCURRENCY,
  });
  // Direct: the client's WriteApi, every point prepared in memory.
  const directBatches = makeBatches('bench-direct', 'gw-direct', BATCHES);
  const influx = new InfluxDB({ url: victoriaUrl, token: 'bench' });
  const writeApi = influx.getWriteApi('jjj', 'telemetry', 'ms', { batchSize: 20_000, gzipThreshold: 1000 });
  const cpuAtStart = cpu();
  const started = performance.now();
  for (const batch of directBatches) writeApi.writeRecords(batchToLines('jjj', batch));
  await writeApi.close();
  const acknowledgedMs = performance.now() - started;
  const direct: Timing = {
    acknowledgedMs,
    searchableMs: await untilSearchable(victoriaUrl, 'bench-direct', TOTAL, started),
    cpu: cpuSince(cpuAtStart, cpu()),
  };
  console.log(`victoria-metrics direct, CPU-seconds until searchable: ${direct.cpu}`);
  const exported: Record<string, number> = {
    'bench-direct': await pointsExported(victoriaUrl, 'bench-direct'),
  };
  for (const mode of ['backlog', 'live'] as const) {
    const site = `bench-${mode}`;
    const through = await throughCollector(
      brokerUrl,
      store(site),
      INFLUX_CONNECTIONS,
      site,
      `gw-${mode}`,
      mode,
      cpu,
      (since) => untilSearchable(victoriaUrl, site, TOTAL, since),
    );
    exported[site] = await pointsExported(victoriaUrl, site);
    report(`victoria-metrics ${mode}, until searchable`, direct.searchableMs, through.searchableMs);
    report(`victoria-metrics ${mode}, until acknowledged`, direct.acknowledgedMs, through.acknowledgedMs);
    console.log(`victoria-metrics ${mode}, CPU-seconds until searchable: ${through.cpu}`);
  }
  console.log(
    `victoria-metrics points read back through the export API: ${Object.entries(exported)
      .map(([site, count]) => `${site} ${count}`)
      .join(', ')} (of ${TOTAL} each)`,
  );
}

async function benchSqlite(brokerUrl: string, dir: string, cpu: () => Cpu): Promise<void> {
  // Direct: SqliteStore.writeTelemetry called batch after batch on a fresh file.
  const direct = new SqliteStore(join(dir, 'direct.db'));
  const started = performance.now();
  for (const batch of makeBatches('bench-sqlite', 'gw-sqlite', BATCHES))
    await direct.writeTelemetry(batch, Date.now());
  const directMs = performance.now() - started;
  await direct.close();
  for (const mode of ['backlog', 'live'] as const) {
    const through = await throughCollector(
      brokerUrl,
      { path: join(dir, `collector-${mode}.db`) },
      SQLITE_CONNECTIONS,
      `bench-sqlite-${mode}`,
      'gw-sqlite',
      mode,
      cpu,
    );
    report(`sqlite ${mode}, until committed`, directMs, through.acknowledgedMs);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'jjj-bench-collector-'));
  const broker = await startMosquittoBroker();
  const victoria = await startVictoriaMetrics();
  try {
    console.log(
      `collector ingest benchmark: ${BATCHES} batches × ${POINTS_PER_BATCH} points = ${TOTAL} points per run; ` +
        `collector with ${INFLUX_CONNECTIONS} MQTT connections and ${WRITE_CONCURRENCY} write requests in flight ` +
        `for InfluxDB, ${SQLITE_CONNECTIONS} connections for SQLite.\n` +
        'direct = the same points written straight to the database (influxdb-client WriteApi / SqliteStore).\n' +
        'backlog = every message already waiting in Mosquitto when the collector starts (the direct write also starts\n' +
        'with every point in memory); live = the collector ingests while the gateway side publishes on the same machine.',
    );
    const cpu = () => cpuOf({ 'victoria-metrics': victoria.pid, mosquitto: broker.pid });
    if (STORES.includes('victoria')) await benchVictoria(broker.url, victoria.url, dir, cpu);
    if (STORES.includes('sqlite')) await benchSqlite(broker.url, dir, cpu);
  } finally {
    await victoria.stop();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
