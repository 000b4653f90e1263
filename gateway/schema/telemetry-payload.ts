/**
 * The bytes of a JSON-contract message on the wire: JSON text, or the same zlib-compressed (RFC 1950).
 * A compressed payload is recognised by its zlib header: the first byte 0x78 (deflate, 32 KiB
 * window), which no JSON text starts with, and a second byte making the pair a multiple of 31
 * (FCHECK), without a preset dictionary. Where MQTT 5 carries a content type, `application/zlib`
 * must come with such a header. Inflating stops at a hard output bound, so a small "inflate bomb"
 * costs a few milliseconds and no memory, and is refused like any message that is too large.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { telemetryContentTypes } from './compact-telemetry.js';

export type TelemetryPayloadErrorCode =
  /** The payload (inflated, if it was compressed) is not JSON text. */
  | 'bad-json'
  /** A zlib stream that is corrupt, truncated or followed by other bytes, or a zlib content type without one. */
  | 'bad-compression'
  /** It inflates to more than the bound. */
  | 'oversized';

export class TelemetryPayloadError extends Error {
  constructor(
    readonly code: TelemetryPayloadErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TelemetryPayloadError';
  }
}

export type DecodedPayload =
  | {
      ok: true;
      json: unknown;
      /** The JSON text's bytes: the payload itself, or what it inflated to. */
      text: Buffer;
      compressed: boolean;
    }
  | { ok: false; error: TelemetryPayloadError };

export interface DecodeOptions {
  /** Most bytes a compressed payload may inflate to (the collector's `ingest.maxMessageBytes`). */
  maxInflatedBytes: number;
  /** The MQTT 5 content type, where the connection carries one. */
  contentType?: string;
}

const ZLIB_DEFLATE_32K = 0x78;
const ZLIB_PRESET_DICTIONARY = 0x20;

/** True when the payload starts with a zlib header this contract allows. */
export function isZlibPayload(payload: Uint8Array): boolean {
  const cmf = payload[0];
  const flg = payload[1];
  return (
    cmf === ZLIB_DEFLATE_32K &&
    flg !== undefined &&
    (cmf * 256 + flg) % 31 === 0 &&
    (flg & ZLIB_PRESET_DICTIONARY) === 0
  );
}

const failed = (code: TelemetryPayloadErrorCode, message: string): DecodedPayload => ({
  ok: false,
  error: new TelemetryPayloadError(code, message),
});

function inflateBounded(payload: Buffer, maxBytes: number): Buffer | DecodedPayload {
  try {
    const { buffer, engine } = inflateSync(payload, { maxOutputLength: maxBytes, info: true }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    // zlib stops at the end of its stream and would ignore what follows: a payload is one stream.
    if (engine.bytesWritten !== payload.length) {
      const extra = payload.length - engine.bytesWritten;
      return failed('bad-compression', `${extra} bytes follow the end of the zlib stream`);
    }
    return buffer;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      return failed(
        'oversized',
        `a ${payload.length}-byte zlib payload inflates to more than the ${maxBytes} bytes allowed`,
      );
    }
    return failed('bad-compression', `zlib: ${(error as Error).message}`);
  }
}

/** The parsed JSON of a payload, inflated first when it is zlib-compressed; never throws. */
export function decodeTelemetryPayload(payload: Buffer, options: DecodeOptions): DecodedPayload {
  const compressed = isZlibPayload(payload);
  if (!compressed && options.contentType === telemetryContentTypes.zlib) {
    return failed('bad-compression', `content type ${options.contentType} but no zlib header`);
  }
  let text = payload;
  if (compressed) {
    const inflated = inflateBounded(payload, options.maxInflatedBytes);
    if (!Buffer.isBuffer(inflated)) return inflated;
    text = inflated;
  }
  try {
    return { ok: true, json: JSON.parse(text.toString('utf8')), text, compressed };
  } catch (error) {
    return failed('bad-json', (error as Error).message);
  }
}

/** A message as payload bytes and the MQTT 5 content type saying how they are encoded. */
export function encodeTelemetryPayload(
  message: unknown,
  compress: boolean,
): { payload: Buffer; contentType: string } {
  const json = Buffer.from(JSON.stringify(message), 'utf8');
  if (!compress) return { payload: json, contentType: telemetryContentTypes.json };
  return { payload: deflateSync(json), contentType: telemetryContentTypes.zlib };
}
