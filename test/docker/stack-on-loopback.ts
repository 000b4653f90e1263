/**
 * The cloud stack's data path on this machine, without an engine: a real influxd 1.6.7 (the v1 API
 * the stack's collectors speak to InfluxDB 2) and a real Mosquitto, both collectors started from
 * docker/collector.yaml with their compose environment (only the service names moved to loopback
 * and /data to a temporary folder), fed by the demo's gateways and simulators of one site per region.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startInfluxdb1 } from '../../bench/collector-peers.js';
import { type RunningCollector, startCollector } from '../../cloud/collector.js';
import { type CollectorConfig, loadCollectorConfig } from '../../cloud/config.js';
import { parseGatewayConfig } from '../../gateway/config.js';
import { Gateway } from '../../gateway/gateway.js';
import { sites } from '../../seeds/catalogue.js';
import { gatewayConfigFor } from '../../seeds/gateway-config.js';
import { startSiteSimulators } from '../../seeds/site-simulators.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/ports.js';
import { dockerDir, exampleEnvironment, readCompose, serviceEnvironment } from './stack-files.js';

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export interface StackOnLoopback {
  collectors: RunningCollector[];
  /** Stops a site's simulators (a plant outage): its gateway carries on, publishing bad samples. */
  stopSiteDevices(siteId: string): Promise<void>;
  /** One InfluxQL statement's series, on the stack's database. */
  query(statement: string): Promise<InfluxSeries[]>;
  stop(): Promise<void>;
}

/** The demo sites the stack is fed by: the first of each region. */
export const feedingSites = ['BJ', 'TJ', 'HE'].map((region) => {
  const site = sites.find((candidate) => candidate.region === region);
  if (!site) throw new Error(`the catalogue has no site in ${region}`);
  return site;
});

/**
 * docker/collector.yaml as the stack's collectors read it, with the compose service names moved to
 * loopback peers and the /data volume to `dir`; returns the file written there.
 */
export function writeStackCollectorConfig(
  dir: string,
  peers: { mqttUrl: string; influxUrl: string },
): string {
  const file = join(dir, 'collector.yaml');
  writeFileSync(
    file,
    readFileSync(join(dockerDir, 'collector.yaml'), 'utf8')
      .replace('mqtt://mosquitto:1883', peers.mqttUrl)
      .replace('http://influxdb:8086', peers.influxUrl)
      .replace('/data/', `${dir}/`),
  );
  return file;
}

/** A collector service's compose environment (from docker/.env.example), listening on `port`. */
export function collectorEnvironment(serviceName: string, port: number): Record<string, string> {
  const service = readCompose().services[serviceName];
  if (!service) throw new Error(`compose.yaml has no service ${serviceName}`);
  // PORT, as the CLI reads it, so collectors of this machine listen on a port of their own, and that
  // port as the name users type (JJJ_CONSOLE_HOST), so the Host check admits it.
  return {
    ...serviceEnvironment(service, exampleEnvironment()),
    PORT: String(port),
    JJJ_CONSOLE_HOST: `127.0.0.1:${port}`,
  };
}

/** The stack's bucket as a database of influxd 1.6.7; returns its name. */
export async function createStackDatabase(influxUrl: string): Promise<string> {
  const database = exampleEnvironment().INFLUXDB_BUCKET as string;
  const statement = encodeURIComponent(`CREATE DATABASE "${database}"`);
  const created = await fetch(`${influxUrl}/query?q=${statement}`, { method: 'POST' });
  if (!created.ok) throw new Error(`CREATE DATABASE: HTTP ${created.status}`);
  return database;
}

export async function influxQuery(
  influxUrl: string,
  database: string,
  statement: string,
): Promise<InfluxSeries[]> {
  const params = new URLSearchParams({ db: database, epoch: 'ms', q: statement });
  const response = await fetch(`${influxUrl}/query?${params}`);
  const body = (await response.json()) as {
    results?: Array<{ error?: string; series?: InfluxSeries[] }>;
    error?: string;
  };
  const error = body.error ?? body.results?.[0]?.error;
  if (!response.ok || error) throw new Error(`${statement}: ${error ?? `HTTP ${response.status}`}`);
  return body.results?.[0]?.series ?? [];
}

export async function startStackOnLoopback(options: { rollupIntervalMs: number }): Promise<StackOnLoopback> {
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step();
  };
  try {
    const influx = await startInfluxdb1();
    stops.push(() => influx.stop());
    const database = await createStackDatabase(influx.url);
    const mosquitto = await startMosquitto();
    stops.push(() => mosquitto.stop());

    const dataDir = mkdtempSync(join(tmpdir(), 'jjj-stack-'));
    stops.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const configFile = writeStackCollectorConfig(dataDir, { mqttUrl: mosquitto.url, influxUrl: influx.url });
    const logger = pino({ level: 'silent' });
    const collectors: RunningCollector[] = [];
    stops.push(() => Promise.all(collectors.map((collector) => collector.close())));
    for (const name of ['collector-1', 'collector-2']) {
      const loaded = loadCollectorConfig(configFile, collectorEnvironment(name, await freePort()));
      const config: CollectorConfig = {
        ...loaded,
        kpi: { ...loaded.kpi, rollups: { ...loaded.kpi.rollups, intervalMs: options.rollupIntervalMs } },
      };
      collectors.push(await startCollector(config, { logger }));
    }

    const gateways: Gateway[] = [];
    stops.push(() => Promise.all(gateways.map((gateway) => gateway.stop())));
    const runningDevices = new Map<string, () => Promise<void>>();
    const stopDevices = async (siteId: string) => {
      const stopSite = runningDevices.get(siteId);
      runningDevices.delete(siteId);
      await stopSite?.();
    };
    for (const site of feedingSites) {
      const simulators = await startSiteSimulators(site, {
        opcuaPort: await freePort(),
        modbusPort: await freePort(),
      });
      runningDevices.set(site.id, () => simulators.stop());
      stops.push(() => stopDevices(site.id));
      const raw = gatewayConfigFor(site, {
        opcuaEndpoint: simulators.opcuaEndpoint,
        modbusHost: simulators.modbus.host,
        modbusPort: simulators.modbus.port,
        mqttUrl: mosquitto.url,
      });
      gateways.push(
        new Gateway(parseGatewayConfig(raw, `gateway of ${site.id}`, join(dataDir, 'gateways')), logger),
      );
    }
    await Promise.all(gateways.map((gateway) => gateway.start()));

    return {
      collectors,
      stopSiteDevices: stopDevices,
      query: (statement) => influxQuery(influx.url, database, statement),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
