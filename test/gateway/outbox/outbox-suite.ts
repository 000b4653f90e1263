/** One behaviour for every outbox implementation: run by each implementation's test file. */
import { afterEach, describe, expect, it } from 'vitest';
import { type Outbox, serialiseBatch } from '../../../gateway/outbox/outbox.js';
import type { TelemetryBatch } from '../../../gateway/schema/index.js';

const appendOne = (outbox: Outbox, batch: TelemetryBatch): number =>
  outbox.appendAll([serialiseBatch(batch)])[0] as number;

export function telemetryBatch(seq: number, points: number, boot = 1): TelemetryBatch {
  return {
    schema: 'jjj.telemetry/1',
    region: 'HE',
    project: 'jjj-dp-03',
    site: 'he-test',
    gateway: { id: 'gw', boot, seq },
    sentTs: 1_700_000_000_000 + seq,
    points: Array.from({ length: points }, (_, i) => ({
      line: 'press-line',
      equipment: 'press-01',
      point: `p${i}`,
      value: seq * 1000 + i,
      ts: 1_700_000_000_000 + seq,
      quality: 'good' as const,
    })),
  };
}

/** `open(maxBytes)` makes an empty outbox; `reopen` (durable ones only) reopens the same one. */
export function outboxSuite(
  name: string,
  factory: { open(maxBytes?: number): Outbox; reopen?(maxBytes?: number): Outbox },
): void {
  describe(`${name}: the outbox contract`, () => {
    const opened: Outbox[] = [];
    const open = (maxBytes?: number) => {
      const outbox = factory.open(maxBytes);
      opened.push(outbox);
      return outbox;
    };
    afterEach(() => {
      for (const outbox of opened.splice(0)) outbox.close();
    });

    it('gives increasing ids and reads back the same batches, oldest first, within the bounds', () => {
      const outbox = open();
      expect(outbox.lastId).toBe(0);
      const ids = [0, 1, 2, 3, 4].map((seq) => appendOne(outbox, telemetryBatch(seq, 3)));
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      expect(outbox.lastId).toBe(ids[4]);
      expect(outbox.stats).toMatchObject({ batches: 5, points: 15 });
      expect(outbox.read(0, Number.MAX_SAFE_INTEGER, 10).map((e) => e.batch)).toEqual(
        [0, 1, 2, 3, 4].map((seq) => telemetryBatch(seq, 3)),
      );
      const middle = outbox.read(ids[0] as number, ids[3] as number, 2);
      expect(middle.map((e) => e.id)).toEqual([ids[1], ids[2]]);
    });

    it('removes acknowledged entries in any order and keeps the rest in order', () => {
      const outbox = open();
      const ids = [0, 1, 2, 3, 4].map((seq) => appendOne(outbox, telemetryBatch(seq, 2)));
      outbox.remove([ids[3] as number, ids[0] as number, 999_999]);
      expect(outbox.read(0, Number.MAX_SAFE_INTEGER, 10).map((e) => e.batch.gateway.seq)).toEqual([1, 2, 4]);
      expect(outbox.stats).toMatchObject({ batches: 3, points: 6 });
      outbox.remove([ids[1] as number, ids[2] as number, ids[4] as number]);
      expect(outbox.stats).toEqual({ batches: 0, points: 0, bytes: 0 });
      // Ids are never reused, even once the outbox is empty.
      expect(appendOne(outbox, telemetryBatch(5, 1))).toBeGreaterThan(ids[4] as number);
    });

    it('drops the oldest entries beyond its cap, skips the ones to keep, and counts exactly what went', () => {
      const probe = open();
      appendOne(probe, telemetryBatch(0, 50));
      const oneBatch = probe.stats.bytes;
      const outbox = open(oneBatch * 3 + oneBatch / 2);
      const ids = Array.from({ length: 10 }, (_, seq) => appendOne(outbox, telemetryBatch(seq, 50)));
      const dropped = outbox.trim(new Set([ids[1] as number]));
      // Ten batches of about the same size, room for three: seven go, the kept one stays.
      const left = outbox.read(0, Number.MAX_SAFE_INTEGER, 100);
      expect(dropped.batches).toBe(10 - left.length);
      expect(dropped.points).toBe(dropped.batches * 50);
      expect(outbox.stats.points).toBe(500 - dropped.points);
      expect(left[0]?.id).toBe(ids[1]);
      expect(left.slice(1).map((e) => e.batch.gateway.seq)).toEqual(
        Array.from({ length: left.length - 1 }, (_, i) => 10 - left.length + 1 + i),
      );
      expect(outbox.stats.bytes).toBeLessThanOrEqual(oneBatch * 3 + oneBatch / 2 + oneBatch);
      // Within the cap again: nothing more goes.
      expect(outbox.trim(new Set())).toEqual({ batches: 0, points: 0 });
    });

    if (factory.reopen) {
      const reopen = factory.reopen;
      it('keeps its entries, counts and ids across a reopen', () => {
        const outbox = open();
        const ids = [0, 1, 2].map((seq) => appendOne(outbox, telemetryBatch(seq, 4)));
        outbox.remove([ids[0] as number]);
        const stats = { ...outbox.stats };
        outbox.close();
        const again = reopen();
        opened.push(again);
        expect(again.stats).toEqual(stats);
        expect(again.lastId).toBe(ids[2]);
        expect(again.read(0, Number.MAX_SAFE_INTEGER, 10).map((e) => e.batch)).toEqual([
          telemetryBatch(1, 4),
          telemetryBatch(2, 4),
        ]);
        expect(appendOne(again, telemetryBatch(3, 4))).toBeGreaterThan(ids[2] as number);
      });
    }
  });
}
