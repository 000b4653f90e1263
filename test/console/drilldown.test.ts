/**
 * The drill-down (site → line → equipment, live values, trend charts) in headless Chromium against
 * a real collector (real Mosquitto, SQLite file, the built console served at /): the site with its
 * lines and equipment; an equipment's points with value, unit, quality and source time; a sample
 * published over MQTT shown in the row and the chart within 2 s; bad and uncertain samples marked
 * in the table and in the chart (its legend, marks and text summary); the 24 h period read as the
 * store's aggregated windows; Chinese labels and site names; the Write button for an operator only;
 * an unknown site; no console errors and no serious axe-core violations. Screenshots go to
 * screenshots/ (not committed).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PointSample, topicFor } from '../../gateway/schema/index.js';
import { metadata, SITE, status, telemetry } from '../cloud/fixtures.js';
import {
  openPage,
  screenshot,
  seriousAccessibilityViolations,
  type WatchedPage,
} from '../helpers/browser.js';
import { waitUntil } from '../helpers/wait.js';
import { type ConsoleCollector, startConsoleCollector, unexpectedErrors } from './console-collector.js';

const GATEWAY = 'gw-bj-etown-cnc';
const SPINDLE = `${SITE}/machining/cnc-01/spindle-speed`;
const SETPOINT = `${SITE}/machining/cnc-01/speed-setpoint`;
const MINUTE = 60_000;

const cnc = (
  point: string,
  ts: number,
  value: PointSample['value'],
  quality: PointSample['quality'] = 'good',
) => ({ line: 'machining', equipment: 'cnc-01', point, ts, value, quality }) as PointSample;

/** The site's points: units, a range, a writable setpoint, a boolean, a text, a meter. */
function siteMetadata(now: number) {
  const base = metadata({ gateway: { id: GATEWAY, boot: 1 }, ts: now });
  const spindle = base.points[0] as (typeof base.points)[number];
  base.points = [
    { ...spindle, min: 0, max: 24_000, description: 'Spindle speed' },
    { ...spindle, point: 'feed-rate', unit: 'MMT', address: 'ns=1;s=cnc-01.feed-rate' },
    { ...spindle, point: 'axis-temp', unit: 'CEL', address: 'ns=1;s=cnc-01.axis-temp' },
    { ...spindle, point: 'running', dataType: 'bool', unit: undefined, address: 'ns=1;s=cnc-01.running' },
    { ...spindle, point: 'program', dataType: 'string', unit: undefined, address: 'ns=1;s=cnc-01.program' },
    {
      ...spindle,
      point: 'speed-setpoint',
      address: 'ns=1;s=cnc-01.speed-setpoint',
      min: 0,
      max: 20_000,
      writable: true,
    },
    base.points[1] as (typeof base.points)[number],
  ];
  return base;
}

/**
 * The spindle's history: a sample every 5 min over the last day (one bad window at -6 h, one
 * uncertain at -3 h), a sample every 30 s over the last hour (one uncertain, one bad without a
 * value, one bad with a value); the other points' newest samples (a bad feed rate, an uncertain
 * temperature).
 */
function history(now: number): PointSample[] {
  const samples: PointSample[] = [];
  const day = now - 24 * 3_600_000;
  // k 1 … 275: 5 min apart from a day ago to an hour ago; k 216 is 6 h ago, k 252 is 3 h ago.
  for (let k = 1; k < 276; k++) {
    const ts = day + k * 5 * MINUTE;
    const quality = k === 216 ? 'bad' : k === 252 ? 'uncertain' : 'good';
    samples.push(cnc('spindle-speed', ts, quality === 'bad' ? null : 11_000 + (k % 7) * 100, quality));
  }
  for (let i = 118; i >= 2; i--) {
    const ts = now - i * 30_000;
    const quality = i === 40 ? 'uncertain' : i === 30 || i === 20 ? 'bad' : 'good';
    samples.push(cnc('spindle-speed', ts, i === 30 ? null : 11_500 + (i % 9) * 50, quality));
  }
  samples.push(
    cnc('spindle-speed', now - 30_000, 12_000.5),
    cnc('feed-rate', now - 30_000, null, 'bad'),
    cnc('axis-temp', now - 30_000, 41.25, 'uncertain'),
    cnc('running', now - 30_000, true),
    cnc('program', now - 30_000, 'O1234'),
    cnc('speed-setpoint', now - 30_000, 12_000),
    {
      line: 'utilities',
      equipment: 'meter-main',
      point: 'power',
      ts: now - 30_000,
      value: 35.5,
      quality: 'good',
    },
  );
  return samples;
}

describe('the drill-down in a real browser: site, equipment, live values and trends', () => {
  let cloud: ConsoleCollector;
  let watched: WatchedPage;
  let page: Page;
  let seq = 0;

  const publish = (kind: 'metadata' | 'status' | 'telemetry', message: unknown) =>
    cloud.publisher.publishAsync(
      topicFor({ region: 'BJ', site: SITE, gateway: GATEWAY, kind }),
      JSON.stringify(message),
      { qos: 1, retain: kind !== 'telemetry' },
    );
  const publishSamples = (points: PointSample[]) =>
    publish(
      'telemetry',
      telemetry({ gateway: { id: GATEWAY, boot: 1, seq: seq++ }, sentTs: Date.now(), points }),
    );
  const row = (pointId: string) => page.locator(`tr[data-point-id="${pointId}"]`);
  const cell = (pointId: string, field: string) => row(pointId).locator(`td[data-field="${field}"]`);
  const trend = () => page.locator('section.trend');
  const attr = async (name: string) => (await trend().getAttribute(name)) ?? '';

  beforeAll(async () => {
    cloud = await startConsoleCollector({
      users: { vera: 'viewer', otto: 'operator' },
      config: ['api: { staleAfterMs: 600000 }'],
    });
    const now = Date.now();
    await publish('metadata', siteMetadata(now));
    await publish('status', status({ gateway: { id: GATEWAY, boot: 1 }, ts: now }));
    await publishSamples(history(now));

    const { cookie } = await cloud.login('vera');
    await waitUntil('the history stored', async () => {
      const answer = await fetch(`${cloud.url}/api/v1/latest?site=${SITE}`, { headers: { cookie } });
      if (!answer.ok) return false;
      return ((await answer.json()) as { points: unknown[] }).points.length === 7;
    });

    watched = await openPage(cloud.browser, { locale: 'en-US' });
    page = watched.page;
  }, 60_000);

  afterAll(() => cloud?.close());

  it('shows the site with its state, gateway and lines, each with its equipment and bad/uncertain counts', async () => {
    await cloud.signIn(page, 'vera');
    // From the overview, by the site's link.
    await page.locator(`a[href="#/sites/${SITE}"]`).first().click();
    await page.locator('[data-site-view="site"]').waitFor();
    await page.locator('tr[data-equipment="cnc-01"]').waitFor();
    expect(await page.locator('h1 .site-title').textContent()).toBe('E-Town CNC Workshop');
    const about = (field: string) => page.locator(`[data-about="${field}"] dd`).textContent();
    expect(await about('region')).toBe('Beijing');
    expect(await about('state')).toBe('Online');
    expect(await about('gateway')).toBe(GATEWAY);
    expect(await about('points')).toBe('7');
    expect(await about('age')).toMatch(/^\d+ s ago$/);
    expect(await page.locator('.breadcrumbs li').allTextContents()).toEqual([
      'Overview',
      'E-Town CNC Workshop',
    ]);
    expect(await page.locator('section.line h2').allTextContents()).toEqual([
      'Line machining',
      'Line utilities',
    ]);
    const equipment = page.locator('tr[data-equipment="cnc-01"]');
    await waitUntil('the counts from the latest values', async () => {
      return (await equipment.locator('[data-count="bad"]').textContent()) === '1';
    });
    expect(await equipment.locator('td').first().textContent()).toBe('6');
    expect(await equipment.locator('[data-count="uncertain"]').textContent()).toBe('1');
    expect(await page.locator('tr[data-equipment="meter-main"] [data-count="bad"]').textContent()).toBe('0');
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'site-en');

    // The equipment by its link (keyboard: the link is focusable and follows Enter).
    await equipment.getByRole('link', { name: 'cnc-01' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('table.point-table[data-live="true"]').waitFor();
    expect(page.url()).toBe(`${cloud.url}/#/sites/${SITE}/machining/cnc-01`);
    expect(await page.locator('.breadcrumbs li').allTextContents()).toEqual([
      'Overview',
      'E-Town CNC Workshop',
      'Line machining',
      'cnc-01',
    ]);
    expect(
      await page.locator('.breadcrumbs a').evaluateAll((links) => links.map((a) => a.getAttribute('href'))),
    ).toEqual(['#/', `#/sites/${SITE}`, `#/sites/${SITE}/machining`]);
  });

  it("lists the equipment's points with value, unit, quality in text and source time", async () => {
    expect(await page.locator('tr[data-point-id]').count()).toBe(6);
    expect(await cell(SPINDLE, 'value').textContent()).toBe('12,000.5');
    expect(await cell(SPINDLE, 'unit').textContent()).toBe('r/min');
    expect(await cell(SPINDLE, 'quality').textContent()).toBe('good');
    // The declared range, once the points API serves it (the commands work adds min and max).
    expect(await cell(SPINDLE, 'range').textContent()).toBe('0 to 24,000');
    const ts = Number(await cell(SPINDLE, 'ts').getAttribute('data-ts'));
    expect(await cell(SPINDLE, 'ts').textContent()).toBe(
      new Date(ts).toLocaleTimeString('en-GB', { hour12: false }),
    );
    expect(await cell(`${SITE}/machining/cnc-01/running`, 'value').textContent()).toBe('true');
    expect(await cell(`${SITE}/machining/cnc-01/program`, 'value').textContent()).toBe('O1234');
    const feed = `${SITE}/machining/cnc-01/feed-rate`;
    expect(await cell(feed, 'value').textContent()).toBe('—');
    expect(await cell(feed, 'quality').textContent()).toBe('bad');
    expect(await row(feed).getAttribute('class')).toContain('row-bad');
    const temp = `${SITE}/machining/cnc-01/axis-temp`;
    expect(await cell(temp, 'value').textContent()).toBe('41.25');
    expect(await cell(temp, 'unit').textContent()).toBe('°C');
    expect(await cell(temp, 'quality').textContent()).toBe('uncertain');
    // Quality in colour as well as text.
    const colours = await page.locator('td[data-field="quality"] .quality').evaluateAll((spans) => {
      const style = (globalThis as unknown as { getComputedStyle(e: unknown): { color: string } })
        .getComputedStyle;
      return [...new Set(spans.map((s) => style(s).color))];
    });
    expect(colours.length).toBe(3);
  });

  it('opens the trend from the keyboard; a published sample reaches the row and the chart within 2 s', async () => {
    await row(SPINDLE).locator('[data-action="trend"]').focus();
    await page.keyboard.press('Enter');
    await page.locator('section.trend[data-trend-state="ready"]').waitFor({ timeout: 10_000 });
    expect(await attr('data-period')).toBe('1h');
    expect(await attr('data-mode')).toBe('raw');
    expect(Number(await attr('data-n'))).toBe(118);
    expect(await attr('data-legend')).toBe('value,uncertain,bad');
    expect(Number(await attr('data-bad'))).toBe(2);
    expect(Number(await attr('data-gaps'))).toBe(1);
    expect(Number(await attr('data-uncertain'))).toBe(1);
    expect(await page.locator('[data-trend-summary]').textContent()).toMatch(
      /^1 h: 118 samples, [\d,.]+ … [\d,.]+ r\/min; 2 bad \(1 without a value\), 1 uncertain; newest 12,000.5 at /,
    );
    expect(await page.locator('.trend-chart canvas').count()).toBe(1);
    // The raw read asked for samples, not windows.
    const raw = watched.requests.filter((url) => url.includes('/api/v1/series?'));
    expect(raw).toHaveLength(1);
    expect(raw[0]).not.toContain('aggregate=');

    const ts = Date.now();
    const published = performance.now();
    await publishSamples([cnc('spindle-speed', ts, 13_579.25)]);
    await waitUntil(
      'the new sample in the row and in the chart',
      async () =>
        (await cell(SPINDLE, 'value').textContent()) === '13,579.25' &&
        (await attr('data-last-ts')) === String(ts),
      2000,
    );
    const latencyMs = Math.round(performance.now() - published);
    console.info(`drill-down: a published sample shown in the row and the chart after ${latencyMs} ms`);
    expect(Number(await attr('data-n'))).toBe(119);
    expect(Number(await attr('data-live-appends'))).toBeGreaterThanOrEqual(1);
  });

  it('marks a bad sample in the table and in the chart (a shaded gap, counted in the summary)', async () => {
    const ts = Date.now();
    await publishSamples([cnc('spindle-speed', ts, null, 'bad')]);
    await waitUntil(
      'the bad sample in the row',
      async () => (await cell(SPINDLE, 'quality').textContent()) === 'bad',
    );
    expect(await cell(SPINDLE, 'value').textContent()).toBe('—');
    expect(await row(SPINDLE).getAttribute('class')).toContain('row-bad');
    await waitUntil(
      'the bad sample in the chart',
      async () => (await attr('data-last-ts')) === String(ts),
      5000,
    );
    expect(Number(await attr('data-bad'))).toBe(3);
    expect(Number(await attr('data-gaps'))).toBe(2);
    expect(await page.locator('[data-trend-summary]').textContent()).toContain('3 bad (2 without a value)');
    await screenshot(page, 'trend-1h-en');
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
  });

  it('reads the 24 h period as the store’s aggregated windows, bad and uncertain windows marked', async () => {
    const before = watched.requests.length;
    await trend().locator('[data-period="24h"]').click();
    await waitUntil(
      'the 24 h windows',
      async () => (await attr('data-mode')) === 'windows' && (await attr('data-trend-state')) === 'ready',
      10_000,
    );
    const asked = watched.requests.slice(before).filter((url) => url.includes('/api/v1/series?'));
    expect(asked.map((url) => new URL(url).searchParams.get('aggregate')).sort()).toEqual([
      'max',
      'mean',
      'min',
    ]);
    for (const url of asked) expect(new URL(url).searchParams.get('window')).toBe('1m');
    expect(await attr('data-window')).toBe('1m');
    expect(await attr('data-legend')).toBe('mean,band,uncertain,bad');
    // The chart shows what the store answered: the same windows, bad, bad-only and uncertain ones.
    const meanUrl = asked.find((url) => url.includes('aggregate=mean')) as string;
    const answer = (await page.evaluate(async (url) => (await fetch(url)).json(), meanUrl)) as {
      samples: { value: number | null; bad: number; uncertain: number }[];
    };
    const windows = answer.samples.length;
    // 1 min windows: the day's 275 samples 5 min apart, the last hour's 30 s apart (two a window).
    expect(windows).toBeGreaterThan(320);
    expect(windows).toBeLessThan(1440);
    const bad = answer.samples.filter((w) => w.bad > 0).length;
    const gaps = answer.samples.filter((w) => w.value === null).length;
    const uncertain = answer.samples.filter((w) => w.uncertain > 0).length;
    // Bad: 6 h ago (a window of one bad sample: no value), two in the last hour and the one just sent.
    expect(bad).toBeGreaterThanOrEqual(3);
    expect(gaps).toBeGreaterThanOrEqual(1);
    // Uncertain: 3 h ago and one in the last hour.
    expect(uncertain).toBe(2);
    expect(Number(await attr('data-n'))).toBe(windows);
    expect(Number(await attr('data-bad'))).toBe(bad);
    expect(Number(await attr('data-gaps'))).toBe(gaps);
    expect(Number(await attr('data-uncertain'))).toBe(uncertain);
    expect(await page.locator('[data-trend-summary]').textContent()).toMatch(
      new RegExp(
        `^24 h: ${windows} windows of 1 min, [\\d,.]+ … [\\d,.]+ r/min; ${bad} windows with bad samples, ${uncertain} with uncertain samples\\.$`,
      ),
    );
    expect(await trend().locator('[data-period="24h"]').getAttribute('aria-pressed')).toBe('true');
    await screenshot(page, 'trend-24h');
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
  });

  it('reads a zoom much narrower than the period again at a finer resolution, and back', async () => {
    const before = watched.requests.length;
    const box = await page.locator('.trend-chart').boundingBox();
    if (!box) throw new Error('no chart on the page');
    // Zoom in with the mouse wheel near the newest data, until the range is under an hour (raw).
    await page.mouse.move(box.x + box.width * 0.85, box.y + box.height / 2);
    for (let i = 0; i < 80 && (await attr('data-zoomed')) !== 'true'; i++) {
      await page.mouse.wheel(0, -300);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await waitUntil('the zoomed range read raw', async () => (await attr('data-mode')) === 'raw', 10_000);
    const asked = watched.requests.slice(before).filter((url) => url.includes('/api/v1/series?'));
    const last = new URL(asked.at(-1) as string);
    expect(last.searchParams.get('aggregate')).toBeNull();
    expect(Number(last.searchParams.get('to')) - Number(last.searchParams.get('from'))).toBeLessThanOrEqual(
      3_600_000,
    );
    expect(await page.locator('.trend-zoom').textContent()).toMatch(/^Zoomed: /);
    await page.getByRole('button', { name: 'Show the whole period' }).click();
    await waitUntil('the whole period again', async () => (await attr('data-mode')) === 'windows', 10_000);
    expect(await attr('data-zoomed')).toBe('false');
  });

  it('switches to Chinese: labels, quality and the site name change', async () => {
    await page.locator('[data-action="switch-language"]').click();
    await page.getByRole('columnheader', { name: '质量' }).waitFor();
    expect(await page.locator('.breadcrumbs li').allTextContents()).toEqual([
      '总览',
      '亦庄数控车间',
      '产线 machining',
      'cnc-01',
    ]);
    expect(await cell(SPINDLE, 'quality').textContent()).toBe('坏值');
    expect(await cell(`${SITE}/machining/cnc-01/axis-temp`, 'quality').textContent()).toBe('可疑');
    expect(await cell(`${SITE}/machining/cnc-01/running`, 'value').textContent()).toBe('是');
    expect(await trend().locator('h2').textContent()).toBe('cnc-01 · spindle-speed 的趋势');
    expect(await page.locator('[data-trend-summary]').textContent()).toMatch(/^24 小时：\d+ 个 1 分钟 窗口/);
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'equipment-zh');
    await page.locator('[data-action="switch-language"]').click();
    await page.getByRole('columnheader', { name: 'Quality' }).waitFor();
  });

  it('shows no Write button to a viewer; an operator has one on the writable point that opens the command form', async () => {
    expect(await row(SETPOINT).count()).toBe(1);
    expect(await page.locator('[data-action="write"]').count()).toBe(0);

    const operator = await openPage(cloud.browser, { locale: 'en-US' });
    await cloud.signIn(operator.page, 'otto');
    await operator.page.goto(`${cloud.url}/#/sites/${SITE}/machining/cnc-01`);
    await operator.page.locator('table.point-table[data-live="true"]').waitFor();
    const buttons = operator.page.locator('[data-action="write"]');
    expect(await buttons.count()).toBe(1);
    expect(
      await buttons.first().evaluate((button) => button.closest('tr')?.getAttribute('data-point-id')),
    ).toBe(SETPOINT);
    await buttons.first().click();
    // The command form of that point, with its declared range.
    await operator.page.locator('form.command-edit').waitFor();
    expect(await operator.page.locator('[data-fact="range"]').textContent()).toMatch(/^0–20000( |$)/);
    expect(unexpectedErrors(operator.errors)).toEqual([]);
    await operator.page.context().close();
  });

  it('says so for an unknown site, and had no console errors', async () => {
    const before = watched.errors.length;
    await page.goto(`${cloud.url}/#/sites/no-such-site`);
    await page.locator('[data-site-view="unknown"]').waitFor();
    expect(await page.locator('[data-state="empty"] .state-title').textContent()).toBe(
      'Unknown site “no-such-site”',
    );
    expect(await page.getByRole('link', { name: 'Back to the overview' }).getAttribute('href')).toBe('#/');
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    // The only error since: the browser's note of the API's 404 for the unknown site.
    expect(watched.errors.slice(before).filter((e) => !/status of 404 \(Not Found\)/.test(e))).toEqual([]);
    // Before it: none but the API's 401 to "who am I" before the sign-in, which the console asks by design.
    expect(unexpectedErrors(watched.errors.slice(0, before))).toEqual([]);
  });
});
