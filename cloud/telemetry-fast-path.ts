/**
 * Hand-written checks of a parsed `jjj.telemetry/1` or `jjj.telemetry/2` message, about ten times
 * cheaper than the zod schemas on large batches. It only ever answers "certainly valid, exactly as zod would return it"
 * (no key zod would strip) or "ask zod": the zod schema in `gateway/schema/` stays the single
 * authority, and every rejection and its reason still come from it. The tests hold the two in step.
 */
import {
  COMPACT_TELEMETRY_SCHEMA,
  type CompactTelemetryBatch,
  MAX_BATCH_SAMPLES,
} from '../gateway/schema/compact-telemetry.js';
import {
  ProtocolStatus,
  Quality,
  regions,
  TELEMETRY_SCHEMA,
  type TelemetryBatch,
} from '../gateway/schema/index.js';

const IDENTIFIER = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const MAX_STRING_LENGTH = 4096;
const MAX_ARRAY_LENGTH = 10_000;
const MAX_STATUS_NAME_LENGTH = 120;
const qualities: ReadonlySet<unknown> = new Set(Quality.options);
// Every protocol of the contract's list, and the gateway itself.
const statusSources: ReadonlySet<unknown> = new Set(ProtocolStatus.shape.source.options);
const regionSet: ReadonlySet<unknown> = new Set(regions);

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isIdentifier = (value: unknown) => typeof value === 'string' && IDENTIFIER.test(value);
const isMillis = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
// `1e999` parses to Infinity, which zod's number refuses: so must this.
const isScalar = (value: unknown) =>
  (typeof value === 'number' && Number.isFinite(value)) ||
  typeof value === 'boolean' ||
  (typeof value === 'string' && value.length <= MAX_STRING_LENGTH);

function isValue(value: unknown): boolean {
  if (value === null || isScalar(value)) return true;
  return Array.isArray(value) && value.length <= MAX_ARRAY_LENGTH && value.every(isScalar);
}

function isStatus(status: Fields): boolean {
  return (
    Object.keys(status).length === 3 &&
    statusSources.has(status.source) &&
    isMillis(status.code) &&
    typeof status.name === 'string' &&
    status.name.length <= MAX_STATUS_NAME_LENGTH
  );
}

function isSample(sample: unknown): boolean {
  if (!isObject(sample)) return false;
  const { value, quality, serverTs, status } = sample;
  let keys = 6;
  if (serverTs !== undefined) {
    if (!isMillis(serverTs)) return false;
    keys++;
  }
  if (status !== undefined) {
    if (!isObject(status) || !isStatus(status)) return false;
    keys++;
  }
  return (
    Object.keys(sample).length === keys &&
    isIdentifier(sample.line) &&
    isIdentifier(sample.equipment) &&
    isIdentifier(sample.point) &&
    isMillis(sample.ts) &&
    qualities.has(quality) &&
    isValue(value) &&
    // The schema's own rule: a null value only with bad quality.
    (value !== null || quality === 'bad')
  );
}

/**
 * The members both telemetry versions share (schema, site, gateway, sentTs, historical) plus one
 * list, `list`, which must be an array of 1 to MAX_BATCH_SAMPLES entries: certainly valid or not.
 */
function isCertainlyValidEnvelope(message: Fields, schema: string, list: 'points' | 'groups'): boolean {
  const { gateway, historical } = message;
  const entries = message[list];
  if (message.schema !== schema || !isObject(gateway) || !Array.isArray(entries)) return false;
  let keys = 7;
  if (historical !== undefined) {
    if (typeof historical !== 'boolean') return false;
    keys++;
  }
  return (
    Object.keys(message).length === keys &&
    regionSet.has(message.region) &&
    isIdentifier(message.project) &&
    isIdentifier(message.site) &&
    isMillis(message.sentTs) &&
    Object.keys(gateway).length === 3 &&
    isIdentifier(gateway.id) &&
    Number.isSafeInteger(gateway.boot) &&
    (gateway.boot as number) > 0 &&
    isMillis(gateway.seq) &&
    entries.length >= 1 &&
    entries.length <= MAX_BATCH_SAMPLES
  );
}

/** True only when `TelemetryBatch.parse(message)` would succeed and return an equal object. */
export function isCertainlyValidTelemetry(message: unknown): message is TelemetryBatch {
  return (
    isObject(message) &&
    isCertainlyValidEnvelope(message, TELEMETRY_SCHEMA, 'points') &&
    (message.points as unknown[]).every(isSample)
  );
}

const isStatusEntry = (status: unknown) => status === null || (isObject(status) && isStatus(status));
const isQuality = (quality: unknown) => qualities.has(quality);

/** A column: one value for every sample, or an array of exactly `samples` entries. */
function isColumn(column: unknown, samples: number, isEntry: (entry: unknown) => boolean): boolean {
  if (!Array.isArray(column)) return isEntry(column);
  return column.length === samples && column.every(isEntry);
}

/** The offsets of `dt` or `serverDt`: `samples` integers keeping ts + offset a valid time. */
function isOffsets(offsets: unknown, samples: number, ts: number, nullable: boolean): boolean {
  if (!Array.isArray(offsets) || offsets.length !== samples) return false;
  for (const offset of offsets) {
    if (offset === null && nullable) continue;
    // dt is non-negative by the schema; a serverDt may be, as long as ts + serverDt is a time.
    if (!Number.isSafeInteger(offset) || !isMillis(ts + (offset as number))) return false;
    if (!nullable && (offset as number) < 0) return false;
  }
  return true;
}

/** A group's samples count, or -1 unless zod would certainly accept it unchanged. */
function groupSamples(group: unknown): number {
  if (!isObject(group)) return -1;
  const { points, values, quality, dt, serverDt, status, ts } = group;
  if (!Array.isArray(points) || !Array.isArray(values) || !isMillis(ts)) return -1;
  const samples = points.length;
  let keys = 6;
  if (dt !== undefined) {
    if (!isOffsets(dt, samples, ts as number, false)) return -1;
    keys++;
  }
  if (serverDt !== undefined) {
    if (!isOffsets(serverDt, samples, ts as number, true)) return -1;
    keys++;
  }
  if (status !== undefined) {
    if (!isColumn(status, samples, isStatusEntry)) return -1;
    keys++;
  }
  if (
    Object.keys(group).length !== keys ||
    samples < 1 ||
    samples > MAX_BATCH_SAMPLES ||
    values.length !== samples ||
    !isIdentifier(group.line) ||
    !isIdentifier(group.equipment) ||
    !points.every(isIdentifier) ||
    !isColumn(quality, samples, isQuality)
  ) {
    return -1;
  }
  for (let i = 0; i < samples; i++) {
    const value = values[i];
    if (!isValue(value)) return -1;
    // The schema's own rule: a null value only with bad quality.
    if (value === null && (Array.isArray(quality) ? quality[i] : quality) !== 'bad') return -1;
  }
  return samples;
}

/** True only when `CompactTelemetryBatch.parse(message)` would succeed and return an equal object. */
export function isCertainlyValidCompactTelemetry(message: unknown): message is CompactTelemetryBatch {
  if (!isObject(message) || !isCertainlyValidEnvelope(message, COMPACT_TELEMETRY_SCHEMA, 'groups')) {
    return false;
  }
  let total = 0;
  for (const group of message.groups as unknown[]) {
    const samples = groupSamples(group);
    if (samples < 0) return false;
    total += samples;
    if (total > MAX_BATCH_SAMPLES) return false;
  }
  return true;
}
