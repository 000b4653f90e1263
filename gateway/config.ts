/** The gateway's YAML configuration: one file per gateway, validated before anything runs. */
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { type DeviceBase, type PointBase, pointRangeIssues } from '../adapters/contract.js';
import { adapterModules } from '../adapters/registry.js';
import { addressOf } from './adapter-modules.js';
import { formatIssues, loadYamlConfig, MqttUrl } from './common/config-loading.js';
import { ConfigError } from './common/errors.js';
import { readTlsFiles, TlsSettings } from './common/tls.js';
import { kpiRoleIssues, type RolePointEntry } from './kpi-role-checks.js';
import { commandPublicKey } from './schema/command-signature.js';
import { Identifier, LocalizedName, Region } from './schema/index.js';
import { SparkplugHostId } from './schema/sparkplug/index.js';

const protocols = adapterModules.map((m) => m.protocol);

export type DeviceConfig = z.infer<(typeof adapterModules)[number]['deviceSchema']>;

/** Dispatches each device entry to its protocol's schema, so errors name the real field. */
const DeviceEntry = z.unknown().transform((raw, ctx): DeviceConfig => {
  const protocol =
    typeof raw === 'object' && raw !== null ? (raw as { protocol?: unknown }).protocol : undefined;
  const module = adapterModules.find((m) => m.protocol === protocol);
  if (!module) {
    ctx.addIssue({
      code: 'custom',
      path: ['protocol'],
      message: `expected one of ${protocols.join(', ')}, got ${JSON.stringify(protocol) ?? 'nothing'}`,
    });
    return z.NEVER;
  }
  const result = (module.deviceSchema as z.ZodType<DeviceConfig>).safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) ctx.addIssue({ ...issue, path: issue.path } as never);
    return z.NEVER;
  }
  for (const issue of pointRangeIssues(result.data.points)) ctx.addIssue({ code: 'custom', ...issue });
  return result.data;
});

const byteUnits: Record<string, number> = {
  B: 1,
  KB: 1e3,
  KIB: 2 ** 10,
  MB: 1e6,
  MIB: 2 ** 20,
  GB: 1e9,
  GIB: 2 ** 30,
};

/** A size in bytes, as a number or with a unit: `512MiB`, `4GiB`. */
const ByteSize = z.union([
  z.number().int().min(1024),
  z
    .string()
    .regex(/^\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB)$/i, 'expected bytes or a size such as 512MiB or 4GiB')
    .transform((size) => {
      const [, amount, unit] = /^([\d.]+)\s*(\w+)$/.exec(size) as unknown as [string, string, string];
      return Math.round(Number(amount) * (byteUnits[unit.toUpperCase()] as number));
    })
    .pipe(z.number().min(1024, 'expected at least 1KiB')),
]);

/**
 * 4 GiB: 24 h at 1,000 readings/s is 86.4 M readings; at the ~11 bytes per reading measured by
 * `npm run bench:outbox` that is 0.9 GiB, so the cap holds 24 h even at 45 bytes per reading.
 */
export const DEFAULT_OUTBOX_BYTES = 4 * 2 ** 30;
/** Long enough for the scans of many devices polled on one grid to share a batch (see gateway/README.md). */
export const DEFAULT_LINGER_MS = 15;

export const GatewayConfig = z
  .strictObject({
    gateway: z.strictObject({
      id: Identifier.describe('gateway id, unique across the network'),
      region: Region,
      project: Identifier.describe('demonstration project the site belongs to'),
      site: Identifier,
      siteName: LocalizedName,
      stateDir: z
        .string()
        .min(1)
        .optional()
        .describe('where the boot counter lives; default var/<gateway id>'),
    }),
    mqtt: z
      .strictObject({
        url: MqttUrl.default('mqtt://127.0.0.1:1883'),
        clientId: z
          .string()
          .min(1)
          .optional()
          .describe(
            'default jjj-<gateway id>-<random per process>: a fixed id lets a client that guesses it kick the gateway off',
          ),
        protocolVersion: z
          .union([z.literal(4), z.literal(5)], { error: 'expected 4 (MQTT 3.1.1) or 5 (MQTT 5)' })
          .default(4),
        username: z.string().optional().describe('default: the gateway id, when a password is set'),
        password: z.string().optional(),
        keepaliveSeconds: z.number().int().min(5).max(3600).default(30),
        // Transport security (issue 11, H6): the TLS block shared with the collector (gateway/common/tls.ts).
        tls: TlsSettings.optional(),
        reconnect: z
          .strictObject({
            minMs: z.number().int().min(100).default(1000).describe('first retry delay'),
            maxMs: z.number().int().min(100).default(30_000).describe('longest retry delay'),
          })
          .refine((r) => r.minMs <= r.maxMs, { message: 'minMs must not exceed maxMs', path: ['maxMs'] })
          .prefault({}),
        format: z
          .enum(['json', 'sparkplug'])
          .default('json')
          .describe('json: the jjj contract (gateway/schema); sparkplug: Sparkplug B 3.0 (spBv1.0)'),
        sparkplug: z
          .strictObject({
            primaryHostId: SparkplugHostId.optional().describe(
              "publish only while this primary host's STATE says online (e.g. the collector's sparkplug.hostId)",
            ),
            dataQos: z
              .union([z.literal(0), z.literal(1)])
              .default(1)
              .describe(
                'QoS of DDATA: Sparkplug asks for 0; 1 keeps batches in the outbox until the broker has them (births are always 0)',
              ),
          })
          .prefault({}),
      })
      .prefault({}),
    publish: z
      .strictObject({
        lingerMs: z
          .number()
          .int()
          .min(0)
          .max(60_000)
          .default(DEFAULT_LINGER_MS)
          .describe('a batch leaves this long after its first sample (scans completing together share it)'),
        maxPoints: z
          .number()
          .int()
          .min(1)
          .max(50_000)
          .default(5000)
          .describe('most samples in one batch: a full batch leaves at once'),
        intervalMs: z
          .number()
          .int()
          .min(50)
          .max(60_000)
          .default(1000)
          .describe(
            'longest a batch lingers while the broker is behind; paces the backlog replay (delivery.replaySpeedup per interval)',
          ),
        format: z
          .enum(['compact', 'samples'])
          .default('compact')
          .describe(
            'compact: jjj.telemetry/2 (columns per equipment); samples: jjj.telemetry/1, for v1-only consumers',
          ),
        compression: z
          .enum(['none', 'zlib'])
          .default('none')
          .describe('zlib: telemetry payloads deflated (MQTT 5 content type application/zlib)'),
      })
      .prefault({}),
    outbox: z
      .strictObject({
        type: z.enum(['disk', 'memory']).default('disk').describe('memory loses the backlog on restart'),
        dir: z.string().min(1).optional().describe('relative to the config file; default <stateDir>/outbox'),
        maxBytes: ByteSize.default(DEFAULT_OUTBOX_BYTES).describe('beyond it the oldest batches are dropped'),
        fsync: z.enum(['every-batch', 'checkpoint']).default('every-batch'),
      })
      .prefault({}),
    delivery: z
      .strictObject({
        replaySpeedup: z
          .number()
          .min(1)
          .max(1000)
          .default(20)
          .describe('backlog replay ticks per publish.intervalMs; each tick fills the in-flight window'),
        inFlightBatches: z
          .number()
          .int()
          .min(1)
          .max(64)
          .default(8)
          .describe('unacknowledged batches per stream'),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        host: z
          .string()
          .min(1)
          .default('127.0.0.1')
          .describe('0.0.0.0 to let a Prometheus on another host scrape'),
        port: z.number().int().min(0).max(65_535).describe('0 picks a free port'),
      })
      .optional()
      .describe('serve Prometheus metrics on GET /metrics'),
    // commands: who may write through this gateway, how fresh, how often (issue 11, write-back)
    commands: z
      .strictObject({
        trustedKeys: z
          .array(
            z
              .strictObject({
                id: Identifier.describe("the key id a command's signature names"),
                publicKey: z.string().min(1).optional().describe('Ed25519 public key, PEM (SPKI) text'),
                publicKeyFile: z
                  .string()
                  .min(1)
                  .optional()
                  .describe('PEM file of the Ed25519 public key, relative to the config file'),
              })
              .refine((key) => (key.publicKey === undefined) !== (key.publicKeyFile === undefined), {
                message: 'expected exactly one of publicKey and publicKeyFile',
              }),
          )
          .default([])
          .describe('public keys whose signed commands are executed; none: every command is refused'),
        maxLifetimeMs: z
          .number()
          .int()
          .min(1000)
          .max(600_000)
          .default(60_000)
          .describe('longest accepted expiresTs − ts'),
        clockSkewMs: z
          .number()
          .int()
          .min(0)
          .max(300_000)
          .default(30_000)
          .describe('allowance for clocks out of step: ts may be this far ahead, expiresTs this far behind'),
        ratePerMinute: z
          .number()
          .int()
          .min(1)
          .max(6000)
          .default(60)
          .describe('commands executed per minute (JSON and DCMD together); the excess is refused'),
        maxWritesPerCommand: z.number().int().min(1).max(1000).default(100),
        acceptSparkplugCommands: z
          .boolean()
          .default(false)
          .describe('execute Sparkplug DCMD writes (unsigned: only the broker ACL protects them)'),
        auditMaxBytes: ByteSize.default(16 * 2 ** 20).describe(
          'the write audit (<stateDir>/audit.jsonl) rotates to audit.jsonl.1 beyond this size',
        ),
      })
      .prefault({}),
    log: z
      .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
      .default({ level: 'info' }),
    devices: z.array(DeviceEntry).min(1, 'expected at least one device'),
  })
  .superRefine((config, ctx) => {
    const deviceIds = new Set<string>();
    const points = new Map<string, string>();
    const rolePoints: RolePointEntry[] = [];
    config.devices.forEach((device, d) => {
      if (deviceIds.has(device.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['devices', d, 'id'],
          message: `duplicate device id "${device.id}"`,
        });
      }
      deviceIds.add(device.id);
      device.points.forEach((point, p) => {
        const identity = resolvePointIdentity(device, point);
        const key = `${identity.line}/${identity.equipment}/${identity.point}`;
        const where = `devices[${d}].points[${p}]`;
        const first = points.get(key);
        if (first) {
          ctx.addIssue({
            code: 'custom',
            path: ['devices', d, 'points', p, 'name'],
            message: `point ${key} is already defined at ${first}`,
          });
        } else points.set(key, where);
        if (point.kpi) {
          rolePoints.push({
            path: ['devices', d, 'points', p],
            equipment: `${identity.line}/${identity.equipment}`,
            role: point.kpi,
            dataType: addressOf(device, point).dataType,
          });
        }
      });
    });
    for (const issue of kpiRoleIssues(rolePoints)) ctx.addIssue({ code: 'custom', ...issue });
  });

export type GatewayConfig = z.infer<typeof GatewayConfig>;

export interface LoadedGatewayConfig extends GatewayConfig {
  /** Absolute path of the state directory (boot counter, outbox). */
  stateDir: string;
  /** Absolute path of the disk outbox. */
  outboxDir: string;
  /** The contents of the TLS files the config names. */
  tlsFiles: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** The public keys of `commands.trustedKeys`, by key id, parsed at load. */
  commandKeys: ReadonlyMap<string, KeyObject>;
}

export function resolvePointIdentity(
  device: z.infer<typeof DeviceBase>,
  point: PointBase,
): { line: string; equipment: string; point: string } {
  return {
    line: point.line ?? device.line,
    equipment: point.equipment ?? device.equipment ?? device.id,
    point: point.name,
  };
}

/** Resolves paths against `baseDir` and reads the TLS files, so a missing file is a config error. */
function resolveLoaded(config: GatewayConfig, baseDir: string, source: string): LoadedGatewayConfig {
  const stateDir = resolve(baseDir, config.gateway.stateDir ?? `var/${config.gateway.id}`);
  const outboxDir = config.outbox.dir ? resolve(baseDir, config.outbox.dir) : join(stateDir, 'outbox');
  const problems: string[] = [];
  const tlsFiles = config.mqtt.tls ? readTlsFiles(config.mqtt.tls, baseDir, 'mqtt.tls', problems) : {};
  const commandKeys = loadCommandKeys(config.commands.trustedKeys, baseDir, problems);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return { ...config, stateDir, outboxDir, tlsFiles, commandKeys };
}

/** Parses each trusted key now, so a bad PEM stops the start naming the key and the reason. */
function loadCommandKeys(
  keys: GatewayConfig['commands']['trustedKeys'],
  baseDir: string,
  problems: string[],
): Map<string, KeyObject> {
  const parsed = new Map<string, KeyObject>();
  keys.forEach((key, k) => {
    const where = `commands.trustedKeys[${k}]`;
    if (parsed.has(key.id)) {
      problems.push(`${where}.id: duplicate key id "${key.id}"`);
      return;
    }
    const file = key.publicKeyFile === undefined ? undefined : resolve(baseDir, key.publicKeyFile);
    try {
      parsed.set(
        key.id,
        commandPublicKey(file === undefined ? (key.publicKey as string) : readFileSync(file, 'utf8')),
      );
    } catch (error) {
      const reason =
        (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
      problems.push(
        file === undefined ? `${where}.publicKey: ${reason}` : `${where}.publicKeyFile: ${file}: ${reason}`,
      );
    }
  });
  return parsed;
}

/** Loads and validates a gateway config; throws `ConfigError` listing every problem as `path: reason`. */
export function loadGatewayConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedGatewayConfig {
  return resolveLoaded(loadYamlConfig(file, GatewayConfig, env), dirname(file), file);
}

/** Validates a config built in code (the demo launcher); a relative `stateDir` resolves against `baseDir`. */
export function parseGatewayConfig(raw: unknown, source: string, baseDir: string): LoadedGatewayConfig {
  const result = GatewayConfig.safeParse(raw);
  if (!result.success) throw new ConfigError(source, formatIssues(result.error.issues));
  return resolveLoaded(result.data, baseDir, source);
}
