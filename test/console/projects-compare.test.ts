/**
 * The demonstration projects and plant comparison views in headless Chromium against a real
 * collector (real Mosquitto, SQLite file, the console built into dist/console/): three sites of two
 * demonstration projects send role-carrying telemetry of the last hours (the KPI fixture, whose
 * figures were computed by hand), the collector's rollup job rolls them up, and the pages show the
 * network's progress against Column 5's targets, each project's sites and KPIs, and comparisons for
 * three sites and for a project (bars, trend, table, the KPI's definition, CSV export), in English
 * and Chinese; no console errors, no serious axe-core violations. Screenshots go to screenshots/.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Region, topicFor } from '../../gateway/schema/index.js';
import { status } from '../cloud/fixtures.js';
import { type FixtureSite, gatewayOf, kpiBatches, kpiMetadata, T0 } from '../cloud/kpi-fixture.js';
import {
  openPage,
  screenshot,
  seriousAccessibilityViolations,
  type WatchedPage,
} from '../helpers/browser.js';
import { waitUntil } from '../helpers/wait.js';
import { type ConsoleCollector, startConsoleCollector } from './console-collector.js';

const HOUR = 3_600_000;
/** The fixture `hoursAgo` before now, shifted by whole minutes so its hand-computed windows hold. */
const shiftTo = (hoursAgo: number) => Math.floor((Date.now() - hoursAgo * HOUR - T0) / 60_000) * 60_000;

interface TestSite extends FixtureSite {
  region: Region;
  en: string;
  zh: string;
  /** Which of the fixture's four batches it sends (all: the hand-computed figures). */
  batches: number[];
}

const CNC_PROJECT = 'jjj-dp-01';
const SMT_PROJECT = 'jjj-dp-03';
const SITES: TestSite[] = [
  {
    site: 'bj-etown-cnc',
    region: 'BJ',
    project: CNC_PROJECT,
    shiftMs: shiftTo(3),
    en: 'E-Town CNC Workshop',
    zh: '亦庄数控车间',
    batches: [0, 1, 2, 3],
  },
  {
    site: 'he-cangzhou-cnc',
    region: 'HE',
    project: CNC_PROJECT,
    shiftMs: shiftTo(2),
    en: 'Cangzhou Housing Plant',
    zh: '沧州壳体工厂',
    batches: [0, 1, 2, 3],
  },
  {
    site: 'tj-binhai-smt',
    region: 'TJ',
    project: SMT_PROJECT,
    shiftMs: shiftTo(1),
    en: 'Binhai SMT Factory',
    zh: '滨海贴片工厂',
    batches: [0, 1, 2],
  },
];
const [etown, cangzhou, binhai] = SITES as [TestSite, TestSite, TestSite];
/** The order the collector lists sites in (by region: Beijing, Tianjin, Hebei). */
const BY_REGION = [etown.site, binhai.site, cangzhou.site];

/**
 * The whole fixture's figures (kpi-fixture.ts `expected`) as the page writes them, with one
 * difference: on a running collector the fixture's last minute is closed by time, so its last state
 * (producing) lasts to the end of that minute (90 s producing in all, not 80 s): availability
 * 90 / 105, OEE 6 s × 7 / 105 s.
 */
const FIXTURE_EN = {
  oee: '40.0 %',
  availability: '85.7 %',
  output: '7 pcs',
  energy_per_unit: '1.5 kWh/pc',
  water_per_unit: '0.1 m³/pc',
  completeness: '80.0 %',
};
const FIXTURE_OEE = (6 * 7) / 105;

const NETWORK = [
  'network:',
  '  projects:',
  `    ${CNC_PROJECT}:`,
  '      name: { zh: 京津冀数控装备联网制造示范, en: Jing-Jin-Ji networked CNC equipment }',
  '      industry: equipment-manufacturing',
  '      summary: Beijing machines spindle parts and Hebei the housings they fit.',
  '    jjj-dp-02: { name: { zh: 京津冀汽车协同制造示范, en: Jing-Jin-Ji automotive supply chain }, industry: automotive }',
  `    ${SMT_PROJECT}: { name: { zh: 京津冀电子信息协同制造示范, en: Jing-Jin-Ji electronics }, industry: electronics }`,
  '  sites:',
  `    ${etown.site}: { industry: equipment-manufacturing, mode: digital-workshop, city: { zh: 北京亦庄, en: Beijing E-Town } }`,
  `    ${cangzhou.site}: { industry: equipment-manufacturing, mode: smart-factory, city: { zh: 沧州, en: Cangzhou } }`,
  `    ${binhai.site}: { industry: electronics, mode: smart-factory }`,
];

describe('the projects and comparison views in a real browser', () => {
  let cloud: ConsoleCollector;
  let watched: WatchedPage;
  let page: Page;

  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${cloud.url}${path}`);
    expect(response.status, path).toBe(200);
    return (await response.json()) as T;
  };
  const percent = (value: number) => `${(value * 100).toFixed(1)} %`;
  /** Console errors but the 400 the error-state check asks for on purpose. */
  const unexpectedErrors = () =>
    watched.errors.filter((error) => !/status of 400 \(Bad Request\)/.test(error));
  const cell = (site: string, kpi: string) => page.locator(`tr[data-site="${site}"] td[data-kpi="${kpi}"]`);
  const switchLanguage = async (heading: string) => {
    await page.locator('[data-action="switch-language"]').click();
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  };

  beforeAll(async () => {
    cloud = await startConsoleCollector({
      config: [
        'auth: { anonymous: viewer }',
        // The fixture's samples are hours old: online, not stale, for this test.
        'api: { staleAfterMs: 86400000 }',
        'kpi: { rollups: { intervalMs: 1000 } }',
        ...NETWORK,
      ],
    });
    for (const site of SITES) {
      const topic = (kind: 'metadata' | 'status' | 'telemetry') =>
        topicFor({ region: site.region, site: site.site, gateway: gatewayOf(site.site), kind });
      const meta = { ...kpiMetadata(site), siteName: { en: site.en, zh: site.zh } };
      await cloud.publisher.publishAsync(topic('metadata'), JSON.stringify(meta), { qos: 1, retain: true });
      await cloud.publisher.publishAsync(
        topic('status'),
        JSON.stringify(
          status({
            region: site.region,
            project: site.project,
            site: site.site,
            gateway: { id: gatewayOf(site.site), boot: 1 },
            ts: Date.now(),
          }),
        ),
        { qos: 1, retain: true },
      );
      const batches = kpiBatches(site);
      for (const index of site.batches)
        await cloud.publisher.publishAsync(topic('telemetry'), JSON.stringify(batches[index]), { qos: 1 });
    }
    // The rollup job (every second here) has rolled every site's data up.
    await waitUntil(
      'the KPIs of every site',
      async () => {
        const response = await fetch(`${cloud.url}/api/v1/compare?kpi=oee,output`);
        if (response.status !== 200) return false;
        const answer = (await response.json()) as {
          entities: { id: string; values: Record<string, number | null> }[];
        };
        // Every batch rolled up: the whole fixture's output, and the OEE of its closed minutes.
        const of = (site: TestSite) => answer.entities.find((entity) => entity.id === site.site)?.values;
        return (
          answer.entities.length === SITES.length &&
          [etown, cangzhou].every(
            (site) => of(site)?.output === 7 && Math.abs((of(site)?.oee ?? 0) - FIXTURE_OEE) < 1e-9,
          ) &&
          typeof of(binhai)?.oee === 'number'
        );
      },
      30_000,
    );
    watched = await openPage(cloud.browser, { locale: 'en-US' });
    page = watched.page;
  }, 90_000);

  afterAll(() => cloud?.close());

  it("shows the network's progress against Column 5 and each project's sites with their KPIs", async () => {
    await page.goto(`${cloud.url}/#/projects`);
    await page.getByRole('heading', { level: 1, name: 'Demonstration projects' }).waitFor();
    const summary = page.locator('.progress-summary');
    await summary.waitFor();
    expect(await summary.textContent()).toBe(
      '2 demonstration projects in the network — target 10 by 2020, 20 by 2025',
    );
    expect(await page.locator('li[data-target-year="2020"] .target-text').textContent()).toBe(
      'Target 2020: 2 of 10 (20 %)',
    );
    expect(await page.locator('li[data-target-year="2025"] .target-text').textContent()).toBe(
      'Target 2025: 2 of 20 (10 %)',
    );
    const bar2020 = page.locator('li[data-target-year="2020"] progress');
    expect([await bar2020.getAttribute('value'), await bar2020.getAttribute('max')]).toEqual(['2', '10']);

    // Projects by id: the configured one without a site is listed, not in the network.
    expect(
      await page
        .locator('section[data-project]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-project'))),
    ).toEqual([CNC_PROJECT, 'jjj-dp-02', SMT_PROJECT]);
    const cnc = page.locator(`section[data-project="${CNC_PROJECT}"]`);
    expect(await cnc.getByRole('heading', { level: 2 }).textContent()).toBe(
      'Jing-Jin-Ji networked CNC equipment',
    );
    expect(await cnc.locator('[data-fact="industry"]').textContent()).toBe('Equipment manufacturing');
    expect(await cnc.locator('[data-fact="regions"]').textContent()).toBe('Beijing, Hebei');
    expect(await cnc.locator('[data-fact="sites"]').textContent()).toBe('2 sites');
    expect(
      await cnc.locator('tr[data-site]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-site'))),
    ).toEqual([etown.site, cangzhou.site]);
    const etownRow = page.locator(`tr[data-site="${etown.site}"]`);
    expect(await etownRow.locator('a.site-title').textContent()).toBe(etown.en);
    expect(await etownRow.locator('a.site-title').getAttribute('href')).toBe(`#/sites/${etown.site}`);
    expect(await etownRow.locator('td.site-kind').textContent()).toBe(
      'Equipment manufacturing · Digital workshop',
    );
    expect(await etownRow.locator('td[data-region]').textContent()).toBe('BeijingBeijing E-Town');
    expect(await page.locator(`tr[data-site="${cangzhou.site}"] td.site-kind`).textContent()).toBe(
      'Equipment manufacturing · Smart factory',
    );
    await page.locator(`tr[data-site="${etown.site}"] [data-site-state="online"]`).waitFor();
    expect(await page.locator('[data-no-sites]').count()).toBe(1);
    expect(await page.locator('section[data-project="jjj-dp-02"] [data-no-sites]').count()).toBe(1);

    // KPIs side by side: the hand-computed figures for the whole fixture, the API's for the third site.
    await waitUntil('the KPIs', async () => (await cell(etown.site, 'oee').textContent()) !== '…', 10_000);
    for (const site of [etown, cangzhou])
      for (const [kpi, text] of Object.entries(FIXTURE_EN))
        expect(await cell(site.site, kpi).textContent(), `${site.site} ${kpi}`).toBe(text);
    const headers = await cnc.locator('thead th').allTextContents();
    expect(headers).toEqual([
      'Site',
      'Region',
      'Industry and mode',
      'Live state',
      'OEE',
      'Availability',
      'Output',
      'Energy per unit',
      'Water per unit',
      'Data completeness',
    ]);
    const compared = await api<{ entities: { id: string; values: Record<string, number> }[] }>(
      `/api/v1/compare?sites=${binhai.site}&kpi=oee,output,completeness`,
    );
    const values = compared.entities[0]?.values ?? {};
    expect(await cell(binhai.site, 'oee').textContent()).toBe(percent(values.oee as number));
    expect(await cell(binhai.site, 'output').textContent()).toBe(`${values.output} pcs`);
    expect(await cell(binhai.site, 'completeness').textContent()).toBe('100.0 %');
    expect(await cnc.locator('a[data-action="compare-project"]').getAttribute('href')).toBe(
      `#/compare?projects=${CNC_PROJECT}`,
    );
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'projects-en');
    expect(unexpectedErrors()).toEqual([]);
  });

  it('switches the projects view to Chinese: labels, project and site names', async () => {
    await switchLanguage('示范项目');
    expect(await page.locator('.progress-summary').textContent()).toBe(
      '网络中已有 2 个示范项目 — 目标：2020 年 10 个，2025 年 20 个',
    );
    const cnc = page.locator(`section[data-project="${CNC_PROJECT}"]`);
    expect(await cnc.getByRole('heading', { level: 2 }).textContent()).toBe('京津冀数控装备联网制造示范');
    expect(await cnc.locator('[data-fact="regions"]').textContent()).toBe('北京、河北');
    expect(await page.locator(`tr[data-site="${etown.site}"] a.site-title`).textContent()).toBe(etown.zh);
    expect(await page.locator(`tr[data-site="${etown.site}"] td.site-kind`).textContent()).toBe(
      '装备制造 · 数字化车间',
    );
    expect(await page.locator(`tr[data-site="${etown.site}"] [data-site-state]`).textContent()).toBe('在线');
    expect(await cnc.locator('thead th[data-kpi="oee"]').textContent()).toBe('设备综合效率');
    expect(await cell(etown.site, 'output').textContent()).toBe('7 件');
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'projects-zh');
    await switchLanguage('Demonstration projects');
    expect(unexpectedErrors()).toEqual([]);
  });

  it('compares three sites: bars, trend, table, the definition, CSV; the state is the URL', async () => {
    // The navigation's link opens the defaults: OEE of every site over the last 24 h, written into the URL.
    await page.locator('nav a[data-view="compare"]').click();
    await page.getByRole('heading', { level: 1, name: 'Plant comparison' }).waitFor();
    await page.locator('.compare-table').waitFor();
    expect(new URL(page.url()).hash).toBe('#/compare?kpi=oee&by=site&period=24h');
    expect(await page.locator('.compare-table tbody tr').count()).toBe(3);

    // Choose two sites of the three, then the third again, and another KPI, from the keyboard and mouse.
    await page.getByRole('checkbox', { name: binhai.en }).uncheck();
    await waitUntil('two sites', async () => (await page.locator('.compare-table tbody tr').count()) === 2);
    expect(new URL(page.url()).hash).toBe(
      `#/compare?kpi=oee&by=site&sites=${etown.site}%2C${cangzhou.site}&period=24h`,
    );
    await page.getByRole('checkbox', { name: binhai.en }).check();
    await page.getByLabel('KPI', { exact: true }).selectOption('output');
    await waitUntil(
      'output',
      async () => (await page.locator(`tr[data-entity="${etown.site}"] td.num`).textContent()) === '7 pcs',
    );
    expect(new URL(page.url()).searchParams.size).toBe(0);
    const hash = new URLSearchParams(new URL(page.url()).hash.split('?')[1]);
    expect(hash.get('kpi')).toBe('output');
    // Every site chosen again is "all sites": no list in the URL.
    expect(hash.get('sites')).toBeNull();
    expect(await page.locator('.compare-table tbody tr').count()).toBe(3);

    // A shared link to OEE of three sites opens as it was, and survives a reload.
    const link = `${cloud.url}/#/compare?kpi=oee&sites=${BY_REGION.join(',')}&period=24h`;
    await page.goto(link);
    await page.reload();
    await page.locator('.compare-table').waitFor();
    expect(await page.getByLabel('KPI', { exact: true }).inputValue()).toBe('oee');
    const rows = page.locator('.compare-table tbody tr');
    expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-entity')))).toEqual(BY_REGION);
    expect(await page.locator(`tr[data-entity="${etown.site}"] td.num`).textContent()).toBe('40.0 %');
    expect(await page.locator(`tr[data-entity="${cangzhou.site}"] td.num`).textContent()).toBe('40.0 %');
    expect(await page.locator(`tr[data-entity="${etown.site}"] .site-title`).textContent()).toBe(etown.en);
    // Both charts are drawn (ECharts on a canvas), with a text description for screen readers.
    for (const chart of ['bars', 'trend']) await page.locator(`[data-chart="${chart}"] canvas`).waitFor();
    expect(await page.locator('[data-chart="bars"]').getAttribute('aria-label')).toContain(
      `${etown.en} 40.0 %`,
    );
    // The KPI's definition, from GET /api/v1/kpis.
    const definition = page.locator('.kpi-definition');
    expect(await definition.locator('h2').textContent()).toBe('Definition: OEE');
    expect(await definition.textContent()).toContain('availability × effectiveness × quality_ratio');
    expect(await definition.textContent()).toContain('ISO 22400-2:2014');
    // The trend as a table too.
    await page.locator('.trend-table summary').click();
    expect(await page.locator('.trend-table tbody tr').count()).toBeGreaterThanOrEqual(24);

    const csvLink = page.locator('a[data-action="export-csv"]');
    expect(await csvLink.getAttribute('download')).toBe('jjj-compare-oee.csv');
    const href = (await csvLink.getAttribute('href')) as string;
    expect(href).toMatch(/^\/api\/v1\/compare\?.*format=csv/);
    const csv = await fetch(`${cloud.url}${href}`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const records = (await csv.text()).trim().split('\r\n');
    expect(records[0]).toBe('row,id,level,region,project,site,line,equipment,name,start,end,oee');
    const totals = records.filter((record) => record.startsWith('total,'));
    expect(totals.map((record) => record.split(',')[1])).toEqual(BY_REGION);
    expect(Number(totals[0]?.split(',').at(-1))).toBeCloseTo(FIXTURE_OEE, 12);
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'compare-sites');
    expect(unexpectedErrors()).toEqual([]);
  });

  it('compares a whole project from its "compare this project" link, and its sites on demand', async () => {
    await page.goto(`${cloud.url}/#/projects`);
    await page.locator(`section[data-project="${CNC_PROJECT}"] a[data-action="compare-project"]`).click();
    await page.locator('.compare-results[data-level="project"]').waitFor();
    expect(new URL(page.url()).hash).toBe(`#/compare?projects=${CNC_PROJECT}`);
    const rows = page.locator('.compare-table tbody tr');
    expect(await rows.count()).toBe(1);
    const project = page.locator(`tr[data-entity="${CNC_PROJECT}"]`);
    expect(await project.locator('.site-title').textContent()).toBe('Jing-Jin-Ji networked CNC equipment');
    expect(await project.locator('td').first().textContent()).toBe('Beijing, Hebei');
    // The same fixture twice: the same OEE, twice the output.
    expect(await project.locator('td.num').textContent()).toBe('40.0 %');
    await page.getByLabel('KPI', { exact: true }).selectOption('output');
    await waitUntil('the output', async () => (await project.locator('td.num').textContent()) === '14 pcs');
    for (const chart of ['bars', 'trend']) await page.locator(`[data-chart="${chart}"] canvas`).waitFor();
    const csv = await fetch(
      `${cloud.url}${await page.locator('a[data-action="export-csv"]').getAttribute('href')}`,
    );
    const total = (await csv.text()).split('\r\n').find((record) => record.startsWith('total,'));
    expect(total?.split(',').slice(1, 3)).toEqual([CNC_PROJECT, 'project']);
    expect(total?.split(',').at(-1)).toBe('14');
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'compare-project');

    await page.locator('input[data-action="split"]').check();
    await page.locator('.compare-results[data-level="site"]').waitFor();
    expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-entity')))).toEqual([
      etown.site,
      cangzhou.site,
    ]);
    expect(await page.locator(`tr[data-entity="${etown.site}"] td.num`).textContent()).toBe('7 pcs');
    expect(unexpectedErrors()).toEqual([]);
  });

  it('switches the comparison to Chinese: labels, KPI names and site names', async () => {
    await page.goto(`${cloud.url}/#/compare?kpi=oee&sites=${etown.site},${binhai.site}`);
    await page.locator('.compare-table').waitFor();
    await switchLanguage('工厂对比');
    expect(await page.locator('label[for="compare-kpi"]').textContent()).toBe('指标');
    expect(await page.locator('#compare-kpi option:checked').textContent()).toBe('设备综合效率');
    expect(await page.locator(`tr[data-entity="${etown.site}"] .site-title`).textContent()).toBe(etown.zh);
    expect(await page.locator(`tr[data-entity="${binhai.site}"] .site-title`).textContent()).toBe(binhai.zh);
    expect(await page.locator('.choice-group[data-region="BJ"] legend').textContent()).toBe('北京');
    expect(await page.locator('.kpi-definition h2').textContent()).toBe('指标定义: 设备综合效率');
    expect(await page.locator('.kpi-definition p').textContent()).toContain('可用率 × 性能效率 × 质量合格率');
    expect(await page.locator('a[data-action="export-csv"]').textContent()).toBe('导出 CSV');
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await switchLanguage('Plant comparison');
    expect(unexpectedErrors()).toEqual([]);
  });

  it("says when there are no KPI values yet, and shows the API's refusal", async () => {
    await page.goto(`${cloud.url}/#/compare?kpi=oee&period=custom&from=2020-01-01&to=2020-01-02`);
    await page.locator('[data-state="empty"]').waitFor();
    expect(await page.locator('[data-state="empty"]').textContent()).toContain(
      'they appear after the first minutes of data',
    );
    expect(await page.getByLabel('From').inputValue()).toBe('2020-01-01');

    await page.goto(`${cloud.url}/#/compare?kpi=nonsense`);
    await page.locator('[data-state="error"]').waitFor();
    expect(await page.locator('[data-state="error"]').textContent()).toContain('unknown KPI "nonsense"');
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    expect(watched.errors.filter((error) => /status of 400/.test(error)).length).toBeGreaterThan(0);
    expect(unexpectedErrors()).toEqual([]);
  });
});
