/**
 * What plant comparison costs on the embedded store (issue 12): BENCH_SITES (20) sites ×
 * BENCH_DAYS (30) days, each site 2 lines × 5 machines (state, good and reject counters), a line
 * energy meter per line and a site water meter: 33 role points sampled every BENCH_SAMPLE_MS (5 s).
 *
 * 1. One site-day of raw samples is written as telemetry batches and rolled up by the rollup job, as
 *    the product does: the job's CPU time (read threads included) per site-day.
 * 2. The rest of the sites × days is that day's minute rows shifted in time (a site and a day at a
 *    time, through `writeRollups`, which sums the hours as it does for the job): the rollups' disk
 *    cost per role point per day (minute rows, kept `minuteRetentionDays`, and hour rows, kept).
 * 3. The collector is started as a user would (`jjj-collector run` on that file, a real Mosquitto)
 *    and `GET /api/v1/compare` over every site and day at 1-hour windows is timed (median and p95
 *    of BENCH_RUNS); `store.readRollupColumns` of the same range (what compare reads, through the
 *    store's read threads), too.
 *    A build whose compare route does not read rollups yet (no `entities` in its answer) gets the
 *    store figure only, and says so.
 *
 * `npm run bench:kpi`. The target: compare under 1 s.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { KpiConfig } from '../cloud/kpi/config.js';
import { HOUR_MS, MINUTE_MS, type RollupRow } from '../cloud/kpi/model.js';
import { RollupJob } from '../cloud/kpi/rollup-job.js';
import { rowsOfColumns } from '../cloud/store/rollup-table.js';
import { SqliteStore } from '../cloud/store/sqlite-store.js';
import type { KpiRole, MetadataMessage, TelemetryBatch } from '../gateway/schema/index.js';
import { freeLoopbackPort, type Peer, startMosquittoBroker } from './collector-peers.js';

const CLI = resolve(fileURLToPath(new URL('../cloud/cli.js', import.meta.url)));
const SITES = Number(process.env.BENCH_SITES ?? 20);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const SAMPLE_MS = Number(process.env.BENCH_SAMPLE_MS ?? 5000);
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const LINES = 2;
const MACHINES = 5;
const DAY_MS = 24 * HOUR_MS;
/** The first day, local midnight in China (UTC+8), ending before today so no row lies in the future. */
const DAY0 = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAYS * DAY_MS - 8 * HOUR_MS;
const siteId = (index: number) => `bench-site-${String(index).padStart(2, '0')}`;

interface RolePointSpec {
  line: string;
  equipment: string;
  point: string;
  kpi: KpiRole;
  unit?: string;
}

function rolePoints(): RolePointSpec[] {
  const points: RolePointSpec[] = [];
  for (let l = 0; l < LINES; l++) {
    const line = `line-${l}`;
    for (let m = 0; m < MACHINES; m++) {
      const equipment = `machine-${m}`;
      points.push(
        {
          line,
          equipment,
          point: 'state',
          kpi: {
            role: 'machine-state',
            values: { '1': 'producing', '2': 'idle', '3': 'down', '4': 'setup' },
          },
        },
        {
          line,
          equipment,
          point: 'good',
          kpi: { role: 'good-count', width: 32, reset: 'restart', idealCycleTimeS: 30, unitValue: 12 },
        },
        { line, equipment, point: 'reject', kpi: { role: 'reject-count', width: 32, reset: 'restart' } },
      );
    }
    points.push({
      line,
      equipment: 'meter',
      point: 'energy',
      unit: 'KWH',
      kpi: { role: 'energy', measure: 'counter', scope: 'line', reset: 'restart' },
    });
  }
  points.push({
    line: 'utilities',
    equipment: 'water-main',
    point: 'volume',
    unit: 'MTQ',
    kpi: { role: 'water', scope: 'site', reset: 'restart' },
  });
  return points;
}

const POINTS = rolePoints();

function metadataOf(site: string): MetadataMessage {
  return {
    schema: 'jjj.metadata/1',
    region: 'BJ',
    project: 'bench-project',
    site,
    gateway: { id: `gw-${site}`, boot: 1 },
    ts: DAY0,
    siteName: { en: site, zh: site },
    points: POINTS.map((p) => ({
      line: p.line,
      equipment: p.equipment,
      point: p.point,
      protocol: 'opcua',
      address: `ns=1;s=${p.equipment}.${p.point}`,
      ...(p.unit !== undefined && { unit: p.unit }),
      kpi: p.kpi,
    })),
  };
}

/** A small seeded generator, so every run rolls up the same day. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

/** One site-day of samples as batches of one tick each: machines change state now and then, count parts while producing. */
function* dayOfBatches(site: string): Generator<TelemetryBatch> {
  const next = random(42);
  const machines = LINES * MACHINES;
  const state = Array.from({ length: machines }, () => 1);
  const good = Array.from({ length: machines }, () => 0);
  const reject = Array.from({ length: machines }, () => 0);
  const energy = Array.from({ length: LINES }, () => 0);
  let water = 0;
  let seq = 0;
  for (let ts = DAY0; ts < DAY0 + DAY_MS; ts += SAMPLE_MS) {
    const points: TelemetryBatch['points'] = [];
    for (let i = 0; i < machines; i++) {
      // About one change an hour: mostly back to producing, else idle, down or setup.
      if (next() < SAMPLE_MS / HOUR_MS) state[i] = state[i] === 1 ? 2 + Math.floor(next() * 3) : 1;
      if (state[i] === 1 && next() < SAMPLE_MS / 32_000) {
        if (next() < 0.02) reject[i] = (reject[i] as number) + 1;
        else good[i] = (good[i] as number) + 1;
      }
      const line = `line-${Math.floor(i / MACHINES)}`;
      const equipment = `machine-${i % MACHINES}`;
      points.push(
        { line, equipment, point: 'state', value: state[i] as number, ts, quality: 'good' },
        { line, equipment, point: 'good', value: good[i] as number, ts, quality: 'good' },
        { line, equipment, point: 'reject', value: reject[i] as number, ts, quality: 'good' },
      );
    }
    for (let l = 0; l < LINES; l++) {
      energy[l] = (energy[l] as number) + (40 * SAMPLE_MS) / HOUR_MS;
      points.push({
        line: `line-${l}`,
        equipment: 'meter',
        point: 'energy',
        value: energy[l] as number,
        ts,
        quality: 'good',
      });
    }
    water += (2 * SAMPLE_MS) / HOUR_MS;
    points.push({
      line: 'utilities',
      equipment: 'water-main',
      point: 'volume',
      value: water,
      ts,
      quality: 'good',
    });
    yield {
      schema: 'jjj.telemetry/1',
      region: 'BJ',
      project: 'bench-project',
      site,
      gateway: { id: `gw-${site}`, boot: 1, seq: seq++ },
      sentTs: ts,
      points,
    };
  }
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
};
const ms = (value: number) => `${value.toFixed(1)} ms`;

async function timed(runs: number, run: () => Promise<void>): Promise<{ median: number; p95: number }> {
  await run(); // warm-up: prepared statements, page cache, read threads
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return { median: quantile(times, 0.5), p95: quantile(times, 0.95) };
}

/** Bytes of the `rollups` table's pages. */
function rollupBytes(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return (
      db.prepare("SELECT sum(pgsize) AS bytes FROM dbstat WHERE name = 'rollups'").get() as { bytes: number }
    ).bytes;
  } finally {
    db.close();
  }
}

async function startCollectorProcess(dir: string, path: string, mqttUrl: string) {
  const port = await freeLoopbackPort();
  const config = join(dir, 'collector.yaml');
  writeFileSync(
    config,
    [
      `mqtt: { url: "${mqttUrl}" }`,
      `store: { path: ${path} }`,
      `http: { host: 127.0.0.1, port: ${port} }`,
      // A closed benchmark box: anonymous requests are viewers.
      'auth: { anonymous: viewer }',
      'log: { level: error }',
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [CLI, 'run', '--config', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the collector exited with ${child.exitCode}`);
    if (
      await fetch(`${url}/api/v1/health`).then(
        (answer) => answer.ok,
        () => false,
      )
    )
      return { child, url };
    if (Date.now() > deadline) throw new Error('the collector did not become healthy in 20 s');
    await new Promise((done) => setTimeout(done, 100));
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'jjj-bench-kpi-'));
  const path = join(dir, 'collector.db');
  let broker: Peer | undefined;
  let collector: ChildProcess | undefined;
  try {
    const sites = Array.from({ length: SITES }, (_, i) => siteId(i));
    console.log(
      `${SITES} sites × ${DAYS} days, ${POINTS.length} role points a site (${LINES * MACHINES} machines), a sample every ${SAMPLE_MS} ms`,
    );
    const store = new SqliteStore(path);
    for (const site of sites) await store.writeMetadata(metadataOf(site));

    // 1. One site-day through the product's path: telemetry batches, then the rollup job.
    let samples = 0;
    const writes: Promise<unknown>[] = [];
    for (const batch of dayOfBatches(sites[0] as string)) {
      samples += batch.points.length;
      writes.push(store.writeTelemetry(batch, batch.sentTs));
      if (writes.length >= 256) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    const job = new RollupJob({
      store,
      config: KpiConfig.parse({}),
      logger: pino({ level: 'warn' }),
      maxSamples: 500_000,
      now: () => DAY0 + DAY_MS,
    });
    const cpu = process.cpuUsage();
    const wall = performance.now();
    const run = await job.runOnce();
    const wallMs = performance.now() - wall;
    const { user, system } = process.cpuUsage(cpu);
    if (run.failed.length > 0) throw new Error(`the rollup job failed for ${run.failed.join(', ')}`);
    const dayRows = rowsOfColumns(
      await store.readRollupColumns({
        sites: [sites[0] as string],
        from: DAY0,
        to: DAY0 + DAY_MS - 1,
        windowMs: MINUTE_MS,
      }),
    );
    console.log(
      `rollup job, one site-day: ${samples} samples → ${dayRows.length} minute rows; CPU ${ms((user + system) / 1000)} (wall ${ms(wallMs)})`,
    );

    // 2. Every other site-day: that day's rows shifted, written as the job writes them.
    const fill = performance.now();
    for (const [index, site] of sites.entries()) {
      for (let day = index === 0 ? 1 : 0; day < DAYS; day++) {
        const shift = day * DAY_MS;
        const rows: RollupRow[] = dayRows.map((row) => ({ ...row, site, start: row.start + shift }));
        await store.writeRollups(site, DAY0 + shift, DAY0 + shift + DAY_MS - 1, rows);
      }
    }
    console.log(
      `filled ${SITES * DAYS} site-days of minute and hour rows in ${ms(performance.now() - fill)}`,
    );
    const to = DAY0 + DAYS * DAY_MS - 1;
    // What compare reads for the site level: hour rows summed per line.
    const query = { sites, from: DAY0, to, windowMs: HOUR_MS, by: 'line' as const };
    const store1h = await timed(RUNS, async () => {
      const sites = await store.readRollupColumns(query);
      if (sites.every((site) => site.start.length === 0)) throw new Error('no rollups read');
    });
    const hourRows = (await store.readRollupColumns(query)).reduce(
      (rows, site) => rows + site.start.length,
      0,
    );
    await store.close();

    const bytes = rollupBytes(path);
    const pointDays = POINTS.length * SITES * DAYS;

    // 3. The collector, as a user runs it, answering compare over everything.
    broker = await startMosquittoBroker();
    const started = await startCollectorProcess(dir, path, broker.url);
    collector = started.child;
    const compareUrl = `${started.url}/api/v1/compare?sites=${sites.join(',')}&from=${DAY0}&to=${to + 1}&window=1h`;
    const probe = await fetch(compareUrl);
    const answer = (await probe.json()) as { entities?: unknown[] };
    const fromRollups = probe.ok && Array.isArray(answer.entities);
    const http = fromRollups
      ? await timed(RUNS, async () => {
          const response = await fetch(compareUrl);
          if (!response.ok) throw new Error(`compare: HTTP ${response.status} ${await response.text()}`);
          await response.arrayBuffer();
        })
      : undefined;

    // Hour rows only: what stays once the minute rows are pruned.
    collector.kill('SIGTERM');
    await new Promise((done) => collector?.once('exit', done));
    collector = undefined;
    const pruned = new SqliteStore(path);
    await pruned.pruneMinuteRollups(Number.MAX_SAFE_INTEGER);
    await pruned.close();
    const vacuum = new Database(path);
    vacuum.exec('VACUUM');
    vacuum.close();
    const hourBytes = rollupBytes(path);

    console.log('');
    if (http)
      console.log(
        `compare (GET /api/v1/compare, ${SITES} sites × ${DAYS} days, 1 h windows, every KPI): median ${ms(http.median)}, p95 ${ms(http.p95)} (target < 1000 ms)`,
      );
    else
      console.log(
        'compare: this build\'s /api/v1/compare does not read rollups yet (no "entities"): store figure only',
      );
    console.log(
      `store.readRollupColumns of the same (${hourRows} rows summed per line, read threads): median ${ms(store1h.median)}, p95 ${ms(store1h.p95)}`,
    );
    console.log(
      `rollup disk cost per role point per day: ${((bytes - hourBytes) / pointDays).toFixed(0)} B of minute rows (kept 35 days) + ${(hourBytes / pointDays).toFixed(0)} B of hour rows (kept)`,
    );
    console.log(
      `rollup CPU per site-day: ${ms((user + system) / 1000)} (${samples} samples, ${POINTS.length} role points)`,
    );
  } finally {
    collector?.kill('SIGKILL');
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
