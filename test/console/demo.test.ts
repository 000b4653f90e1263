/**
 * The console against the running demo (`npm start`'s own entry point): open on loopback without a
 * sign-in (the demo's anonymous operator), every seed site listed online under its region with its
 * Chinese name in the zh view, no console errors, no serious or critical axe-core violations.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  launchBrowser,
  openPage,
  screenshot,
  seriousAccessibilityViolations,
  type WatchedPage,
} from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { type Spawned, spawnNode } from '../helpers/spawn.js';
import { waitUntil } from '../helpers/wait.js';

interface SiteSummary {
  id: string;
  name: string;
  nameZh: string | null;
  region: string;
}

describe('the console on the running demo', () => {
  let demo: Spawned;
  let api: string;
  let browser: Browser;
  let watched: WatchedPage;
  const dataDir = mkdtempSync(join(tmpdir(), 'jjj-console-demo-'));

  beforeAll(async () => {
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    demo = spawnNode('dist/seeds/demo-cli.js', [
      '--port',
      String(httpPort),
      '--mqtt-port',
      String(mqttPort),
      '--data-dir',
      dataDir,
    ]);
    api = (await demo.waitForStdout(/(http:\/\/127\.0\.0\.1:\d+)\/api\/v1\/sites/))[1] as string;
    await demo.waitForStdout(/(\d+)\/\1 sites online with data/, 90_000);
    browser = await launchBrowser();
    watched = await openPage(browser, { locale: 'zh-CN' });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists every seed site online under its region, with Chinese names, without a sign-in', async () => {
    const sites = (await (await fetch(`${api}/api/v1/sites`)).json()) as SiteSummary[];
    expect(sites.length).toBeGreaterThanOrEqual(6);
    const { page } = watched;
    await page.goto(`${api}/`);
    await page.getByRole('heading', { name: '区域总览' }).waitFor();
    await waitUntil(
      'every seed site online on the page',
      async () => (await page.locator('tr[data-site] [data-site-state="online"]').count()) === sites.length,
      15_000,
    );
    for (const site of sites) {
      const row = page.locator(`section[data-region="${site.region}"] tr[data-site="${site.id}"]`);
      expect(await row.locator('.site-title').textContent(), site.id).toBe(site.nameZh ?? site.name);
    }
    expect(await page.getByText('免登录访问（操作员）').count()).toBe(1);
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, '10-demo-overview-zh');
    expect(watched.errors).toEqual([]);
  });
});
