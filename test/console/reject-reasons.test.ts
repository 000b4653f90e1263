import { describe, expect, it } from 'vitest';
import { REJECT_REASONS } from '../../cloud/console/src/reject-reasons.js';
import { rejectReasons } from '../../cloud/ingest.js';

describe("the console's dead-letter reason filter", () => {
  it('offers exactly the reasons the collector gives', () => {
    expect([...REJECT_REASONS].sort()).toEqual([...rejectReasons].sort());
  });
});
