/**
 * The InfluxDB stores through the whole collector (Mosquitto → collector → database → API), against
 * real servers: InfluxDB 1.6.7 (`/write` + InfluxQL, series and the compare API) and
 * VictoriaMetrics for the v2 write API (read back exactly through its export API).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpError } from '@influxdata/influxdb-client';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exportSeries,
  type Peer,
  startInfluxdb1,
  startMosquittoBroker,
  startVictoriaMetrics,
} from '../../../bench/collector-peers.js';
import { type AggregatedSample, aggregate, aggregateFunctions } from '../../../cloud/aggregate.js';
import { type RunningCollector, startCollector } from '../../../cloud/collector.js';
import {
  buildCollectorConfig,
  type CollectorConfigInput,
  type InfluxStoreConfig,
} from '../../../cloud/config.js';
import type { CompareEntity } from '../../../cloud/kpi/compare.js';
import { kpiNames } from '../../../cloud/kpi/definitions.js';
import { LineWriter } from '../../../cloud/store/influx-write.js';
import type { Series } from '../../../cloud/store/store.js';
import { StoreRefusedError } from '../../../cloud/store/store.js';
import { type TelemetryBatch, topicFor } from '../../../gateway/schema/index.js';
import { eventually } from '../../helpers/wait.js';
import { GATEWAY, metadata, SITE, TS, telemetry } from '../fixtures.js';
import {
  expectKpi,
  KPI_FROM,
  KPI_GATEWAY,
  KPI_SITE,
  KPI_TO,
  kpiBatches,
  kpiMetadata,
} from '../kpi-fixture.js';
import { expectSameValue } from './aggregate-expect.js';

const silent = pino({ level: 'silent' });
/** The tags of every sample: bounded by the plants' point lists. */
const POINT_TAGS = ['equipment', 'line', 'point', 'project', 'region', 'site'];

interface Harness {
  collector: RunningCollector;
  publisher: MqttClient;
  dir: string;
}

async function startHarness(brokerUrl: string, store: CollectorConfigInput['store']): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'jjj-influx-store-'));
  const withCatalog = {
    ...(store as object),
    catalogPath: join(dir, 'catalog.db'),
  } as CollectorConfigInput['store'];
  const collector = await startCollector(
    buildCollectorConfig({
      mqtt: { url: brokerUrl },
      store: withCatalog,
      http: { port: 0 },
      auth: { anonymous: 'viewer' },
      // The KPI fixture lies in 2025: keep its minute rollups, and roll up soon after it arrives.
      kpi: { rollups: { intervalMs: 1000, minuteRetentionDays: 36_500 } },
    }),
    { logger: silent },
  );
  const publisher = await connectAsync(brokerUrl);
  return { collector, publisher, dir };
}

async function stopHarness(harness: Harness | undefined): Promise<void> {
  if (!harness) return;
  await harness.publisher.endAsync();
  await harness.collector.close();
  rmSync(harness.dir, { recursive: true, force: true });
}

const topicOf = (
  message: { region: 'BJ' | 'TJ' | 'HE'; site: string; gateway: { id: string } },
  kind: 'telemetry' | 'metadata',
) => topicFor({ region: message.region, site: message.site, gateway: message.gateway.id, kind });

async function publishAll(publisher: MqttClient, batches: TelemetryBatch[]): Promise<void> {
  for (const batch of batches)
    await publisher.publishAsync(topicOf(batch, 'telemetry'), JSON.stringify(batch), { qos: 1 });
}

const getJson = async <T>(url: string): Promise<T> => {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
};

/** A gateway of its own that declares spindle-speed's range 0..12000 and sends one sample out of it and one in the far future. */
function poisonedSite(site: string) {
  const gateway = `gw-${site}`;
  const ref = { region: 'BJ' as const, project: 'etown-smart-factory', site };
  const now = Date.now();
  const spindle = { line: 'machining', equipment: 'cnc-01', point: 'spindle-speed' };
  const meta = metadata({ ...ref, gateway: { id: gateway, boot: 1 }, ts: now });
  meta.points = meta.points.map((p) => (p.point === 'spindle-speed' ? { ...p, min: 0, max: 12000 } : p));
  const batch = (seq: number, points: TelemetryBatch['points']) =>
    telemetry({ ...ref, gateway: { id: gateway, boot: 1, seq }, sentTs: now, points });
  const batches = [
    batch(0, [
      { ...spindle, value: 99999, ts: now, quality: 'good' },
      { ...spindle, point: 'feed-rate', value: 5, ts: Number.MAX_SAFE_INTEGER, quality: 'good' },
    ]),
    batch(1, [{ ...spindle, point: 'feed-rate', value: 6, ts: now + 1, quality: 'good' }]),
  ];
  return {
    site,
    now,
    publish: async (publisher: MqttClient) => {
      await publisher.publishAsync(topicOf(meta, 'metadata'), JSON.stringify(meta), { qos: 1 });
      await publishAll(publisher, batches);
    },
  };
}

let broker: Peer;
beforeAll(async () => {
  broker = await startMosquittoBroker();
});
afterAll(() => broker.stop());

describe('InfluxDB 1.x store (influxd 1.6.7)', () => {
  let influx: Peer;
  let harness: Harness | undefined;

  beforeAll(async () => {
    influx = await startInfluxdb1();
    const created = await fetch(`${influx.url}/query?q=${encodeURIComponent('CREATE DATABASE jjj')}`, {
      method: 'POST',
    });
    expect(created.ok).toBe(true);
    harness = await startHarness(broker.url, {
      type: 'influxdb',
      apiVersion: 1,
      url: influx.url,
      database: 'jjj',
    });
    await harness.publisher.publishAsync(topicOf(metadata(), 'metadata'), JSON.stringify(metadata()), {
      qos: 1,
    });
    await harness.publisher.publishAsync(topicOf(kpiMetadata(), 'metadata'), JSON.stringify(kpiMetadata()), {
      qos: 1,
    });
    await publishAll(harness.publisher, [telemetry(), ...kpiBatches()]);
    await eventually(async () => {
      const gateways = await getJson<{ id: string; batches: number }[]>(
        `${harness?.collector.httpUrl}/api/v1/gateways`,
      );
      expect(gateways.map((g) => [g.id, g.batches])).toEqual([
        [GATEWAY, 1],
        [KPI_GATEWAY, 4],
      ]);
    });
  }, 60_000);
  afterAll(async () => {
    await stopHarness(harness);
    await influx?.stop();
  });

  it('reads every value type back with InfluxQL, quality and ids kept out of the tags', async () => {
    const base = harness?.collector.httpUrl;
    const read = (point: string) =>
      getJson<Series>(`${base}/api/v1/series?point=${SITE}/${point}&from=${TS - 1}&to=${TS + 1}`);
    expect((await read('machining/cnc-01/spindle-speed')).samples).toEqual([
      { ts: TS, value: 12000.5, quality: 'good' },
    ]);
    expect((await read('machining/cnc-01/running')).samples).toEqual([
      { ts: TS, value: true, quality: 'good' },
    ]);
    expect((await read('machining/cnc-01/program')).samples).toEqual([
      { ts: TS, value: 'O1234', quality: 'good' },
    ]);
    expect((await read('machining/cnc-01/axis-load')).samples).toEqual([
      { ts: TS, value: [1, 2.5, 3], quality: 'good' },
    ]);
    expect((await read('utilities/meter-main/power')).samples).toEqual([
      { ts: TS, value: null, quality: 'bad' },
    ]);
    const tagKeys = await getJson<{ results: { series: { values: string[][] }[] }[] }>(
      `${influx.url}/query?db=jjj&q=${encodeURIComponent('SHOW TAG KEYS FROM jjj')}`,
    );
    expect(tagKeys.results[0]?.series[0]?.values.flat().sort()).toEqual(POINT_TAGS);
  });

  it("turns InfluxDB's refusal into an error with its status and reason, not one to retry", async () => {
    const config = buildCollectorConfig({
      store: { type: 'influxdb', apiVersion: 1, url: influx.url, database: 'missing' },
    }).store as InfluxStoreConfig;
    const refused = await new LineWriter(config).write(telemetry()).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StoreRefusedError);
    expect(refused).toMatchObject({
      code: 'STORE_REFUSED',
      message: expect.stringContaining('database not found'),
      cause: expect.any(HttpError),
    });
    expect((refused as StoreRefusedError).cause).toMatchObject({ statusCode: 404 });
  });

  it('lets a replayed sample overwrite itself', async () => {
    const replay = telemetry({ gateway: { id: GATEWAY, boot: 2, seq: 0 }, historical: true });
    await publishAll(harness?.publisher as MqttClient, [replay]);
    await eventually(async () => {
      const gateways = await getJson<{ id: string; boot: number }[]>(
        `${harness?.collector.httpUrl}/api/v1/gateways`,
      );
      expect(gateways.find((g) => g.id === GATEWAY)?.boot).toBe(2);
    });
    const count = await getJson<{ results: { series?: { values: number[][] }[] }[] }>(
      `${influx.url}/query?db=jjj&q=${encodeURIComponent(`SELECT count("quality") FROM jjj WHERE site = '${SITE}'`)}`,
    );
    expect(count.results[0]?.series?.[0]?.values[0]?.[1]).toBe(5);
  });

  it('marks an out-of-range sample in a field (not a tag) and never writes a future one', async () => {
    const poisoned = poisonedSite('bj-influx-poison');
    await poisoned.publish(harness?.publisher as MqttClient);
    const base = `${harness?.collector.httpUrl}/api/v1/series?from=0&to=${poisoned.now + 10_000}&point=${poisoned.site}/machining/cnc-01`;
    await eventually(async () =>
      expect((await getJson<Series>(`${base}/feed-rate`)).samples).toEqual([
        { ts: poisoned.now + 1, value: 6, quality: 'good' },
      ]),
    );
    expect((await getJson<Series>(`${base}/spindle-speed`)).samples).toEqual([
      { ts: poisoned.now, value: 99999, quality: 'uncertain', outOfRange: 'above-max' },
    ]);
    const influxql = async (q: string) =>
      getJson<{ results: { series?: { values: unknown[][] }[] }[] }>(
        `${influx.url}/query?db=jjj&epoch=ms&q=${encodeURIComponent(q)}`,
      );
    const fields = await influxql('SHOW FIELD KEYS FROM jjj');
    expect(fields.results[0]?.series?.[0]?.values).toContainEqual(['out_of_range', 'string']);
    const tags = await influxql('SHOW TAG KEYS FROM jjj');
    expect(tags.results[0]?.series?.[0]?.values.flat().sort()).toEqual(POINT_TAGS);
    const ahead = await influxql(
      `SELECT count("quality") FROM jjj WHERE site = '${poisoned.site}' AND time > now() + 1h`,
    );
    expect(ahead.results[0]?.series).toBeUndefined();
  });

  it('serves aggregated series', async () => {
    const url = `${harness?.collector.httpUrl}/api/v1/series?point=${KPI_SITE}/utilities/meter-main/energy-total&from=${KPI_FROM - 60_000}&to=${KPI_TO}&aggregate=max&window=1m`;
    const series = await getJson<{ samples: { value: number; count: number }[] }>(url);
    expect(series.samples.map((s) => s.value)).toContain(510.5);
    expect(series.samples.reduce((sum, s) => sum + s.count, 0)).toBe(3);
  });

  it.each(aggregateFunctions)(
    'aggregates %s in InfluxDB (GROUP BY time) as the in-memory reference does',
    async (fn) => {
      const base = harness?.collector.httpUrl;
      const { points } = await getJson<{ points: { pointId: string }[] }>(
        `${base}/api/v1/points?site=${KPI_SITE}`,
      );
      const range = `from=${KPI_FROM - 60_000}&to=${KPI_TO}`;
      let windows = 0;
      for (const { pointId } of points) {
        const raw = await getJson<Series>(`${base}/api/v1/series?point=${pointId}&${range}`);
        const expected = aggregate(raw.samples, fn, 60_000);
        const served = await getJson<{ samples: AggregatedSample[] }>(
          `${base}/api/v1/series?point=${pointId}&${range}&aggregate=${fn}&window=1m`,
        );
        expect(
          served.samples.map(({ ts, count, bad, uncertain }) => ({ ts, count, bad, uncertain })),
        ).toEqual(expected.map(({ ts, count, bad, uncertain }) => ({ ts, count, bad, uncertain })));
        for (const [i, window] of served.samples.entries()) expectSameValue(window.value, expected[i]?.value);
        windows += expected.length;
      }
      expect(windows).toBeGreaterThan(5);
    },
  );

  it.each(kpiNames)('computes %s through the compare API as on the hand-computed fixture', async (kpi) => {
    // The rollup job runs every second: wait until it has rolled the fixture up.
    const answer = await eventually(async () => {
      const got = await getJson<{ entities: CompareEntity[] }>(
        `${harness?.collector.httpUrl}/api/v1/compare?sites=${KPI_SITE}&from=${KPI_FROM}&to=${KPI_TO}&window=1m`,
      );
      expect(got.entities[0]?.values.output).toBe(7);
      return got;
    });
    expect(answer.entities.map((e) => e.id)).toEqual([KPI_SITE]);
    expectKpi(answer.entities[0] as CompareEntity, kpi);
  });
});

describe('InfluxDB v2 write API (VictoriaMetrics)', () => {
  let victoria: Peer;
  let harness: Harness | undefined;

  beforeAll(async () => {
    victoria = await startVictoriaMetrics();
    harness = await startHarness(broker.url, {
      type: 'influxdb',
      apiVersion: 2,
      url: victoria.url,
      org: 'jjj',
      bucket: 'telemetry',
      token: 'not-checked-by-victoria-metrics',
      // Small enough that every request of this test is gzipped.
      gzipThreshold: 0,
    });
  }, 60_000);
  afterAll(async () => {
    await stopHarness(harness);
    await victoria?.stop();
  });

  it('writes every point of every batch, read back exactly through the export API', async () => {
    const batches = Array.from({ length: 20 }, (_, seq) =>
      telemetry({
        gateway: { id: GATEWAY, boot: 1, seq },
        points: Array.from({ length: 50 }, (_, i) => ({
          line: 'machining',
          equipment: `cnc-${String(i % 5).padStart(2, '0')}`,
          point: `p-${Math.floor(i / 5)}`,
          value: seq * 1000 + i + 0.25,
          ts: TS + seq * 1000,
          quality: 'good' as const,
        })),
      }),
    );
    await publishAll(harness?.publisher as MqttClient, batches);
    const series = await eventually(async () => {
      const found = await exportSeries(victoria.url, '{__name__="jjj_value"}');
      expect(found.reduce((sum, s) => sum + s.values.length, 0)).toBe(1000);
      return found;
    }, 20_000);
    expect(series).toHaveLength(50);
    const got = series
      .flatMap((s) =>
        s.values.map((value, i) => `${s.metric.equipment}/${s.metric.point}@${s.timestamps[i]}=${value}`),
      )
      .sort();
    const want = batches
      .flatMap((b) => b.points.map((p) => `${p.equipment}/${p.point}@${p.ts}=${p.value}`))
      .sort();
    expect(got).toEqual(want);
    // Bounded tags only: no gateway, boot, seq or quality label.
    expect(Object.keys(series[0]?.metric ?? {}).sort()).toEqual(['__name__', ...POINT_TAGS]);
  });

  it('never writes a future sample; an out-of-range one keeps its value, marked in the catalog', async () => {
    const poisoned = poisonedSite('bj-victoria-poison');
    await poisoned.publish(harness?.publisher as MqttClient);
    const exported = await eventually(async () => {
      const found = await exportSeries(victoria.url, `{__name__="jjj_value",site="${poisoned.site}"}`);
      expect(found.map((s) => `${s.metric.point}@${s.timestamps.join()}=${s.values.join()}`).sort()).toEqual([
        `feed-rate@${poisoned.now + 1}=6`,
        `spindle-speed@${poisoned.now}=99999`,
      ]);
      return found;
    }, 20_000);
    // The mark is a field: no out_of_range label splits the series.
    expect(Object.keys(exported[0]?.metric ?? {}).sort()).toEqual(['__name__', ...POINT_TAGS]);
    const latest = await getJson<{ points: { point: string; outOfRange?: string; quality: string }[] }>(
      `${harness?.collector.httpUrl}/api/v1/latest?site=${poisoned.site}`,
    );
    expect(latest.points.find((p) => p.point === 'spindle-speed')).toMatchObject({
      quality: 'uncertain',
      outOfRange: 'above-max',
    });
  });
});
