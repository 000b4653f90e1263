#!/usr/bin/env -S node --v8-pool-size=1
/**
 * `jjj-gateway`: run, validate or dry-run a gateway from its YAML config, plus the commands adapter
 * modules add through their CLI hook (OPC UA's `discover` and `certificates`), found in the registry.
 *
 * The process sizes V8's heap itself (gateway/v8-heap.ts): semi-spaces of 6 MB instead of 16 (a busy
 * gateway otherwise grows its young generation to 2 × 16 MB and keeps all of it resident, while what
 * survives a scavenge stays small; see adapters/opcua/README.md, "Footprint"), and an old generation
 * that grows by about 8 MB between full GCs (20–100 % of what it keeps), not up to 4 ×. That holds
 * however the gateway is started. The one flag on the line above cannot be set at run time: Node.js
 * starts 4 V8 worker threads, each optimising functions in the background with its own malloc arena,
 * which keeps the largest compile it ran (10–16 MB of free memory in all, growing during a 10-minute
 * soak with 10,000 OPC UA items; 2 MB with one thread, for the same CPU).
 */
import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type AdapterCommand, AdapterUsageError } from '../adapters/contract.js';
import { adapterModules } from '../adapters/registry.js';
import { configWarningsOf } from './adapter-modules.js';
import { BrokerAuthError } from './broker-auth.js';
import { writeBrokerAuth } from './broker-auth-command.js';
import { type CliIo, isEntryPoint, processIo } from './common/cli-io.js';
import { formatPath } from './common/config-loading.js';
import { ConfigError } from './common/errors.js';
import { type LoadedGatewayConfig, loadGatewayConfig } from './config.js';
import { Gateway } from './gateway.js';
import { createLogger, keepStdoutForData } from './logger.js';
import { scanOnce } from './scan.js';
import { collectStartUpGarbage, tuneHeap } from './v8-heap.js';

const EXIT_USAGE = 2;

const ownCommands = ['run', 'validate', 'test'];

const ownOptions = {
  config: { type: 'string', short: 'c' },
  'log-level': { type: 'string' },
  out: { type: 'string' },
  'collector-user': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} satisfies ParseArgsConfig['options'];

function usage(commands: readonly AdapterCommand[]): string {
  return `Usage: jjj-gateway <command> --config FILE
       jjj-gateway broker-auth --out DIR [--collector-user NAME] CONFIG.yaml...
${commands.map((command) => `       jjj-gateway ${command.usage}\n`).join('')}
Reads factory equipment over OPC UA and Modbus and forwards every reading, in the jjj-iiot
schema, over MQTT to the cloud collector.

Commands:
  run       run the gateway until SIGINT/SIGTERM
  validate  check the config; exit 0 if valid, 2 if not (each problem as "path: reason")
  test      connect, read every configured point once, print one JSON line per point
            (schema jjj.point/1) to stdout; exit 0 if all were good, 1 if any was not
  broker-auth
            write the broker's identities of the fleet's gateways into DIR: a Mosquitto
            password file and ACL, and EMQX acl.conf rules (see docs/security-broker.md);
            the collector's password comes from JJJ_COLLECTOR_MQTT_PASSWORD
${commands.map(commandHelp).join('')}
Options:
  -c, --config FILE    gateway config (YAML); see adapters/*/sample.yaml
      --log-level L    override the config's log level (fatal|error|warn|info|debug|trace)
      --out DIR        broker-auth: where the files go
      --collector-user NAME  broker-auth: the collector's username (default jjj-collector)
${commands.flatMap((command) => (command.optionsHelp ?? []).map((line) => `      ${line}\n`)).join('')}  -h, --help           show this help
  -v, --version        show the version

Exit codes: 0 ok, 1 a point was not read with good quality (test), 2 invalid config or usage.
Logs go to stderr as JSON lines (pino).`;
}

/** The command's name in a 10-column margin (on a line of its own when longer), its summary beside. */
function commandHelp(command: AdapterCommand): string {
  const name = command.words[0] ?? '';
  const lines = command.summary.split('\n').map((line) => `            ${line}\n`);
  if (name.length < 9) lines[0] = `  ${name.padEnd(10)}${lines[0]?.trimStart() ?? '\n'}`;
  else lines.unshift(`  ${name}\n`);
  return lines.join('');
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Prints a usage or config problem and gives the exit code for it. */
function fail(io: CliIo, message: string): number {
  io.stderr.write(`jjj-gateway: ${message}\n`);
  return EXIT_USAGE;
}

/** Runs the CLI and resolves with the process exit code; a runtime failure rejects. */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  const commands = adapterModules.flatMap((module) => module.cli?.commands ?? []);
  let parsed: ReturnType<typeof parse>;
  function parse() {
    const adapterOptions = Object.assign({}, ...commands.map((command) => command.options ?? {}));
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...(adapterOptions as ParseArgsConfig['options']), ...ownOptions },
    });
  }
  try {
    parsed = parse();
  } catch (error) {
    return fail(io, `${(error as Error).message}\n\n${usage(commands)}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(`${usage(commands)}\n`);
    return 0;
  }
  if (values.version) {
    io.stdout.write(`${version()}\n`);
    return 0;
  }
  const [command, ...extra] = positionals;
  if (!command) return fail(io, `a command is required\n\n${usage(commands)}`);
  const named = commands.filter((candidate) => candidate.words[0] === command);
  if (named.length > 0) return runAdapterCommand(io, named, positionals, values);
  if (command === 'broker-auth') return runBrokerAuth(io, extra, values);
  if (!ownCommands.includes(command)) return fail(io, `unknown command "${command}"\n\n${usage(commands)}`);
  if (extra.length > 0) return fail(io, `unexpected argument "${extra[0]}"`);
  if (!values.config) return fail(io, `${command} needs --config FILE`);

  const config = loadConfig(io, values.config);
  if (typeof config === 'number') return config;
  const level = (values['log-level'] as typeof config.log.level | undefined) ?? config.log.level;
  const logger = createLogger('jjj-gateway', level);

  if (command === 'validate') {
    const points = config.devices.reduce((n, d) => n + d.points.length, 0);
    config.devices.forEach((device, d) => {
      for (const warning of configWarningsOf(device)) {
        io.stderr.write(
          `jjj-gateway: warning: ${formatPath(['devices', d, ...warning.path])}: ${warning.message}\n`,
        );
      }
    });
    io.stdout.write(
      `${values.config}: valid (gateway ${config.gateway.id}, ${counted(config.devices.length, 'device')}, ${counted(points, 'point')})\n`,
    );
    return 0;
  }

  if (command === 'test') {
    const records = await scanOnce(config, logger);
    for (const record of records) io.stdout.write(`${JSON.stringify(record)}\n`);
    const bad = records.filter((r) => r.quality !== 'good').length;
    logger.info({ points: records.length, notGood: bad }, 'scan complete');
    return bad === 0 ? 0 : 1;
  }

  const gateway = new Gateway(config, logger);
  // Listening before the start: a stop asked while devices are still being reached waits for it.
  const stopAsked = io.waitForStop();
  await gateway.start();
  collectStartUpGarbage();
  const signal = await stopAsked;
  logger.info({ signal }, 'shutting down');
  await gateway.stop();
  return 0;
}

/** `1 device`, `2 devices`. */
function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** The config, or the exit code after printing each problem as `path: reason`. */
function loadConfig(io: CliIo, file: string): LoadedGatewayConfig | number {
  try {
    return loadGatewayConfig(file, io.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr.write(`jjj-gateway: ${error.file}: invalid configuration\n`);
    for (const problem of error.problems) io.stderr.write(`  ${problem}\n`);
    return EXIT_USAGE;
  }
}

/** Loads every gateway config named and writes the broker's identities of the fleet. */
function runBrokerAuth(
  io: CliIo,
  files: string[],
  values: { out?: string; 'collector-user'?: string },
): number {
  if (values.out === undefined) return fail(io, 'broker-auth needs --out DIR');
  if (files.length === 0) return fail(io, 'broker-auth needs the gateway configs (CONFIG.yaml...)');
  const configs = [];
  for (const source of files) {
    const config = loadConfig(io, source);
    if (typeof config === 'number') return config;
    configs.push({ source, config });
  }
  try {
    const request = { out: values.out, configs, collectorUser: values['collector-user'] };
    io.stdout.write(writeBrokerAuth(io, request));
  } catch (error) {
    if (error instanceof BrokerAuthError) return fail(io, error.message);
    throw error;
  }
  return 0;
}

/** Runs the adapter command whose words lead `positionals` (all of `named` share the first word). */
async function runAdapterCommand(
  io: CliIo,
  named: readonly AdapterCommand[],
  positionals: readonly string[],
  values: Readonly<Record<string, unknown>>,
): Promise<number> {
  const command = named.find((candidate) => candidate.words.every((word, i) => positionals[i] === word));
  if (!command) return fail(io, `usage: ${named.map((candidate) => candidate.usage).join(' | ')}`);
  let stateDir: string | undefined;
  if (command.needsConfig) {
    if (typeof values.config !== 'string') return fail(io, `${command.words.join(' ')} needs --config FILE`);
    const config = loadConfig(io, values.config);
    if (typeof config === 'number') return config;
    stateDir = config.stateDir;
  }
  const options = Object.fromEntries(
    Object.keys(command.options ?? {}).map((name) => [name, values[name] as string | boolean | undefined]),
  );
  try {
    io.stdout.write(await command.run({ args: positionals.slice(command.words.length), options, stateDir }));
  } catch (error) {
    if (error instanceof AdapterUsageError) return fail(io, error.message);
    throw error;
  }
  return 0;
}

if (isEntryPoint(import.meta.url)) {
  tuneHeap();
  keepStdoutForData();
  runCli(process.argv.slice(2)).then(
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
}
