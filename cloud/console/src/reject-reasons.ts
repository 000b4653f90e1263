/** The collector's reasons for refusing a message: cloud/ingest.ts `rejectReasons` (test/console/reject-reasons.test.ts keeps them equal). */
export const REJECT_REASONS = [
  'oversized',
  'bad-topic',
  'bad-json',
  'bad-compression',
  'unknown-schema',
  'invalid-message',
  'identity-mismatch',
  'sparkplug-invalid',
  'sparkplug-unmapped',
  'sparkplug-no-birth',
  'store-refused',
  'future-timestamp',
  'foreign-site',
  'impossible-sequence',
  'non-finite',
] as const;
