/**
 * The data-health view and the overview's health columns in headless Chromium against a real
 * collector (real Mosquitto, SQLite file, HTTP over loopback): a gateway whose batches skip sequence
 * numbers, a malformed and an invalid message (dead letters), points of bad and uncertain quality →
 * the health view lists the gateway's gap with its range, the dead letters with their reasons (and
 * filters by reason), the sites worst first; the overview shows the bad count and a completeness
 * under 100 %; refreshed every 10 s and by the button; English and Chinese; no console errors, no
 * serious axe-core violations. Screenshots: health-en, health-zh, overview-health.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Quality, type Region, topicFor } from '../../gateway/schema/index.js';
import { metadata, status, telemetry } from '../cloud/fixtures.js';
import {
  openPage,
  screenshot,
  seriousAccessibilityViolations,
  type WatchedPage,
} from '../helpers/browser.js';
import { waitUntil } from '../helpers/wait.js';
import { type ConsoleCollector, startConsoleCollector, unexpectedErrors } from './console-collector.js';

interface TestSite {
  region: Region;
  site: string;
  gateway: string;
  project: string;
  en: string;
  zh: string;
}

/** Batches 0, 1, 2 and 6 (3–5 never sent), points of each quality. */
const GAPPY: TestSite = {
  region: 'BJ',
  site: 'bj-etown-cnc',
  gateway: 'gw-bj-etown-cnc',
  project: 'etown-smart-factory',
  en: 'E-Town CNC Workshop',
  zh: '亦庄数控车间',
};
/** Batches 0 and 1, all good. */
const WHOLE: TestSite = {
  region: 'TJ',
  site: 'tj-binhai-smt',
  gateway: 'gw-tj-binhai-smt',
  project: 'binhai-electronics',
  en: 'Binhai SMT Line',
  zh: '滨海贴片产线',
};

describe('the data-health view and the overview health figures in a real browser', () => {
  let cloud: ConsoleCollector;
  let watched: WatchedPage;
  let page: Page;

  const topic = (site: TestSite, kind: 'metadata' | 'status' | 'telemetry') =>
    topicFor({ region: site.region, site: site.site, gateway: site.gateway, kind });
  const publish = (site: TestSite, kind: 'metadata' | 'status' | 'telemetry', message: unknown) =>
    cloud.publisher.publishAsync(topic(site, kind), JSON.stringify(message), {
      qos: 1,
      retain: kind !== 'telemetry',
    });
  const ref = (site: TestSite) => ({ region: site.region, project: site.project, site: site.site });
  /** Batch `seq` of the site sent now, its points p-0… of the given qualities. */
  const sendBatch = (site: TestSite, seq: number, qualities: Quality[]) => {
    const now = Date.now();
    return publish(
      site,
      'telemetry',
      telemetry({
        ...ref(site),
        gateway: { id: site.gateway, boot: 1, seq },
        sentTs: now,
        points: qualities.map((quality, i) => ({
          line: 'line-1',
          equipment: 'press-01',
          point: `p-${i}`,
          value: seq * 10 + i,
          ts: now,
          quality,
        })),
      }),
    );
  };
  const api = async <T>(path: string): Promise<T> =>
    (await (await fetch(`${cloud.url}${path}`, { headers: { cookie } })).json()) as T;
  let cookie = '';

  beforeAll(async () => {
    cloud = await startConsoleCollector({
      users: { vera: 'viewer' },
      config: ['api: { staleAfterMs: 600000 }'],
    });
    const now = Date.now();
    for (const site of [GAPPY, WHOLE]) {
      const gateway = { id: site.gateway, boot: 1 };
      await publish(site, 'metadata', metadata({ ...ref(site), gateway, ts: now, siteName: site }));
      await publish(site, 'status', status({ ...ref(site), gateway, ts: now }));
    }
    for (const seq of [0, 1, 2]) await sendBatch(GAPPY, seq, ['good', 'good', 'good']);
    await sendBatch(GAPPY, 6, ['good', 'bad', 'uncertain']);
    for (const seq of [0, 1]) await sendBatch(WHOLE, seq, ['good', 'good', 'good']);
    // Two messages the collector cannot take: not JSON, and JSON that is no telemetry batch.
    await cloud.publisher.publishAsync(topic(GAPPY, 'telemetry'), '{"schema": "jjj.telemetry/1", oops', {
      qos: 1,
    });
    await cloud.publisher.publishAsync(
      topic(WHOLE, 'telemetry'),
      JSON.stringify({ schema: 'jjj.telemetry/1', site: WHOLE.site }),
      { qos: 1 },
    );

    cookie = (await cloud.login('vera')).cookie;
    await waitUntil('the collector to hold every batch and both dead letters', async () => {
      const gateways = await api<Array<{ id: string; batches: number }>>('/api/v1/gateways');
      const dead = await api<unknown[]>('/api/v1/dead-letters');
      return (
        gateways.find((g) => g.id === GAPPY.gateway)?.batches === 4 &&
        gateways.find((g) => g.id === WHOLE.gateway)?.batches === 2 &&
        dead.length === 2
      );
    });

    watched = await openPage(cloud.browser, { locale: 'en-US' });
    page = watched.page;
    await cloud.signIn(page, 'vera', '/#/health');
  }, 60_000);

  afterAll(() => cloud?.close());

  it('lists the gateways worst first, the gap with its range, the dead letters with their reasons, the sites worst first', async () => {
    await page.getByRole('heading', { name: 'Data health', level: 1 }).waitFor();
    await page.locator('.health[data-loaded="true"]').waitFor();

    // Gateways: the one missing batches first, with its counts.
    const gateways = page.locator('[data-block="gateways"] tbody tr');
    expect(await gateways.count()).toBe(2);
    expect(await gateways.nth(0).getAttribute('data-gateway')).toBe(GAPPY.gateway);
    const gappy = page.locator(`tr[data-gateway="${GAPPY.gateway}"]`);
    expect(await gappy.locator('[data-field="batches"]').textContent()).toBe('4');
    expect(await gappy.locator('[data-field="missing"]').textContent()).toBe('3');
    expect(await gappy.locator('[data-field="state"]').textContent()).toBe('Online');
    expect(
      await page.locator(`tr[data-gateway="${WHOLE.gateway}"] [data-field="missing"]`).textContent(),
    ).toBe('0');

    // Gaps: seq 3–5 of boot 1, three batches; the complete gateway has none.
    const gaps = page.locator(`[data-gaps-of="${GAPPY.gateway}"]`);
    expect(await gaps.locator('h3').textContent()).toBe(`${GAPPY.gateway} (${GAPPY.en}): 3 batches missing`);
    expect(await gaps.locator('tbody tr').count()).toBe(1);
    expect(await gaps.locator('[data-gap="1:3-5"] [data-field="range"]').textContent()).toBe('3 – 5');
    expect(await gaps.locator('[data-gap="1:3-5"] [data-field="count"]').textContent()).toBe('3');
    expect(await page.locator(`[data-gaps-of="${WHOLE.gateway}"]`).count()).toBe(0);

    // Dead letters, newest first, with their reasons and payloads.
    const letters = page.locator('[data-block="dead-letters"] tbody tr');
    expect(await letters.count()).toBe(2);
    expect(await letters.locator('[data-field="reason"]').allTextContents()).toEqual([
      'invalid-message',
      'bad-json',
    ]);
    expect(await letters.nth(1).locator('code').textContent()).toBe('{"schema": "jjj.telemetry/1", oops');
    expect(await letters.nth(1).locator('.payload-size').textContent()).toBe('34 bytes');

    // Sites from the live feed, worst first: 4 of 7 batches (57.1 %), one bad and one uncertain point.
    await page.locator('[data-block="sites"] tbody tr').first().waitFor();
    const sites = page.locator('[data-block="sites"] tbody tr');
    expect(await sites.nth(0).getAttribute('data-site')).toBe(GAPPY.site);
    expect(await sites.nth(0).locator('[data-field="completeness"]').textContent()).toBe('57.1%');
    expect(await sites.nth(0).locator('[data-field="bad"]').textContent()).toBe('1');
    expect(await sites.nth(0).locator('[data-field="uncertain"]').textContent()).toBe('1');
    expect(await sites.nth(1).locator('[data-field="completeness"]').textContent()).toBe('100.0%');

    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'health-en');
  });

  it('filters the dead letters by reason, and says when none has that reason', async () => {
    const select = page.getByLabel('Reason');
    await select.selectOption('bad-json');
    await waitUntil(
      'only the bad-json letter',
      async () => (await page.locator('[data-block="dead-letters"] tbody tr').count()) === 1,
    );
    expect(await page.locator('[data-block="dead-letters"] tbody [data-field="reason"]').textContent()).toBe(
      'bad-json',
    );
    await select.selectOption('oversized');
    await page.locator('[data-empty="dead-letters"]').waitFor();
    expect(await page.locator('[data-empty="dead-letters"]').textContent()).toBe(
      'No dead letters for the reason oversized.',
    );
    await select.selectOption('');
    await waitUntil(
      'both letters again',
      async () => (await page.locator('[data-block="dead-letters"] tbody tr').count()) === 2,
    );
  });

  it('refreshes on the button and by itself every 10 s', async () => {
    await cloud.publisher.publishAsync(topic(WHOLE, 'telemetry'), 'not json at all', { qos: 1 });
    await waitUntil(
      'the third dead letter stored',
      async () => (await api<unknown[]>('/api/v1/dead-letters')).length === 3,
    );
    await page.locator('[data-action="refresh"]').click();
    await waitUntil(
      'three letters after the refresh',
      async () => (await page.locator('[data-block="dead-letters"] tbody tr').count()) === 3,
      5000,
    );

    // A second gap (7–9) arrives: the view shows it within one refresh period, untouched.
    await sendBatch(GAPPY, 10, ['good', 'bad', 'bad']);
    await waitUntil(
      'the new gap on screen',
      async () => (await page.locator(`[data-gaps-of="${GAPPY.gateway}"] [data-gap="1:7-9"]`).count()) === 1,
      12_000,
    );
    expect(
      await page.locator(`tr[data-gateway="${GAPPY.gateway}"] [data-field="missing"]`).textContent(),
    ).toBe('6');
    expect(unexpectedErrors(watched.errors)).toEqual([]);
  }, 30_000);

  it('shows the bad count and a completeness under 100 % on the overview, live', async () => {
    await page.locator('[data-view="overview"]').click();
    await page.locator('.overview[data-ready="true"]').waitFor();
    const row = page.locator(`tr[data-site="${GAPPY.site}"]`);
    // Two bad points now (batch 10), 5 of 11 batches; the completeness is read again within 10 s.
    await waitUntil(
      'the overview with the new figures',
      async () =>
        (await row.locator('[data-field="quality"]').textContent()) === '2 bad' &&
        (await row.locator('[data-field="completeness"]').textContent()) === '45.4%',
      15_000,
    );
    expect(
      Number(await row.locator('[data-field="completeness"]').getAttribute('data-completeness')),
    ).toBeLessThan(1);
    expect(await page.locator(`tr[data-site="${WHOLE.site}"] [data-field="quality"]`).textContent()).toBe(
      'none',
    );
    expect(
      await page.locator(`tr[data-site="${WHOLE.site}"] [data-field="completeness"]`).textContent(),
    ).toBe('100.0%');
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'overview-health');
  }, 30_000);

  it('reads in Chinese: labels, site names, states', async () => {
    await page.locator('[data-action="switch-language"]').click();
    await page.locator('[data-view="health"]').click();
    await page.getByRole('heading', { name: '数据健康', level: 1 }).waitFor();
    await page.locator('.health[data-loaded="true"]').waitFor();
    expect(await page.locator('[data-block="gateways"] h2').textContent()).toBe('网关');
    expect(await page.locator('[data-block="gaps"] h2').textContent()).toBe('序号缺口');
    expect(await page.locator('[data-block="dead-letters"] h2').textContent()).toBe('死信');
    expect(await page.locator(`[data-gaps-of="${GAPPY.gateway}"] h3`).textContent()).toBe(
      `${GAPPY.gateway}（${GAPPY.zh}）：缺失 6 个批次`,
    );
    expect(await page.locator(`[data-block="sites"] tr[data-site="${GAPPY.site}"] th a`).textContent()).toBe(
      GAPPY.zh,
    );
    expect(await page.locator(`tr[data-gateway="${GAPPY.gateway}"] [data-field="state"]`).textContent()).toBe(
      '在线',
    );
    expect(await page.locator('[data-action="refresh"]').textContent()).toBe('刷新');
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'health-zh');
    expect(unexpectedErrors(watched.errors)).toEqual([]);
  });
});

describe('the data-health view with nothing to report', () => {
  let cloud: ConsoleCollector;

  beforeAll(async () => {
    cloud = await startConsoleCollector({ config: ['auth: { anonymous: viewer }'] });
  }, 60_000);

  afterAll(() => cloud?.close());

  it('says there are no gateways, no gaps and no dead letters', async () => {
    const watched = await openPage(cloud.browser, { locale: 'en-US' });
    const { page } = watched;
    await page.goto(`${cloud.url}/#/health`);
    await page.locator('.health[data-loaded="true"]').waitFor();
    expect(await page.locator('[data-block="gateways"] .health-empty').textContent()).toBe(
      'No gateway has reported yet.',
    );
    expect(await page.locator('[data-empty="gaps"]').textContent()).toBe(
      'No gaps: every numbered batch arrived.',
    );
    expect(await page.locator('[data-empty="dead-letters"]').textContent()).toBe('No dead letters.');
    await page.locator('[data-block="sites"] .health-empty').filter({ hasText: 'No sites yet.' }).waitFor();
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    expect(watched.errors).toEqual([]);
  });
});
