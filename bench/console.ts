/**
 * The web console as a user meets it (issue 13), in headless Chromium (Debian's, through
 * playwright-core) against the real collector:
 *
 * 1. First view ready: navigation start → the overview's root has `data-ready="true"` with every site
 *    rendered (`tr[data-site]`), over BENCH_LOADS (7) cold page loads (a fresh browser context each:
 *    empty cache, no cookies), median and p95,
 *    a. on the demo as `npm start` runs it (`startDemo`: the 7 seed sites' simulators, gateways, the
 *       embedded broker and the collector, on free ports with a temporary data dir); target < 1 s;
 *    b. on a generated catalogue of BENCH_SITES (200) sites × 100 points (20,000 points): a
 *       `jjj-collector run` process with a temporary SQLite store and a real Mosquitto, fed each site's
 *       metadata, status and one telemetry batch; target < 2 s.
 * 2. The bundle: every file of dist/console gzipped at level 9, summed, with the number of files.
 * 3. Sample → drill-down: on the generated catalogue, the page open at
 *    `#/sites/<site>/<line>/<equipment>`; a new value for one point is published, the time the
 *    collector stored it (`/api/v1/latest` polled every 10 ms until it shows) and the time the page
 *    shows it (`tr[data-point-id="<id>"] td[data-field="value"]`, checked every 10 ms in the page),
 *    over BENCH_SAMPLES (12) samples: median and p95 of the difference; target < 2 s.
 *
 * 4. The live feed's reads on the same catalogue, in process (a SqliteStore file with its read
 *    threads): what the event hub reads once a second (`listSites` + `qualityCounts`) and every 10 s
 *    (`completenessWindows` over the last hour), median and p95 of BENCH_POLLS (30) reads.
 *
 * 5. The data-health view's reads (the gateways list, one gateway's newest gaps) over BENCH_BATCHES
 *    (1,000,000) batches of each of 7 gateways, against the same reads over every batch as they were
 *    before the per-boot bookkeeping; and the migration's one-off backfill of such a file.
 *
 * `npm run bench:console`. Exits non-zero only when it cannot run; the targets print PASS or MISS.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { type Browser, chromium } from 'playwright-core';
import { MINUTE_MS } from '../cloud/kpi/model.js';
import { lastHour, SiteEventHub } from '../cloud/live/site-events.js';
import { migrations } from '../cloud/store/sqlite-schema.js';
import { SqliteStore } from '../cloud/store/sqlite-store.js';
import { createLogger, keepStdoutForData } from '../gateway/logger.js';
import {
  type MetadataMessage,
  type Quality,
  type Region,
  type StatusMessage,
  type TelemetryBatch,
  topicFor,
} from '../gateway/schema/index.js';
import { sites as catalogueSites } from '../seeds/catalogue.js';
import { startDemo } from '../seeds/demo.js';
import { freeLoopbackPort, type Peer, startMosquittoBroker } from './collector-peers.js';

const CLI = resolve(fileURLToPath(new URL('../cloud/cli.js', import.meta.url)));
const CONSOLE_DIR = resolve(fileURLToPath(new URL('../console', import.meta.url)));
const LOADS = Math.max(5, Number(process.env.BENCH_LOADS ?? 7));
const SAMPLES = Math.max(10, Number(process.env.BENCH_SAMPLES ?? 12));
const SITES = Number(process.env.BENCH_SITES ?? 200);
const POLLS = Number(process.env.BENCH_POLLS ?? 30);
const HEALTH_GATEWAYS = 7;
const BATCHES_PER_GATEWAY = Number(process.env.BENCH_BATCHES ?? 1_000_000);
const LINES = 2;
const EQUIPMENT = 10;
const POINTS = 5;
const REGIONS: Region[] = ['BJ', 'TJ', 'HE'];

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** The little of the DOM the functions run in the page use (the bench compiles without the DOM library). */
interface PageElement {
  textContent: string | null;
  querySelectorAll(selector: string): { length: number };
}
interface PageGlobals {
  document: { querySelector(selector: string): PageElement | null };
}

const say = (line: string) => process.stdout.write(`${line}\n`);

interface Figures {
  median: number;
  p95: number;
  min: number;
  max: number;
}

function figuresOf(values: number[]): Figures {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
  const middle = sorted.length / 2;
  const median =
    sorted.length % 2 === 1
      ? (sorted[Math.floor(middle)] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, p95: at(0.95), min: sorted[0] ?? NaN, max: sorted.at(-1) ?? NaN };
}

const ms = (value: number) => `${Math.round(value)} ms`;
const verdict = (value: number, target: number) => (value < target ? 'PASS' : 'MISS');

/**
 * Navigation start → the overview ready with `sites` rows, in a fresh context (cold cache) each
 * time; the page's own clock (performance.now() counts from the navigation's start).
 */
async function firstViewLoads(
  browser: Browser,
  url: string,
  sites: number,
  loads: number,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < loads; i++) {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${url}/`, { waitUntil: 'commit' });
      const ready = await page.waitForFunction(
        (count) => {
          const root = (globalThis as unknown as PageGlobals).document.querySelector(
            '.overview[data-ready="true"]',
          );
          return root !== null && root.querySelectorAll('tr[data-site]').length >= count
            ? performance.now()
            : false;
        },
        sites,
        { polling: 'raf', timeout: 30_000 },
      );
      times.push((await ready.jsonValue()) as number);
      if (errors.length > 0) throw new Error(`the page failed: ${errors.join('; ')}`);
    } finally {
      await context.close();
    }
  }
  return times;
}

function reportFirstView(label: string, times: number[], target: number): void {
  const f = figuresOf(times);
  say(
    `  first view ready, ${label}: median ${ms(f.median)}, p95 ${ms(f.p95)} (min ${ms(f.min)}, max ${ms(f.max)}, ${times.length} cold loads); target < ${ms(target)}: ${verdict(f.p95, target)}`,
  );
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

interface SiteRow {
  id: string;
  online: boolean;
  lastTs: number | null;
  points: number;
}

async function sitesOf(url: string): Promise<SiteRow[]> {
  const answer = await fetch(`${url}/api/v1/sites`);
  if (!answer.ok) throw new Error(`GET /api/v1/sites: HTTP ${answer.status}`);
  return (await answer.json()) as SiteRow[];
}

/** 1a: the demo as `npm start` runs it. */
async function demoPhase(browser: Browser): Promise<void> {
  say(
    `[1a] the demo: ${catalogueSites.length} seed sites (simulators, gateways, embedded broker, collector)…`,
  );
  const dataDir = mkdtempSync(join(tmpdir(), 'jjj-bench-console-demo-'));
  const demo = await startDemo({
    httpPort: 0,
    mqttPort: 0,
    dataDir,
    logger: createLogger('jjj-bench-console', 'error'),
  });
  try {
    const started = Date.now();
    await waitFor(
      'every demo site online with data',
      async () => {
        const sites = await sitesOf(demo.httpUrl);
        return sites.length === catalogueSites.length && sites.every((s) => s.online && s.lastTs !== null)
          ? true
          : undefined;
      },
      90_000,
    );
    say(
      `  demo up at ${demo.httpUrl}, every site online with data (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    reportFirstView(
      `demo, ${catalogueSites.length} sites`,
      await firstViewLoads(browser, demo.httpUrl, catalogueSites.length, LOADS),
      1000,
    );
  } finally {
    await demo.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The generated catalogue's site `i`. */
function generatedSite(i: number) {
  const region = REGIONS[i % REGIONS.length] as Region;
  const id = `gen-${region.toLowerCase()}-${String(i).padStart(3, '0')}`;
  return {
    region,
    project: `gen-project-${i % 12}`,
    site: id,
    gateway: `gw-${id}`,
    name: { en: `Generated plant ${i}`, zh: `生成工厂 ${i}` },
  };
}

function pointsOfSite(): { line: string; equipment: string; point: string }[] {
  const points = [];
  for (let l = 0; l < LINES; l++)
    for (let e = 0; e < EQUIPMENT; e++)
      for (let p = 0; p < POINTS; p++)
        points.push({ line: `line-${l}`, equipment: `eq-${e}`, point: `p-${p}` });
  return points;
}

async function startCollectorProcess(
  dir: string,
  mqttUrl: string,
): Promise<{ child: ChildProcess; url: string }> {
  const port = await freeLoopbackPort();
  const config = join(dir, 'collector.yaml');
  writeFileSync(
    config,
    [
      `mqtt: { url: "${mqttUrl}" }`,
      `store: { path: ${join(dir, 'collector.db')} }`,
      `http: { host: 127.0.0.1, port: ${port} }`,
      'auth: { anonymous: viewer }',
      'api: { staleAfterMs: 600000 }',
      'log: { level: error }',
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [CLI, 'run', '--config', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    'the collector to answer /api/v1/health',
    async () => {
      if (child.exitCode !== null) throw new Error(`the collector exited with ${child.exitCode}`);
      return (await fetch(`${url}/api/v1/health`)).ok ? true : undefined;
    },
    20_000,
  );
  return { child, url };
}

interface Generated {
  url: string;
  publisher: MqttClient;
  stop(): Promise<void>;
}

/** Site `i`'s metadata, status and first telemetry batch (1 in 37 points bad, 1 in 23 uncertain). */
function messagesOf(
  i: number,
  now: number,
): { metadata: MetadataMessage; status: StatusMessage; batch: TelemetryBatch } {
  const site = generatedSite(i);
  const ref = { region: site.region, project: site.project, site: site.site };
  const points = pointsOfSite();
  return {
    metadata: {
      schema: 'jjj.metadata/1',
      ...ref,
      gateway: { id: site.gateway, boot: 1 },
      ts: now,
      siteName: site.name,
      points: points.map((point, p) => ({
        ...point,
        protocol: p % 2 === 0 ? 'opcua' : 'modbus',
        address: p % 2 === 0 ? `ns=1;s=${point.equipment}.${point.point}` : `holding/${p}`,
        dataType: 'float64',
        unit: 'KWT',
      })),
    },
    status: {
      schema: 'jjj.status/1',
      ...ref,
      gateway: { id: site.gateway, boot: 1 },
      state: 'online',
      ts: now,
    },
    batch: {
      schema: 'jjj.telemetry/1',
      ...ref,
      gateway: { id: site.gateway, boot: 1, seq: 0 },
      sentTs: now,
      points: points.map((point, p) => ({
        ...point,
        value: p,
        ts: now,
        quality: (p % 37 === 0 ? 'bad' : p % 23 === 0 ? 'uncertain' : 'good') as Quality,
      })),
    },
  };
}

/** 1b's collector: a real process, a real Mosquitto, fed every generated site. */
async function generatedCatalogue(): Promise<Generated> {
  const dir = mkdtempSync(join(tmpdir(), 'jjj-bench-console-gen-'));
  let broker: Peer | undefined;
  let collector: ChildProcess | undefined;
  let publisher: MqttClient | undefined;
  const stop = async () => {
    await publisher?.endAsync(true).catch(() => undefined);
    if (collector && collector.exitCode === null) {
      const exited = new Promise((done) => collector?.once('exit', done));
      collector.kill('SIGTERM');
      await exited;
    }
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    broker = await startMosquittoBroker();
    const started = await startCollectorProcess(dir, broker.url);
    collector = started.child;
    publisher = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    const points = pointsOfSite();
    const now = Date.now();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < SITES; i++) {
      const site = generatedSite(i);
      const topic = (kind: 'metadata' | 'status' | 'telemetry') =>
        topicFor({ region: site.region, site: site.site, gateway: site.gateway, kind });
      const { metadata, status, batch } = messagesOf(i, now);
      sends.push(
        publisher.publishAsync(topic('metadata'), JSON.stringify(metadata), { qos: 1, retain: true }),
      );
      sends.push(publisher.publishAsync(topic('status'), JSON.stringify(status), { qos: 1, retain: true }));
      sends.push(publisher.publishAsync(topic('telemetry'), JSON.stringify(batch), { qos: 1 }));
      if (sends.length >= 300) await Promise.all(sends.splice(0));
    }
    await Promise.all(sends);
    await waitFor(
      `${SITES} sites with ${LINES * EQUIPMENT * POINTS} points and data`,
      async () => {
        const sites = await sitesOf(started.url);
        return sites.length === SITES && sites.every((s) => s.lastTs !== null && s.points === points.length)
          ? true
          : undefined;
      },
      120_000,
    );
    const client = publisher;
    return { url: started.url, publisher: client, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Every file of dist/console, gzipped at level 9. */
function bundlePhase(): void {
  say('[2] the bundle (dist/console, gzip -9)…');
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk(CONSOLE_DIR);
  let raw = 0;
  let gzip = 0;
  for (const file of files) {
    const bytes = readFileSync(file);
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  // A slow plant link: 1 Mbit/s moves ~122 KiB a second.
  say(
    `  bundle: ${kb(gzip)} gzip -9 (${kb(raw)} raw) in ${files.length} files; ~${((gzip * 8) / 1_000_000).toFixed(1)} s at 1 Mbit/s`,
  );
}

/** 3: a new sample, from stored by the collector to shown in the drill-down. */
async function drillDownPhase(browser: Browser, generated: Generated): Promise<void> {
  const site = generatedSite(0);
  const point = { line: 'line-0', equipment: 'eq-0', point: 'p-1' };
  const id = `${site.site}/${point.line}/${point.equipment}/${point.point}`;
  const selector = `tr[data-point-id="${id}"] td[data-field="value"]`;
  say(`[3] sample → drill-down: ${id}, ${SAMPLES} samples…`);
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'en-US' });
  try {
    const page = await context.newPage();
    await page.goto(`${generated.url}/#/sites/${site.site}/${point.line}/${point.equipment}`);
    await page.locator(selector).waitFor({ timeout: 15_000 });
    const latencies: number[] = [];
    for (let k = 1; k <= SAMPLES; k++) {
      const value = 500 + k;
      const text = String(value);
      const shown = page.waitForFunction(
        ({ selector, text }) => {
          const cell = (globalThis as unknown as PageGlobals).document.querySelector(selector);
          return cell?.textContent?.includes(text) ? Date.now() : false;
        },
        { selector, text },
        { polling: 10, timeout: 15_000 },
      );
      const now = Date.now();
      const batch: TelemetryBatch = {
        schema: 'jjj.telemetry/1',
        region: site.region,
        project: site.project,
        site: site.site,
        gateway: { id: site.gateway, boot: 1, seq: k },
        sentTs: now,
        points: [{ ...point, value, ts: now, quality: 'good' }],
      };
      await generated.publisher.publishAsync(
        topicFor({ region: site.region, site: site.site, gateway: site.gateway, kind: 'telemetry' }),
        JSON.stringify(batch),
        { qos: 1 },
      );
      let storedAt = 0;
      for (const deadline = Date.now() + 10_000; storedAt === 0; ) {
        const answer = (await (await fetch(`${generated.url}/api/v1/latest?site=${site.site}`)).json()) as {
          points: { pointId: string; value: unknown }[];
        };
        if (answer.points.find((p) => p.pointId === id)?.value === value) storedAt = Date.now();
        else if (Date.now() > deadline)
          throw new Error(`the collector did not store ${id} = ${value} in 10 s`);
        else await new Promise((done) => setTimeout(done, 10));
      }
      const shownAt = (await (await shown).jsonValue()) as number;
      latencies.push(shownAt - storedAt);
      // Spread the samples over the page's refresh cycle.
      await new Promise((done) => setTimeout(done, 250 + ((k * 377) % 700)));
    }
    const f = figuresOf(latencies);
    say(
      `  sample → drill-down: median ${ms(f.median)}, p95 ${ms(f.p95)} (min ${ms(f.min)}, max ${ms(f.max)}, ${latencies.length} samples) after the collector stored it; target < 2000 ms: ${verdict(f.p95, 2000)}`,
    );
  } finally {
    await context.close();
  }
}

/** 4: what the live feed reads, on the generated catalogue in an SQLite file. */
async function pollPhase(): Promise<void> {
  say(
    `[4] the live feed's reads on ${SITES} sites × ${LINES * EQUIPMENT * POINTS} points (SQLite file, in process)…`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'jjj-bench-console-poll-'));
  const store = new SqliteStore(join(dir, 'collector.db'));
  const hub = new SiteEventHub({
    store,
    logger: pino({ level: 'silent' }),
    staleAfterMs: 600_000,
    maxClients: 1,
    completenessEveryMs: 0,
  });
  try {
    const now = Date.now();
    for (let i = 0; i < SITES; i++) {
      const { metadata, status, batch } = messagesOf(i, now);
      await store.writeMetadata(metadata);
      await store.writeStatus(status);
      await store.writeTelemetry(batch, now);
    }
    const ids = (await store.listSites()).map((site) => site.id);
    const { from, to } = lastHour(Date.now());
    const everySecond: number[] = [];
    const everyTenSeconds: number[] = [];
    const snapshots: number[] = [];
    const qualities: number[] = [];
    for (let run = 0; run < POLLS; run++) {
      let started = performance.now();
      await store.qualityCounts();
      qualities.push(performance.now() - started);
      started = performance.now();
      await Promise.all([store.listSites(), store.qualityCounts()]);
      everySecond.push(performance.now() - started);
      started = performance.now();
      await store.completenessWindows(ids, from, to, MINUTE_MS);
      everyTenSeconds.push(performance.now() - started);
      started = performance.now();
      await hub.snapshot();
      snapshots.push(performance.now() - started);
    }
    const line = (label: string, values: number[]) => {
      const f = figuresOf(values);
      say(
        `  ${label}: median ${f.median.toFixed(1)} ms, p95 ${f.p95.toFixed(1)} ms (${values.length} reads)`,
      );
    };
    line('each second (listSites + qualityCounts)', everySecond);
    line('  of which qualityCounts alone', qualities);
    line('every 10 s (completenessWindows, the last hour by minute)', everyTenSeconds);
    line('a whole snapshot (both, as a new client gets it)', snapshots);
  } finally {
    hub.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * 5: what the data-health view reads every 10 s (the gateways list, then the newest gaps of each
 * gateway missing batches) on a registry after months of batches. The file is made as a collector
 * before the per-boot bookkeeping left it, filled directly (ingest would take hours; one batch in a
 * thousand missing), then opened: the migration backfills it. The baseline is the reads as they were,
 * over every batch, on the same file.
 */
async function healthPhase(): Promise<void> {
  const total = HEALTH_GATEWAYS * BATCHES_PER_GATEWAY;
  say(
    `[5] the data-health view's reads: ${HEALTH_GATEWAYS} gateways × ${BATCHES_PER_GATEWAY} batches (SQLite file)…`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'jjj-bench-console-health-'));
  const path = join(dir, 'collector.db');
  try {
    const before = migrations.findIndex((migration) => migration.sql.includes('CREATE TABLE batch_gaps'));
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    for (const migration of migrations.slice(0, before)) db.exec(migration.sql);
    db.pragma(`user_version = ${before}`);
    const gateway = db.prepare(
      'INSERT INTO gateways (id, site, boot, last_seq, last_seen) VALUES (?, ?, 1, ?, 0)',
    );
    const batch = db.prepare(
      'INSERT INTO batches (gateway, boot, seq, received_at, points, historical, sent_ts) VALUES (?, 1, ?, ?, 100, 0, ?)',
    );
    db.transaction(() => {
      for (let g = 0; g < HEALTH_GATEWAYS; g++) {
        gateway.run(`gw-${g}`, `site-${g}`, BATCHES_PER_GATEWAY - 1);
        for (let seq = 0; seq < BATCHES_PER_GATEWAY; seq++) {
          if (seq % 1000 !== 999) batch.run(`gw-${g}`, seq, seq * 1000, seq * 1000);
        }
      }
    })();
    const timed = (read: () => unknown) => {
      const values: number[] = [];
      for (let run = 0; run < Math.min(POLLS, 10); run++) {
        const started = performance.now();
        read();
        values.push(performance.now() - started);
      }
      return figuresOf(values);
    };
    const oldGateways = db.prepare(
      `SELECT g.id, coalesce(sum(b.received), 0), coalesce(sum(b.top + 1 - b.received), 0)
       FROM gateways g LEFT JOIN (
         SELECT gateway, boot, max(seq) AS top, count(*) AS received FROM batches GROUP BY gateway, boot
       ) b ON b.gateway = g.id GROUP BY g.id`,
    );
    const oldGaps = db.prepare(
      `SELECT boot, previous + 1, seq - 1 FROM (
         SELECT boot, seq, coalesce(lag(seq) OVER (PARTITION BY boot ORDER BY seq), -1) AS previous
         FROM batches WHERE gateway = ?
       ) WHERE seq > previous + 1 ORDER BY boot DESC, seq DESC LIMIT 21`,
    );
    const baseline = {
      gateways: timed(() => oldGateways.all()),
      gaps: timed(() => oldGaps.all('gw-0')),
    };
    db.close();

    const started = performance.now();
    const store = new SqliteStore(path);
    const migratedMs = performance.now() - started;
    try {
      const now = {
        gateways: figuresOf(await timedAsync(() => store.gateways())),
        gaps: figuresOf(await timedAsync(() => store.gaps('gw-0', 20))),
      };
      const listed = await store.gateways();
      const missing = listed.reduce((sum, g) => sum + g.missingBatches, 0);
      say(
        `  migration backfill of ${total} batches: ${(migratedMs / 1000).toFixed(1)} s (once, on the first start)`,
      );
      for (const read of ['gateways', 'gaps'] as const) {
        say(
          `  ${read === 'gateways' ? 'the gateways list' : "one gateway's newest 20 gaps"}: median ${now[read].median.toFixed(2)} ms, p95 ${now[read].p95.toFixed(2)} ms; over every batch as before: median ${baseline[read].median.toFixed(0)} ms (${(baseline[read].median / Math.max(now[read].median, 0.001)).toFixed(0)}× slower)`,
        );
      }
      say(`  (${missing} missing batches counted over ${listed.length} gateways)`);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function timedAsync(read: () => Promise<unknown>): Promise<number[]> {
  const values: number[] = [];
  for (let run = 0; run < POLLS; run++) {
    const started = performance.now();
    await read();
    values.push(performance.now() - started);
  }
  return values;
}

async function main(): Promise<void> {
  keepStdoutForData();
  say(
    `console benchmark: ${LOADS} cold loads a catalogue, ${SAMPLES} drill-down samples; Chromium ${CHROMIUM}`,
  );
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
  try {
    await demoPhase(browser);
    say(
      `[1b] a generated catalogue: ${SITES} sites × ${LINES * EQUIPMENT * POINTS} points (collector process, Mosquitto)…`,
    );
    const started = Date.now();
    const generated = await generatedCatalogue();
    try {
      say(
        `  ${SITES * LINES * EQUIPMENT * POINTS} points stored (${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
      reportFirstView(
        `${SITES} sites / ${SITES * LINES * EQUIPMENT * POINTS} points`,
        await firstViewLoads(browser, generated.url, SITES, LOADS),
        2000,
      );
      bundlePhase();
      await drillDownPhase(browser, generated);
    } finally {
      await generated.stop();
    }
    await pollPhase();
    await healthPhase();
  } finally {
    await browser.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `bench:console failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
