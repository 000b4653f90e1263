/**
 * Does a heavy query stall the collector? Fills an SQLite store with BENCH_SAMPLES (2 M) samples of
 * one site meter, starts the collector as a user would (its CLI, a config file, defaults otherwise)
 * against a real Mosquitto, and runs today's worst queries one after the other:
 * - an aggregated series (mean per hour) over all the samples;
 * - a KPI compare naming the same site BENCH_REPEAT (30) times;
 * - a KPI compare of that site once (every raw sample of the meter);
 * - a KPI compare of that site over its last 400 000 samples (within the default cap).
 * Each runs against a fresh collector process (killed after it), so a query still running after the
 * client gave up (BENCH_CLIENT_TIMEOUT_MS, 30 s) does not spill into the next measurement.
 * Meanwhile a probe asks `/api/v1/health` every 10 ms and a light publisher sends a batch every
 * 50 ms on another site, whose latest value is polled every 100 ms (the ingest lag). Per query it
 * prints its status and time, the probe's worst and p99 delay, the worst ingest lag, and the
 * collector's RSS growth (peak over the start).
 *
 * The collector is driven only through HTTP, MQTT and its config file, so BENCH_COLLECTOR_CLI can
 * point at another build (e.g. the one before this change) and the same script measures both.
 * The store is filled through that build's own `store/sqlite-store.js`, so the file matches its schema.
 * `npm run bench:query-stall`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connectAsync } from 'mqtt';
import type { MetadataMessage, TelemetryBatch } from '../gateway/schema/index.js';
import { freeLoopbackPort, startMosquittoBroker } from './collector-peers.js';

const CLI = resolve(
  process.env.BENCH_COLLECTOR_CLI ?? fileURLToPath(new URL('../cloud/cli.js', import.meta.url)),
);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 2_000_000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 30);
/** A query still unanswered then is reported as such (the collector may still be working on it). */
const CLIENT_TIMEOUT_MS = Number(process.env.BENCH_CLIENT_TIMEOUT_MS ?? 30_000);
const PROBE_EVERY_MS = 10;
const PUBLISH_EVERY_MS = 50;
const LAG_POLL_EVERY_MS = 100;
const SAMPLE_EVERY_MS = 1000;
const BATCH_SIZE = 10_000;
/** A KPI compare under the default raw-sample cap (500 000), so it is computed, not refused. */
const KPI_WITHIN_CAP_SAMPLES = 400_000;

const HEAVY_SITE = 'bench-heavy';
const LIGHT_SITE = 'bench-light';
const METER = `${HEAVY_SITE}/utilities/meter-main/energy-total`;
const T0 = Date.UTC(2026, 0, 1);
const LAST_TS = T0 + (SAMPLES - 1) * SAMPLE_EVERY_MS;

interface StoreModule {
  SqliteStore: new (
    path: string,
  ) => {
    writeMetadata(message: MetadataMessage): Promise<void>;
    writeTelemetry(batch: TelemetryBatch, receivedAt: number): Promise<unknown>;
    close(): Promise<void>;
  };
}

function metadataOf(site: string, line: string, equipment: string, point: string): MetadataMessage {
  return {
    schema: 'jjj.metadata/1',
    region: 'BJ',
    project: 'bench',
    site,
    gateway: { id: `gw-${site}`, boot: 1 },
    ts: T0,
    siteName: { en: site, zh: site },
    points: [{ line, equipment, point, protocol: 'modbus', address: 'holding/0', dataType: 'float64' }],
  };
}

function batchOf(site: string, seq: number, points: TelemetryBatch['points']): TelemetryBatch {
  return {
    schema: 'jjj.telemetry/1',
    region: 'BJ',
    project: 'bench',
    site,
    gateway: { id: `gw-${site}`, boot: 1, seq },
    sentTs: points[points.length - 1]?.ts ?? T0,
    points,
  };
}

/** Writes the meter's samples straight into the file, through the measured build's own store. */
async function fill(path: string): Promise<number> {
  const started = Date.now();
  const storeFile = pathToFileURL(join(dirname(CLI), 'store', 'sqlite-store.js')).href;
  const { SqliteStore } = (await import(storeFile)) as StoreModule;
  const store = new SqliteStore(path);
  await store.writeMetadata(metadataOf(HEAVY_SITE, 'utilities', 'meter-main', 'energy-total'));
  await store.writeMetadata(metadataOf(LIGHT_SITE, 'line-1', 'plc', 'counter'));
  for (let seq = 0; seq * BATCH_SIZE < SAMPLES; seq++) {
    const count = Math.min(BATCH_SIZE, SAMPLES - seq * BATCH_SIZE);
    const points = Array.from({ length: count }, (_, i) => {
      const index = seq * BATCH_SIZE + i;
      return {
        line: 'utilities',
        equipment: 'meter-main',
        point: 'energy-total',
        value: index / 10,
        ts: T0 + index * SAMPLE_EVERY_MS,
        quality: 'good' as const,
      };
    });
    await store.writeTelemetry(batchOf(HEAVY_SITE, seq, points), Date.now());
  }
  await store.close();
  return Date.now() - started;
}

const rssKb = (pid: number, field: 'VmRSS' | 'VmHWM') =>
  Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? 0);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A viewer's API token, as a user would make one with the collector's own CLI; `{}` for a build
 * without users (before the API had authentication), whose CLI refuses the command.
 */
function viewerHeaders(config: string): Record<string, string> {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args, '--config', config], {
      encoding: 'utf8',
      env: { ...process.env, JJJ_COLLECTOR_PASSWORD: 'bench-viewer-password' },
    });
  // Each collector of the run opens the same store file: a user of its own each time.
  const user = `bench-${process.hrtime.bigint()}`;
  if (cli(['users', 'add', user, '--role', 'viewer']).status !== 0) return {};
  const token = cli(['tokens', 'create', '--user', user]);
  if (token.status !== 0) throw new Error(`tokens create failed: ${token.stderr}`);
  return { authorization: `Bearer ${token.stdout.trim()}` };
}

async function startCollectorProcess(
  dir: string,
  mqttUrl: string,
): Promise<{ child: ChildProcess; url: string; headers: Record<string, string> }> {
  const port = await freeLoopbackPort();
  const config = join(dir, 'collector.yaml');
  writeFileSync(
    config,
    [
      `mqtt: { url: "${mqttUrl}" }`,
      'store: { path: collector.db }',
      `http: { host: 127.0.0.1, port: ${port} }`,
      'log: { level: warn }',
      '',
    ].join('\n'),
  );
  const headers = viewerHeaders(config);
  const child = spawn(process.execPath, [CLI, 'run', '--config', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the collector exited with ${child.exitCode}`);
    const healthy = await fetch(`${url}/api/v1/health`).then(
      (answer) => answer.ok,
      () => false,
    );
    if (healthy) return { child, url, headers };
    if (Date.now() > deadline) throw new Error('the collector did not become healthy in 20 s');
    await sleep(100);
  }
}

/**
 * Response times of `/api/v1/health`, one request every 10 ms (the next waits for the previous).
 * `stop` abandons a request still unanswered and counts the time it has waited.
 */
function probeHealth(url: string) {
  const delays: number[] = [];
  const stopping = new AbortController();
  const done = (async () => {
    while (!stopping.signal.aborted) {
      const started = performance.now();
      await fetch(`${url}/api/v1/health`, { signal: stopping.signal }).then(
        (answer) => answer.arrayBuffer(),
        () => undefined,
      );
      const took = performance.now() - started;
      delays.push(took);
      await sleep(Math.max(0, PROBE_EVERY_MS - took));
    }
  })();
  return {
    delays,
    async stop() {
      stopping.abort();
      await done;
    },
  };
}

/**
 * How old the light site's newest stored sample is, polled every 100 ms: it grows while ingest
 * stands still. An unanswered poll counts as lag too (the collector cannot be asked).
 */
function watchIngestLag(url: string, headers: Record<string, string>) {
  let worst = 0;
  const stopping = new AbortController();
  const done = (async () => {
    while (!stopping.signal.aborted) {
      const started = Date.now();
      const latest = (await fetch(`${url}/api/v1/latest?site=${LIGHT_SITE}`, {
        headers,
        signal: stopping.signal,
      }).then(
        (answer) => answer.json(),
        () => undefined,
      )) as { points?: { ts: number }[] } | undefined;
      const ts = latest?.points?.[0]?.ts;
      if (ts !== undefined) worst = Math.max(worst, Date.now() - ts);
      else worst = Math.max(worst, Date.now() - started);
      await sleep(Math.max(0, LAG_POLL_EVERY_MS - (Date.now() - started)));
    }
  })();
  return {
    worst: () => worst,
    async stop() {
      stopping.abort();
      await done;
    },
  };
}

/** The light gateway's sequence, continued across measurements (a repeated seq would be dropped as a duplicate). */
let lightSeq = 0;

async function startPublisher(mqttUrl: string) {
  const client = await connectAsync(mqttUrl, { clientId: 'bench-light-publisher' });
  const firstSeq = lightSeq;
  const timer = setInterval(() => {
    const seq = lightSeq++;
    const batch = batchOf(LIGHT_SITE, seq, [
      { line: 'line-1', equipment: 'plc', point: 'counter', value: seq, ts: Date.now(), quality: 'good' },
    ]);
    client.publish(`jjj/v1/BJ/${LIGHT_SITE}/gw-${LIGHT_SITE}/telemetry`, JSON.stringify(batch), { qos: 1 });
  }, PUBLISH_EVERY_MS);
  return {
    published: () => lightSeq - firstSeq,
    async stop() {
      clearInterval(timer);
      await client.endAsync(true);
    },
  };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
};

/** One query against a fresh collector process, with the probe, the publisher and the lag watcher around it. */
async function measure(dir: string, brokerUrl: string, name: string, path: string): Promise<void> {
  const { child, url, headers } = await startCollectorProcess(dir, brokerUrl);
  const pid = child.pid ?? 0;
  try {
    const publisher = await startPublisher(brokerUrl);
    await sleep(500);
    const lag = watchIngestLag(url, headers);
    const rssAtStart = rssKb(pid, 'VmRSS');
    const probe = probeHealth(url);
    await sleep(200);
    const queryStarted = performance.now();
    const answer = await fetch(`${url}${path}`, {
      headers,
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    }).then(
      async (response) => `${response.status} ${(await response.text()).slice(0, 100)}`,
      (error: Error) => `no answer in ${CLIENT_TIMEOUT_MS / 1000} s (${error.name})`,
    );
    const queryMs = performance.now() - queryStarted;
    await sleep(300);
    const published = publisher.published();
    await Promise.all([probe.stop(), lag.stop(), publisher.stop()]);
    const peakRss = rssKb(pid, 'VmHWM');
    console.log(
      `${name}\n  query ${(queryMs / 1000).toFixed(2)} s → ${answer.replace(/\s+/g, ' ')}\n` +
        `  /health every ${PROBE_EVERY_MS} ms: worst ${Math.max(...probe.delays).toFixed(0)} ms, ` +
        `p99 ${percentile(probe.delays, 99).toFixed(0)} ms (${probe.delays.length} probes)\n` +
        `  ingest: ${published} batches published every ${PUBLISH_EVERY_MS} ms, worst lag of the stored value ${lag.worst()} ms\n` +
        `  collector RSS ${Math.round(rssAtStart / 1024)} MB → peak ${Math.round(peakRss / 1024)} MB ` +
        `(+${Math.round((peakRss - rssAtStart) / 1024)} MB)`,
    );
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'jjj-query-stall-'));
  const broker = await startMosquittoBroker();
  try {
    console.log(`collector: ${CLI}`);
    const fillMs = await fill(join(dir, 'collector.db'));
    console.log(`filled ${SAMPLES} samples of ${METER} in ${(fillMs / 1000).toFixed(1)} s\n`);
    const sites = (count: number) => Array.from({ length: count }, () => HEAVY_SITE).join(',');
    const range = `from=${T0}&to=${LAST_TS}`;
    await measure(
      dir,
      broker.url,
      'aggregated series (mean per hour) over all samples',
      `/api/v1/series?point=${METER}&${range}&aggregate=mean&window=1h`,
    );
    await measure(
      dir,
      broker.url,
      `compare, the same site x${REPEAT}`,
      `/api/v1/compare?kpi=energy_per_unit&sites=${sites(REPEAT)}&${range}&window=1h`,
    );
    await measure(
      dir,
      broker.url,
      'compare, the site once (every raw sample)',
      `/api/v1/compare?kpi=energy_per_unit&sites=${HEAVY_SITE}&${range}&window=1h`,
    );
    const lastDays = `from=${LAST_TS - KPI_WITHIN_CAP_SAMPLES * SAMPLE_EVERY_MS}&to=${LAST_TS}`;
    await measure(
      dir,
      broker.url,
      `compare, the site over its last ${KPI_WITHIN_CAP_SAMPLES} samples`,
      `/api/v1/compare?kpi=energy_per_unit&sites=${HEAVY_SITE}&${lastDays}&window=1h`,
    );
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
