/**
 * The Grafana dashboards of docker/grafana/dashboards/, run against what the collectors actually
 * write: the stack's two collectors (docker/collector.yaml) on a real Mosquitto and a real influxd
 * 1.6.7 (InfluxQL, the language of the stack's datasource), fed by the demo's gateways of one site
 * per region until the KPI rollups exist, then one site's devices stopped (a plant outage) so its
 * samples turn bad. Each dashboard's template variables are resolved as Grafana would (their own
 * queries, in order, each with the ones before substituted), then every panel's query is run with
 * them and must answer at least one row with a value.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { waitUntil } from '../helpers/wait.js';
import { dockerDir, exampleEnvironment, readCompose } from './stack-files.js';
import {
  feedingSites,
  type InfluxSeries,
  type StackOnLoopback,
  startStackOnLoopback,
} from './stack-on-loopback.js';

const DATASOURCE = { type: 'influxdb', uid: 'jjj-influxdb' };

const Target = z.object({
  refId: z.string(),
  datasource: z.object({ type: z.string(), uid: z.string() }),
  rawQuery: z.literal(true),
  query: z.string(),
  resultFormat: z.enum(['time_series', 'table']),
});
const Panel = z.object({
  id: z.number(),
  type: z.string(),
  title: z.string(),
  interval: z.string().optional(),
  datasource: z.object({ type: z.string(), uid: z.string() }).optional(),
  targets: z.array(Target).optional(),
});
const Variable = z.object({
  name: z.string(),
  type: z.enum(['query', 'custom', 'textbox']),
  query: z.string(),
  multi: z.boolean().optional(),
  includeAll: z.boolean().optional(),
  datasource: z.object({ type: z.string(), uid: z.string() }).optional(),
  current: z.object({ value: z.union([z.string(), z.array(z.string())]) }).optional(),
});
const Dashboard = z.object({
  uid: z.string(),
  time: z.object({ from: z.string().regex(/^now-\d+[mhd]$/), to: z.literal('now') }),
  title: z.string(),
  panels: z.array(Panel),
  templating: z.object({ list: z.array(Variable) }),
});
type Dashboard = z.infer<typeof Dashboard>;
type Variable = z.infer<typeof Variable>;

const dashboardsDir = join(dockerDir, 'grafana/dashboards');
const dashboards = readdirSync(dashboardsDir)
  .filter((file) => file.endsWith('.json'))
  .sort()
  .map((file) => ({
    file,
    dashboard: Dashboard.parse(JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8'))),
  }));

/** Grafana's InfluxDB datasource escapes these in a value it puts into a regex. */
const regexEscape = (value: string) => value.replace(/[\\/^$*+?.()|[\]{}]/g, '\\$&');

/** A variable's value as Grafana writes it into an InfluxQL query: several values become `(a|b)`. */
function formatted(variable: Variable, values: string[]): string {
  if (variable.type !== 'query') return values[0] as string;
  const escaped = values.map(regexEscape);
  return escaped.length === 1 ? (escaped[0] as string) : `(${escaped.join('|')})`;
}

/** `$name` replaced by the variables known so far; Grafana's globals by the time range's. */
function interpolate(
  query: string,
  known: Map<string, string>,
  range: { from: number; to: number },
  interval: string,
) {
  const globals: Record<string, string> = {
    timeFilter: `time >= ${range.from}ms and time <= ${range.to}ms`,
    __interval: interval,
    __range_s: String(Math.round((range.to - range.from) / 1000)),
  };
  return query.replace(/\$(\w+)/g, (reference, name: string) => {
    const value = globals[name] ?? known.get(name);
    if (value === undefined)
      throw new Error(`${query}: ${reference} is neither a variable of the dashboard nor a Grafana global`);
    return value;
  });
}

/** Rows with at least one value beside the time. */
const rowsWithValues = (series: InfluxSeries[]) =>
  series.flatMap((one) => one.values.filter((row) => row.slice(1).some((value) => value !== null)));

let stack: StackOnLoopback;
/** When the data was complete: the time range every query is asked over ends here. */
let now: number;
/** The site a plant outage strikes: the one the drill-down opens on (its first site by name). */
const outageSite = [...feedingSites].sort((a, b) =>
  a.id.localeCompare(b.id),
)[0] as (typeof feedingSites)[number];

/** The dashboard's default time range (e.g. now-6h to now), as Grafana opens it. */
function rangeOf(dashboard: Dashboard): { from: number; to: number } {
  const [, amount, unit] = /^now-(\d+)([mhd])$/.exec(dashboard.time.from) ?? [];
  const unitMs = { m: 60_000, h: 3_600_000, d: 86_400_000 }[unit as 'm' | 'h' | 'd'];
  return { from: now - Number(amount) * unitMs, to: now };
}

beforeAll(async () => {
  stack = await startStackOnLoopback({ rollupIntervalMs: 1000 });
  // Every site's samples and its KPI rollup rows, minutes and hours.
  await waitUntil(
    'each feeding site has samples and KPI rows of both resolutions in InfluxDB',
    async () => {
      const rows = await stack.query(`SELECT count("good_qty") FROM "jjj_kpi" GROUP BY "site", "resolution"`);
      return rows.length === feedingSites.length * 2;
    },
    60_000,
  );
  // A plant outage: the last site's devices go away, its gateway keeps publishing bad samples.
  await stack.stopSiteDevices(outageSite.id);
  await waitUntil(
    `bad samples of ${outageSite.id} in InfluxDB`,
    async () => (await stack.query(`SELECT count("quality") FROM "jjj" WHERE "quality" = 'bad'`)).length > 0,
    30_000,
  );
  now = Date.now() + 1000;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

/** Each variable's values, resolved in order as Grafana resolves them on load. */
async function resolveVariables(dashboard: Dashboard): Promise<Map<string, string>> {
  const known = new Map<string, string>();
  const range = rangeOf(dashboard);
  for (const variable of dashboard.templating.list) {
    let values: string[];
    if (variable.type === 'query') {
      expect(variable.datasource, variable.name).toEqual(DATASOURCE);
      const series = await stack.query(interpolate(variable.query, known, range, '10s'));
      values = series.flatMap((one) => one.values.map((row) => String(row[1])));
      expect(values.length, `${dashboard.uid}: variable ${variable.name}`).toBeGreaterThan(0);
      // A single-value variable starts on its first value; a multi-value one on All.
      if (!variable.multi) values = values.slice(0, 1);
    } else {
      const current = variable.current?.value ?? variable.query.split(',')[0];
      values = [String(current)];
    }
    known.set(variable.name, formatted(variable, values));
  }
  return known;
}

describe.each(dashboards)('Grafana dashboard $file', ({ file, dashboard }) => {
  it("queries the stack's InfluxDB datasource in raw InfluxQL, limited to the time picker's range", () => {
    expect(dashboard.uid).toMatch(/^jjj-/);
    const queryPanels = dashboard.panels.filter((panel) => panel.type !== 'text');
    expect(queryPanels.length).toBeGreaterThan(2);
    for (const panel of queryPanels) {
      expect(panel.datasource, `${file}: ${panel.title}`).toEqual(DATASOURCE);
      expect(panel.targets?.length, `${file}: ${panel.title}`).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.datasource).toEqual(DATASOURCE);
        expect(target.query, `${file}: ${panel.title}`).toContain('$timeFilter');
      }
    }
    expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
  });

  it('answers every panel with data written by the collectors', async () => {
    const variables = await resolveVariables(dashboard);
    const range = rangeOf(dashboard);
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        const query = interpolate(target.query, variables, range, panel.interval ?? '10s');
        const series = await stack.query(query);
        expect(
          rowsWithValues(series).length,
          `${file}: "${panel.title}" ${target.refId}\n${query}`,
        ).toBeGreaterThan(0);
      }
    }
  });
});

describe('what the dashboards show of the demo', () => {
  const panelSeries = async (file: string, title: string) => {
    const found = dashboards.find((one) => one.file === file);
    const panel = found?.dashboard.panels.find((one) => one.title === title);
    const [target] = panel?.targets ?? [];
    if (!found || !panel || !target) throw new Error(`${file} has no panel "${title}"`);
    const variables = await resolveVariables(found.dashboard);
    return stack.query(
      interpolate(target.query, variables, rangeOf(found.dashboard), panel.interval ?? '10s'),
    );
  };

  it('the regional overview counts samples of Beijing, Tianjin and Hebei', async () => {
    const series = await panelSeries('regional-overview.json', 'Samples stored per region');
    expect(series.map((one) => one.tags?.region).sort()).toEqual(['BJ', 'HE', 'TJ']);
  });

  it("the KPI comparison has output for every site, and the data-health view the outage site's bad samples", async () => {
    const output = await panelSeries('kpi-comparison.json', 'Output, energy and water per site');
    expect(output.map((one) => one.tags?.site).sort()).toEqual(feedingSites.map((site) => site.id).sort());
    const bad = await panelSeries('data-health.json', 'Bad or uncertain samples per site');
    expect(bad.map((one) => one.tags?.site)).toContain(outageSite.id);
  });

  it('both collectors took a share of the messages, and their one catalog saw no batch missing', async () => {
    const metricsOf = async (httpUrl: string) => {
      // They listen on every interface (0.0.0.0); the Host they serve is 127.0.0.1:<port>.
      const response = await fetch(`http://127.0.0.1:${new URL(httpUrl).port}/metrics`, {
        headers: { authorization: `Bearer ${exampleEnvironment().JJJ_METRICS_TOKEN}` },
      });
      expect(response.status).toBe(200);
      return response.text();
    };
    const counter = (text: string, line: RegExp) =>
      [...text.matchAll(line)].reduce((sum, match) => sum + Number(match[1]), 0);
    let gapBatches = 0;
    let lateBatches = 0;
    for (const collector of stack.collectors) {
      const metrics = await metricsOf(collector.httpUrl);
      // The shared subscription gave each instance telemetry of its own.
      expect(
        counter(metrics, /^jjj_collector_messages_received_total\{kind="telemetry"\} (\d+)$/gm),
      ).toBeGreaterThan(0);
      gapBatches += counter(metrics, /^jjj_collector_sequence_gap_batches_total (\d+)$/gm);
      lateBatches += counter(metrics, /^jjj_collector_late_batches_total (\d+)$/gm);
    }
    // With a catalog each, every batch the other instance took would count as missing. With one,
    // a batch the other instance stores a moment after a later one is counted missing, then late.
    expect(gapBatches - lateBatches).toBe(0);
  });

  it('the collectors pass the health check compose runs in their containers', async () => {
    const [command, ...args] = readCompose().services['collector-1']?.healthcheck.test.slice(1) ?? [];
    expect(command).toBe('node');
    expect(args.join(' ')).toContain('127.0.0.1:8080/api/v1/health');
    for (const collector of stack.collectors) {
      const port = new URL(collector.httpUrl).port;
      const probe = args.map((arg) => arg.replace('127.0.0.1:8080', `127.0.0.1:${port}`));
      // Rejects on a non-zero exit. Not execFileSync: the collectors answer from this very process.
      await promisify(execFile)(process.execPath, probe);
    }
  });
});
