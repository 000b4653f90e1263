/**
 * The outbox: where every telemetry batch waits, durably, from the moment the gateway takes it from
 * the adapters until the broker acknowledges it. Entries get increasing ids in append order; the
 * delivery side reads them oldest first and removes each one only after its PUBACK.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { GatewayError } from '../errors.js';
import { type CompactTelemetryBatch, compactSampleCount } from '../schema/compact-telemetry.js';
import type { TelemetryBatch } from '../schema/index.js';

/** A batch in either format: `jjj.telemetry/2` as gateways write it now, `/1` as older ones did. */
export type AnyTelemetryBatch = CompactTelemetryBatch | TelemetryBatch;

/**
 * A batch with its JSON text, serialised once: the outbox stores the text (deflated), and the JSON
 * encoder sends it as it is. A batch read back from the outbox is parsed only if something asks for
 * `batch` (the Sparkplug encoder does; the JSON encoder needs only the text).
 */
export interface SerialisedBatch {
  readonly batch: AnyTelemetryBatch;
  json: string;
  points: number;
}

export function sampleCount(batch: AnyTelemetryBatch): number {
  return 'points' in batch ? batch.points.length : compactSampleCount(batch);
}

export function serialiseBatch(batch: AnyTelemetryBatch): SerialisedBatch {
  return { batch, json: JSON.stringify(batch), points: sampleCount(batch) };
}

export interface OutboxEntry extends SerialisedBatch {
  /** Increasing in append order, never reused by the same outbox. */
  id: number;
}

export interface OutboxStats {
  batches: number;
  points: number;
  /** Encoded size of the held batches: what `maxBytes` bounds. */
  bytes: number;
}

export interface Dropped {
  batches: number;
  points: number;
}

export interface Outbox {
  /**
   * Stores the batches in one transaction (one fsync): all are durable (per the fsync policy) when
   * this returns, none if it throws. Returns their ids, in order.
   */
  appendAll(batches: readonly SerialisedBatch[]): number[];
  /** Up to `limit` entries with `afterId < id <= upToId`, oldest first. */
  read(afterId: number, upToId: number, limit: number): OutboxEntry[];
  /** Forgets acknowledged entries; unknown ids are ignored. */
  remove(ids: readonly number[]): void;
  /** Drop-oldest policy: removes the oldest entries not in `keep` until the outbox is within its cap. */
  trim(keep: ReadonlySet<number>): Dropped;
  readonly stats: OutboxStats;
  /** The id of the newest entry ever appended (0 for a new outbox). */
  readonly lastId: number;
  close(): void;
}

export class OutboxError extends GatewayError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'OutboxError';
  }
}

/**
 * Compact record encoding: the batch's JSON, raw-deflated. Samples of one batch repeat their line,
 * equipment and point names, so this is 5–10× smaller than the JSON (see `npm run bench:outbox`).
 */
export function encodeBatch({ json }: Pick<SerialisedBatch, 'json'>): Buffer {
  return deflateRawSync(json, { level: 1 });
}

/** The entry of a stored record; `points` is kept beside the record, so reading needs no parse. */
export function decodeEntry(id: number, record: Uint8Array, points: number): OutboxEntry {
  const json = inflateRawSync(record).toString('utf8');
  let batch: AnyTelemetryBatch | undefined;
  return {
    id,
    json,
    points,
    get batch() {
      // Written by this gateway (or an older one, as /1): trusted, so not validated again.
      batch ??= JSON.parse(json) as AnyTelemetryBatch;
      return batch;
    },
  };
}
