/**
 * Telemetry payloads as tests read them: either contract version (`jjj.telemetry/1` samples or
 * `/2` columns), zlib-compressed or not, decoded into `/1` samples (the compact form expanded
 * exactly), so every test asserts on the same shape whatever the gateway was configured to send.
 */
import { inflateSync } from 'node:zlib';
import { CompactTelemetryBatch, expandCompactBatch } from '../../gateway/schema/compact-telemetry.js';
import { TelemetryBatch } from '../../gateway/schema/index.js';

/** The payload's JSON, inflated first when it is zlib (first byte 0x78, as no JSON text starts). */
export function payloadJson(payload: Buffer | string): unknown {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return JSON.parse((bytes[0] === 0x78 ? inflateSync(bytes) : bytes).toString('utf8'));
}

/** A telemetry message (payload, or its parsed JSON) of either version as validated `/1` samples. */
export function telemetrySamples(message: Buffer | string | object): TelemetryBatch {
  const json = Buffer.isBuffer(message) || typeof message === 'string' ? payloadJson(message) : message;
  const schema = (json as { schema?: unknown }).schema;
  return schema === 'jjj.telemetry/2'
    ? expandCompactBatch(CompactTelemetryBatch.parse(json))
    : TelemetryBatch.parse(json);
}
