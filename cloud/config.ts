/** The collector's YAML configuration, validated before anything runs. */
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { formatIssues, loadYamlConfig, MqttUrl } from '../gateway/common/config-loading.js';
import { ConfigError } from '../gateway/common/errors.js';
import { ALL_GATEWAYS_FILTER, Identifier, regions } from '../gateway/schema/index.js';

export const IN_MEMORY = ':memory:';

const SqliteStoreConfig = z.strictObject({
  type: z.literal('sqlite'),
  path: z
    .string()
    .min(1)
    .default('var/collector.db')
    .describe('SQLite file, relative to the config file; ":memory:" keeps nothing on disk'),
});

const InfluxWriteOptions = {
  batchSize: z.number().int().min(1).default(20_000).describe('most lines in one write request'),
  writeConcurrency: z
    .number()
    .int()
    .min(1)
    .max(16)
    .default(2)
    .describe('write requests in flight at once, so InfluxDB ingests one while the next is prepared'),
  gzipThreshold: z
    .number()
    .int()
    .min(0)
    .default(1000)
    .describe('request bodies larger than this are gzipped'),
  timeoutMs: z.number().int().min(100).default(10_000),
  catalogPath: z
    .string()
    .min(1)
    .default('var/collector-catalog.db')
    .describe('SQLite file keeping the registry, batch dedupe, gaps and dead letters'),
};

const InfluxStoreConfig = z
  .strictObject({
    type: z.literal('influxdb'),
    url: z.string().regex(/^https?:\/\//, 'expected an http:// or https:// URL'),
    /** 2 speaks the v2 write API (InfluxDB 2.x and 3.x); 1 speaks /write and /query of InfluxDB 1.x. */
    apiVersion: z.union([z.literal(1), z.literal(2)]).default(2),
    org: z.string().default('').describe('v2: organisation'),
    bucket: z
      .string()
      .default('')
      .describe('v2: bucket; also the database InfluxQL queries name (DBRP mapping)'),
    token: z.string().default('').describe('v2: API token'),
    database: z.string().default('').describe('v1: database'),
    retentionPolicy: z.string().default('').describe('v1: retention policy; empty for the default'),
    username: z.string().default('').describe('v1: user'),
    password: z.string().default('').describe('v1: password'),
    measurement: Identifier.default('jjj'),
    ...InfluxWriteOptions,
  })
  .superRefine((store, ctx) => {
    const needed = store.apiVersion === 2 ? (['org', 'bucket'] as const) : (['database'] as const);
    for (const key of needed) {
      if (store[key] === '')
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `required with apiVersion ${store.apiVersion}`,
        });
    }
  });

export type InfluxStoreConfig = z.infer<typeof InfluxStoreConfig>;

export const CollectorConfig = z
  .strictObject({
    mqtt: z
      .strictObject({
        url: MqttUrl.default('mqtt://127.0.0.1:1883'),
        clientId: z.string().min(1).optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        topic: z.string().min(1).default(ALL_GATEWAYS_FILTER).describe('MQTT topic filter to subscribe to'),
        shareGroup: Identifier.optional().describe(
          'subscribe as $share/<group>/<topic> so several collectors split the load (not on aedes)',
        ),
        connections: z
          .number()
          .int()
          .min(1)
          .max(64)
          .default(1)
          .describe('MQTT connections of this instance; more than 1 needs shareGroup'),
        sparkplug: z
          .boolean()
          .default(true)
          .describe(
            'also ingest Sparkplug B (spBv1.0), unshared on the first connection: a host needs each node in order',
          ),
        persistentSession: z
          .boolean()
          .default(false)
          .describe(
            'clean=false with a fixed clientId: unacknowledged messages wait in the broker across restarts',
          ),
      })
      .prefault({}),
    store: z
      .preprocess(
        // `type` may be left out for the default SQLite store.
        (store) =>
          typeof store === 'object' && store !== null && !('type' in store)
            ? { ...store, type: 'sqlite' }
            : store,
        z.discriminatedUnion('type', [SqliteStoreConfig, InfluxStoreConfig]),
      )
      .prefault({})
      .describe('where samples go: the embedded SQLite file (default) or InfluxDB'),
    ingest: z
      .strictObject({
        maxMessageBytes: z
          .number()
          .int()
          .min(1024)
          .default(4 * 1024 * 1024)
          .describe('larger messages are dead-lettered as oversized'),
        retryMinMs: z.number().int().min(1).default(200).describe('first retry delay while the store fails'),
        retryMaxMs: z
          .number()
          .int()
          .min(1)
          .default(10_000)
          .describe('longest retry delay while the store fails'),
        // Ingest guards (issue 11, helper H4): what a message may claim before it touches the registry.
        maxFutureSkewMs: z
          .number()
          .int()
          .min(0)
          .default(5 * 60_000)
          .describe('a sample, sent, status or metadata time further ahead of receipt is dead-lettered'),
        maxBootStep: z
          .number()
          .int()
          .min(1)
          .default(1000)
          .describe('a boot more than this above the last one known of the gateway is impossible'),
        maxFirstBoot: z
          .number()
          .int()
          .min(1)
          .default(1_000_000)
          .describe('the highest boot a gateway not seen before may announce'),
        maxSeqGap: z
          .number()
          .int()
          .min(1)
          .default(10_000)
          .describe('batches a sequence may skip at once, on top of the time-based allowance'),
        maxBatchesPerSecond: z
          .number()
          .positive()
          .default(100)
          .describe(
            'the fastest a gateway numbers batches: a seq jump may also grow by this per second since its last batch',
          ),
        sites: z
          .record(
            Identifier,
            z.strictObject({
              region: z.enum(regions),
              project: Identifier,
              gateways: z.array(Identifier).min(1),
            }),
          )
          .default({})
          .describe(
            'sites and the gateways allowed to speak for them; other sites belong to their first claim',
          ),
        claimUnlistedSites: z
          .boolean()
          .default(true)
          .describe('false: a message for a site not in `sites` is dead-lettered as foreign-site'),
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
  })
  .superRefine((config, ctx) => {
    if (config.mqtt.persistentSession && config.mqtt.clientId === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['mqtt', 'clientId'],
        message: 'a persistent session needs a fixed clientId to find its messages again',
      });
    }
    if (config.mqtt.connections > 1 && config.mqtt.shareGroup === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['mqtt', 'connections'],
        message: 'more than one connection needs mqtt.shareGroup, or every connection gets every message',
      });
    }
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
  const resolvePath = (path: string) =>
    path === IN_MEMORY || isAbsolute(path) ? path : resolve(options.baseDir ?? '.', path);
  const store =
    config.store.type === 'sqlite'
      ? { ...config.store, path: resolvePath(config.store.path) }
      : { ...config.store, catalogPath: resolvePath(config.store.catalogPath) };
  let port = config.http.port;
  const fromEnv = options.env?.PORT;
  if (fromEnv !== undefined && fromEnv !== '') {
    port = Number(fromEnv);
    if (!/^\d+$/.test(fromEnv) || port > 65_535) {
      throw new ConfigError(source, [`PORT (environment): expected a port number 0-65535, got "${fromEnv}"`]);
    }
  }
  return { ...config, store, http: { ...config.http, port } };
}
