/** The collector's YAML configuration, validated before anything runs. */
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { formatIssues, loadYamlConfig } from '../gateway/config-format.js';
import { ConfigError } from '../gateway/errors.js';
import { ALL_GATEWAYS_FILTER } from '../gateway/schema/index.js';

export const IN_MEMORY = ':memory:';

export const CollectorConfig = z.strictObject({
  mqtt: z
    .strictObject({
      url: z
        .string()
        .regex(/^(mqtts?|wss?|tcp):\/\//, 'expected an mqtt://, mqtts://, ws:// or wss:// URL')
        .default('mqtt://127.0.0.1:1883'),
      clientId: z.string().min(1).optional(),
      username: z.string().optional(),
      password: z.string().optional(),
      topic: z.string().min(1).default(ALL_GATEWAYS_FILTER).describe('MQTT topic filter to subscribe to'),
    })
    .prefault({}),
  store: z
    .strictObject({
      // InfluxDB stores come later; the discriminator is here so configs stay valid when they do.
      type: z.literal('sqlite').default('sqlite'),
      path: z
        .string()
        .min(1)
        .default('var/collector.db')
        .describe('SQLite file, relative to the config file; ":memory:" keeps nothing on disk'),
    })
    .prefault({}),
  http: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65_535).default(8080).describe('0 picks a free port'),
    })
    .prefault({}),
  log: z
    .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
    .prefault({}),
});

export type CollectorConfig = z.infer<typeof CollectorConfig>;
export type CollectorConfigInput = z.input<typeof CollectorConfig>;

export interface ResolveOptions {
  /** Directory a relative store path is resolved against; default the working directory. */
  baseDir?: string;
  /** Environment whose `PORT` overrides `http.port`; default none. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Builds a config in code from defaults plus `input` (for the demo launcher and tests);
 * throws `ConfigError` listing every problem as `path: reason`.
 */
export function buildCollectorConfig(
  input: CollectorConfigInput = {},
  options: ResolveOptions = {},
): CollectorConfig {
  const result = CollectorConfig.safeParse(input);
  if (!result.success) throw new ConfigError('(inline config)', formatIssues(result.error.issues));
  return resolveConfig(result.data, '(inline config)', options);
}

/** Loads and validates a collector config file; throws `ConfigError` listing every problem as `path: reason`. */
export function loadCollectorConfig(file: string, env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  return resolveConfig(loadYamlConfig(file, CollectorConfig), file, { baseDir: dirname(resolve(file)), env });
}

function resolveConfig(config: CollectorConfig, source: string, options: ResolveOptions): CollectorConfig {
  const path = config.store.path;
  const storePath = path === IN_MEMORY || isAbsolute(path) ? path : resolve(options.baseDir ?? '.', path);
  let port = config.http.port;
  const fromEnv = options.env?.PORT;
  if (fromEnv !== undefined && fromEnv !== '') {
    port = Number(fromEnv);
    if (!/^\d+$/.test(fromEnv) || port > 65_535) {
      throw new ConfigError(source, [`PORT (environment): expected a port number 0-65535, got "${fromEnv}"`]);
    }
  }
  return { ...config, store: { ...config.store, path: storePath }, http: { ...config.http, port } };
}
