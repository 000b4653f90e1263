/**
 * The collector's `network` block (Column 5's targets, the projects' names and industries, what each
 * site is) and `GET /api/v1/projects` over the embedded store: configured projects and the projects of
 * registered sites, a registered site whose project is not configured, a configured project without a
 * site, the counts against the targets; viewer access, 401 without credentials, 400 on a query.
 */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../cloud/api.js';
import { createToken, createUser } from '../../cloud/auth/account-admin.js';
import { buildCollectorConfig } from '../../cloud/config.js';
import { createCollectorMetrics } from '../../cloud/metrics.js';
import { COLUMN_5_TARGETS } from '../../cloud/network/config.js';
import type { ProjectsAnswer } from '../../cloud/network/projects-route.js';
import { SqliteStore } from '../../cloud/store/sqlite-store.js';
import { ConfigError } from '../../gateway/common/errors.js';
import { catalogue } from '../../seeds/catalogue.js';
import { networkOf } from '../../seeds/demo.js';
import { metadata } from './fixtures.js';

const problemsOf = (build: () => unknown): string[] => {
  try {
    build();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('the network config block', () => {
  it("defaults to Column 5's targets (10 projects by 2020, 20 by 2025) and no description", () => {
    expect(buildCollectorConfig({}).network).toEqual({
      targets: [
        { year: 2020, projects: 10 },
        { year: 2025, projects: 20 },
      ],
      projects: {},
      sites: {},
    });
    expect(COLUMN_5_TARGETS).toEqual([
      { year: 2020, projects: 10 },
      { year: 2025, projects: 20 },
    ]);
  });

  it('takes projects, sites and other targets', () => {
    const network = buildCollectorConfig({
      network: {
        targets: [{ year: 2030, projects: 40 }],
        projects: {
          'jjj-dp-01': { name: { zh: '数控示范', en: 'CNC demo' }, industry: 'other', summary: 'Machining.' },
        },
        sites: { 'bj-etown-cnc': { industry: 'automotive', mode: 'digital-workshop' } },
      },
    }).network;
    expect(network.targets).toEqual([{ year: 2030, projects: 40 }]);
    expect(network.projects['jjj-dp-01']?.industry).toBe('other');
    expect(network.sites['bj-etown-cnc']).toEqual({ industry: 'automotive', mode: 'digital-workshop' });
  });

  it('names the path and the reason of every problem', () => {
    const problems = problemsOf(() =>
      buildCollectorConfig({
        network: {
          targets: [
            { year: 2020, projects: 10 },
            { year: 2020, projects: 0 },
          ],
          projects: {
            'jjj-dp-01': {
              industry: 'textiles' as 'other',
              name: { zh: '示范' } as { zh: string; en: string },
            },
            'Bad Id': {},
          },
          sites: {
            'bj-etown-cnc': { mode: 'factory' as 'smart-factory', floor: 3 } as never,
          },
        },
      }),
    );
    expect(problems).toEqual([
      'network.targets[1].projects: Too small: expected number to be >=1',
      'network.projects.jjj-dp-01.name.en: Invalid input: expected string, received undefined',
      'network.projects.jjj-dp-01.industry: unknown industry "textiles" (known: equipment-manufacturing, automotive, electronics, other)',
      'network.projects.Bad Id: Invalid key in record',
      'network.sites.bj-etown-cnc.mode: unknown mode "factory" (known: smart-factory, digital-workshop)',
      'network.sites.bj-etown-cnc: Unrecognized key: "floor"',
    ]);
    // A second target for a year (once the rest is valid).
    expect(
      problemsOf(() =>
        buildCollectorConfig({
          network: {
            targets: [
              { year: 2020, projects: 10 },
              { year: 2020, projects: 12 },
            ],
          },
        }),
      ),
    ).toEqual(['network.targets[1].year: a second target for 2020']);
  });

  it('is what the demo builds from the seed catalogue: every project and site described', () => {
    const network = buildCollectorConfig({ network: networkOf(catalogue) }).network;
    expect(Object.keys(network.projects).sort()).toEqual(catalogue.projects.map((p) => p.id).sort());
    for (const site of catalogue.sites)
      expect(network.sites[site.id]).toEqual({ industry: site.industry, mode: site.mode, city: site.city });
    expect(network.targets).toEqual(buildCollectorConfig({}).network.targets);
  });
});

describe('GET /api/v1/projects', () => {
  const config = buildCollectorConfig({
    mqtt: { url: 'mqtt://127.0.0.1:1' },
    store: { path: ':memory:' },
    network: {
      projects: {
        'jjj-dp-01': {
          name: { zh: '京津冀数控装备示范', en: 'Jing-Jin-Ji CNC equipment' },
          industry: 'equipment-manufacturing',
          summary: 'Beijing spindles, Hebei housings.',
        },
        // Configured, but no site has reported yet.
        'jjj-dp-09': { name: { zh: '规划中的示范', en: 'A planned project' }, industry: 'electronics' },
      },
      sites: {
        'bj-etown-cnc': {
          industry: 'equipment-manufacturing',
          mode: 'digital-workshop',
          city: { zh: '北京', en: 'Beijing' },
        },
        'he-cangzhou-cnc': { industry: 'equipment-manufacturing', mode: 'smart-factory' },
      },
    },
  });
  const store = new SqliteStore(':memory:', config.api.limits);
  let api: FastifyInstance;
  let viewerToken = '';

  const get = (url: string, token?: string) =>
    api.inject({
      method: 'GET',
      url,
      headers: { host: 'localhost:80', ...(token && { authorization: `Bearer ${token}` }) },
    });

  beforeAll(async () => {
    const site = (id: string, region: 'BJ' | 'TJ' | 'HE', project: string, en: string, zh: string) =>
      metadata({
        region,
        project,
        site: id,
        gateway: { id: `gw-${id}`, boot: 1 },
        ts: Date.now(),
        siteName: { en, zh },
      });
    await store.writeMetadata(
      site('he-cangzhou-cnc', 'HE', 'jjj-dp-01', 'Cangzhou Housings', '沧州壳体工厂'),
    );
    await store.writeMetadata(site('bj-etown-cnc', 'BJ', 'jjj-dp-01', 'E-Town CNC', '亦庄数控车间'));
    // Its project is not in the configuration.
    await store.writeMetadata(site('tj-binhai-smt', 'TJ', 'binhai-electronics', 'Binhai SMT', '滨海贴片'));
    api = buildApi({
      store,
      metrics: createCollectorMetrics(),
      logger: pino({ level: 'silent' }),
      brokerConnected: () => true,
      auth: config.auth,
      allowedHosts: () => new Set(['localhost:80']),
      commandSender: undefined,
      ackTimeoutMs: config.commands.ackTimeoutMs,
      limits: config.api.limits,
      kpi: config.kpi,
      network: config.network,
    });
    const now = Date.now();
    const user = await createUser(
      store.accounts,
      { name: 'vera', role: 'viewer', password: 'viewer-passw0rd-long' },
      now,
    );
    expect(user.ok).toBe(true);
    const token = createToken(store.accounts, { user: 'vera' }, now);
    if (!token.ok) throw new Error(token.problem);
    viewerToken = token.value.token;
  });
  afterAll(async () => {
    await api?.close();
    await store.close();
  });

  it('lists configured projects and those of registered sites, with regions, sites and the counts', async () => {
    const response = await get('/api/v1/projects', viewerToken);
    expect(response.statusCode).toBe(200);
    const answer = response.json() as ProjectsAnswer;
    expect(answer.targets).toEqual([
      { year: 2020, projects: 10 },
      { year: 2025, projects: 20 },
    ]);
    // In the network: the two projects with a registered site; configured: the two named.
    expect(answer.counts).toEqual({ inNetwork: 2, configured: 2 });
    expect(answer.projects.map((p) => p.id)).toEqual(['binhai-electronics', 'jjj-dp-01', 'jjj-dp-09']);
    const [unconfigured, cnc, planned] = answer.projects;
    expect(cnc).toEqual({
      id: 'jjj-dp-01',
      name: { zh: '京津冀数控装备示范', en: 'Jing-Jin-Ji CNC equipment' },
      industry: 'equipment-manufacturing',
      summary: 'Beijing spindles, Hebei housings.',
      regions: ['BJ', 'HE'],
      sites: [
        {
          id: 'bj-etown-cnc',
          name: 'E-Town CNC',
          nameZh: '亦庄数控车间',
          region: 'BJ',
          industry: 'equipment-manufacturing',
          mode: 'digital-workshop',
          city: { zh: '北京', en: 'Beijing' },
        },
        {
          id: 'he-cangzhou-cnc',
          name: 'Cangzhou Housings',
          nameZh: '沧州壳体工厂',
          region: 'HE',
          industry: 'equipment-manufacturing',
          mode: 'smart-factory',
          city: null,
        },
      ],
    });
    // A registered site whose project is not configured: listed, without a name or industry.
    expect(unconfigured).toEqual({
      id: 'binhai-electronics',
      name: null,
      industry: null,
      summary: null,
      regions: ['TJ'],
      sites: [
        {
          id: 'tj-binhai-smt',
          name: 'Binhai SMT',
          nameZh: '滨海贴片',
          region: 'TJ',
          industry: null,
          mode: null,
          city: null,
        },
      ],
    });
    // A configured project without any site yet: listed, not in the network.
    expect(planned).toEqual({
      id: 'jjj-dp-09',
      name: { zh: '规划中的示范', en: 'A planned project' },
      industry: 'electronics',
      summary: null,
      regions: [],
      sites: [],
    });
  });

  it('answers 401 without credentials and 400 on any query parameter', async () => {
    const anonymous = await get('/api/v1/projects');
    expect(anonymous.statusCode).toBe(401);
    const query = await get('/api/v1/projects?site=bj-etown-cnc', viewerToken);
    expect(query.statusCode).toBe(400);
    expect(query.json().error).toMatch(/invalid query: .*site/);
  });
});
