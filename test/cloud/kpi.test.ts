/**
 * The KPI routes on the hand-computed fixture: a real SQLite store holds the sites' metadata (with
 * the seed demo's roles) and telemetry, the rollup job runs once, and the collector's API answers
 * through fastify's inject. The seed demo's figures stay what they were before roles and rollups.
 */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregate } from '../../cloud/aggregate.js';
import { buildCollectorConfig, type CollectorConfig } from '../../cloud/config.js';
import type { CompareEntity } from '../../cloud/kpi/compare.js';
import { KpiConfig } from '../../cloud/kpi/config.js';
import { type KpiName, kpiNames } from '../../cloud/kpi/definitions.js';
import { RollupJob } from '../../cloud/kpi/rollup-job.js';
import { SqliteStore } from '../../cloud/store/sqlite-store.js';
import {
  expectKpi,
  type FixtureSite,
  fixtureSite,
  KPI_FROM,
  KPI_PROJECT,
  KPI_SITE,
  KPI_TO,
  kpiApi,
  kpiBatches,
  kpiMetadata,
  T0,
} from './kpi-fixture.js';

const silent = pino({ level: 'silent' });
const HOUR = 3_600_000;
/** The fixture again in another region of the same project, so the project spans two regions. */
const twin: FixtureSite = { site: 'he-kpi-fixture', region: 'HE', project: KPI_PROJECT, shiftMs: 0 };
/** The fixture two hours ago (minute-aligned), so the default last 24 h holds it. */
const recent: FixtureSite = {
  site: 'bj-kpi-recent',
  region: 'BJ',
  project: 'etown-smart-factory',
  shiftMs: Math.floor((Date.now() - 2 * HOUR - T0) / 60_000) * 60_000,
};
/** The fixture's data without any role: every KPI but completeness is null, with a reason. */
const bare: FixtureSite = { site: 'bj-no-roles', region: 'BJ', project: 'etown-smart-factory', shiftMs: 0 };

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: Record<string, unknown> & { error?: string; limit?: string };
  text: string;
}

describe('KPI routes on the embedded store', () => {
  const configWith = (limits: { maxSites?: number; maxBuckets?: number } = {}) =>
    buildCollectorConfig({
      mqtt: { url: 'mqtt://127.0.0.1:1' },
      store: { path: ':memory:' },
      auth: { anonymous: 'viewer' },
      api: { limits },
    });
  const config = configWith();
  /** No calendar: every minute is planned, as for the seed demo; minute rows of 2025 kept. */
  const kpiConfig = KpiConfig.parse({ rollups: { minuteRetentionDays: 36_500 } });
  const store = new SqliteStore(':memory:', config.api.limits);
  const apiWith = (limits: CollectorConfig['api']['limits'], kpi = kpiConfig) =>
    kpiApi(store, config, kpi, limits);
  let api: FastifyInstance;
  /** Three sites and 2000 values per KPI at most; minute rows kept 35 days. */
  let strict: FastifyInstance;

  const get = async (url: string, headers: Record<string, string> = {}, on = api): Promise<Answer> => {
    const response = await on.inject({ method: 'GET', url, headers });
    const text = response.body;
    const json = response.headers['content-type']?.toString().startsWith('application/json');
    return {
      status: response.statusCode,
      headers: response.headers,
      body: json ? response.json() : {},
      text,
    };
  };
  const entitiesOf = (answer: Answer) => answer.body.entities as CompareEntity[];
  const fixtureRange = `from=${KPI_FROM}&to=${KPI_TO}&window=1m`;

  beforeAll(async () => {
    for (const at of [fixtureSite, twin, recent, bare]) {
      await store.writeMetadata(kpiMetadata(at, at !== bare));
      for (const batch of kpiBatches(at)) await store.writeTelemetry(batch, batch.sentTs);
    }
    await new RollupJob({
      store,
      config: kpiConfig,
      logger: silent,
      maxSamples: config.api.limits.maxRawSamplesPerQuery,
    }).runOnce();
    api = apiWith(config.api.limits);
    strict = apiWith(configWith({ maxSites: 3, maxBuckets: 2000 }).api.limits, KpiConfig.parse({}));
  });
  afterAll(async () => {
    await api?.close();
    await strict?.close();
    await store.close();
  });

  it.each(kpiNames)('%s of a site matches the hand-computed figures', async (kpi) => {
    const answer = await get(`/api/v1/compare?kpi=${kpi}&sites=${KPI_SITE}&${fixtureRange}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      from: KPI_FROM,
      to: KPI_TO,
      window: '1m',
      level: 'site',
      kpis: [kpi],
    });
    const [entity] = entitiesOf(answer);
    expect(entity).toMatchObject({
      id: KPI_SITE,
      level: 'site',
      region: 'TJ',
      project: KPI_PROJECT,
      site: KPI_SITE,
      name: `KPI fixture ${KPI_SITE}`,
    });
    expect(entity?.windows.map((w) => w.start)).toEqual([KPI_FROM, KPI_FROM + 60_000]);
    expectKpi(entity as CompareEntity, kpi);
  });

  it('answers a bare compare with every site over the last 24 hours', async () => {
    const answer = await get('/api/v1/compare');
    expect(answer.status).toBe(200);
    const { from, to, window, kpis } = answer.body as {
      from: number;
      to: number;
      window: string;
      kpis: string[];
    };
    expect(window).toBe('1h');
    expect(kpis).toEqual([...kpiNames]);
    // Whole hours, aligned: the 24 h before now widened to 25 windows.
    expect(from % HOUR).toBe(0);
    expect(to - from + 1).toBe(25 * HOUR);
    const entities = entitiesOf(answer);
    expect(entities.map((e) => e.id).sort()).toEqual([KPI_SITE, recent.site, bare.site, twin.site].sort());
    // The recent copy lies wholly inside the range, with the minute before T0 the 2-minute range
    // leaves out: 10 s more producing (from the state at −10 s), so APT 90 s, ADET 15 s, 1 failure;
    // the counters' first samples (−1 s) count nothing, so 7 good of 8, ideal 6 s × 8.
    const recentEntity = entities.find((e) => e.id === recent.site) as CompareEntity;
    expect(recentEntity.windows).toHaveLength(25);
    const whole = {
      availability: 90 / 105,
      effectiveness: 48 / 90,
      oee: (90 / 105) * (48 / 90) * (7 / 8),
      mtbf: 1.5,
      output: 7,
      energy_per_unit: 1.5,
      completeness: 0.8,
    };
    for (const [kpi, value] of Object.entries(whole))
      expect(recentEntity.values[kpi as KpiName], kpi).toBeCloseTo(value, 9);
    expect(recentEntity.values.energy_per_value_added).toBeNull();
    // The 2025 sites have nothing in the last day.
    expect((entities.find((e) => e.id === KPI_SITE) as CompareEntity).values.oee).toBeNull();
  });

  it('compares per project, summing sites across regions', async () => {
    const answer = await get(`/api/v1/compare?level=project&projects=${KPI_PROJECT}&${fixtureRange}`);
    expect(answer.status).toBe(200);
    const [project, ...others] = entitiesOf(answer);
    expect(others).toEqual([]);
    expect(project).toMatchObject({
      id: KPI_PROJECT,
      level: 'project',
      region: 'TJ,HE',
      project: KPI_PROJECT,
    });
    expect(project?.site).toBeUndefined();
    // Two identical sites: ratios as one site's; output and completeness's parts add up (8 of 10 batches).
    for (const kpi of ['oee', 'availability', 'energy_per_unit', 'mttr', 'completeness'] as KpiName[])
      expectKpi(project as CompareEntity, kpi);
    expectKpi(project as CompareEntity, 'output', [14, 4, 10]);
  });

  it('compares per line and per equipment, leaving points without a role out', async () => {
    const lines = await get(
      `/api/v1/compare?level=line&sites=${KPI_SITE}&kpi=output,energy_per_unit&${fixtureRange}`,
    );
    expect(lines.status).toBe(200);
    const byId = new Map(entitiesOf(lines).map((e) => [e.id, e]));
    expect([...byId.keys()].sort()).toEqual([`${KPI_SITE}/assembly`, `${KPI_SITE}/utilities`]);
    const assembly = byId.get(`${KPI_SITE}/assembly`) as CompareEntity;
    expect(assembly).toMatchObject({ level: 'line', site: KPI_SITE, line: 'assembly', region: 'TJ' });
    // The PLC's repeated count has no role; the line's sub-meter (0 → 1000 kWh at +100 s) is its energy.
    expectKpi(assembly, 'output');
    expectKpi(assembly, 'energy_per_unit', [1000 / 7, 0, 1000 / 5]);
    // The utilities line has meters but no count role: its output is unknown, not 0.
    expectKpi(byId.get(`${KPI_SITE}/utilities`) as CompareEntity, 'output', [null, null, null]);

    const equipment = await get(`/api/v1/compare?level=equipment&sites=${KPI_SITE}&kpi=oee&${fixtureRange}`);
    const machines = entitiesOf(equipment);
    const cnc = machines.find((e) => e.id === `${KPI_SITE}/assembly/cnc-01`) as CompareEntity;
    expect(cnc).toMatchObject({ level: 'equipment', line: 'assembly', equipment: 'cnc-01' });
    expectKpi(cnc, 'oee');
    expect(machines.some((e) => e.equipment === 'plc-assembly')).toBe(false);
    // Completeness belongs to sites and projects.
    const noCompleteness = await get(
      `/api/v1/compare?level=line&kpi=completeness&sites=${KPI_SITE}&${fixtureRange}`,
    );
    expect(entitiesOf(noCompleteness).every((e) => e.values.completeness === null)).toBe(true);
  });

  it('exports CSV: a record per entity per window and a total, RFC 4180', async () => {
    const range = `sites=${KPI_SITE},${twin.site}&kpi=output,oee&${fixtureRange}`;
    const answer = await get(`/api/v1/compare?${range}&format=csv`);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(answer.headers['content-disposition']).toBe(
      `attachment; filename="jjj-compare-${KPI_FROM}-${KPI_TO}.csv"`,
    );
    const records = answer.text.split('\r\n');
    expect(records.pop()).toBe('');
    expect(records[0]).toBe('row,id,level,region,project,site,line,equipment,name,start,end,output,oee');
    const iso = (ms: number) => new Date(ms).toISOString();
    // Numbers as JavaScript writes them: the JSON answer's values.
    const json = entitiesOf(await get(`/api/v1/compare?${range}`))[0] as CompareEntity;
    const about = `${KPI_SITE},site,TJ,${KPI_PROJECT},${KPI_SITE},,,KPI fixture ${KPI_SITE}`;
    expect(json.windows.map((w) => w.values.oee)).toEqual([expect.closeTo(12 / 45, 9), 0.6]);
    expect(records.slice(1, 4)).toEqual([
      `window,${about},${iso(T0)},${iso(T0 + 60_000)},2,${json.windows[0]?.values.oee}`,
      `window,${about},${iso(T0 + 60_000)},${iso(T0 + 120_000)},5,0.6`,
      `total,${about},${iso(T0)},${iso(T0 + 120_000)},7,${json.values.oee}`,
    ]);
    expect(records).toHaveLength(1 + 2 * 3);
    // Accept: text/csv asks for the same.
    const accepted = await get(`/api/v1/compare?${range}`, { accept: 'text/csv' });
    expect(accepted.text).toBe(answer.text);
  });

  it('lists the KPI definitions', async () => {
    const answer = await get('/api/v1/kpis');
    expect(answer.status).toBe(200);
    const definitions = answer.body.kpis as { name: string }[];
    expect(definitions.map((d) => d.name)).toEqual([...kpiNames]);
    for (const definition of definitions)
      expect(Object.keys(definition)).toEqual(expect.arrayContaining(['name', 'unit', 'formula']));
  });

  it('lists which points feed which role, the calendar, and nothing missing on the fixture', async () => {
    const answer = await get(`/api/v1/kpi-sources?site=${KPI_SITE}`);
    expect(answer.status).toBe(200);
    expect(answer.body.calendar).toBe('24/7');
    const equipment = answer.body.equipment as { id: string; sources: { role: string; pointId: string }[] }[];
    const cnc = equipment.find((e) => e.id === `${KPI_SITE}/assembly/cnc-01`);
    expect(cnc?.sources.map((s) => s.role).sort()).toEqual(
      ['good-count', 'ideal-cycle-time', 'machine-state', 'reject-count'].sort(),
    );
    expect(equipment.some((e) => e.id.endsWith('/plc-assembly'))).toBe(false);
    const missing = answer.body.missing as Record<KpiName, string[]>;
    expect(missing.oee).toEqual([]);
    expect(missing.energy_per_unit).toEqual([]);
    expect(missing.energy_per_value_added?.length).toBeGreaterThan(0);
  });

  it('explains why every KPI of a site without roles is null', async () => {
    const sources = await get(`/api/v1/kpi-sources?site=${bare.site}`);
    expect(sources.status).toBe(200);
    expect(sources.body.equipment).toEqual([]);
    const missing = sources.body.missing as Record<KpiName, string[]>;
    const compared = await get(`/api/v1/compare?sites=${bare.site}&${fixtureRange}`);
    const [entity] = entitiesOf(compared);
    for (const kpi of kpiNames.filter((k) => k !== 'completeness')) {
      expect(missing[kpi]?.length, kpi).toBeGreaterThan(0);
      expect(entity?.values[kpi], kpi).toBeNull();
    }
    expectKpi(entity as CompareEntity, 'completeness');
  });

  it.each([
    ['an unknown site', `/api/v1/compare?sites=nowhere`, 404, /unknown site "nowhere"/],
    ['an unknown project', `/api/v1/compare?projects=nowhere`, 404, /unknown project "nowhere"/],
    ['sources of an unknown site', `/api/v1/kpi-sources?site=nowhere`, 404, /unknown site "nowhere"/],
    ['an unknown KPI', `/api/v1/compare?kpi=oee,happiness`, 400, /unknown KPI "happiness"/],
    ['an unknown level', `/api/v1/compare?level=galaxy`, 400, /unknown level "galaxy"/],
    ['a repeated site', `/api/v1/compare?sites=${KPI_SITE},${KPI_SITE}`, 400, /each site may appear once/],
    ['from after to', `/api/v1/compare?from=${T0 + 1}&to=${T0}`, 400, /from must not be after to/],
    [
      '1001 windows',
      `/api/v1/compare?from=${T0}&to=${T0 + 1000 * 60_000}&window=1m`,
      400,
      /1001 windows of 1m, at most 1000/,
    ],
    [
      'ten years at 1m',
      `/api/v1/compare?from=${T0 - 3650 * 24 * HOUR}&to=${T0}&window=1m`,
      400,
      /at most 1000 per request/,
    ],
    ['an unknown parameter', `/api/v1/compare?site=${KPI_SITE}`, 400, /site/],
    ['a non-numeric time', `/api/v1/compare?from=yesterday`, 400, /expected Unix time in milliseconds/],
  ])('refuses %s with a reason', async (_what, url, status, reason) => {
    const answer = await get(url);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toMatch(reason);
  });

  it('refuses minute windows older than the minute rows are kept', async () => {
    const answer = await get(`/api/v1/compare?from=${T0}&to=${T0 + HOUR}&window=5m`, {}, strict);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatch(
      /minute rollups are kept 35 days \(kpi\.rollups\.minuteRetentionDays\).*use window=1h/,
    );
    expect(
      (await get(`/api/v1/compare?sites=${KPI_SITE}&from=${T0}&to=${T0 + HOUR}`, {}, strict)).status,
    ).toBe(200);
  });

  it('refuses more sites or values than the limits, naming them', async () => {
    const four = await get('/api/v1/compare?level=site', {}, strict);
    expect(four.status).toBe(400);
    expect(four.body).toEqual({
      error: expect.stringMatching(/4 sites asked, at most 3 per request \(api\.limits\.maxSites\)/),
      limit: 'maxSites',
    });
    // 3 sites × 1000 windows > 2000 values per KPI.
    const cells = await get(
      `/api/v1/compare?sites=${KPI_SITE},${twin.site},${bare.site}&from=${T0}&to=${T0 + 999 * HOUR}`,
      {},
      strict,
    );
    expect(cells.status).toBe(400);
    expect(cells.body.limit).toBe('maxBuckets');
  });
});

describe('aggregate', () => {
  const at = (minute: number, second: number) => minute * 60_000 + second * 1000;
  const samples = [
    { ts: at(0, 1), value: 4, quality: 'good' as const },
    { ts: at(0, 30), value: 2, quality: 'good' as const },
    { ts: at(0, 40), value: 100, quality: 'bad' as const },
    { ts: at(0, 50), value: true, quality: 'good' as const },
    { ts: at(2, 0), value: 'text', quality: 'good' as const },
    { ts: at(2, 5), value: 9, quality: 'uncertain' as const },
    { ts: at(3, 0), value: null, quality: 'bad' as const },
    { ts: at(3, 1), value: 'jammed', quality: 'uncertain' as const },
    { ts: at(4, 0), value: 'text', quality: 'uncertain' as const },
  ];

  it('computes mean, min, max and last per aligned window from good and uncertain samples, counting bad and uncertain ones', () => {
    expect(aggregate(samples, 'mean', 60_000)).toEqual([
      { ts: 0, value: 7 / 3, count: 3, bad: 1, uncertain: 0 },
      { ts: at(2, 0), value: 9, count: 1, bad: 0, uncertain: 1 },
      // Only bad (and a text) sample: the window is there, without a value, so the gap shows.
      { ts: at(3, 0), value: null, count: 0, bad: 1, uncertain: 1 },
    ]);
    expect(aggregate(samples, 'min', 60_000).map((w) => w.value)).toEqual([1, 9, null]);
    expect(aggregate(samples, 'max', 60_000).map((w) => w.value)).toEqual([4, 9, null]);
    expect(aggregate(samples, 'last', 300_000)).toEqual([
      { ts: 0, value: 9, count: 4, bad: 2, uncertain: 3 },
    ]);
  });
});
