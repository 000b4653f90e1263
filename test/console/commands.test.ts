/**
 * The console's commands in headless Chromium against real peers: a collector with a command signing
 * key, real Mosquitto, a real gateway reading the demo's Modbus simulator of bj-etown-cnc (whose line
 * PLC has the writable `speed-setpoint`). A viewer sees no Commands link, is told "not permitted" at
 * `#/commands`, and the API refuses their command; an operator picks the point, has an out-of-range
 * value refused by the form, confirms a valid one (the confirmation shows the current value and the
 * range), sees it acknowledged and applied and in the audit list, and the simulated PLC's register
 * holds it. zh and en, axe-core, no console errors; screenshots `command-confirm`, `command-done`,
 * `commands-audit-zh`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import m from 'modbus-serial';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../cloud/cli.js';
import { PUBLIC_KEY_FILE } from '../../cloud/commands/signing-key.js';
import { parseGatewayConfig } from '../../gateway/config.js';
import { Gateway } from '../../gateway/gateway.js';
import { findSite } from '../../seeds/catalogue.js';
import { gatewayConfigFor } from '../../seeds/gateway-config.js';
import { SiteModel } from '../../seeds/signals.js';
import { type ModbusSimulator, startModbusSimulator } from '../../seeds/simulators/modbus-simulator.js';
import {
  openPage,
  screenshot,
  seriousAccessibilityViolations,
  type WatchedPage,
} from '../helpers/browser.js';
import { capturedIo } from '../helpers/captured-io.js';
import { freePort } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';
import { type ConsoleCollector, startConsoleCollector, unexpectedErrors } from './console-collector.js';

const ModbusRTU = m.default;
const SITE_ID = 'bj-etown-cnc';
const SETPOINT = `${SITE_ID}/machining/plc-machining/speed-setpoint`;
const PLC_UNIT = 3;
const SETPOINT_REGISTER = 6;

const site = findSite(SITE_ID);
if (!site) throw new Error(`${SITE_ID} is not in the catalogue`);

describe('commands in the console, in a real browser, down to a real (simulated) PLC', () => {
  const cleanups: Array<() => unknown> = [];
  let cloud: ConsoleCollector;
  let simulator: ModbusSimulator;
  let gateway: Gateway;
  let gatewayStopped = false;
  let watched: WatchedPage;
  let page: Page;
  /** The setpoint the simulated line PLC started with (its line's ideal rate). */
  let initial = 0;

  const readSetpoint = async (): Promise<number | undefined> => {
    const client = new ModbusRTU();
    try {
      await client.connectTCP(simulator.host, { port: simulator.port });
      client.setID(PLC_UNIT);
      client.setTimeout(2000);
      return (await client.readHoldingRegisters(SETPOINT_REGISTER, 1)).data[0];
    } finally {
      await new Promise<void>((done) => client.close(() => done()));
    }
  };

  beforeAll(async () => {
    cloud = await startConsoleCollector({
      users: { vera: 'viewer', otto: 'operator' },
      config: [
        // A short wait for the acknowledgement, for the "no acknowledgement" case once the gateway is stopped.
        'commands: { signingKeyFile: keys/command-signing-key.pem, keyId: plant-cloud, ackTimeoutMs: 3000 }',
      ],
      // The collector loads the signing key the config names as it starts.
      prepare: async (dir) =>
        expect(
          await runCli(['keygen', '--out', join(dir, 'keys'), '--key-id', 'plant-cloud'], capturedIo().io),
        ).toBe(0),
    });
    const dir = cloud.dir;

    // The demo's Modbus devices of the site (meters and the line PLC), served from its signal model.
    const model = new SiteModel(site, { startMs: Date.now() });
    simulator = await startModbusSimulator(site, { port: await freePort(), model });
    cleanups.push(() => simulator.stop());
    initial = model.modbusValues(PLC_UNIT)?.['speed-setpoint'] ?? Number.NaN;

    // The seed gateway config of the site, its Modbus devices only, trusting the collector's key.
    const seed = gatewayConfigFor(site, {
      opcuaEndpoint: 'opc.tcp://127.0.0.1:1',
      modbusHost: simulator.host,
      modbusPort: simulator.port,
      mqttUrl: cloud.broker.url,
      commandKey: {
        id: 'plant-cloud',
        publicKey: readFileSync(join(dir, 'keys', PUBLIC_KEY_FILE), 'utf8'),
      },
    });
    const gatewayConfig = parseGatewayConfig(
      {
        ...seed,
        gateway: { ...seed.gateway, stateDir: join(dir, 'gateway') },
        publish: { intervalMs: 200 },
        devices: seed.devices.filter((device) => device.protocol === 'modbus'),
      },
      'test',
      dir,
    );
    gateway = new Gateway(gatewayConfig, pino({ level: 'silent' }));
    cleanups.push(() => (gatewayStopped ? undefined : gateway.stop()));
    await gateway.start();

    // The collector knows the point (writable, from the metadata) and has its value.
    const viewer = await cloud.login('vera');
    await waitUntil(
      'the set point known to the collector with its value',
      async () => {
        const latest = await fetch(`${cloud.url}/api/v1/latest?site=${SITE_ID}`, {
          headers: { cookie: viewer.cookie },
        });
        if (latest.status !== 200) return false;
        const { points } = (await latest.json()) as { points: { pointId: string; value: unknown }[] };
        return points.some((point) => point.pointId === SETPOINT && point.value === initial);
      },
      15_000,
    );

    watched = await openPage(cloud.browser, { locale: 'en-US' });
    page = watched.page;
  }, 60_000);

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await cloud?.close();
  });

  it('gives a viewer no Commands link, "not permitted" at #/commands, and the API refuses their command', async () => {
    await cloud.signIn(page, 'vera');
    await page.getByRole('heading', { name: 'Regional overview' }).waitFor();
    expect(await page.locator('nav a[data-view]').count()).toBe(4);
    expect(await page.locator('nav a[data-view="commands"]').count()).toBe(0);

    await page.goto(`${cloud.url}/#/commands`);
    await page.getByRole('alert').filter({ hasText: 'You are not permitted to see this.' }).waitFor();
    expect(await page.locator('.command-form').count()).toBe(0);
    expect(await seriousAccessibilityViolations(page)).toEqual([]);

    const viewer = await cloud.login('vera');
    const refused = await fetch(`${cloud.url}/api/v1/commands`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: viewer.cookie,
        'x-csrf-token': viewer.csrfToken,
      },
      body: JSON.stringify({ site: SITE_ID, writes: [{ point: SETPOINT, value: 100 }] }),
    });
    expect(refused.status).toBe(403);
    expect(await readSetpoint()).toBe(initial);

    await page.locator('[data-action="sign-out"]').click();
    await page.getByLabel('User name').waitFor();
  });

  it('lets an operator write the set point: checked, confirmed, acknowledged, applied and audited', async () => {
    await cloud.signIn(page, 'otto');
    await page.locator('nav a[data-view="commands"]').click();
    await page.getByRole('heading', { name: 'Commands', level: 1 }).waitFor();
    await page.locator('[data-state="empty"]').filter({ hasText: 'No command sent yet.' }).waitFor();

    await page.getByLabel('Site').selectOption(SITE_ID);
    // The site's one writable point is picked for the operator; the form shows what it is now.
    const form = page.locator(`.command-form[data-point="${SETPOINT}"]`);
    await form.waitFor();
    expect(await page.getByLabel('Writable point').inputValue()).toBe(SETPOINT);
    const options = await page.getByLabel('Writable point').locator('option').allTextContents();
    expect(options).toHaveLength(2); // "— choose —" and the set point: read-only points are not offered
    await waitUntil(
      'the current value shown',
      async () => (await form.locator('.command-current').textContent()) === String(initial),
      5000,
    );
    expect(await form.locator('[data-quality]').textContent()).toBe('good');
    expect(await form.locator('[data-fact="current"]').textContent()).toMatch(/source time \d/);
    expect(await form.locator('[data-fact="range"]').textContent()).toBe('0–3600');
    expect(await form.locator('[data-fact="unit"]').textContent()).toBe('none');
    expect(await form.locator('[data-fact="dataType"]').textContent()).toBe('uint16');
    expect(await form.locator('h2').textContent()).toContain('line speed set point, parts per hour');

    // Out of range, and not a whole number: refused in the form with the reason, nothing sent.
    const input = page.getByLabel('New value');
    expect(await input.getAttribute('type')).toBe('number');
    expect(await input.getAttribute('step')).toBe('1');
    expect(await input.getAttribute('max')).toBe('3600');
    await input.fill('5000');
    await page.locator('[data-action="review"]').click();
    await page.getByRole('alert').filter({ hasText: 'The value is above the maximum 3600.' }).waitFor();
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    await input.fill('12.5');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'Enter a whole number (uint16).' }).waitFor();
    expect(await page.locator('.command-confirm').count()).toBe(0);

    // A valid value: the confirmation repeats it with the current value and the range; Esc cancels.
    await input.fill('1200');
    await page.keyboard.press('Enter');
    const confirmation = page.getByRole('alertdialog', { name: 'Confirm the write' });
    await confirmation.waitFor();
    expect(await confirmation.locator('.command-question').textContent()).toBe(
      `Write 1200 to ${SETPOINT}? Current ${initial}, range 0–3600`,
    );
    expect(await page.locator('.command-confirm:focus').count()).toBe(1);
    await page.keyboard.press('Escape');
    await confirmation.waitFor({ state: 'detached' });
    expect(await page.locator('[id$="-value"]:focus').count()).toBe(1);
    expect(await readSetpoint()).toBe(initial);

    await page.keyboard.press('Enter');
    await confirmation.waitFor();
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'command-confirm');
    await confirmation.locator('[data-action="confirm"]').click();

    const outcome = form.locator('[data-outcome]');
    await outcome.waitFor({ timeout: 15_000 });
    expect(await outcome.getAttribute('data-outcome')).toBe('succeeded');
    expect(await outcome.locator('.command-outcome-title').textContent()).toBe(
      `Acknowledged by gw-${SITE_ID}: written.`,
    );
    expect(await outcome.locator('[data-result]').allTextContents()).toEqual([
      'machining/plc-machining/speed-setpoint: applied',
    ]);
    // The device holds the new value, and the form's current value follows it once the gateway polled.
    expect(await readSetpoint()).toBe(1200);
    await waitUntil(
      'the new current value shown',
      async () => (await form.locator('.command-current').textContent()) === '1200',
      10_000,
    );

    // The audit list has it, with who asked and the gateway's result.
    const row = page.locator('table.audit tbody tr').first();
    await waitUntil(
      'the command in the audit list',
      async () => (await row.getAttribute('data-status')) === 'succeeded',
      5000,
    );
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(1)).toEqual([
      'otto',
      site.name.en,
      `gw-${SITE_ID}`,
      'machining/plc-machining/speed-setpoint = 1200',
      'Succeeded',
      'speed-setpoint: applied',
    ]);
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'command-done');
    expect(unexpectedErrors(watched.errors)).toEqual([]);
  }, 60_000);

  it('shows the view, the form and the audit list in Chinese, with the site name in Chinese', async () => {
    await page.locator('[data-action="switch-language"]').click();
    await page.getByRole('heading', { name: '控制命令', level: 1 }).waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    expect(await page.locator('#command-audit-h').textContent()).toBe(`审计列表：${site.name.zh}`);
    expect(await page.locator('table.audit thead th').allTextContents()).toEqual([
      '时间',
      '操作人',
      '站点',
      '网关',
      '写入',
      '状态',
      '结果',
    ]);
    const cells = await page.locator('table.audit tbody tr').first().locator('td').allTextContents();
    expect(cells.slice(2)).toEqual([
      site.name.zh,
      `gw-${SITE_ID}`,
      'machining/plc-machining/speed-setpoint = 1200',
      '成功',
      'speed-setpoint: 已写入',
    ]);
    // Back to a fresh form: in Chinese, and the out-of-range reason too.
    await page.locator('[data-action="again"]').click();
    await page.getByLabel('新值').fill('-1');
    await page.getByRole('button', { name: '检查写入' }).click();
    await page.getByRole('alert').filter({ hasText: '数值低于最小值 0。' }).waitFor();
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'commands-audit-zh');
    expect(unexpectedErrors(watched.errors)).toEqual([]);
  });

  it('says when the gateway does not acknowledge: the command stays pending, in the audit list too', async () => {
    gatewayStopped = true;
    await gateway.stop();
    await page.getByLabel('新值').fill('300');
    await page.keyboard.press('Enter');
    await page.getByRole('alertdialog', { name: '确认写入' }).locator('[data-action="confirm"]').click();
    const outcome = page.locator('.command-form [data-outcome]');
    await outcome.waitFor({ timeout: 10_000 });
    expect(await outcome.getAttribute('data-outcome')).toBe('pending');
    expect(await outcome.locator('.command-outcome-title').textContent()).toMatch(
      /^尚未收到确认：no acknowledgement within 3000 ms; the command stays pending。/,
    );
    const row = page.locator('table.audit tbody tr').first();
    await waitUntil(
      'the pending command in the audit list',
      async () => (await row.getAttribute('data-status')) === 'pending',
      5000,
    );
    expect((await row.locator('td').allTextContents()).slice(5)).toEqual(['待确认', '等待确认']);
    expect(await readSetpoint()).toBe(1200);
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'command-pending-zh');
    // The browser logs the API's deliberate 504 (no acknowledgement) as a failed resource, nothing else.
    expect(unexpectedErrors(watched.errors)).toEqual([
      'console: Failed to load resource: the server responded with a status of 504 (Gateway Timeout)',
    ]);
  });
});
