#!/usr/bin/env -S node --max-semi-space-size=8
/**
 * `jjj-gateway`: run, validate or dry-run a gateway from its YAML config.
 *
 * The shebang halves V8's young generation (semi-spaces of 8 MB instead of 16): a busy gateway otherwise
 * grows it to its 2 × 16 MB maximum and keeps all of it resident, while what survives a scavenge stays
 * small (see adapters/opcua/README.md, "Footprint"). `bench/opcua.ts` runs with the flags of this line.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from './common/errors.js';
import { loadGatewayConfig } from './config.js';
import { Gateway } from './gateway.js';
import { createLogger, keepStdoutForData } from './logger.js';
import { scanOnce } from './scan.js';

const USAGE = `Usage: jjj-gateway <command> --config FILE
       jjj-gateway discover opcua opc.tcp://HOST:PORT [--root NODE] [--depth N]
       jjj-gateway certificates --config FILE [list | trust FINGERPRINT]

Reads factory equipment over OPC UA and Modbus and forwards every reading, in the jjj-iiot
schema, over MQTT to the cloud collector.

Commands:
  run       run the gateway until SIGINT/SIGTERM
  validate  check the config; exit 0 if valid, 2 if not (each problem as "path: reason")
  test      connect, read every configured point once, print one JSON line per point
            (schema jjj.point/1) to stdout; exit 0 if all were good, 1 if any was not
  discover  browse an OPC UA server and print a ready-to-edit gateway config (YAML) with
            one point per variable found (node id, browse path, data type, unit, range)
  certificates
            list the OPC UA server certificates the gateway has seen (trusted, rejected),
            or trust a rejected one by its SHA-1 fingerprint (or a unique prefix of it)

Options:
  -c, --config FILE    gateway config (YAML); see adapters/*/sample.yaml
      --log-level L    override the config's log level (fatal|error|warn|info|debug|trace)
      --root NODE      discover: node to browse from (default i=85, the Objects folder)
      --depth N        discover: levels to browse below the root (default 6)
  -h, --help           show this help
  -v, --version        show the version

Exit codes: 0 ok, 1 a point was not read with good quality (test), 2 invalid config or usage.
Logs go to stderr as JSON lines (pino).`;

const EXIT_USAGE = 2;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function fail(message: string): never {
  process.stderr.write(`jjj-gateway: ${message}\n`);
  process.exit(EXIT_USAGE);
}

async function main(argv: string[]): Promise<number> {
  keepStdoutForData();
  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        root: { type: 'string' },
        depth: { type: 'string' },
      },
    });
  }
  try {
    parsed = parse();
  } catch (error) {
    fail(`${(error as Error).message}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const [command, ...extra] = positionals;
  if (!command) fail(`a command is required\n\n${USAGE}`);
  if (!['run', 'validate', 'test', 'discover', 'certificates'].includes(command)) {
    fail(`unknown command "${command}"\n\n${USAGE}`);
  }
  if (command === 'discover') {
    const [protocol, endpoint, ...more] = extra;
    if (protocol !== 'opcua' || !endpoint || more.length > 0)
      fail('usage: discover opcua opc.tcp://HOST:PORT');
    const depth = values.depth === undefined ? undefined : Number(values.depth);
    if (depth !== undefined && !(Number.isInteger(depth) && depth > 0))
      fail('--depth needs a positive integer');
    const { discover } = await import('../adapters/opcua/discover.js');
    process.stdout.write(
      await discover({ endpoint, ...(values.root && { root: values.root }), ...(depth && { depth }) }),
    );
    return 0;
  }
  if (command !== 'certificates' && extra.length > 0) fail(`unexpected argument "${extra[0]}"`);
  if (!values.config) fail(`${command} needs --config FILE`);

  let config: ReturnType<typeof loadGatewayConfig>;
  try {
    config = loadGatewayConfig(values.config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`jjj-gateway: ${error.file}: invalid configuration\n`);
      for (const problem of error.problems) process.stderr.write(`  ${problem}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
  const level = (values['log-level'] as typeof config.log.level | undefined) ?? config.log.level;
  const logger = createLogger('jjj-gateway', level);

  if (command === 'certificates') {
    const { certificatesCommand, CertificatesUsageError } = await import('../adapters/opcua/certificates.js');
    try {
      for (const line of await certificatesCommand(config.stateDir, extra)) process.stdout.write(`${line}\n`);
    } catch (error) {
      if (error instanceof CertificatesUsageError) fail(`certificates: ${error.message}`);
      throw error;
    }
    return 0;
  }

  if (command === 'validate') {
    const points = config.devices.reduce((n, d) => n + d.points.length, 0);
    process.stdout.write(
      `${values.config}: valid (gateway ${config.gateway.id}, ${config.devices.length} devices, ${points} points)\n`,
    );
    return 0;
  }

  if (command === 'test') {
    const records = await scanOnce(config, logger);
    for (const record of records) process.stdout.write(`${JSON.stringify(record)}\n`);
    const bad = records.filter((r) => r.quality !== 'good').length;
    logger.info({ points: records.length, notGood: bad }, 'scan complete');
    return bad === 0 ? 0 : 1;
  }

  const gateway = new Gateway(config, logger);
  await gateway.start();
  await new Promise<void>((resolveSignal) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'shutting down');
      resolveSignal();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  await gateway.stop();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const code = (error as { code?: string }).code;
    process.stderr.write(
      `jjj-gateway: ${code ? `[${code}] ` : ''}${(error as Error).message ?? String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
