/** The collector's YAML configuration, validated before anything runs. */
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import {
  formatIssues,
  HttpUrl,
  loadYamlConfig,
  MqttTopicFilter,
  MqttUrl,
} from '../gateway/common/config-loading.js';
import { ConfigError } from '../gateway/common/errors.js';
import { readTlsFiles, type TlsMaterial, TlsSettings } from '../gateway/common/tls.js';
import { ALL_GATEWAYS_FILTER, Identifier, regions } from '../gateway/schema/index.js';
import { SparkplugHostId } from '../gateway/schema/sparkplug/index.js';
import { KpiConfig } from './kpi/config.js';
import { NetworkConfig } from './network/config.js';
import { sparkplugMappingFields } from './sparkplug/mapping.js';

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
    url: HttpUrl,
    // Transport security (issue 11, H6): a private CA for an https:// InfluxDB, a client certificate for mutual TLS.
    tls: TlsSettings.optional().describe('for an https:// url; file paths are relative to the config file'),
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
        topic: MqttTopicFilter.default(ALL_GATEWAYS_FILTER).describe('MQTT topic filter to subscribe to'),
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
        // Transport security and start (issue 11, H6): TLS as the gateway has it; a broker never reached at start is fatal.
        tls: TlsSettings.optional(),
        connectTimeoutMs: z
          .number()
          .int()
          .min(100)
          .default(30_000)
          .describe(
            'at start, exit with the reason if the broker is not connected within this time (later outages reconnect forever)',
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
          .describe('larger messages, and compressed ones inflating to more, are dead-lettered as oversized'),
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
    // Sparkplug B 3.0 (issue 14): where other vendors' nodes land, rebirth back-off, gap timing; and
    // the host application's STATE.
    sparkplug: z
      .strictObject({
        ...sparkplugMappingFields,
        hostId: SparkplugHostId.optional().describe(
          'publish this Sparkplug host STATE (spBv1.0/STATE/<hostId>) for edge nodes whose primaryHostId it is; on one instance only',
        ),
      })
      .prefault({})
      .describe(
        "Sparkplug B: other vendors' nodes mapped into the namespace, rebirths, seq gaps, the host STATE",
      ),
    http: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535).default(8080).describe('0 picks a free port'),
      })
      .prefault({}),
    // Query limits (issue 11, item 6): what one API query may cost, so none can stall the collector.
    api: z
      .strictObject({
        limits: z
          .strictObject({
            maxSamplesPerQuery: z
              .number()
              .int()
              .min(1)
              .default(5_000_000)
              .describe('samples an aggregation may touch in the store; more is refused (422)'),
            maxRawSamplesPerQuery: z
              .number()
              .int()
              .min(1)
              .default(500_000)
              .describe(
                'raw samples one read may load into memory (the KPI rollup job reads in chunks under it)',
              ),
            maxSites: z
              .number()
              .int()
              .min(1)
              .max(2000)
              .default(200)
              .describe('sites in one compare request (compare reads rollups, not raw samples)'),
            maxBuckets: z
              .number()
              .int()
              .min(1)
              .default(100_000)
              .describe('aggregation windows one series request may span; more is refused (400)'),
            queryTimeoutMs: z
              .number()
              .int()
              .min(100)
              .default(10_000)
              .describe('a store query running longer is stopped and answered 503'),
            readWorkers: z
              .number()
              .int()
              .min(1)
              .max(16)
              .default(2)
              .describe("threads running the SQLite store's heavy reads off the event loop"),
            maxQueuedQueries: z
              .number()
              .int()
              .min(0)
              .default(16)
              .describe('heavy queries waiting for a read thread; more are answered 503'),
            maxEventClients: z
              .number()
              .int()
              .min(1)
              .max(10_000)
              .default(50)
              .describe('live event streams (GET /api/v1/events) open at once; more are answered 503'),
          })
          .prefault({}),
        staleAfterMs: z
          .number()
          .int()
          .min(1000)
          .default(30_000)
          .describe('a site whose gateway is online but has sent no sample for longer than this is stale'),
      })
      .prefault({}),
    // Plant comparison (issue 12): shift calendars per site and the rollup job.
    kpi: KpiConfig.prefault({}).describe('shift calendars (planned time) per site, and the KPI rollup job'),
    // The web console (issue 13): the demonstration network's targets (Column 5), projects and sites.
    network: NetworkConfig.prefault({}).describe(
      "the demonstration network: Column 5's targets, the projects' names and industries, what each site is",
    ),
    log: z
      .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
      .prefault({}),
    // Users and roles on the API, and signed commands to gateways (issue 11: API access and write-back).
    auth: z
      .strictObject({
        anonymous: z
          .enum(['none', 'viewer', 'operator'])
          .default('none')
          .describe('role of a request without credentials; anything but "none" is for a closed demo box'),
        allowedHosts: z
          .array(z.string().min(1))
          .min(1)
          .optional()
          .describe(
            'Host header values served, as host:port; default the listen address, localhost and 127.0.0.1',
          ),
        metricsToken: z
          .string()
          .min(16)
          .optional()
          .describe('bearer token a scraper sends for /metrics (which otherwise needs a viewer)'),
        sessionTtlMs: z
          .number()
          .int()
          .min(60_000)
          .default(8 * 60 * 60 * 1000)
          .describe('browser session lifetime'),
        secureCookie: z
          .boolean()
          .default(false)
          .describe('mark the session cookie Secure (set it when a TLS proxy fronts the API)'),
        maxLoginFailures: z.number().int().min(1).default(5).describe('wrong passwords before a lockout'),
        loginLockoutMs: z
          .number()
          .int()
          .min(1000)
          .default(60_000)
          .describe('first lockout of a user name or address; doubles each time, up to an hour'),
      })
      .prefault({}),
    commands: z
      .strictObject({
        signingKeyFile: z
          .string()
          .min(1)
          .optional()
          .describe('Ed25519 private key (PEM, `jjj-collector keygen`); without it commands are refused'),
        keyId: Identifier.default('cloud').describe(
          "the key's id, as gateways list it among their trusted keys",
        ),
        lifetimeMs: z
          .number()
          .int()
          .min(1000)
          .max(10 * 60 * 1000)
          .default(30_000)
          .describe('a command expires this long after it is signed'),
        ackTimeoutMs: z
          .number()
          .int()
          .min(100)
          .max(120_000)
          .default(10_000)
          .describe('how long POST /api/v1/commands waits for the acknowledgement by default'),
      })
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
    if (config.mqtt.shareGroup !== undefined && config.mqtt.topic.startsWith('$share/')) {
      ctx.addIssue({
        code: 'custom',
        path: ['mqtt', 'topic'],
        message: 'a $share/ topic and mqtt.shareGroup together would share twice; keep one',
      });
    }
    if (config.sparkplug.hostId !== undefined && !config.mqtt.sparkplug) {
      ctx.addIssue({
        code: 'custom',
        path: ['sparkplug', 'hostId'],
        message: 'a Sparkplug host must ingest Sparkplug: set mqtt.sparkplug to true, or remove the hostId',
      });
    }
    if (config.sparkplug.unmapped === 'quarantine' && config.sparkplug.quarantine === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['sparkplug', 'quarantine'],
        message: 'unmapped: quarantine needs a quarantine block (at least its region)',
      });
    }
    if (config.sparkplug.rebirthBackoffMaxMs < config.sparkplug.rebirthBackoffMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['sparkplug', 'rebirthBackoffMaxMs'],
        message: 'must be at least rebirthBackoffMs',
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
  return resolveConfig(loadYamlConfig(file, CollectorConfig, env), file, {
    baseDir: dirname(resolve(file)),
    env,
  });
}

function resolveConfig(config: CollectorConfig, source: string, options: ResolveOptions): CollectorConfig {
  const resolvePath = (path: string) =>
    path === IN_MEMORY || isAbsolute(path) ? path : resolve(options.baseDir ?? '.', path);
  // TLS file paths become absolute, and the files are checked now (read again at start).
  const problems: string[] = [];
  const checkedTls = (tls: TlsSettings | undefined, setting: string) => {
    if (tls === undefined) return undefined;
    const absolute = { ...tls, ...pathsOf(tls, resolvePath) };
    readTlsFiles(absolute, '.', setting, problems);
    return absolute;
  };
  const mqtt = { ...config.mqtt, tls: checkedTls(config.mqtt.tls, 'mqtt.tls') };
  const store =
    config.store.type === 'sqlite'
      ? { ...config.store, path: resolvePath(config.store.path) }
      : {
          ...config.store,
          catalogPath: resolvePath(config.store.catalogPath),
          tls: checkedTls(config.store.tls, 'store.tls'),
        };
  if (problems.length > 0) throw new ConfigError(source, problems);
  let port = config.http.port;
  const fromEnv = options.env?.PORT;
  if (fromEnv !== undefined && fromEnv !== '') {
    port = Number(fromEnv);
    if (!/^\d+$/.test(fromEnv) || port > 65_535) {
      throw new ConfigError(source, [`PORT (environment): expected a port number 0-65535, got "${fromEnv}"`]);
    }
  }
  const { signingKeyFile } = config.commands;
  const commands = signingKeyFile
    ? { ...config.commands, signingKeyFile: resolvePath(signingKeyFile) }
    : config.commands;
  return { ...config, mqtt, store, http: { ...config.http, port }, commands };
}

function pathsOf(tls: TlsSettings, resolvePath: (path: string) => string): Partial<TlsSettings> {
  return {
    ...(tls.ca !== undefined && { ca: resolvePath(tls.ca) }),
    ...(tls.cert !== undefined && { cert: resolvePath(tls.cert) }),
    ...(tls.key !== undefined && { key: resolvePath(tls.key) }),
  };
}

/** The TLS files of a loaded config (paths are absolute by now); a file gone bad since load is a `ConfigError`. */
export function tlsMaterialOf(tls: TlsSettings, setting: string): TlsMaterial {
  const problems: string[] = [];
  const material = readTlsFiles(tls, '.', setting, problems);
  if (problems.length > 0) throw new ConfigError(setting, problems);
  return material;
}
