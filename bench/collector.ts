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
 * is how many batches are in flight).
 * Formats: the same batches as `jjj.telemetry/1`, the compact `jjj.telemetry/2` and v2 zlib-compressed,
 * in the same run: bytes per point, the reading step alone (payload to a validated v1 batch, in this
 * process) and the whole collector draining a backlog into SQLite and into VictoriaMetrics, each with
 * points/s, CPU µs per point and the ratio to v1; rounds alternate the order of the formats.
 * Environment: BENCH_BATCHES, BENCH_STORES (victoria,sqlite,formats), BENCH_CONNECTIONS,
 * BENCH_WRITE_CONCURRENCY, BENCH_SQLITE_CONNECTIONS, BENCH_FORMAT_ROUNDS. `npm run bench:collector`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDB } from '@influxdata/influxdb-client';
import { pino } from 'pino';
import { startCollector } from '../cloud/collector.js';
import { buildCollectorConfig, type CollectorConfigInput } from '../cloud/config.js';
import { readWireMessage } from '../cloud/ingest.js';
import { batchToLines } from '../cloud/store/influx-write.js';
import { SqliteStore } from '../cloud/store/sqlite-store.js';
import {
  type Cpu,
  cpuOf,
  cpuSince,
  encodeBatch,
  makeBatches,
  POINTS_PER_BATCH,
  preparePublisher,
  rate,
  sleep,
  untilSearchable,
  type WireFormat,
  wireFormats,
} from './collector-load.js';
import { exportSeries, startMosquittoBroker, startVictoriaMetrics } from './collector-peers.js';

const BATCHES = Number(process.env.BENCH_BATCHES ?? 300);
const TOTAL = POINTS_PER_BATCH * BATCHES;
const INFLUX_CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WRITE_CONCURRENCY = Number(process.env.BENCH_WRITE_CONCURRENCY ?? 4);
const SQLITE_CONNECTIONS = Number(process.env.BENCH_SQLITE_CONNECTIONS ?? 8);
/** `victoria`, `sqlite`, `formats` or several (default all), to measure one part at a time. */
const STORES = (process.env.BENCH_STORES ?? 'victoria,sqlite,formats').split(',');
const FORMAT_ROUNDS = Number(process.env.BENCH_FORMAT_ROUNDS ?? 2);
/** The collector's default `ingest.maxMessageBytes`. */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

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
  /** The same, by process. */
  cpuByProcess: Cpu;
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
  format: WireFormat = 'v1',
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
  const publisher = await preparePublisher(brokerUrl, site, gateway, BATCHES, format);
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
    const cpuAtEnd = cpu();
    await published;
    const cpuByProcess = Object.fromEntries(
      Object.entries(cpuAtEnd).map(([name, seconds]) => [name, seconds - (cpuAtStart[name] ?? 0)]),
    );
    return { acknowledgedMs, searchableMs, cpu: cpuSince(cpuAtStart, cpuAtEnd), cpuByProcess };
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
  const searchableMs = await untilSearchable(victoriaUrl, 'bench-direct', TOTAL, started);
  const direct = { acknowledgedMs, searchableMs, cpu: cpuSince(cpuAtStart, cpu()) };
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

/** One format's figures: points/s and CPU µs per point of this process (the collector, or the reading step). */
interface FormatFigures {
  pointsPerSecond: number;
  cpuMicrosPerPoint: number;
}

const perPoint = (seconds: number) => (seconds * 1e6) / TOTAL;

/** The reading step alone: every payload to a validated `jjj.telemetry/1` batch, as `Ingest.handle` does. */
function readingStep(payloads: Buffer[]): FormatFigures {
  // Warm the JIT on a few first, as a running collector is.
  for (const payload of payloads.slice(0, 20)) readWireMessage(payload, MAX_MESSAGE_BYTES);
  const cpuAtStart = process.cpuUsage();
  const started = performance.now();
  let points = 0;
  for (const payload of payloads) {
    const read = readWireMessage(payload, MAX_MESSAGE_BYTES);
    if (!read.ok || read.message.schema !== 'jjj.telemetry/1') {
      throw new Error(`bench batch refused: ${read.ok ? read.message.schema : read.detail}`);
    }
    points += read.message.points.length;
  }
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuAtStart);
  if (points !== TOTAL) throw new Error(`read ${points} points of ${TOTAL}`);
  return { pointsPerSecond: rate(TOTAL, ms), cpuMicrosPerPoint: perPoint((cpu.user + cpu.system) / 1e6) };
}

/** The best of the rounds (most points/s, least CPU): the run the machine's other load disturbed least. */
function best(rounds: FormatFigures[]): FormatFigures {
  return {
    pointsPerSecond: Math.max(...rounds.map((r) => r.pointsPerSecond)),
    cpuMicrosPerPoint: Math.min(...rounds.map((r) => r.cpuMicrosPerPoint)),
  };
}

function reportFormats(stage: string, rounds: Record<WireFormat, FormatFigures[]>): void {
  const v1 = best(rounds.v1);
  for (const format of wireFormats) {
    const f = best(rounds[format]);
    console.log(
      `${`${stage} ${format}`.padEnd(46)} ${String(f.pointsPerSecond).padStart(9)} points/s  ` +
        `${f.cpuMicrosPerPoint.toFixed(2).padStart(6)} µs CPU/point  ` +
        `vs v1: ${(f.pointsPerSecond / v1.pointsPerSecond).toFixed(2)}× points/s, ` +
        `${(f.cpuMicrosPerPoint / v1.cpuMicrosPerPoint).toFixed(2)}× CPU`,
    );
  }
}

/**
 * v1, v2 and v2+zlib of the same batches: the reading step alone, then the collector draining a
 * backlog into each store (until every point is acknowledged by the store).
 */
async function benchFormats(
  brokerUrl: string,
  victoriaUrl: string,
  dir: string,
  cpu: () => Cpu,
): Promise<void> {
  const batches = makeBatches('bench-formats', 'gw-formats', BATCHES);
  const payloads = Object.fromEntries(
    wireFormats.map((format) => [format, batches.map((batch) => encodeBatch(batch, format))]),
  ) as Record<WireFormat, Buffer[]>;
  console.log(
    `formats: ${wireFormats
      .map((format) => {
        const bytes = payloads[format].reduce((sum, payload) => sum + payload.length, 0);
        return `${format} ${(bytes / TOTAL).toFixed(1)} bytes/point`;
      })
      .join(', ')} (batches of ${POINTS_PER_BATCH} points, 20 machines × 50; the bench's regular values ` +
      'compress better than most plant data)',
  );
  const stores = {
    sqlite: {
      connections: SQLITE_CONNECTIONS,
      store: (site: string): CollectorConfigInput['store'] => ({ path: join(dir, `formats-${site}.db`) }),
    },
    'victoria-metrics': {
      connections: INFLUX_CONNECTIONS,
      store: (site: string): CollectorConfigInput['store'] => ({
        type: 'influxdb',
        url: victoriaUrl,
        org: 'jjj',
        bucket: 'telemetry',
        catalogPath: join(dir, `formats-${site}.db`),
        writeConcurrency: WRITE_CONCURRENCY,
      }),
    },
  };
  const rounds = () =>
    Object.fromEntries(wireFormats.map((format) => [format, [] as FormatFigures[]])) as Record<
      WireFormat,
      FormatFigures[]
    >;
  const reading = rounds();
  const collector = { sqlite: rounds(), 'victoria-metrics': rounds() };
  for (let round = 0; round < FORMAT_ROUNDS; round++) {
    // Alternating the order from round to round spreads warm-up and the machine's other load.
    const order = round % 2 === 0 ? wireFormats : [...wireFormats].reverse();
    for (const format of order) reading[format].push(readingStep(payloads[format]));
    for (const [name, { connections, store }] of Object.entries(stores) as [
      keyof typeof stores,
      (typeof stores)['sqlite'],
    ][]) {
      for (const format of order) {
        const site = `bench-${name === 'sqlite' ? 'sqlite' : 'victoria'}-${format}-${round}`;
        const through = await throughCollector(
          brokerUrl,
          store(site),
          connections,
          site,
          `gw-${format}`,
          'backlog',
          cpu,
          undefined,
          format,
        );
        collector[name][format].push({
          pointsPerSecond: rate(TOTAL, through.acknowledgedMs),
          cpuMicrosPerPoint: perPoint(through.cpuByProcess['this process'] ?? 0),
        });
      }
    }
  }
  console.log(
    `best of ${FORMAT_ROUNDS} rounds each (CPU of this process: the collector, or the reading step alone):`,
  );
  reportFormats('reading step', reading);
  reportFormats('collector → sqlite, backlog', collector.sqlite);
  reportFormats('collector → victoria-metrics, backlog', collector['victoria-metrics']);
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
    if (STORES.includes('formats')) await benchFormats(broker.url, victoria.url, dir, cpu);
  } finally {
    await victoria.stop();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
