/**
 * `npm run bench:scale-out`: collectors sharing the load, as cloud operators run them — N `jjj-collector
 * run` processes with one `mqtt.shareGroup` against one Mosquitto, writing to one VictoriaMetrics (the
 * InfluxDB v2 write API) and sharing one SQLite catalog (batch dedupe) — for N = 1 and N = 3 in the
 * same run. A publisher (a worker thread, as gateways are other processes) publishes BENCH_BATCHES
 * (300) batches of 1,000 points at QoS 1 while the collectors run; each run is timed until
 * VictoriaMetrics can search every point. Prints points/s, CPU-seconds per collector and each
 * instance's share of the batches, and the ratio of 3 to 1.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cpuSecondsOf,
  POINTS_PER_BATCH,
  pointsSearchable,
  preparePublisher,
  rate,
  sleep,
  untilSearchable,
} from './collector-load.js';
import { type Peer, startMosquittoBroker, startVictoriaMetrics } from './collector-peers.js';

const CLI = resolve(fileURLToPath(new URL('../cloud/cli.js', import.meta.url)));
const BATCHES = Number(process.env.BENCH_BATCHES ?? 300);
const TOTAL = BATCHES * POINTS_PER_BATCH;
/** MQTT connections per instance (each holds one unacknowledged message). */
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);

/** What this bench's scrapes of /metrics send, as Prometheus would. */
const METRICS_TOKEN = 'bench-scale-out-scraper';

const say = (line: string) => process.stdout.write(`${line}\n`);

interface Instance {
  child: ChildProcess;
  httpUrl: string;
  stderr: () => string;
}

/** One `jjj-collector run` process; resolves once it has subscribed, with its HTTP address. */
async function startInstance(dir: string, run: string, index: number, broker: Peer, victoriaUrl: string) {
  const config = join(dir, `${run}-${index}.yaml`);
  writeFileSync(
    config,
    [
      'mqtt:',
      `  url: ${broker.url}`,
      `  clientId: ${run}-${index}`,
      `  shareGroup: ${run}`,
      `  connections: ${CONNECTIONS}`,
      '  persistentSession: true',
      'store:',
      '  type: influxdb',
      `  url: ${victoriaUrl}`,
      '  org: jjj',
      '  bucket: telemetry',
      `  catalogPath: ${join(dir, `${run}-catalog.db`)}`,
      'http: { port: 0 }',
      `auth: { metricsToken: ${METRICS_TOKEN} }`,
      'log: { level: info }',
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [CLI, 'run', '--config', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const started = /"httpUrl":"([^"]+)"[^\n]*"msg":"collector started"/.exec(stderr);
    if (started && stderr.includes('"msg":"subscribed"'))
      return { child, httpUrl: started[1] as string, stderr: () => stderr };
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`collector ${run}-${index} did not start:\n${stderr}`);
    await sleep(50);
  }
}

async function stopInstance(instance: Instance): Promise<void> {
  if (instance.child.exitCode !== null) return;
  const exited = new Promise((done) => instance.child.once('exit', done));
  instance.child.kill('SIGTERM');
  await exited;
}

/** Points this instance stored (its own count; the shared catalog dedupes across instances). */
async function pointsStored(instance: Instance): Promise<number> {
  const response = await fetch(`${instance.httpUrl}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  if (!response.ok) throw new Error(`${instance.httpUrl}/metrics: HTTP ${response.status}`);
  const text = await response.text();
  return Number(/^jjj_collector_points_stored_total (\d+)/m.exec(text)?.[1] ?? 0);
}

async function runWith(count: number, dir: string, broker: Peer, victoriaUrl: string): Promise<number> {
  const run = `scale-${count}`;
  say(
    `[${run}] ${count} collector${count === 1 ? '' : 's'}, ${BATCHES} batches × ${POINTS_PER_BATCH} points…`,
  );
  const instances: Instance[] = [];
  try {
    for (let i = 0; i < count; i++) instances.push(await startInstance(dir, run, i, broker, victoriaUrl));
    const publisher = await preparePublisher(broker.url, run, `gw-${run}`, BATCHES);
    try {
      const cpuBefore = instances.map((instance) => cpuSecondsOf(instance.child.pid as number));
      const started = performance.now();
      await publisher.go();
      const ms = await untilSearchable(victoriaUrl, run, TOTAL, started);
      const cpu = instances.map(
        (instance, i) => cpuSecondsOf(instance.child.pid as number) - (cpuBefore[i] ?? 0),
      );
      const shares = await Promise.all(instances.map(pointsStored));
      say(
        `  ${rate(TOTAL, ms).toLocaleString('en')} points/s until searchable (${(ms / 1000).toFixed(1)} s); ` +
          `CPU-seconds per collector ${cpu.map((s) => s.toFixed(1)).join(', ')}; points per collector ${shares.map((n) => n.toLocaleString('en')).join(', ')}`,
      );
      const searchable = await pointsSearchable(victoriaUrl, run);
      if (searchable !== TOTAL) throw new Error(`${run}: ${searchable} points searchable, expected ${TOTAL}`);
      return rate(TOTAL, ms);
    } finally {
      await publisher.stop();
    }
  } finally {
    await Promise.all(instances.map(stopInstance));
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'jjj-bench-scale-'));
  const broker = await startMosquittoBroker();
  const victoria = await startVictoriaMetrics({ dedupe: true });
  try {
    say(
      `scale-out: jjj-collector processes sharing $share/<group>/…, ${CONNECTIONS} MQTT connections each, ` +
        `one Mosquitto, one VictoriaMetrics, one shared SQLite catalog`,
    );
    const one = await runWith(1, dir, broker, victoria.url);
    const three = await runWith(3, dir, broker, victoria.url);
    say(
      `three collectors vs one: ${(three / one).toFixed(2)}× the points/s (this machine has ${availableParallelism()} cores)`,
    );
  } finally {
    await victoria.stop();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `bench:scale-out failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
