/** Messages that could not be ingested, kept aside with why (`rejected`), newest first for the API. */
import type Database from 'better-sqlite3';
import type { DeadLetter, DeadLetterQuery, RejectedMessage } from './store.js';

/** Rejected messages kept for inspection; older ones are pruned so a flood cannot fill the disk. */
const MAX_REJECTED_ROWS = 10_000;
const MAX_REJECTED_PAYLOAD_BYTES = 64 * 1024;
const DEAD_LETTER_PREVIEW_BYTES = 1024;

interface DeadLetterRow {
  id: number;
  received_at: number;
  topic: string;
  reason: string;
  detail: string;
  preview: Buffer;
  payload_size: number;
}

export class DeadLetterTable {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      insert: db.prepare(
        `INSERT INTO rejected (received_at, topic, reason, detail, payload, payload_size)
         VALUES (@receivedAt, @topic, @reason, @detail, @payload, @payloadSize)`,
      ),
      prune: db.prepare('DELETE FROM rejected WHERE id <= (SELECT max(id) FROM rejected) - @keep'),
      newest: db.prepare<[string | null, string | null, number], DeadLetterRow>(
        `SELECT id, received_at, topic, reason, detail, substr(payload, 1, ${DEAD_LETTER_PREVIEW_BYTES}) AS preview, payload_size
         FROM rejected WHERE (? IS NULL OR reason = ?) ORDER BY id DESC LIMIT ?`,
      ),
    };
  }

  write(message: RejectedMessage): void {
    this.statements.insert.run({
      receivedAt: message.receivedAt,
      topic: message.topic,
      reason: message.reason,
      detail: message.detail,
      payload: message.payload.subarray(0, MAX_REJECTED_PAYLOAD_BYTES),
      payloadSize: message.payload.length,
    });
    this.statements.prune.run({ keep: MAX_REJECTED_ROWS });
  }

  newest(query: DeadLetterQuery): DeadLetter[] {
    const reason = query.reason ?? null;
    return this.statements.newest.all(reason, reason, query.limit).map((row) => ({
      id: row.id,
      receivedAt: row.received_at,
      topic: row.topic,
      reason: row.reason,
      detail: row.detail,
      payloadPreview: Buffer.from(row.preview).toString('utf8'),
      payloadSize: row.payload_size,
    }));
  }
}
