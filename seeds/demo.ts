/**
 * `npm start`: the whole Jing-Jin-Ji demo on one machine with embedded defaults: the simulators of
 * every seed site, one gateway per site, an in-process MQTT broker, and the collector with the
 * embedded SQLite store and the HTTP API. Ctrl-C stops everything. The API is open on loopback
 * (anonymous operator, so a visitor can read and try a command); commands are signed with a key the
 * demo makes in its data dir, which the demo gateways trust.
 */
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { type RunningCollector, startCollector } from '../cloud/collector.js';
import { signingKeyPairIn } from '../cloud/commands/signing-key.js';
import { buildCollectorConfig } from '../cloud/config.js';
import { type EmbeddedBroker, startEmbeddedBroker } from '../cloud/embedded-broker.js';
import type { NetworkConfigInput } from '../cloud/network/config.js';
import { parseGatewayConfig } from '../gateway/config.js';
import { Gateway } from '../gateway/gateway.js';
import type { Logger } from '../gateway/logger.js';
import { type Catalogue, catalogue, sites as catalogueSites, type Site } from './catalogue.js';
import { gatewayConfigFor } from './gateway-config.js';
import { defaultPorts, type SitePorts, type SiteSimulators, startSiteSimulators } from './site-simulators.js';

export interface DemoOptions {
  httpPort: number;
  mqttPort: number;
  dataDir: string;
  /** Ports of each site's simulators; default the conventional ones, or free ones where taken. */
  sitePorts?: (site: Site, index: number) => Promise<SitePorts>;
  sites?: readonly Site[];
  logger: Logger;
  /** A line of progress for the person watching. */
  say?: (line: string) => void;
}

/** The id under which the demo gateways trust the demo collector's command-signing key. */
export const DEMO_COMMAND_KEY_ID = 'demo-cloud';

export interface RunningDemo {
  httpUrl: string;
  mqttUrl: string;
  sites: Array<{ site: Site; opcuaEndpoint: string; modbus: string; gateway: string }>;
  stop(): Promise<void>;
}

/** The preferred port if it is free, else one the OS picks (the demo must start on a busy box too). */
async function portOrFree(preferred: number): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | undefined>((answer) => {
      const server = createServer();
      server.once('error', () => answer(undefined));
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => answer(typeof address === 'object' && address ? address.port : undefined));
      });
    });
  return (await tryListen(preferred)) ?? ((await tryListen(0)) as number);
}

/**
 * The collector's `network` block from the seed catalogue: the demonstration projects (names,
 * industries, summaries) and what each demo site is (industry, smart factory or digital workshop,
 * city); the targets stay Column 5's.
 */
export function networkOf(from: Catalogue, demoSites: readonly Site[] = from.sites): NetworkConfigInput {
  return {
    projects: Object.fromEntries(
      from.projects.map((project) => [
        project.id,
        { name: project.name, industry: project.industry, summary: project.summary },
      ]),
    ),
    sites: Object.fromEntries(
      demoSites.map((site) => [site.id, { industry: site.industry, mode: site.mode, city: site.city }]),
    ),
  };
}

export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const say = options.say ?? (() => undefined);
  const { logger } = options;
  const demoSites = options.sites ?? catalogueSites;
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) {
      await stop().catch((error: Error) => logger.error({ err: error }, 'error while stopping'));
    }
  };
  try {
    const broker: EmbeddedBroker = await startEmbeddedBroker({ port: await portOrFree(options.mqttPort) });
    stops.push(() => broker.close());
    say(`MQTT broker (embedded)     ${broker.url}`);

    const commandKey = signingKeyPairIn(resolve(options.dataDir, 'collector-keys'));
    const collector: RunningCollector = await startCollector(
      buildCollectorConfig({
        mqtt: { url: broker.url, clientId: 'jjj-demo-collector' },
        store: { path: resolve(options.dataDir, 'collector.db') },
        // Loopback only: the demo box is its own closed zone.
        http: { host: '127.0.0.1', port: await portOrFree(options.httpPort) },
        auth: { anonymous: 'operator' },
        commands: { signingKeyFile: commandKey.privateKeyFile, keyId: DEMO_COMMAND_KEY_ID },
        network: networkOf(catalogue, demoSites),
      }),
      { logger },
    );
    stops.push(() => collector.close());
    say(`Web console (zh/en)        ${collector.httpUrl}/`);
    say(`Collector API              ${collector.httpUrl}/api/v1/sites`);
    say('  open on loopback without login (anonymous operator: read and send commands): demo only');
    say(`Plant comparison (KPIs)    ${collector.httpUrl}/api/v1/compare?level=site`);

    const sitePorts = options.sitePorts ?? (async (_site: Site, i: number) => defaultSitePorts(i));
    const simulators: SiteSimulators[] = [];
    stops.push(() => Promise.all(simulators.map((s) => s.stop())).then(() => undefined));
    // allSettled, so that when one site fails every site that did start is still stopped.
    const started = await Promise.allSettled(
      demoSites.map(async (site, i) => {
        simulators.push(await startSiteSimulators(site, await sitePorts(site, i)));
      }),
    );
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    simulators.sort((a, b) => demoSites.indexOf(a.site) - demoSites.indexOf(b.site));

    const running: RunningDemo['sites'] = [];
    const gateways: Gateway[] = [];
    stops.push(() => Promise.all(gateways.map((g) => g.stop())).then(() => undefined));
    for (const simulator of simulators) {
      const { site } = simulator;
      const raw = gatewayConfigFor(site, {
        opcuaEndpoint: simulator.opcuaEndpoint,
        modbusHost: simulator.modbus.host,
        modbusPort: simulator.modbus.port,
        mqttUrl: broker.url,
        commandKey: { id: DEMO_COMMAND_KEY_ID, publicKey: commandKey.publicKeyPem },
      });
      const config = parseGatewayConfig(
        raw,
        `demo gateway of ${site.id}`,
        resolve(options.dataDir, 'gateways'),
      );
      gateways.push(new Gateway(config, logger.child({ gateway: config.gateway.id })));
      running.push({
        site,
        opcuaEndpoint: simulator.opcuaEndpoint,
        modbus: `${simulator.modbus.host}:${simulator.modbus.port}`,
        gateway: config.gateway.id,
      });
    }
    // Together: each one waits on its devices' first connections, not on the others.
    await Promise.all(gateways.map((gateway) => gateway.start()));
    return { httpUrl: collector.httpUrl, mqttUrl: broker.url, sites: running, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function defaultSitePorts(index: number): Promise<SitePorts> {
  const preferred = defaultPorts(index);
  return {
    opcuaPort: await portOrFree(preferred.opcuaPort),
    modbusPort: await portOrFree(preferred.modbusPort),
  };
}

interface SiteSummary {
  id: string;
  online: boolean;
  lastTs: number | null;
  protocols: string[];
}

/** Polls the collector until every site is online with data; prints a progress line at each change. */
export async function watchSitesComeOnline(
  httpUrl: string,
  expected: number,
  say: (line: string) => void,
  cancelled: () => boolean,
) {
  const started = Date.now();
  let lastReport = '';
  while (Date.now() - started < 60_000) {
    if (cancelled()) return;
    const response = await fetch(`${httpUrl}/api/v1/sites`).catch(() => undefined);
    const sites = response?.ok ? ((await response.json()) as SiteSummary[]) : [];
    const ready = sites.filter((s) => s.online && s.lastTs !== null).length;
    const report = `${ready}/${expected} sites online with data`;
    if (report !== lastReport) {
      say(`  … ${report} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      lastReport = report;
    }
    if (ready >= expected) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  say('  … not every site came online within 60 s: see the log lines above (stderr)');
}
