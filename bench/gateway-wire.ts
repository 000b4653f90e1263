/**
 * The subscriber side of `npm run bench:gateway`: turns what the gateway published into samples,
 * whichever contract it speaks. The jjj contract: `jjj.telemetry/1`, `jjj.telemetry/2` (expanded with
 * the schema's own `expandCompactBatch`) or either zlib-compressed (first byte 0x78, which no JSON
 * text starts with). Sparkplug B: DBIRTHs name each metric's alias, DDATAs carry values by alias,
 * decoded with the project's Sparkplug payload codec.
 *
 * The first payloads of each format are also validated against the contract's zod schema, so a
 * gateway publishing a malformed batch shows in the figures; validating every one would load the
 * machine the gateway is measured on.
 */
import { inflateSync } from 'node:zlib';
import { z } from 'zod';
import { encodeBatch } from '../gateway/outbox/outbox.js';
import {
  COMPACT_TELEMETRY_SCHEMA,
  CompactTelemetryBatch,
  expandCompactBatch,
} from '../gateway/schema/compact-telemetry.js';
import { TELEMETRY_SCHEMA, TelemetryBatch } from '../gateway/schema/index.js';
import {
  decodePayload,
  parseSparkplugTopic,
  qualityOfCode,
  qualityProperties,
} from '../gateway/schema/sparkplug/index.js';
import { parseTopic } from '../gateway/schema/topics.js';
import type { DeliveredSample } from './gateway-workload.js';

export const Contract = z.enum(['jjj', 'sparkplug']);
export type Contract = z.infer<typeof Contract>;

/** Payloads of each format validated in full against the schema. */
const VALIDATED_PER_FORMAT = 20;

const ZLIB_FIRST_BYTE = 0x78;

export class WireDecoder {
  /** Data messages seen per format, e.g. `jjj.telemetry/2 zlib`. */
  readonly formats = new Map<string, number>();
  /** Payloads that failed their schema, or a metric with an alias no DBIRTH named. */
  invalid = 0;
  /** Sparkplug: the metric names of each device's aliases, from its latest DBIRTH. */
  private readonly aliases = new Map<string, Map<number, string>>();

  constructor(private readonly contract: Contract) {}

  /**
   * The size of the record the gateway's outbox keeps for a JSON-contract payload while the broker is
   * unreachable (its JSON, deflated: `encodeBatch`); 0 for anything else.
   */
  outboxRecordBytes(payload: Buffer): number {
    if (this.contract !== 'jjj') return 0;
    const json = (payload[0] === ZLIB_FIRST_BYTE ? inflateSync(payload) : payload).toString();
    return encodeBatch({ json }).length;
  }

  /** The samples a message carries; undefined for anything that is not telemetry (status, births, …). */
  decode(topic: string, payload: Buffer): DeliveredSample[] | undefined {
    return this.contract === 'jjj' ? this.decodeJjj(topic, payload) : this.decodeSparkplug(topic, payload);
  }

  private decodeJjj(topic: string, payload: Buffer): DeliveredSample[] | undefined {
    if (parseTopic(topic)?.kind !== 'telemetry') return undefined;
    const compressed = payload[0] === ZLIB_FIRST_BYTE;
    const batch = JSON.parse((compressed ? inflateSync(payload) : payload).toString()) as {
      schema?: unknown;
    };
    const format = `${String(batch.schema)}${compressed ? ' zlib' : ''}`;
    const seen = this.count(format);
    if (batch.schema === TELEMETRY_SCHEMA) {
      if (seen <= VALIDATED_PER_FORMAT && !TelemetryBatch.safeParse(batch).success) this.invalid++;
      return (batch as TelemetryBatch).points;
    }
    if (batch.schema === COMPACT_TELEMETRY_SCHEMA) {
      if (seen <= VALIDATED_PER_FORMAT && !CompactTelemetryBatch.safeParse(batch).success) this.invalid++;
      return expandCompactBatch(batch as CompactTelemetryBatch).points;
    }
    this.invalid++;
    return undefined;
  }

  private decodeSparkplug(topic: string, payload: Buffer): DeliveredSample[] | undefined {
    const address = parseSparkplugTopic(topic);
    const device = address?.deviceId;
    if (device === undefined) return undefined;
    if (address?.messageType === 'DBIRTH') {
      const names = new Map<number, string>();
      for (const metric of decodePayload(payload).metrics) {
        if (metric.alias !== undefined && metric.name !== undefined) names.set(metric.alias, metric.name);
      }
      this.aliases.set(device, names);
      return undefined;
    }
    if (address?.messageType !== 'DDATA') return undefined;
    this.count('Sparkplug B DDATA');
    const names = this.aliases.get(device);
    const samples: DeliveredSample[] = [];
    for (const metric of decodePayload(payload).metrics) {
      const point = metric.alias === undefined ? metric.name : names?.get(metric.alias);
      if (point === undefined || metric.timestamp === undefined) {
        this.invalid++;
        continue;
      }
      const quality = metric.properties?.[qualityProperties.quality]?.value;
      samples.push({
        equipment: device,
        point,
        value: metric.value,
        ts: metric.timestamp,
        quality: typeof quality === 'number' ? qualityOfCode(quality) : 'good',
      });
    }
    return samples;
  }

  private count(format: string): number {
    const seen = (this.formats.get(format) ?? 0) + 1;
    this.formats.set(format, seen);
    return seen;
  }
}

/** Bytes of an MQTT PUBLISH packet whose remaining length is `remaining` (fixed header included). */
export function packetBytes(remaining: number): number {
  const lengthBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
  return 1 + lengthBytes + remaining;
}
