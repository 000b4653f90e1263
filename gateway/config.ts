/** The gateway's YAML configuration: one file per gateway, validated before anything runs. */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { DeviceBase, PointBase } from '../adapters/contract.js';
import { adapterModules } from '../adapters/registry.js';
import { formatIssues, loadYamlConfig } from './config-format.js';
import { ConfigError } from './errors.js';
import { Identifier, LocalizedName, Region } from './schema/index.js';

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
  return result.data;
});

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
        url: z
          .string()
          .regex(/^(mqtts?|wss?|tcp):\/\//, 'expected an mqtt://, mqtts://, ws:// or wss:// URL'),
        clientId: z.string().min(1).optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        keepaliveSeconds: z.number().int().min(5).max(3600).default(30),
      })
      .default({ url: 'mqtt://127.0.0.1:1883', keepaliveSeconds: 30 }),
    publish: z
      .strictObject({
        intervalMs: z.number().int().min(50).max(60_000).default(1000).describe('how often a batch is sent'),
        maxPoints: z.number().int().min(1).max(50_000).default(5000).describe('most samples in one batch'),
        maxQueuedPoints: z
          .number()
          .int()
          .min(1000)
          .default(1_000_000)
          .describe('samples held in memory while the broker is unreachable; oldest dropped beyond'),
      })
      .default({ intervalMs: 1000, maxPoints: 5000, maxQueuedPoints: 1_000_000 }),
    log: z
      .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
      .default({ level: 'info' }),
    devices: z.array(DeviceEntry).min(1, 'expected at least one device'),
  })
  .superRefine((config, ctx) => {
    const deviceIds = new Set<string>();
    const points = new Map<string, string>();
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
      });
    });
  });

export type GatewayConfig = z.infer<typeof GatewayConfig>;

export interface LoadedGatewayConfig extends GatewayConfig {
  /** Absolute path of the state directory (boot counter). */
  stateDir: string;
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

function withStateDir(config: GatewayConfig, baseDir: string): LoadedGatewayConfig {
  return { ...config, stateDir: resolve(baseDir, config.gateway.stateDir ?? `var/${config.gateway.id}`) };
}

/** Loads and validates a gateway config; throws `ConfigError` listing every problem as `path: reason`. */
export function loadGatewayConfig(file: string): LoadedGatewayConfig {
  return withStateDir(loadYamlConfig(file, GatewayConfig), dirname(file));
}

/** Validates a config built in code (the demo launcher); a relative `stateDir` resolves against `baseDir`. */
export function parseGatewayConfig(raw: unknown, source: string, baseDir: string): LoadedGatewayConfig {
  const result = GatewayConfig.safeParse(raw);
  if (!result.success) throw new ConfigError(source, formatIssues(result.error.issues));
  return withStateDir(result.data, baseDir);
}
