/**
 * `npm run simulate -- --site ID …`: runs the OPC UA and Modbus simulators of seed sites until
 * SIGINT / SIGTERM, and prints where they listen and which gateway config reads them.
 */
import { isIP } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { findSite, type Site, siteIndex, sites } from './catalogue.js';
import { simulatorNamespaceUri } from './device-maps.js';
import { configPathFor } from './gateway-config.js';
import { defaultPorts, type SitePorts } from './ports.js';

export const USAGE = `Usage: npm run simulate -- (--site ID [--site ID …] | --all) [options]

Runs the OPC UA and Modbus TCP simulators of seed sites until Ctrl-C.

Options:
  --site ID          a site of the catalogue (repeatable)
  --all              every site of the catalogue
  --opcua-port N     OPC UA port (one site only; default 4841 + site index)
  --modbus-port N    Modbus TCP port (one site only; default 5021 + site index)
  --host ADDR        address to listen on (default 127.0.0.1; 0.0.0.0 for every interface:
                     the simulated devices take anonymous writes, so only on a lab network)
  --seed TEXT        seed of the signal models (default jjj-iiot)
  -h, --help         this help

Sites: ${sites.map((s) => s.id).join(', ')}`;

/** Loopback: the simulated devices accept anonymous writes, so they are not offered to the network unasked. */
const DEFAULT_HOST = '127.0.0.1';

/** A command line that cannot run; `exitCode` 2 as for any usage error. */
export class SimulateUsageError extends Error {
  readonly code = 'SIMULATE_USAGE';
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'SimulateUsageError';
  }
}

export interface SimulationPlan {
  help: boolean;
  seed?: string;
  host: string;
  sites: Array<{ site: Site; ports: SitePorts }>;
}

function parsePort(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new SimulateUsageError(`--${option}: expected a port number from 1 to 65535, got "${text}"`);
  }
  return port;
}

/** Turns the command line into the sites and ports to run; throws `SimulateUsageError`. */
export function planSimulation(argv: readonly string[]): SimulationPlan {
  let values: ReturnType<typeof parseOptions>['values'];
  try {
    values = parseOptions(argv).values;
  } catch (error) {
    throw new SimulateUsageError((error as Error).message);
  }
  if (values.help) return { help: true, host: DEFAULT_HOST, sites: [] };
  const ids = values.all ? sites.map((s) => s.id) : [...new Set(values.site ?? [])];
  if (ids.length === 0) throw new SimulateUsageError('name a site with --site ID, or use --all');
  const unknown = ids.filter((id) => !findSite(id));
  if (unknown.length > 0) {
    throw new SimulateUsageError(
      `unknown site ${unknown.join(', ')}; known sites: ${sites.map((s) => s.id).join(', ')}`,
    );
  }
  const opcuaPort = parsePort('opcua-port', values['opcua-port']);
  const modbusPort = parsePort('modbus-port', values['modbus-port']);
  if ((opcuaPort !== undefined || modbusPort !== undefined) && ids.length !== 1) {
    throw new SimulateUsageError('--opcua-port and --modbus-port apply to a single --site');
  }
  const host = values.host ?? DEFAULT_HOST;
  if (!isIP(host) && !/^[a-z0-9.-]+$/i.test(host)) {
    throw new SimulateUsageError(`--host: expected an IP address or host name, got "${host}"`);
  }
  return {
    help: false,
    host,
    ...(values.seed ? { seed: values.seed } : {}),
    sites: ids.map((id) => {
      const site = findSite(id) as Site;
      const ports = defaultPorts(siteIndex(id));
      return {
        site,
        ports: { opcuaPort: opcuaPort ?? ports.opcuaPort, modbusPort: modbusPort ?? ports.modbusPort },
      };
    }),
  };
}

function parseOptions(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      site: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      'opcua-port': { type: 'string' },
      'modbus-port': { type: 'string' },
      host: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function main(argv: readonly string[]): Promise<number> {
  let plan: SimulationPlan;
  try {
    plan = planSimulation(argv);
  } catch (error) {
    if (!(error instanceof SimulateUsageError)) throw error;
    console.error(`simulate: ${error.message}\n\n${USAGE}`);
    return error.exitCode;
  }
  if (plan.help) {
    console.log(USAGE);
    return 0;
  }
  // Loaded only when simulators run: node-opcua takes a second to import.
  const { startSiteSimulators } = await import('./site-simulators.js');
  const started = await Promise.allSettled(
    plan.sites.map(({ site, ports }) =>
      startSiteSimulators(site, {
        ...ports,
        host: plan.host,
        ...(plan.seed ? { seed: plan.seed } : {}),
        // A persistent PKI: the server certificate is made once, not at every start.
        pkiDir: join('var', 'simulators', site.id, 'pki'),
      }),
    ),
  );
  const running = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const stopAll = () => Promise.all(running.map((simulators) => simulators.stop()));
  const failures = started.flatMap((result, i) =>
    result.status === 'rejected' ? [`${plan.sites[i]?.site.id}: ${(result.reason as Error).message}`] : [],
  );
  if (failures.length > 0) {
    await stopAll();
    console.error(`simulate: could not start\n${failures.map((f) => `  ${f}`).join('\n')}`);
    return 1;
  }

  for (const simulators of running) {
    const { site } = simulators;
    const conventional = defaultPorts(siteIndex(site.id));
    const units = [...simulators.modbus.units].map(([unitId, id]) => `unit ${unitId} ${id}`).join(', ');
    console.log(`${site.id}  ${site.name.zh} / ${site.name.en}  (${site.region}, ${site.project})`);
    console.log(`  OPC UA   ${simulators.opcuaEndpoint}  namespace ${simulatorNamespaceUri(site)}`);
    console.log(`  Modbus   ${simulators.modbus.host}:${simulators.modbus.port}  ${units}`);
    console.log(`  Gateway  npx jjj-gateway run --config ${configPathFor(site)}`);
    if (
      simulators.modbus.port !== conventional.modbusPort ||
      !simulators.opcuaEndpoint.endsWith(`:${conventional.opcuaPort}`)
    ) {
      console.log(
        `           (that config reads the default ports ${conventional.opcuaPort} / ${conventional.modbusPort}: edit endpoint and port to match)`,
      );
    }
  }
  console.log('Simulating; Ctrl-C stops.');

  await new Promise<void>((resolveSignal) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      console.log(`${signal}: stopping the simulators`);
      resolveSignal();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await stopAll();
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
