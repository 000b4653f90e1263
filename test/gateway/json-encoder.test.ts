/** The JSON contract's batch messages: made from the one serialisation, the same bytes as before. */
import { inflateSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { jsonEncoder } from '../../gateway/json-encoder.js';
import { decodeEntry, encodeBatch, serialiseBatch } from '../../gateway/outbox/outbox.js';
import { CompactTelemetryBatch, compactBatch } from '../../gateway/schema/compact-telemetry.js';
import type { MetadataMessage, StatusMessage, TelemetryBatch } from '../../gateway/schema/index.js';
import { telemetryBatch } from './outbox/outbox-suite.js';

const encoder = jsonEncoder({
  topics: { telemetry: 'telemetry', status: 'status', metadata: 'metadata', command: 'command' },
  status: () => ({}) as StatusMessage,
  metadata: () => ({}) as MetadataMessage,
});

// As the batcher makes them: without the historical flag, which only the wire adds, on replay.
const batches: TelemetryBatch[] = [telemetryBatch(0, 3), telemetryBatch(1, 0), telemetryBatch(2, 1)];

describe('jsonEncoder batch', () => {
  it.each(batches.map((batch) => [batch.gateway.seq, batch] as const))(
    'batch %i: live is the batch as serialised, historical what spreading the flag in would give',
    (_, batch) => {
      const serialised = serialiseBatch(batch);
      expect(encoder.batch(serialised, false)[0]?.payload).toBe(JSON.stringify(batch));
      expect(encoder.batch(serialised, true)[0]?.payload).toBe(
        JSON.stringify({ ...batch, historical: true }),
      );
    },
  );

  it('marks a jjj.telemetry/2 batch historical the same way, and deflates it with compression zlib', () => {
    const compact = compactBatch(telemetryBatch(5, 4));
    const serialised = serialiseBatch(compact);
    const zlib = jsonEncoder({
      topics: { telemetry: 't', status: 's', metadata: 'm', command: 'c' },
      status: () => ({}) as StatusMessage,
      metadata: () => ({}) as MetadataMessage,
      compression: 'zlib',
    });
    const [message] = zlib.batch(serialised, true);
    expect(message?.contentType).toBe('application/zlib');
    const text = inflateSync(message?.payload as Buffer).toString('utf8');
    expect(text).toBe(JSON.stringify({ ...compact, historical: true }));
    expect(CompactTelemetryBatch.parse(JSON.parse(text)).historical).toBe(true);
    expect(encoder.batch(serialised, false)[0]).toMatchObject({
      payload: serialised.json,
      contentType: 'application/json',
    });
  });

  it('replays a batch read back from the outbox from its stored text, without parsing it', () => {
    const batch = telemetryBatch(4, 2);
    const entry = decodeEntry(7, encodeBatch(serialiseBatch(batch)), batch.points.length);
    const parse = vi.spyOn(JSON, 'parse');
    try {
      expect(encoder.batch(entry, true)[0]?.payload).toBe(JSON.stringify({ ...batch, historical: true }));
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
    expect(entry.batch).toEqual(batch);
  });
});
