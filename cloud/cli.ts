#!/usr/bin/env node
/** `jjj-collector`: run the cloud collector, or check its config file. */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { type CliIo, isEntryPoint, processIo } from '../gateway/common/cli-io.js';
import { ConfigError } from '../gateway/common/errors.js';
import { startCollector } from './collector.js';
import { loadCollectorConfig } from './config.js';

const USAGE = `Usage:
  jjj-collector run --config FILE       start the collector (MQTT → store → HTTP API)
  jjj-collector validate --config FILE  check a config file and exit
  jjj-collector --help

Options:
  -c, --config FILE  collector YAML config (see cloud/collector.sample.yaml)
  -h, --help         show this help

Environment:
  PORT  overrides http.port

Exit codes: 0 ok, 1 runtime failure, 2 invalid usage or configuration.
`;

/** Runs the CLI and resolves with the process exit code. */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const [command, ...extra] = positionals;
  if ((command !== 'run' && command !== 'validate') || extra.length > 0 || values.config === undefined) {
    const problem =
      command === undefined
        ? 'missing command'
        : values.config === undefined
          ? 'missing --config FILE'
          : `unexpected "${positionals.join(' ')}"`;
    io.stderr.write(`${problem}\n\n${USAGE}`);
    return 2;
  }

  let config: ReturnType<typeof loadCollectorConfig>;
  try {
    config = loadCollectorConfig(values.config, io.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr.write(
      `${error.file}: invalid configuration\n${error.problems.map((p) => `  ${p}\n`).join('')}`,
    );
    return 2;
  }
  if (command === 'validate') {
    io.stdout.write(`${values.config}: ok\n`);
    return 0;
  }

  const logger = pino({ level: config.log.level }, io.stderr);
  let collector: Awaited<ReturnType<typeof startCollector>>;
  try {
    collector = await startCollector(config, { logger });
  } catch (error) {
    // The reason in the message itself: it is the one line an operator reads before the exit.
    logger.fatal({ err: error }, `collector failed to start: ${(error as Error).message}`);
    return 1;
  }
  const signal = await io.waitForStop();
  logger.info({ signal }, 'stopping');
  await collector.close();
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
  });
}

if (isEntryPoint(import.meta.url)) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`jjj-collector: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
