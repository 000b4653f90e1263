#!/usr/bin/env node
/** `npm start`: the demo launcher's command line (the demo itself is `startDemo` in demo.ts). */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, keepStdoutForData } from '../gateway/logger.js';
import { sites as catalogueSites } from './catalogue.js';
import { startDemo, watchSitesComeOnline } from './demo.js';

const USAGE = `Usage: npm start [-- OPTIONS]   (or: node dist/seeds/demo-cli.js [OPTIONS])

Runs the whole Jing-Jin-Ji demo on this machine: the OPC UA and Modbus simulators of every seed
site, one gateway per site, an embedded MQTT broker and the collector with its HTTP API.

Options:
  --port N         collector HTTP port (default: $PORT or 8080; a free one if taken)
  --mqtt-port N    embedded broker port (default 1883; a free one if taken)
  --data-dir DIR   where the store and gateway state live (default var/demo)
  --log-level L    log level of the components, on stderr (default warn)
  -h, --help       show this help`;

async function main(): Promise<void> {
  keepStdoutForData();
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'mqtt-port': { type: 'string' },
      'data-dir': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const logger = createLogger('jjj-demo', (values['log-level'] ?? 'warn') as 'warn');
  const started = Date.now();
  say(`jjj-iiot demo: ${catalogueSites.length} seed sites across Beijing, Tianjin and Hebei`);
  const demo = await startDemo({
    httpPort: Number(values.port ?? process.env.PORT ?? 8080),
    mqttPort: Number(values['mqtt-port'] ?? 1883),
    dataDir: resolve(values['data-dir'] ?? 'var/demo'),
    logger,
    say,
  });
  say('');
  for (const { site, opcuaEndpoint, modbus, gateway } of demo.sites) {
    say(`${site.region}  ${site.id.padEnd(24)} ${site.name.en} (${site.name.zh})`);
    say(`      OPC UA ${opcuaEndpoint}   Modbus TCP ${modbus}   gateway ${gateway}`);
  }
  say('');
  say(`Started in ${((Date.now() - started) / 1000).toFixed(1)} s. Look at:`);
  say(
    `  ${demo.httpUrl}/   (the web console: overview, projects, comparison, drill-down, data health, commands)`,
  );
  say(`  ${demo.httpUrl}/api/v1/sites`);
  say(`  ${demo.httpUrl}/api/v1/latest?site=${demo.sites[0]?.site.id ?? ''}`);
  say(`  ${demo.httpUrl}/api/v1/health    ${demo.httpUrl}/metrics`);
  say(`  POST ${demo.httpUrl}/api/v1/commands   (open on loopback: a visitor may try a command)`);
  say('Ctrl-C stops everything.');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal}: stopping gateways, collector, simulators and broker …`);
    // A stuck peer must not keep the demo alive: give up after 15 s.
    setTimeout(() => {
      say('shutdown took over 15 s; exiting anyway');
      process.exit(1);
    }, 15_000).unref();
    await demo.stop();
    say('stopped.');
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  await watchSitesComeOnline(demo.httpUrl, demo.sites.length, say, () => stopping);
}

main().catch((error: Error & { code?: string }) => {
  process.stderr.write(`jjj-demo: ${error.code ? `[${error.code}] ` : ''}${error.message}\n`);
  process.exitCode = 1;
});
