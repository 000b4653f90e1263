/**
 * KPIs of a Sparkplug B node that declares its roles as DBIRTH metric properties (`KpiRole`), encoded
 * with Eclipse Tahu's library as another vendor's node would be: a press with a boolean "running" and a
 * 16-bit part counter that wraps. The collector's Sparkplug host turns its births and data into
 * metadata and batches, the store keeps them, the rollup job rolls them up and `compare` answers.
 */
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCollectorConfig } from '../../../cloud/config.js';
import type { CompareEntity } from '../../../cloud/kpi/compare.js';
import { KpiConfig } from '../../../cloud/kpi/config.js';
import { RollupJob } from '../../../cloud/kpi/rollup-job.js';
import { SparkplugHost } from '../../../cloud/sparkplug-host.js';
import { SqliteStore } from '../../../cloud/store/sqlite-store.js';
import type { KpiRole } from '../../../gateway/schema/index.js';
import { kpiApi } from '../kpi-fixture.js';

const tahu = createRequire(import.meta.url)('sparkplug-payload').get('spBv1.0') as {
  encodePayload(payload: unknown): Uint8Array;
};

const silent = pino({ level: 'silent' });
const SITE = 'he-press-shop';
const NODE = 'edge-press';
/** Minute-aligned. */
const T0 = 1_750_000_020_000;

const running: KpiRole = { role: 'machine-state', values: { true: 'producing', false: 'down' } };
const parts: KpiRole = { role: 'good-count', width: 16, reset: 'restart', idealCycleTimeS: 5 };

const metric = (name: string, type: string, value: unknown, role: KpiRole) => ({
  name,
  type,
  value,
  timestamp: T0,
  properties: {
    Line: { type: 'String', value: 'stamping' },
    Protocol: { type: 'String', value: 'modbus' },
    Address: { type: 'String', value: `unit=1;${name}` },
    KpiRole: { type: 'String', value: JSON.stringify(role) },
  },
});

let seq = 0;
const message = (type: string, device: string | undefined, payload: Record<string, unknown>) => ({
  topic: `spBv1.0/${SITE}/${type}/${NODE}${device ? `/${device}` : ''}`,
  payload: Buffer.from(tahu.encodePayload({ timestamp: T0, seq: seq++ % 256, ...payload })),
});

/** One DDATA of the press at `at` ms after T0. */
const ddata = (at: number, values: { running?: boolean; parts?: number }) =>
  message('DDATA', 'press-01', {
    metrics: [
      ...(values.running === undefined
        ? []
        : [{ name: 'running', type: 'Boolean', value: values.running, timestamp: T0 + at }]),
      ...(values.parts === undefined
        ? []
        : [{ name: 'parts', type: 'UInt16', value: values.parts, timestamp: T0 + at }]),
    ],
  });

describe('KPIs of a Sparkplug B node declaring its roles', () => {
  const config = buildCollectorConfig({
    mqtt: { url: 'mqtt://127.0.0.1:1' },
    store: { path: ':memory:' },
    auth: { anonymous: 'viewer' },
  });
  const kpiConfig = KpiConfig.parse({ rollups: { minuteRetentionDays: 36_500 } });
  const store = new SqliteStore(':memory:', config.api.limits);
  let api: FastifyInstance;

  beforeAll(async () => {
    const host = new SparkplugHost(silent);
    const messages = [
      message('NBIRTH', undefined, {
        metrics: [
          { name: 'bdSeq', type: 'UInt64', value: 0 },
          { name: 'Properties/Region', type: 'String', value: 'HE' },
          { name: 'Properties/Project', type: 'String', value: 'jjj-dp-07' },
        ],
      }),
      message('DBIRTH', 'press-01', {
        metrics: [metric('running', 'Boolean', true, running), metric('parts', 'UInt16', 65_530, parts)],
      }),
      // producing 0–60 s, down 60–90 s (one failure), producing 90–120 s; the counter wraps at 60 s
      ddata(30_000, { parts: 65_533 }),
      ddata(60_000, { running: false, parts: 4 }),
      ddata(90_000, { running: true }),
      ddata(120_000, { parts: 10 }),
    ];
    for (const { topic, payload } of messages) {
      for (const event of host.handle(topic, payload, T0 + 120_000)) {
        if (event.kind === 'metadata') await store.writeMetadata(event.message);
        else if (event.kind === 'telemetry') await store.writeTelemetry(event.message, T0 + 120_000);
        else if (event.kind === 'status') await store.writeStatus(event.message);
      }
    }
    await new RollupJob({
      store,
      config: kpiConfig,
      logger: silent,
      maxSamples: config.api.limits.maxRawSamplesPerQuery,
    }).runOnce();
    api = kpiApi(store, config, kpiConfig);
  });
  afterAll(async () => {
    await api?.close();
    await store.close();
  });

  it('feeds the roles from the birth into the KPI sources', async () => {
    const response = await api.inject(`/api/v1/kpi-sources?site=${SITE}`);
    expect(response.statusCode).toBe(200);
    expect(JSON.stringify(response.json())).toContain(`${SITE}/stamping/press-01/running`);
    expect(JSON.stringify(response.json())).toContain(`${SITE}/stamping/press-01/parts`);
  });

  it('computes the time model and counts from them, the 16-bit wrap counted as a wrap', async () => {
    const response = await api.inject(
      `/api/v1/compare?sites=${SITE}&level=equipment&from=${T0}&to=${T0 + 179_999}&window=1h`,
    );
    expect(response.statusCode).toBe(200);
    const [press] = response.json().entities as CompareEntity[];
    expect(press?.id).toBe(`${SITE}/stamping/press-01`);
    const values = press?.values ?? {};
    // APT 90 s, ADET 30 s, PBT 120 s
    expect(values.availability).toBeCloseTo(0.75, 9);
    expect(values.technical_efficiency).toBeCloseTo(0.75, 9);
    // parts: 65530 → 65533 (+3) → 4 (wrap: 65536 − 65533 + 4 = +7) → 10 (+6) = 16
    expect(values.output).toBe(16);
    expect(values.quality_ratio).toBe(1);
    // 16 parts × 5 s ideal = 80 s over APT 90 s
    expect(values.effectiveness).toBeCloseTo(80 / 90, 9);
    expect(values.oee).toBeCloseTo(80 / 120, 9);
    // one failure: MTTR 30 s, MTBF 90 s, in minutes
    expect(values.mttr).toBeCloseTo(0.5, 9);
    expect(values.mtbf).toBeCloseTo(1.5, 9);
  });
});
