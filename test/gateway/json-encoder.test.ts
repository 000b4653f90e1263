/** The JSON contract's batch messages: made from the one serialisation, the same bytes as before. */
import { describe, expect, it } from 'vitest';
import { jsonEncoder } from '../../gateway/json-encoder.js';
import { serialiseBatch } from '../../gateway/outbox/outbox.js';
import type { MetadataMessage, StatusMessage, TelemetryBatch } from '../../gateway/schema/index.js';
import { telemetryBatch } from './outbox/outbox-suite.js';

const encoder = jsonEncoder({
  topics: { telemetry: 'telemetry', status: 'status', metadata: 'metadata', command: 'command' },
  status: () => ({}) as StatusMessage,
  metadata: () => ({}) as MetadataMessage,
});

const batches: TelemetryBatch[] = [
  telemetryBatch(0, 3),
  telemetryBatch(1, 0),
  { ...telemetryBatch(2, 1), historical: false },
  { ...telemetryBatch(3, 1), historical: true },
];

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
});
