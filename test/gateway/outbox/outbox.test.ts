import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskOutbox } from '../../../gateway/outbox/disk-outbox.js';
import { MemoryOutbox } from '../../../gateway/outbox/memory-outbox.js';
import { serialiseBatch } from '../../../gateway/outbox/outbox.js';
import { outboxSuite, telemetryBatch } from './outbox-suite.js';

const BIG = 1 << 30;

outboxSuite('MemoryOutbox', { open: (maxBytes = BIG) => new MemoryOutbox(maxBytes) });

const root = mkdtempSync(join(tmpdir(), 'jjj-outbox-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let current = '';
outboxSuite('DiskOutbox', {
  open(maxBytes = BIG) {
    current = mkdtempSync(join(root, 'o-'));
    return new DiskOutbox({ dir: current, maxBytes, fsync: 'every-batch' });
  },
  reopen: (maxBytes = BIG) => new DiskOutbox({ dir: current, maxBytes, fsync: 'every-batch' }),
});

describe('DiskOutbox group commit', () => {
  /** Frames the WAL holds: each commit writes every page it changed once more (so each costs an fsync). */
  const walFrames = (dir: string) => {
    const bytes = statSync(join(dir, 'outbox.db-wal')).size;
    return Math.max(0, (bytes - WAL_HEADER) / (WAL_FRAME_HEADER + PAGE_SIZE));
  };
  const WAL_HEADER = 32;
  const WAL_FRAME_HEADER = 24;
  const PAGE_SIZE = 4096;

  it('stores the batches cut together in one transaction: one commit, however many batches', () => {
    const batches = Array.from({ length: 10 }, (_, seq) => serialiseBatch(telemetryBatch(seq, 3)));
    const together = mkdtempSync(join(root, 'g-'));
    const one = new DiskOutbox({ dir: together, maxBytes: BIG, fsync: 'every-batch' });
    const before = walFrames(together);
    expect(one.appendAll(batches)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const framesTogether = walFrames(together) - before;
    one.close();

    const apart = mkdtempSync(join(root, 'g-'));
    const each = new DiskOutbox({ dir: apart, maxBytes: BIG, fsync: 'every-batch' });
    const start = walFrames(apart);
    for (const batch of batches) each.appendAll([batch]);
    const framesApart = walFrames(apart) - start;
    expect(each.read(0, 100, 100).map((e) => e.batch.gateway.seq)).toEqual([...Array(10).keys()]);
    each.close();

    // One commit writes the table's page and the id sequence's page once; ten commit them ten times.
    expect(framesTogether).toBeLessThanOrEqual(3);
    expect(framesApart).toBeGreaterThanOrEqual(10 * framesTogether);
  });
});
