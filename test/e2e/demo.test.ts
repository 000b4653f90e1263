/**
 * The whole slice, as `npm start` runs it: simulators → gateways → embedded broker → collector →
 * store → HTTP API, then Ctrl-C stops everything.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openPage, screenshot, seriousAccessibilityViolations } from '../helpers/browser.js';
import { jsonSchemaValidator } from '../helpers/json-schema.js';
import { type RecordedMessage, recordMqtt } from '../helpers/mqtt-recorder.js';
import { freePort } from '../helpers/ports.js';
import { type Spawned, spawnNode } from '../helpers/spawn.js';
import { eventually, waitUntil } from '../helpers/wait.js';

interface SiteSummary {
  id: string;
  name: string;
  nameZh: string | null;
  region: string;
  project: string;
  online: boolean;
  points: number;
  lastTs: number | null;
  protocols: string[];
}

describe('npm start: the Jing-Jin-Ji demo end to end', () => {
  let demo: Spawned;
  let api: string;
  let mqttUrl: string;
  const dataDir = mkdtempSync(join(tmpdir(), 'jjj-demo-'));

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
    mqttUrl = (await demo.waitForStdout(/(mqtt:\/\/127\.0\.0\.1:\d+)/))[1] as string;
  }, 90_000);

  afterAll(async () => {
    if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function sites(): Promise<SiteSummary[]> {
    const response = await fetch(`${api}/api/v1/sites`);
    expect(response.status).toBe(200);
    return (await response.json()) as SiteSummary[];
  }

  it('shows every seed site online with data from OPC UA and Modbus, over BJ, TJ and HE', async () => {
    await demo.waitForStdout(/(\d+)\/\1 sites online with data/, 90_000);
    const all = await sites();
    expect(all.length).toBeGreaterThanOrEqual(6);
    expect(new Set(all.map((s) => s.region))).toEqual(new Set(['BJ', 'TJ', 'HE']));
    for (const site of all) {
      expect(site, site.id).toMatchObject({ online: true });
      expect(site.lastTs, site.id).toBeGreaterThan(0);
      expect(site.points, site.id).toBeGreaterThan(0);
      expect([...site.protocols].sort(), site.id).toEqual(['modbus', 'opcua']);
      expect(site.name.length).toBeGreaterThan(0);
    }
    const health = await fetch(`${api}/api/v1/health`);
    expect(health.status).toBe(200);
  });

  it('serves the latest value of every point of a site, with good quality from both protocols', async () => {
    // Batches leave per scan now, not once a second per gateway: a site is online with data from
    // both protocols a moment before its every point has a value, so ask until they all have.
    await eventually(async () => {
      const response = await fetch(`${api}/api/v1/latest?site=bj-etown-cnc`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as {
        points: Array<{ pointId: string; value: unknown; quality: string; ts: number }>;
      };
      const byId = new Map(body.points.map((p) => [p.pointId, p]));
      const spindle = byId.get('bj-etown-cnc/machining/cnc-01/spindle-speed');
      const energy = byId.get('bj-etown-cnc/utilities/meter-main/energy-total');
      expect(spindle?.quality).toBe('good');
      expect(typeof spindle?.value).toBe('number');
      expect(energy?.quality).toBe('good');
      expect(energy?.value as number).toBeGreaterThan(0);
      expect(body.points.every((p) => p.quality === 'good')).toBe(true);
    });
  });

  it('keeps a counter series in time order and never decreasing', async () => {
    const point = 'bj-etown-cnc/utilities/meter-main/energy-total';
    let samples: Array<{ ts: number; value: number }> = [];
    await waitUntil('the counter has three samples', async () => {
      const response = await fetch(
        `${api}/api/v1/series?point=${encodeURIComponent(point)}&from=0&to=${Date.now() + 60_000}`,
      );
      expect(response.status).toBe(200);
      samples = ((await response.json()) as { samples: typeof samples }).samples;
      return samples.length >= 3;
    });
    expect(samples.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < samples.length; i++) {
      expect(samples[i]?.ts).toBeGreaterThan(samples[i - 1]?.ts as number);
      expect(samples[i]?.value).toBeGreaterThanOrEqual(samples[i - 1]?.value as number);
    }
  });

  it('compares the seed sites from their declared KPI roles, with a bare compare', async () => {
    type Entity = { id: string; values: Record<string, number | null> };
    let entities: Entity[] = [];
    await waitUntil(
      () =>
        `every site has an availability and an output (saw ${JSON.stringify(entities.map((e) => e.values.availability))})`,
      async () => {
        const response = await fetch(`${api}/api/v1/compare?kpi=availability,output,oee`);
        expect(response.status).toBe(200);
        entities = ((await response.json()) as { entities: Entity[] }).entities;
        return entities.length >= 6 && entities.every((e) => e.values.availability !== null);
      },
      60_000,
    );
    for (const { id, values } of entities) {
      expect(values.availability, id).toBeGreaterThanOrEqual(0);
      expect(values.availability, id).toBeLessThanOrEqual(1);
      expect(values.output, id).toBeGreaterThanOrEqual(0);
    }
    const sources = await fetch(`${api}/api/v1/kpi-sources?site=bj-etown-cnc`);
    expect(sources.status).toBe(200);
    expect(JSON.stringify(await sources.json())).toContain('bj-etown-cnc/machining/');
  }, 90_000);

  it('puts on the wire only messages that validate against the committed JSON Schema', async () => {
    const recorder = await recordMqtt(mqttUrl, 'jjj/v1/#');
    try {
      // Retained metadata can arrive after live telemetry (batches leave within milliseconds now).
      const gateways = (m: RecordedMessage[], kind: string) =>
        new Set(m.filter((x) => x.topic.endsWith(`/${kind}`)).map((x) => x.topic)).size;
      await recorder.waitFor(
        (m) => gateways(m, 'telemetry') >= 6 && gateways(m, 'metadata') >= 6,
        'telemetry and metadata from every gateway',
      );
      const validate = jsonSchemaValidator();
      const kinds = new Set(recorder.messages.map((m) => m.topic.split('/').at(-1)));
      expect(kinds).toEqual(new Set(['telemetry', 'metadata', 'status']));
      for (const message of recorder.messages) expect(validate(message.json), message.topic).toEqual([]);
    } finally {
      await recorder.close();
    }
  });

  it('says it is open on loopback, and lets a visitor send signed commands that a gateway answers', async () => {
    expect(demo.stdout()).toMatch(/open on loopback without login \(anonymous operator/);
    const command = async (point: string, value: number) => {
      const response = await fetch(`${api}/api/v1/commands`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ site: 'bj-etown-cnc', writes: [{ point, value }] }),
      });
      expect(response.status).toBe(200);
      return (await response.json()) as {
        requestedBy: string;
        status: string;
        ack: { results: { ok: boolean; reason?: string }[] };
      };
    };
    // A measured point is read-only: the gateway refuses the write and says why in its acknowledgement.
    const refused = await command('bj-etown-cnc/machining/cnc-01/spindle-speed', 1);
    expect(refused).toMatchObject({ requestedBy: 'anonymous', status: 'failed' });
    expect(refused.ack.results[0]?.reason).toMatch(/not writable/);

    // The line PLC's speed set point is writable: written to the simulated PLC, and read back from it.
    const setpoint = 'bj-etown-cnc/machining/plc-machining/speed-setpoint';
    const points = (await (await fetch(`${api}/api/v1/points?site=bj-etown-cnc`)).json()) as {
      points: { pointId: string; writable: boolean; min: number | null; max: number | null }[];
    };
    expect(points.points.filter((p) => p.writable)).toEqual([
      expect.objectContaining({ pointId: setpoint, min: 0, max: 3600 }),
    ]);
    const applied = await command(setpoint, 150);
    expect(applied).toMatchObject({ status: 'succeeded', ack: { results: [{ ok: true }] } });
    await waitUntil(
      'the new set point read back from the PLC',
      async () => {
        const latest = (await (await fetch(`${api}/api/v1/latest?site=bj-etown-cnc`)).json()) as {
          points: { pointId: string; value: unknown }[];
        };
        return latest.points.find((p) => p.pointId === setpoint)?.value === 150;
      },
      10_000,
    );
  });

  it('shows every seed site online in the console, under its region, with Chinese names, without a sign-in', async () => {
    const sites = (await (await fetch(`${api}/api/v1/sites`)).json()) as SiteSummary[];
    expect(sites.length).toBeGreaterThanOrEqual(6);
    const browser = await launchBrowser();
    try {
      const watched = await openPage(browser, { locale: 'zh-CN' });
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
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('in the console: a drill-down trend grows live, three sites and a project compare, an operator command is applied', async () => {
    const browser = await launchBrowser();
    try {
      const watched = await openPage(browser, { locale: 'en-US' });
      const { page } = watched;

      // Drill-down: a machine's live values, and its spindle-speed trend taking new samples as they come.
      const spindle = 'bj-etown-cnc/machining/cnc-01/spindle-speed';
      await page.goto(`${api}/#/sites/bj-etown-cnc/machining/cnc-01`);
      await page.locator('table.point-table[data-live="true"]').waitFor({ timeout: 15_000 });
      await page.locator(`tr[data-point-id="${spindle}"] [data-action="trend"]`).click();
      const trend = page.locator('section.trend[data-trend-state="ready"]');
      await trend.waitFor({ timeout: 15_000 });
      const firstTs = Number(await trend.getAttribute('data-last-ts'));
      await waitUntil(
        'a newer spindle-speed sample in the trend',
        async () => Number(await trend.getAttribute('data-last-ts')) > firstTs,
        10_000,
      );
      await screenshot(page, '11-demo-trend');

      // Comparison of one site per region, then of a whole project, from the rollups of the demo's data.
      const threeSites = ['bj-etown-cnc', 'tj-binhai-smt', 'he-baoding-gear'];
      await page.goto(`${api}/#/compare?kpi=availability&sites=${threeSites.join(',')}`);
      await page.locator('.compare-results[data-level="site"]').waitFor({ timeout: 15_000 });
      const rows = page.locator('.compare-table tbody tr');
      expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-entity')))).toEqual(
        threeSites,
      );
      for (const site of threeSites) {
        const value = await page.locator(`tr[data-entity="${site}"] td.num`).getAttribute('data-value');
        expect(Number(value), site).toBeGreaterThanOrEqual(0);
        expect(Number(value), site).toBeLessThanOrEqual(1);
      }
      for (const chart of ['bars', 'trend']) await page.locator(`[data-chart="${chart}"] canvas`).waitFor();
      await screenshot(page, '12-demo-compare-sites');
      await page.goto(`${api}/#/compare?kpi=output&projects=jjj-dp-02`);
      await page.locator('.compare-results[data-level="project"]').waitFor({ timeout: 15_000 });
      expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-entity')))).toEqual([
        'jjj-dp-02',
      ]);

      // The anonymous operator writes the line PLC's set point through the form and its confirmation.
      const setpoint = 'bj-etown-cnc/machining/plc-machining/speed-setpoint';
      await page.goto(`${api}/#/commands`);
      await page.getByLabel('Site').selectOption('bj-etown-cnc');
      const form = page.locator(`.command-form[data-point="${setpoint}"]`);
      await form.waitFor();
      expect(await form.locator('[data-fact="range"]').textContent()).toBe('0–3600');
      await page.getByLabel('New value').fill('180');
      await page.locator('[data-action="review"]').click();
      await page
        .getByRole('alertdialog', { name: 'Confirm the write' })
        .locator('[data-action="confirm"]')
        .click();
      const outcome = form.locator('[data-outcome]');
      await outcome.waitFor({ timeout: 15_000 });
      expect(await outcome.getAttribute('data-outcome')).toBe('succeeded');
      expect(await outcome.locator('[data-result]').allTextContents()).toEqual([
        'machining/plc-machining/speed-setpoint: applied',
      ]);
      expect(await seriousAccessibilityViolations(page)).toEqual([]);
      await screenshot(page, '13-demo-command');
      expect(watched.errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 120_000);

  it('stops everything on Ctrl-C and exits on its own', async () => {
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(demo.stdout()).toMatch(/stopped\./);
    await expect(fetch(`${api}/api/v1/sites`)).rejects.toThrow();
  });
});
