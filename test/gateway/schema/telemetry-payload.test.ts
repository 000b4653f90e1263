/**
 * Payload bytes to JSON: plain JSON, zlib-compressed JSON (by header, and the MQTT 5 content type),
 * and what must be refused with a code: corrupt or trailing zlib data, and inflate bombs, which stop
 * at the bound without allocating what they claim.
 */
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  decodeTelemetryPayload,
  encodeTelemetryPayload,
  isZlibPayload,
} from '../../../gateway/schema/telemetry-payload.js';

const MAX = 1024 * 1024;
const message = { schema: 'jjj.telemetry/2', groups: [{ values: [1, 2, 3] }] };

const codeOf = (payload: Buffer, contentType?: string) => {
  const decoded = decodeTelemetryPayload(payload, { maxInflatedBytes: MAX, contentType });
  return decoded.ok ? 'ok' : decoded.error.code;
};

describe('telemetry payloads', () => {
  it('reads plain JSON and zlib at every compression level, by the header alone', () => {
    const json = Buffer.from(JSON.stringify(message));
    expect(decodeTelemetryPayload(json, { maxInflatedBytes: MAX })).toMatchObject({
      ok: true,
      json: message,
      compressed: false,
    });
    for (const level of [0, 1, 6, 9]) {
      const payload = deflateSync(json, { level });
      expect(isZlibPayload(payload)).toBe(true);
      expect(decodeTelemetryPayload(payload, { maxInflatedBytes: MAX })).toEqual({
        ok: true,
        json: message,
        text: json,
        compressed: true,
      });
    }
  });

  it('encodes with the content type that says how', () => {
    const plain = encodeTelemetryPayload(message, false);
    const zlib = encodeTelemetryPayload(message, true);
    expect(plain.contentType).toBe('application/json');
    expect(zlib.contentType).toBe('application/zlib');
    for (const { payload, contentType } of [plain, zlib]) {
      expect(decodeTelemetryPayload(payload, { maxInflatedBytes: MAX, contentType })).toMatchObject({
        ok: true,
        json: message,
      });
    }
  });

  it('refuses a corrupt, truncated or trailed zlib stream, and a zlib content type without one', () => {
    const payload = deflateSync(JSON.stringify(message));
    const corrupt = Buffer.from(payload);
    corrupt[5] = (corrupt[5] as number) ^ 0xff;
    expect(codeOf(corrupt)).toBe('bad-compression');
    expect(codeOf(payload.subarray(0, payload.length - 3))).toBe('bad-compression');
    expect(codeOf(Buffer.concat([payload, Buffer.from('{"more":1}')]))).toBe('bad-compression');
    expect(codeOf(Buffer.from(JSON.stringify(message)), 'application/zlib')).toBe('bad-compression');
    // A JSON text never starts with "x": without a valid header, it is JSON (and here not valid JSON).
    expect(codeOf(Buffer.from('x{}'))).toBe('bad-json');
    expect(codeOf(Buffer.from([0x78, 0x00, 1, 2]))).toBe('bad-json');
    // FCHECK right but a preset dictionary asked for: not a payload of this contract.
    expect(isZlibPayload(Buffer.from([0x78, 0xbb]))).toBe(false);
  });

  it('refuses JSON that compresses well but is not JSON once inflated', () => {
    expect(codeOf(deflateSync('not json'))).toBe('bad-json');
  });

  it('stops an inflate bomb at the bound, quickly and without taking the memory it claims', () => {
    // 256 MB of zeros in about 256 kB.
    const bomb = deflateSync(Buffer.alloc(256 * 1024 ** 2), { level: 9 });
    expect(bomb.length).toBeLessThan(MAX);
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const decoded = decodeTelemetryPayload(bomb, { maxInflatedBytes: MAX });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.error.code).toBe('oversized');
      expect(decoded.error.message).toMatch(/inflates to more than the 1048576 bytes allowed/);
    }
    // Exactly at the bound is allowed.
    const exact = Buffer.from(JSON.stringify('a'.repeat(MAX - 2)));
    expect(codeOf(deflateSync(exact))).toBe('ok');
    expect(codeOf(deflateSync(Buffer.concat([exact, Buffer.from(' ')])))).toBe('oversized');
  });
});
