#!/usr/bin/env node
/**
 * `jjj-collector`: run the cloud collector, check its config file, manage API users and tokens, make a
 * signing key, rebuild KPI rollups.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { type CliIo, isEntryPoint, processIo } from '../gateway/common/cli-io.js';
import { ConfigError } from '../gateway/common/errors.js';
import { type AccountCliIo, runAccountCommand } from './auth/account-cli.js';
import { startCollector } from './collector.js';
import { trustedKeyYaml, writeSigningKeyPair } from './commands/signing-key.js';
import { type CollectorConfig, loadCollectorConfig } from './config.js';
import { RollupJob } from './kpi/rollup-job.js';
import { InfluxStore } from './store/influx-store.js';
import { SqliteStore } from './store/sqlite-store.js';

const USAGE = `Usage:
  jjj-collector run --config FILE       start the collector (MQTT → store → HTTP API)
  jjj-collector validate --config FILE  check a config file and exit
  jjj-collector users add NAME --role ROLE --config FILE [--password-stdin]
  jjj-collector users list|remove [NAME] --config FILE
  jjj-collector tokens create --user NAME [--role ROLE] [--label TEXT] [--expires-days N] --config FILE
  jjj-collector tokens list|revoke [ID] --config FILE
  jjj-collector keygen --out DIR [--key-id ID]
                                        write a command-signing key pair; print the gateway block
  jjj-collector rollups rebuild --config FILE [--site SITE] [--from ISO-TIME]
                                        recompute KPI rollups (after a calendar change) from
                                        --from, by default from the site's oldest rollup
  jjj-collector --help

Options:
  -c, --config FILE   collector YAML config (see cloud/collector.sample.yaml); users and tokens
                      work on its store file directly (the catalog file with InfluxDB)
  --role ROLE         viewer (read the API), operator (+ commands) or admin (+ users and tokens)
  --password-stdin    read the new user's password from stdin (else from $JJJ_COLLECTOR_PASSWORD)
  --site SITE         rollups rebuild: only this site (default every site)
  --from ISO-TIME     rollups rebuild: from this time (e.g. 2026-03-01T00:00+08:00); the raw
                      samples of the range must still be held
  -h, --help          show this help

Environment:
  PORT                    overrides http.port
  JJJ_COLLECTOR_PASSWORD  the password of \`users add\` (never an argument: it would show in ps)

Exit codes: 0 ok, 1 runtime failure, 2 invalid usage or configuration.
`;

/** Runs the CLI and resolves with the process exit code. */
export async function runCli(argv: string[], io: AccountCliIo = processIo()): Promise<number> {
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
  if (command === 'keygen') return keygen(values, io);
  const manages = command === 'users' || command === 'tokens';
  const rebuilds = command === 'rollups' && extra.join(' ') === 'rebuild';
  if (
    (command !== 'run' && command !== 'validate' && !manages && !rebuilds) ||
    (!manages && !rebuilds && extra.length > 0) ||
    values.config === undefined
  ) {
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
  if (manages) return runAccountCommand(command, extra, values, accountsFileOf(config), io);
  if (rebuilds) return rebuildRollups(config, values, io);
  if (command === 'validate') {
    io.stdout.write(`${values.config}: ok\n`);
    return 0;
  }

  const logger = pino({ level: config.log.level }, io.stderr);
  let collector: Awaited<ReturnType<typeof startCollector>>;
  // Listening before the start: a stop asked while the broker is still being reached waits for it.
  const stopAsked = io.waitForStop();
  try {
    collector = await startCollector(config, { logger });
  } catch (error) {
    // The reason in the message itself: it is the one line an operator reads before the exit.
    logger.fatal({ err: error }, `collector failed to start: ${(error as Error).message}`);
    return 1;
  }
  const signal = await stopAsked;
  logger.info({ signal }, 'stopping');
  await collector.close();
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
      role: { type: 'string' },
      user: { type: 'string' },
      label: { type: 'string' },
      'expires-days': { type: 'string' },
      'password-stdin': { type: 'boolean' },
      out: { type: 'string' },
      'key-id': { type: 'string' },
      site: { type: 'string' },
      from: { type: 'string' },
    },
  });
}

export type CliValues = ReturnType<typeof parse>['values'];

/** The SQLite file holding users and tokens: the store itself, or the catalog beside InfluxDB. */
function accountsFileOf(config: CollectorConfig): string {
  return config.store.type === 'sqlite' ? config.store.path : config.store.catalogPath;
}

/**
 * Marks the sites for recomputing (the store's rollup state, which a running collector's job also
 * sees) and does the work here, with a progress line per site and tenth of its range.
 */
async function rebuildRollups(config: CollectorConfig, values: CliValues, io: CliIo): Promise<number> {
  const from = values.from === undefined ? undefined : Date.parse(values.from);
  if (from !== undefined && Number.isNaN(from)) {
    io.stderr.write(`--from: expected an ISO 8601 time, got "${values.from}"\n\n${USAGE}`);
    return 2;
  }
  const store =
    config.store.type === 'sqlite'
      ? new SqliteStore(config.store.path, config.api.limits)
      : new InfluxStore(config.store, config.api.limits);
  try {
    const marked = await store.markRollupsForRebuild(values.site, from);
    if (marked.length === 0) {
      io.stdout.write(
        `nothing to rebuild: ${values.site === undefined ? 'no site has' : `site ${values.site} has no`} rollups yet (the rollup job computes them from the first sample)\n`,
      );
      return 0;
    }
    const shown = new Map<string, number>();
    const job = new RollupJob({
      store,
      config: config.kpi,
      logger: pino({ level: 'warn' }, io.stderr),
      maxSamples: config.api.limits.maxRawSamplesPerQuery,
      onProgress: ({ site, through, newestTs }) => {
        const start = marked.find((m) => m.site === site)?.from ?? through;
        const tenth = Math.floor((10 * (through - start)) / Math.max(1, newestTs - start));
        if ((shown.get(site) ?? -1) >= tenth) return;
        shown.set(site, tenth);
        io.stdout.write(
          `${site}: rollups recomputed through ${new Date(through).toISOString()} (${tenth * 10}%)\n`,
        );
      },
    });
    const run = await job.runOnce();
    if (run.failed.length > 0) {
      io.stderr.write(`rollups rebuild failed for ${run.failed.join(', ')}\n`);
      return 1;
    }
    io.stdout.write(`rebuilt the rollups of ${marked.map((m) => m.site).join(', ')}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

function keygen(values: CliValues, io: CliIo): number {
  if (values.out === undefined) {
    io.stderr.write(`keygen needs --out DIR\n\n${USAGE}`);
    return 2;
  }
  const keyId = values['key-id'] ?? 'cloud';
  let files: ReturnType<typeof writeSigningKeyPair>;
  try {
    files = writeSigningKeyPair(resolve(values.out));
  } catch (error) {
    io.stderr.write(`keygen: ${(error as Error).message} (an existing key is never overwritten)\n`);
    return 1;
  }
  io.stdout.write(
    [
      `private key ${files.privateKeyFile} (keep it on the collector, mode 0600)`,
      `public key  ${files.publicKeyFile}`,
      '',
      '# collector config:',
      `commands:\n  signingKeyFile: ${files.privateKeyFile}\n  keyId: ${keyId}`,
      '',
      '# each gateway config:',
      trustedKeyYaml(keyId, files.publicKeyPem),
    ].join('\n'),
  );
  return 0;
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
