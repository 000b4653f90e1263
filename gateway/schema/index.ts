/**
 * The jjj-iiot wire contract: the single source of truth for what gateways publish and the
 * collector accepts. Every message names its schema and version in `schema`, so a consumer can
 * reject what it does not understand instead of guessing. `npm run schema:generate` writes the
 * JSON Schema other vendors implement against (`telemetry.schema.json`).
 */
import { z } from 'zod';
import { KpiRole } from './kpi-roles.js';

export const TELEMETRY_SCHEMA = 'jjj.telemetry/1';
export const POINT_SCHEMA = 'jjj.point/1';
export const METADATA_SCHEMA = 'jjj.metadata/1';
export const STATUS_SCHEMA = 'jjj.status/1';

export const regions = ['BJ', 'TJ', 'HE'] as const;
export const Region = z.enum(regions).describe('Beijing (BJ), Tianjin (TJ) or Hebei (HE)');
export type Region = z.infer<typeof Region>;

/** Identifiers travel in MQTT topics and URLs: lower-case words joined by dashes or underscores. */
export const Identifier = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'expected lower-case letters, digits, "-" or "_" (at most 64)');

/**
 * Every southbound protocol, once: the adapter registry, the metadata schema, the collector's fast
 * path and the Sparkplug host all derive from this list (a test checks the registry against it).
 */
export const protocols = ['opcua', 'modbus'] as const;
export const Protocol = z.enum(protocols);
export type Protocol = z.infer<typeof Protocol>;

export const EpochMillis = z.number().int().nonnegative().describe('Unix time in milliseconds');

export const Quality = z.enum(['good', 'uncertain', 'bad']);
export type Quality = z.infer<typeof Quality>;

/** What the device or the gateway said about a value, kept whole so nothing is lost in mapping to `quality`. */
export const ProtocolStatus = z.object({
  source: z.enum([...protocols, 'gateway']).describe('who produced the code'),
  code: z
    .number()
    .int()
    .nonnegative()
    .describe('OPC UA StatusCode (uint32), Modbus exception code, or a gateway code'),
  name: z.string().max(120).describe('symbolic name, e.g. BadCommunicationError or IllegalDataAddress'),
});
export type ProtocolStatus = z.infer<typeof ProtocolStatus>;

export const ScalarValue = z.union([z.number(), z.boolean(), z.string().max(4096)]);
/** 64-bit integers travel as decimal strings; `null` only when quality is bad and there is no value. */
export const PointValue = z.union([ScalarValue, z.array(ScalarValue).max(10_000), z.null()]);
export type PointValue = z.infer<typeof PointValue>;

export const UneceUnit = z
  .string()
  .regex(/^[A-Z0-9]{2,3}$/, 'expected a UNECE Recommendation 20 code such as KWH, CEL or RPM')
  .describe('UNECE Recommendation 20 unit code');

/** Where a point sits below its site: ISA-95 line (area) and equipment, then the point name. */
export const PointIdentity = z.object({
  line: Identifier,
  equipment: Identifier,
  point: Identifier,
});
export type PointIdentity = z.infer<typeof PointIdentity>;

export const PointSample = PointIdentity.extend({
  value: PointValue,
  ts: EpochMillis.describe('source timestamp: when the device measured the value'),
  serverTs: EpochMillis.optional().describe('server timestamp, where the protocol has one (OPC UA)'),
  quality: Quality,
  status: ProtocolStatus.optional(),
}).superRefine((sample, ctx) => {
  if (sample.value === null && sample.quality !== 'bad') {
    ctx.addIssue({
      code: 'custom',
      path: ['value'],
      message: 'a null value is only allowed with bad quality',
    });
  }
});
export type PointSample = z.infer<typeof PointSample>;

export const GatewayRef = z.object({
  id: Identifier,
  boot: z.number().int().positive().describe('boot counter: increments at every gateway start'),
});

export const SiteRef = z.object({
  region: Region,
  project: Identifier.describe('demonstration project'),
  site: Identifier,
});
export type SiteRef = z.infer<typeof SiteRef>;

export const TelemetryBatch = SiteRef.extend({
  schema: z.literal(TELEMETRY_SCHEMA),
  gateway: GatewayRef.extend({
    seq: z.number().int().nonnegative().describe('per-boot sequence number of this batch, from 0'),
  }),
  sentTs: EpochMillis,
  historical: z.boolean().optional().describe('true when the batch is replayed from the outbox'),
  points: z.array(PointSample).min(1).max(50_000),
});
export type TelemetryBatch = z.infer<typeof TelemetryBatch>;

/** One normalised point with its full identity: what `jjj-gateway test` prints, one per line. */
export const PointRecord = SiteRef.extend({
  schema: z.literal(POINT_SCHEMA),
  gateway: Identifier,
  unit: UneceUnit.optional(),
}).and(PointSample);
export type PointRecord = z.infer<typeof PointRecord>;

export const DataType = z.enum([
  'bool',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float32',
  'float64',
  'string',
  'datetime',
]);
export type DataType = z.infer<typeof DataType>;

/** The values each integer data type can hold; 64-bit bounds are bigints, as those values travel as strings. */
export const integerRanges = {
  int16: [-(2 ** 15), 2 ** 15 - 1],
  uint16: [0, 2 ** 16 - 1],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
} as const satisfies Partial<Record<DataType, readonly [number, number] | readonly [bigint, bigint]>>;
export type IntegerType = keyof typeof integerRanges;

export function isIntegerType(dataType: string): dataType is IntegerType {
  return Object.hasOwn(integerRanges, dataType);
}

export const LocalizedName = z.object({ zh: z.string().min(1), en: z.string().min(1) });

export const PointMetadata = PointIdentity.extend({
  protocol: Protocol,
  address: z.string().min(1).describe('source address: OPC UA node id or Modbus table/address'),
  dataType: DataType.optional(),
  unit: UneceUnit.optional(),
  description: z.string().optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  writable: z.boolean().optional(),
  kpi: KpiRole.optional().describe('what the point means for the plant-comparison KPIs'),
});
export type PointMetadata = z.infer<typeof PointMetadata>;

/** Published retained at every connect, like a Sparkplug BIRTH, so data messages stay small. */
export const MetadataMessage = SiteRef.extend({
  schema: z.literal(METADATA_SCHEMA),
  gateway: GatewayRef,
  ts: EpochMillis,
  siteName: LocalizedName,
  points: z.array(PointMetadata).max(100_000),
});
export type MetadataMessage = z.infer<typeof MetadataMessage>;

/** Retained: `online` at connect, `offline` at clean shutdown or as the MQTT Last Will. */
export const StatusMessage = SiteRef.extend({
  schema: z.literal(STATUS_SCHEMA),
  gateway: GatewayRef,
  state: z.enum(['online', 'offline']),
  ts: EpochMillis.describe('when the state was declared (for a Last Will: when the session began)'),
});
export type StatusMessage = z.infer<typeof StatusMessage>;

export const WireMessage = z.discriminatedUnion('schema', [TelemetryBatch, MetadataMessage, StatusMessage]);
export type WireMessage = z.infer<typeof WireMessage>;

/** A point's key within its site: `line/equipment/point`. */
export function pointKey(identity: PointIdentity): string {
  return `${identity.line}/${identity.equipment}/${identity.point}`;
}

/** The point id used by the collector and its API: `site/line/equipment/point`. */
export function pointId(site: string, identity: PointIdentity): string {
  return `${site}/${pointKey(identity)}`;
}

export type ParsedPointId = PointIdentity & { site: string };

/** The parts of a point id; `undefined` unless it is four identifiers joined by `/`. */
export function parsePointId(id: string): ParsedPointId | undefined {
  const parts = id.split('/');
  if (parts.length !== 4 || !parts.every((part) => Identifier.safeParse(part).success)) return undefined;
  const [site, line, equipment, point] = parts as [string, string, string, string];
  return { site, line, equipment, point };
}

export * from './kpi-roles.js';
export * from './topics.js';
