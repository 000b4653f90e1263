/**
 * Queries that cannot stall the collector (issue 11, item 6), against real collectors sharing one
 * SQLite file and a real Mosquitto: aggregation computed by SQLite equals the in-memory reference;
 * repeated sites and queries over `api.limits` are refused with the limit named; a heavy query over three
 * million samples runs in a read thread while `/health` and ingest keep answering; a query past its
 * time limit is answered 503 with the reason and the collector goes on serving.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AggregatedSample, aggregate, aggregateFunctions } from '../../cloud/aggregate.js';
import { type RunningCollector, startCollector } from '../../cloud/collector.js';
import { buildCollectorConfig, type CollectorConfigInput } from '../../cloud/config.js';
import { SqliteStore } from '../../cloud/store/sqlite-store.js';
import type { Series } from '../../cloud/store/store.js';
import type { PointSample } from '../../gateway/schema/index.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { GATEWAY, metadata, SITE, TS, telemetry } from './fixtures.js';
import { expectSameValue } from './store/aggregate-expect.js';

const silent = pino({ level: 'silent' });
/** Samples of the heavy point, one a second: enough that reading them all takes SQLite a while. */
const HEAVY_SAMPLES = 3_000_000;
/** A meter with millions of samples (compare reads rollups, never these). */
const HEAVY = `${SITE}/utilities/meter-main/energy-total`;
const SPEED = `${SITE}/machining/cnc-01/spindle-speed`;
const RUNNING = `${SITE}/machining/cnc-01/running`;
const HEAVY_RANGE = `from=${TS}&to=${TS + HEAVY_SAMPLES * 1000}`;

/** Two minutes of mixed samples: numbers, booleans, a bad one, a string; several per window. */
function fixtureSamples(): PointSample[] {
  const samples: PointSample[] = [];
  for (let i = 0; i < 24; i++) {
    const ts = TS + i * 7_000;
    const quality = i % 5 === 4 ? 'bad' : i % 7 === 3 ? 'uncertain' : 'good';
    samples.push({
      line: 'machining',
      equipment: 'cnc-01',
      point: 'spindle-speed',
      value: ((i * 37) % 11) + 0.25,
      ts,
      quality,
    });
    samples.push({
      line: 'machining',
      equipment: 'cnc-01',
      point: 'running',
      value: i % 3 === 0,
      ts,
      quality: 'good',
    });
  }
  samples.push({
    line: 'machining',
    equipment: 'cnc-01',
    point: 'spindle-speed',
    value: 'jammed',
    ts: TS + 1,
    quality: 'good',
  });
  return samples;
}

/** Writes the fixture through the store, then three million samples of one point straight into the file. */
async function fillStore(path: string): Promise<void> {
  const store = new SqliteStore(path);
  await store.writeMetadata(metadata());
  // Registers the meter; its three million samples follow straight into the file.
  const meter = { line: 'utilities', equipment: 'meter-main', point: 'energy-total' };
  const points = [...fixtureSamples(), { ...meter, value: 0, ts: TS - 1000, quality: 'good' as const }];
  await store.writeTelemetry(telemetry({ points }), TS);
  await store.close();
  const db = new Database(path);
  db.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO samples (point_id, ts, value, value_type, quality)
     SELECT ?, ? + i * 1000, i % 1000, 'number', 'good' FROM n`,
  ).run(HEAVY_SAMPLES - 1, HEAVY, TS);
  db.close();
}

interface Answer {
  status: number;
  body: { error?: string; limit?: string } & Record<string, unknown>;
}

async function get(base: string, path: string): Promise<Answer> {
  const response = await fetch(`${base}${path}`);
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

/** Response times of `/api/v1/health` asked every 10 ms until `stop`. */
function probeHealth(base: string) {
  const delays: number[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const started = performance.now();
      const status = await fetch(`${base}/api/v1/health`).then((r) => r.status);
      delays.push(status === 200 ? performance.now() - started : Number.POSITIVE_INFINITY);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return delays;
    },
  };
}

describe('queries that cannot stall the collector', () => {
  let broker: Mosquitto;
  let dir: string;
  let roomy: RunningCollector;
  let strict: RunningCollector;
  let publisher: MqttClient;

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = mkdtempSync(join(tmpdir(), 'jjj-query-limits-'));
    const path = join(dir, 'collector.db');
    await fillStore(path);
    const start = (limits: CollectorConfigInput['api']) =>
      startCollector(
        buildCollectorConfig({
          mqtt: { url: broker.url },
          store: { path },
          http: { port: 0 },
          api: limits,
          auth: { anonymous: 'viewer' },
        }),
        { logger: silent },
      );
    roomy = await start({});
    strict = await start({
      limits: {
        maxSites: 2,
        maxBuckets: 100,
        maxSamplesPerQuery: 1000,
        maxRawSamplesPerQuery: 10,
        queryTimeoutMs: 100,
      },
    });
    publisher = await connectAsync(broker.url);
  }, 60_000);

  afterAll(async () => {
    await publisher?.endAsync();
    await roomy?.close();
    await strict?.close();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(aggregateFunctions)('aggregates %s in SQLite as the in-memory reference does', async (fn) => {
    const range = `from=${TS - 60_000}&to=${TS + 200_000}`;
    for (const point of [SPEED, RUNNING]) {
      const raw = (await get(roomy.httpUrl, `/api/v1/series?point=${point}&${range}`))
        .body as unknown as Series;
      const expected = aggregate(raw.samples, fn, 60_000);
      const served = await get(
        roomy.httpUrl,
        `/api/v1/series?point=${point}&${range}&aggregate=${fn}&window=1m`,
      );
      expect(served.status).toBe(200);
      const windows = served.body.samples as AggregatedSample[];
      expect(windows.map(({ ts, count, bad, uncertain }) => ({ ts, count, bad, uncertain }))).toEqual(
        expected.map(({ ts, count, bad, uncertain }) => ({ ts, count, bad, uncertain })),
      );
      for (const [i, window] of windows.entries()) expectSameValue(window.value, expected[i]?.value);
      expect(expected.length).toBeGreaterThanOrEqual(3);
      const firstTwo = await get(
        roomy.httpUrl,
        `/api/v1/series?point=${point}&${range}&aggregate=${fn}&window=1m&limit=2`,
      );
      expect(firstTwo.body.samples).toEqual(windows.slice(0, 2));
      expect(firstTwo.body.truncated).toBe(true);
    }
  });

  it.each([
    [
      'a repeated site',
      `/api/v1/compare?kpi=oee&sites=${SITE},${SITE}&from=${TS}&to=${TS + 60_000}`,
      400,
      /sites: each site may appear once/,
      undefined,
    ],
    [
      'too many sites',
      `/api/v1/compare?kpi=oee&sites=a,b,c&from=${TS}&to=${TS + 60_000}`,
      400,
      /3 sites asked, at most 2/,
      'maxSites',
    ],
    [
      'too many windows',
      `/api/v1/series?point=${SPEED}&from=${TS}&to=${TS + 101 * 60_000}&aggregate=max&window=1m`,
      400,
      /more than 100 \(api\.limits\.maxBuckets\)/,
      'maxBuckets',
    ],
    [
      'too many samples to aggregate',
      `/api/v1/series?point=${HEAVY}&from=${TS}&to=${TS + 50 * 60_000}&aggregate=max&window=1m`,
      422,
      /more than 1000 samples \(api\.limits\.maxSamplesPerQuery\)/,
      'maxSamplesPerQuery',
    ],
    [
      'more compare values than maxBuckets',
      `/api/v1/compare?sites=${SITE}&from=${TS}&to=${TS + 101 * 3_600_000}`,
      400,
      /1 entities × 102 windows is more than 100 values per KPI \(api\.limits\.maxBuckets\)/,
      'maxBuckets',
    ],
    [
      'more than 1000 compare windows',
      `/api/v1/compare?from=${TS - 3650 * 86_400_000}&to=${TS}&window=5m`,
      400,
      /at most 1000 per request/,
      undefined,
    ],
  ])('refuses %s with the limit named', async (_attack, path, status, reason, limit) => {
    const answer = await get(strict.httpUrl, path);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toMatch(reason);
    expect(answer.body.limit).toBe(limit);
  });

  it('answers the same queries within the limits', async () => {
    const compare = await get(
      strict.httpUrl,
      `/api/v1/compare?kpi=completeness&sites=${SITE}&from=${TS}&to=${TS + 60_000}`,
    );
    expect(compare.status).toBe(200);
    // Over three million samples of the meter: compare reads rollups, so no sample cap applies.
    const wholeRange = await get(
      strict.httpUrl,
      `/api/v1/compare?kpi=energy_per_unit&sites=${SITE}&from=${TS}&to=${TS + 99 * 3_600_000}`,
    );
    expect(wholeRange.status).toBe(200);
    const series = await get(
      strict.httpUrl,
      `/api/v1/series?point=${SPEED}&from=${TS}&to=${TS + 99 * 60_000}&aggregate=max&window=1m`,
    );
    expect(series.status).toBe(200);
    expect((series.body.samples as AggregatedSample[]).length).toBeGreaterThan(0);
  });

  it('serves /health and ingests while a heavy aggregation reads three million samples', async () => {
    const probe = probeHealth(roomy.httpUrl);
    let seq = 100;
    const publishing = setInterval(() => {
      const ts = Date.now();
      seq++;
      publisher.publish(
        `jjj/v1/BJ/${SITE}/${GATEWAY}/telemetry`,
        JSON.stringify(
          telemetry({
            gateway: { id: GATEWAY, boot: 1, seq },
            points: [{ line: 'line-9', equipment: 'plc', point: 'tick', value: seq, ts, quality: 'good' }],
          }),
        ),
      );
    }, 20);
    const started = performance.now();
    const heavy = await get(
      roomy.httpUrl,
      `/api/v1/series?point=${HEAVY}&${HEAVY_RANGE}&aggregate=mean&window=1h`,
    );
    const heavyMs = performance.now() - started;
    const ticksDuringHeavy = await get(
      roomy.httpUrl,
      `/api/v1/series?point=${SITE}/line-9/plc/tick&from=${Math.floor(Date.now() - heavyMs)}&to=${Date.now()}&limit=10000`,
    );
    clearInterval(publishing);
    const delays = await probe.stop();

    expect(heavy.status).toBe(200);
    const windows = heavy.body.samples as AggregatedSample[];
    expect(windows.reduce((sum, w) => sum + w.count, 0)).toBe(HEAVY_SAMPLES);
    expect(heavyMs).toBeGreaterThan(200);
    expect(delays.length).toBeGreaterThan(heavyMs / 100);
    expect(Math.max(...delays)).toBeLessThan(500);
    // Batches sent while the query ran were stored while it ran (not after it).
    expect(((ticksDuringHeavy.body.samples as unknown[]) ?? []).length).toBeGreaterThan(heavyMs / 20 / 4);
  });

  it('answers a query past its time limit with 503 and the reason, then serves on', async () => {
    const timedOut = await get(strict.httpUrl, `/api/v1/series?point=${HEAVY}&${HEAVY_RANGE}&limit=10`);
    // A raw read of a point whose samples all lie past the first 10: the scan is cut short by the limit.
    const slow = await get(
      strict.httpUrl,
      `/api/v1/series?point=${SPEED}&from=${TS + 200_000}&to=${TS + HEAVY_SAMPLES * 1000}`,
    );
    expect(timedOut.status).toBe(200);
    expect(slow.status).toBe(503);
    expect(slow.body).toEqual({
      error: expect.stringMatching(/did not answer within 100 ms \(api\.limits\.queryTimeoutMs\)/),
      limit: 'queryTimeoutMs',
    });
    expect((await get(strict.httpUrl, '/api/v1/health')).status).toBe(200);
    const after = await get(strict.httpUrl, `/api/v1/series?point=${SPEED}&from=${TS}&to=${TS + 60_000}`);
    expect(after.status).toBe(200);
    expect((after.body.samples as unknown[]).length).toBeGreaterThan(0);
  });
});
