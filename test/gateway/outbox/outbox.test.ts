import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { DiskOutbox } from '../../../gateway/outbox/disk-outbox.js';
import { MemoryOutbox } from '../../../gateway/outbox/memory-outbox.js';
import { outboxSuite } from './outbox-suite.js';

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
