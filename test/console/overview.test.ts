/**
 * The web console in headless Chromium against a real collector (real Mosquitto, SQLite file, HTTP
 * over loopback, the console built into dist/console/ and served at /): sign in, the regional
 * overview lists every site with its state, bad-quality points and completeness, each name a link
 * to the site's drill-down, a site taken offline turns offline live, the language
 * switch changes labels and site names (and is kept over a reload), a stopped collector shows
 * "reconnecting"; no console errors, no serious or critical axe-core violations. Screenshots of
 * each view go to screenshots/ (not committed).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Region, topicFor } from '../../gateway/schema/index.js';
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
  /** How old its newest sample is: older than api.staleAfterMs makes it stale. */
  dataAgeMs: number;
}

const SITES: TestSite[] = [
  {
    region: 'BJ',
    site: 'bj-etown-cnc',
    gateway: 'gw-bj-etown-cnc',
    project: 'etown-smart-factory',
    en: 'E-Town CNC Workshop',
    zh: '亦庄数控车间',
    dataAgeMs: 0,
  },
  {
    region: 'TJ',
    site: 'tj-binhai-smt',
    gateway: 'gw-tj-binhai-smt',
    project: 'binhai-electronics',
    en: 'Binhai SMT Line',
    zh: '滨海贴片产线',
    dataAgeMs: 0,
  },
  {
    region: 'HE',
    site: 'he-baoding-body',
    gateway: 'gw-he-baoding-body',
    project: 'baoding-auto',
    en: 'Baoding Body Shop',
    zh: '保定车身车间',
    dataAgeMs: 2 * 3600_000,
  },
];

describe('the web console in a real browser: sign-in and the live regional overview', () => {
  let cloud: ConsoleCollector;
  let watched: WatchedPage;
  let page: Page;
  /** A session of its own for the test's API calls. */
  let cookie = '';

  const publish = (site: TestSite, kind: 'metadata' | 'status' | 'telemetry', message: unknown) =>
    cloud.publisher.publishAsync(
      topicFor({ region: site.region, site: site.site, gateway: site.gateway, kind }),
      JSON.stringify(message),
      { qos: 1, retain: kind !== 'telemetry' },
    );
  const ref = (site: TestSite) => ({
    region: site.region,
    project: site.project,
    site: site.site,
  });
  const row = (site: TestSite) => page.locator(`tr[data-site="${site.site}"]`);
  const stateOf = (site: TestSite) => row(site).locator('[data-site-state]').getAttribute('data-site-state');

  beforeAll(async () => {
    cloud = await startConsoleCollector({
      users: { vera: 'viewer' },
      config: ['api: { staleAfterMs: 600000 }'],
    });
    const now = Date.now();
    for (const site of SITES) {
      const gateway = { id: site.gateway, boot: 1 };
      await publish(site, 'metadata', metadata({ ...ref(site), gateway, ts: now, siteName: site }));
      await publish(site, 'status', status({ ...ref(site), gateway, ts: now }));
      const ts = now - site.dataAgeMs;
      await publish(
        site,
        'telemetry',
        telemetry({
          ...ref(site),
          gateway: { ...gateway, seq: 0 },
          sentTs: now,
          points: telemetry().points.map((point) => ({ ...point, ts })),
        }),
      );
    }
    cookie = (await cloud.login('vera')).cookie;
    watched = await openPage(cloud.browser, { locale: 'en-US' });
    page = watched.page;
  }, 60_000);

  afterAll(() => cloud?.close());

  it('asks for a sign-in, refuses a wrong password, then shows every site by region with its state', async () => {
    await page.goto(`${cloud.url}/`);
    await page.getByLabel('User name').waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, '01-sign-in');

    await page.getByLabel('User name').fill('vera');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong user name or password.' }).waitFor();

    await page.getByLabel('Password').fill(cloud.password('vera'));
    await page.keyboard.press('Enter'); // the form submits from the keyboard
    await page.getByRole('heading', { name: 'Regional overview' }).waitFor();
    await page.locator('[data-feed="live"]').waitFor();
    await waitUntil(
      'every site listed',
      async () => (await page.locator('tr[data-site]').count()) === SITES.length,
      10_000,
    );
    expect(await page.getByText('Signed in as vera (viewer)').count()).toBe(1);
    for (const [region, name] of [
      ['BJ', 'Beijing'],
      ['TJ', 'Tianjin'],
      ['HE', 'Hebei'],
    ] as const) {
      const section = page.locator(`section[data-region="${region}"]`);
      expect(await section.getByRole('heading', { level: 2 }).textContent()).toBe(name);
    }
    for (const site of SITES) {
      const cells = row(site);
      expect(
        await page.locator(`section[data-region="${site.region}"] tr[data-site="${site.site}"]`).count(),
      ).toBe(1);
      expect(await cells.locator('.site-title').textContent()).toBe(site.en);
      // The name opens the site's drill-down.
      expect(await cells.locator('a.site-title').getAttribute('href')).toBe(`#/sites/${site.site}`);
      expect(await cells.locator('td[data-field="points"]').textContent()).toBe('5');
      // The fixture's power meter answers bad quality; one numbered batch, all of it received.
      expect(await cells.locator('td[data-field="quality"]').textContent()).toBe('1 bad');
      expect(await cells.locator('td[data-field="quality"]').getAttribute('data-bad')).toBe('1');
      expect(await cells.locator('td[data-field="completeness"]').textContent()).toBe('100.0%');
      expect(await cells.locator('td[data-field="gateway"]').textContent()).toBe(site.gateway);
      expect(await cells.locator('td[data-field="protocols"]').textContent()).toBe('modbus, opcua');
    }
    expect(await page.locator('.overview').getAttribute('data-ready')).toBe('true');
    expect(await page.locator('section[data-region="BJ"] thead th').allTextContents()).toEqual([
      'Site',
      'Status',
      'Last data',
      'Points',
      'Bad quality',
      'Completeness (1 h)',
      'Gateway',
      'Protocols',
    ]);
    expect(await stateOf(SITES[0] as TestSite)).toBe('online');
    expect(await stateOf(SITES[1] as TestSite)).toBe('online');
    expect(await stateOf(SITES[2] as TestSite)).toBe('stale');
    expect(
      await row(SITES[2] as TestSite)
        .locator('td.age')
        .textContent(),
    ).toBe('2 h ago');
    expect(
      await row(SITES[0] as TestSite)
        .locator('td.age')
        .textContent(),
    ).toMatch(/^\d+ s ago$/);
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, '02-overview-en');
    // A site's name is a link to its drill-down, by keyboard too; back returns to the overview.
    await row(SITES[0] as TestSite)
      .locator('a.site-title')
      .focus();
    await page.keyboard.press('Enter');
    await waitUntil(
      'the drill-down route',
      async () =>
        (await page.evaluate(
          () => (globalThis as unknown as { location: { hash: string } }).location.hash,
        )) === `#/sites/${(SITES[0] as TestSite).site}`,
    );
    await page.locator('.overview').waitFor({ state: 'detached' });
    await page.goBack();
    await page.locator('.overview[data-ready="true"]').waitFor();
    // Everything came from the collector: no CDN, no outside font (plant networks are closed).
    const outside = watched.requests.filter((url) => !url.startsWith(`${cloud.url}/`));
    expect(outside).toEqual([]);
    expect(watched.requests.some((url) => /\/assets\/index-[\w-]+\.js$/.test(url))).toBe(true);
  });

  it('turns a site offline live, without a reload, within 5 s of the collector knowing', async () => {
    const tianjin = SITES[1] as TestSite;
    await page.evaluate(() => {
      (globalThis as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    await publish(
      tianjin,
      'status',
      status({
        ...ref(tianjin),
        gateway: { id: tianjin.gateway, boot: 1 },
        ts: Date.now(),
        state: 'offline',
      }),
    );
    await waitUntil(
      'the collector to know Tianjin is offline',
      async () => {
        const response = await fetch(`${cloud.url}/api/v1/sites`, { headers: { cookie } });
        const sites = (await response.json()) as Array<{ id: string; online: boolean }>;
        return sites.find((site) => site.id === tianjin.site)?.online === false;
      },
      10_000,
    );
    const known = Date.now();
    await waitUntil('Tianjin offline on the page', async () => (await stateOf(tianjin)) === 'offline', 5000);
    expect(Date.now() - known).toBeLessThan(5000);
    expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(
      true,
    );
    expect(await page.locator('section[data-region="TJ"] .region-summary').textContent()).toBe(
      '0 online · 0 stale · 1 offline',
    );
    await screenshot(page, '03-site-offline');
  });

  it('switches to Chinese: labels and site names change, the choice is kept over a reload', async () => {
    const button = page.locator('[data-action="switch-language"]');
    await button.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: '区域总览' }).waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    expect(await page.locator('section[data-region="BJ"] h2').textContent()).toBe('北京');
    expect(await page.locator('section[data-region="HE"] h2').textContent()).toBe('河北');
    for (const site of SITES) expect(await row(site).locator('.site-title').textContent()).toBe(site.zh);
    expect(
      await row(SITES[1] as TestSite)
        .locator('[data-site-state]')
        .textContent(),
    ).toBe('离线');
    expect(
      await row(SITES[2] as TestSite)
        .locator('[data-site-state]')
        .textContent(),
    ).toBe('数据滞后');
    expect(await page.locator('section[data-region="BJ"] thead th').nth(4).textContent()).toBe('质量异常');
    expect(
      await row(SITES[0] as TestSite)
        .locator('td[data-field="quality"]')
        .textContent(),
    ).toBe('坏值 1');
    expect(await button.textContent()).toBe('English');
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, '04-overview-zh');

    await page.reload();
    await page.getByRole('heading', { name: '区域总览' }).waitFor();
    await waitUntil(
      'the sites again',
      async () => (await page.locator('tr[data-site]').count()) === SITES.length,
    );
    expect(
      await row(SITES[0] as TestSite)
        .locator('.site-title')
        .textContent(),
    ).toBe('亦庄数控车间');
    expect(unexpectedErrors(watched.errors)).toEqual([]);
  });

  it('signs out (with the CSRF token of its login) back to the sign-in form, and in again', async () => {
    const session = (await page.context().cookies()).find((c) => c.name === 'jjj_session');
    expect(session).toBeDefined();
    const signOut = page.waitForResponse((response) => response.url().endsWith('/api/v1/logout'));
    await page.locator('[data-action="sign-out"]').click();
    expect((await signOut).status()).toBe(204);
    await page.getByLabel('用户名').waitFor();
    expect(await page.locator('tr[data-site]').count()).toBe(0);
    // The session is gone on the collector too, not only in the page.
    const me = await fetch(`${cloud.url}/api/v1/me`, {
      headers: { cookie: `jjj_session=${session?.value}` },
    });
    expect(me.status).toBe(401);
    await page.getByLabel('用户名').fill('vera');
    await page.getByLabel('密码').fill(cloud.password('vera'));
    await page.getByRole('button', { name: '登录' }).click();
    await page.locator('[data-feed="live"]').waitFor();
    expect(unexpectedErrors(watched.errors)).toEqual([]);
  });

  it('says "reconnecting" when the collector goes away, keeping the last known sites', async () => {
    await page.locator('[data-action="switch-language"]').click();
    await page.getByRole('heading', { name: 'Regional overview' }).waitFor();
    await cloud.collector.close();
    await page.locator('[data-feed="reconnecting"]').waitFor({ timeout: 10_000 });
    expect(await page.getByText('Connection lost: reconnecting…').count()).toBe(1);
    expect(await page.locator('tr[data-site]').count()).toBe(SITES.length);
    await screenshot(page, '05-reconnecting');
    // The only errors now are the failed connections (reset, refused) to the stopped collector.
    expect(
      unexpectedErrors(watched.errors).filter(
        (error) => !/Failed to load resource: net::ERR_[A-Z_]+$/.test(error),
      ),
    ).toEqual([]);
  });
});

describe('the web console with anonymous access and no site yet', () => {
  let cloud: ConsoleCollector;
  let watched: WatchedPage;

  beforeAll(async () => {
    cloud = await startConsoleCollector({ config: ['auth: { anonymous: viewer }'] });
    watched = await openPage(cloud.browser, { locale: 'zh-CN' });
  }, 60_000);

  afterAll(() => cloud?.close());

  it('opens without a sign-in, says there is no site yet, then shows the first one live', async () => {
    const { page } = watched;
    await page.goto(`${cloud.url}/`);
    // The browser's language picks the first view: Chinese here.
    await page.getByRole('heading', { name: '区域总览' }).waitFor();
    expect(await page.getByText('免登录访问（查看者）').count()).toBe(1);
    expect(await page.locator('[data-action="sign-out"]').count()).toBe(0);
    await page.locator('[data-state="empty"]').waitFor();
    expect(await page.locator('[data-state="empty"]').textContent()).toContain('暂无站点');
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, '06-empty-anonymous-zh');

    const site = SITES[0] as TestSite;
    const now = Date.now();
    const ref = { region: site.region, project: site.project, site: site.site };
    const gateway = { id: site.gateway, boot: 1 };
    const topic = (kind: 'metadata' | 'status' | 'telemetry') =>
      topicFor({ region: site.region, site: site.site, gateway: site.gateway, kind });
    await cloud.publisher.publishAsync(
      topic('metadata'),
      JSON.stringify(metadata({ ...ref, gateway, ts: now, siteName: site })),
      { qos: 1 },
    );
    await cloud.publisher.publishAsync(
      topic('status'),
      JSON.stringify(status({ ...ref, gateway, ts: now })),
      {
        qos: 1,
      },
    );
    await page.locator(`tr[data-site="${site.site}"] [data-site-state="stale"]`).waitFor({ timeout: 5000 });
    expect(await page.locator(`tr[data-site="${site.site}"] .site-title`).textContent()).toBe(site.zh);
    // Its gateway is up but no sample came yet: stale, and the age says so instead of a number.
    expect(await page.locator(`tr[data-site="${site.site}"] td.age`).textContent()).toBe('尚无数据');
    expect(watched.errors).toEqual([]);
  });
});
