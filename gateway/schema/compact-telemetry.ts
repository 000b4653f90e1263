/**
 * `jjj.telemetry/2`, the compact telemetry batch: the same samples as `jjj.telemetry/1`, recoverable
 * exactly (identity, value, timestamps, quality, status, in the same order), but with each
 * equipment's identity written once and its samples as columns. A column given as one value instead
 * of an array holds for every sample of its group (a whole scan at one timestamp, all good), which is
 * what makes a polled device's batch about 15 bytes a point instead of about 100.
 *
 * Gateways publish this by default; `jjj.telemetry/1` stays accepted by the collector, so older
 * gateways and third-party publishers keep working. A payload may also arrive zlib-compressed (its
 * first byte is then 0x78, which no JSON text starts with; on MQTT 5 its content type says so too).
 */
import { z } from 'zod';
import {
  EpochMillis,
  GatewayRef,
  Identifier,
  type PointSample,
  PointValue,
  ProtocolStatus,
  Quality,
  SiteRef,
  type TelemetryBatch,
} from './index.js';

export const COMPACT_TELEMETRY_SCHEMA = 'jjj.telemetry/2';

/** MQTT 5 content types of telemetry payloads: the compact JSON, and the same zlib-compressed. */
export const telemetryContentTypes = {
  json: 'application/json',
  zlib: 'application/zlib',
} as const;

/** Most samples in one batch, whatever its format (as `jjj.telemetry/1`'s `points`). */
export const MAX_BATCH_SAMPLES = 50_000;

/** A scalar where every sample of the group has the same value, else one entry per sample. */
const column = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).max(MAX_BATCH_SAMPLES)]);

export const SampleGroup = z
  .object({
    line: Identifier,
    equipment: Identifier,
    ts: EpochMillis.describe("the group's earliest source timestamp; each sample's is ts + dt[i]"),
    points: z.array(Identifier).min(1).max(MAX_BATCH_SAMPLES).describe('point names, one per sample'),
    values: z.array(PointValue).max(MAX_BATCH_SAMPLES).describe('one per sample; null only with bad quality'),
    dt: z
      .array(z.number().int().nonnegative())
      .max(MAX_BATCH_SAMPLES)
      .optional()
      .describe('source timestamp of each sample minus ts, in ms; absent when all equal ts'),
    serverDt: z
      .array(z.number().int().nullable())
      .max(MAX_BATCH_SAMPLES)
      .optional()
      .describe('server timestamp minus ts, in ms, where the protocol has one (OPC UA); null where not'),
    quality: column(Quality).describe('one quality for every sample, or one per sample'),
    status: column(ProtocolStatus.nullable())
      .optional()
      .describe('the protocol status for every sample, or one per sample (null where none)'),
  })
  .superRefine((group, ctx) => {
    const samples = group.points.length;
    const sameLength = (key: 'values' | 'dt' | 'serverDt' | 'quality' | 'status') => {
      const value = group[key];
      if (Array.isArray(value) && value.length !== samples) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `expected ${samples} entries, one per point, got ${value.length}`,
        });
      }
    };
    sameLength('values');
    sameLength('dt');
    sameLength('serverDt');
    sameLength('quality');
    sameLength('status');
    group.values.forEach((value, i) => {
      const quality = Array.isArray(group.quality) ? group.quality[i] : group.quality;
      if (value === null && quality !== 'bad') {
        ctx.addIssue({
          code: 'custom',
          path: ['values', i],
          message: 'a null value is only allowed with bad quality',
        });
      }
    });
    group.dt?.forEach((dt, i) => {
      if (!Number.isSafeInteger(group.ts + dt)) {
        ctx.addIssue({ code: 'custom', path: ['dt', i], message: 'ts + dt is not a safe integer' });
      }
    });
    group.serverDt?.forEach((dt, i) => {
      if (dt !== null && !(Number.isSafeInteger(group.ts + dt) && group.ts + dt >= 0)) {
        ctx.addIssue({ code: 'custom', path: ['serverDt', i], message: 'ts + serverDt is not a valid time' });
      }
    });
  });
export type SampleGroup = z.infer<typeof SampleGroup>;

export const CompactTelemetryBatch = SiteRef.extend({
  schema: z.literal(COMPACT_TELEMETRY_SCHEMA),
  gateway: GatewayRef.extend({
    seq: z.number().int().nonnegative().describe('per-boot sequence number of this batch, from 0'),
  }),
  sentTs: EpochMillis,
  historical: z.boolean().optional().describe('true when the batch is replayed from the outbox'),
  groups: z
    .array(SampleGroup)
    .min(1)
    .max(MAX_BATCH_SAMPLES)
    .describe(`samples by line and equipment, at most ${MAX_BATCH_SAMPLES} over all groups`),
}).superRefine((batch, ctx) => {
  const samples = batch.groups.reduce((sum, group) => sum + group.points.length, 0);
  if (samples > MAX_BATCH_SAMPLES) {
    ctx.addIssue({
      code: 'custom',
      path: ['groups'],
      message: `a batch holds at most ${MAX_BATCH_SAMPLES} samples, this one ${samples}`,
    });
  }
});
export type CompactTelemetryBatch = z.infer<typeof CompactTelemetryBatch>;

/** Samples in a compact batch, without expanding it. */
export function compactSampleCount(batch: CompactTelemetryBatch): number {
  let samples = 0;
  for (const group of batch.groups) samples += group.points.length;
  return samples;
}

const at = <T>(column: T | readonly T[], i: number): T =>
  Array.isArray(column) ? (column[i] as T) : (column as T);

/** The batch as `jjj.telemetry/1`: every sample with its identity, in the order they were packed. */
export function expandCompactBatch(batch: CompactTelemetryBatch): TelemetryBatch {
  const points: PointSample[] = [];
  for (const group of batch.groups) {
    const { line, equipment, ts, dt, serverDt, quality, status, values } = group;
    const names = group.points;
    for (let i = 0; i < names.length; i++) {
      const sample: PointSample = {
        line,
        equipment,
        point: names[i] as string,
        value: values[i] as PointSample['value'],
        ts: dt ? ts + (dt[i] as number) : ts,
        quality: at(quality, i),
      };
      const server = serverDt?.[i];
      if (server !== undefined && server !== null) sample.serverTs = ts + server;
      const code = status === undefined ? undefined : at(status, i);
      if (code) sample.status = code;
      points.push(sample);
    }
  }
  return rewrapped(batch, { schema: 'jjj.telemetry/1' as const, points });
}

/**
 * A batch's samples in the other version: its site, gateway and sentTs carried over in the order
 * both versions write them, then `historical` where the batch has it.
 */
function rewrapped<Body extends { schema: string }>(
  from: TelemetryBatch | CompactTelemetryBatch,
  { schema, ...samples }: Body,
): Body & Omit<TelemetryBatch, 'schema' | 'points'> {
  const batch = {
    schema,
    region: from.region,
    project: from.project,
    site: from.site,
    gateway: from.gateway,
    sentTs: from.sentTs,
    ...samples,
  } as Body & Omit<TelemetryBatch, 'schema' | 'points'>;
  if (from.historical !== undefined) batch.historical = from.historical;
  return batch;
}

/** Whether every entry of a column is the same (by value for statuses), so one scalar can stand for it. */
function uniform<T>(entries: readonly T[], same: (a: T, b: T) => boolean): boolean {
  const first = entries[0] as T;
  return entries.every((entry) => same(entry, first));
}

/** Two statuses (or their absence) are the same: one scalar `status` column may stand for both. */
export const sameStatus = (a: ProtocolStatus | null, b: ProtocolStatus | null) =>
  a === b || (a !== null && b !== null && a.source === b.source && a.code === b.code && a.name === b.name);

/** One group of consecutive samples of one equipment, with each column made scalar where it can be. */
export function packGroup(samples: readonly PointSample[]): SampleGroup {
  const first = samples[0] as PointSample;
  let ts = first.ts;
  for (const sample of samples) if (sample.ts < ts) ts = sample.ts;
  const group: SampleGroup = {
    line: first.line,
    equipment: first.equipment,
    ts,
    points: samples.map((sample) => sample.point),
    values: samples.map((sample) => sample.value),
    quality: 'good',
  };
  if (samples.some((sample) => sample.ts !== ts)) group.dt = samples.map((sample) => sample.ts - ts);
  if (samples.some((sample) => sample.serverTs !== undefined)) {
    group.serverDt = samples.map((sample) => (sample.serverTs === undefined ? null : sample.serverTs - ts));
  }
  const qualities = samples.map((sample) => sample.quality);
  group.quality = uniform(qualities, (a, b) => a === b) ? first.quality : qualities;
  if (samples.some((sample) => sample.status !== undefined)) {
    const statuses = samples.map((sample) => sample.status ?? null);
    group.status = uniform(statuses, sameStatus) ? (statuses[0] as ProtocolStatus | null) : statuses;
  }
  return group;
}

/** A `jjj.telemetry/1` batch as `jjj.telemetry/2`: consecutive samples of one equipment share a group. */
export function compactBatch(batch: TelemetryBatch): CompactTelemetryBatch {
  const groups: SampleGroup[] = [];
  let run: PointSample[] = [];
  for (const sample of batch.points) {
    const previous = run[0];
    if (previous && (previous.line !== sample.line || previous.equipment !== sample.equipment)) {
      groups.push(packGroup(run));
      run = [];
    }
    run.push(sample);
  }
  if (run.length > 0) groups.push(packGroup(run));
  return rewrapped(batch, { schema: COMPACT_TELEMETRY_SCHEMA, groups });
}
