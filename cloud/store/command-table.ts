/** Every command the collector signed and sent, who asked for it, and the acknowledgement it got. */
import type Database from 'better-sqlite3';
import type { CommandAck, CommandTarget, WriteRequest } from '../../gateway/schema/commands.js';

/** `pending` until an acknowledgement arrives; `failed` when the gateway refused the command or any write. */
export type CommandStatus = 'pending' | 'succeeded' | 'failed';

export interface CommandRecord {
  id: string;
  requestedAt: number;
  requestedBy: string;
  target: CommandTarget;
  writes: WriteRequest[];
  expiresTs: number;
  status: CommandStatus;
  ack: CommandAck | null;
  ackedAt: number | null;
}

export interface CommandLog {
  record(command: Omit<CommandRecord, 'status' | 'ack' | 'ackedAt'>): void;
  /** Stores the acknowledgement of a pending command; false when it is unknown or no longer pending. */
  acknowledge(id: string, ack: CommandAck, ackedAt: number): boolean;
  command(id: string): CommandRecord | undefined;
  /** Newest first. */
  commands(query: { site?: string; limit: number }): CommandRecord[];
}

interface CommandRow {
  id: string;
  requested_at: number;
  requested_by: string;
  region: CommandTarget['region'];
  site: string;
  gateway: string;
  writes: string;
  expires_ts: number;
  status: CommandStatus;
  ack: string | null;
  acked_at: number | null;
}

export class CommandTable implements CommandLog {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      insert: db.prepare(
        `INSERT INTO commands (id, requested_at, requested_by, region, site, gateway, writes, expires_ts, status)
         VALUES (@id, @requestedAt, @requestedBy, @region, @site, @gateway, @writes, @expiresTs, 'pending')`,
      ),
      acknowledge: db.prepare(
        `UPDATE commands SET status = @status, ack = @ack, acked_at = @ackedAt WHERE id = @id AND status = 'pending'`,
      ),
      one: db.prepare<[string], CommandRow>('SELECT * FROM commands WHERE id = ?'),
      newest: db.prepare<[string | null, string | null, number], CommandRow>(
        `SELECT * FROM commands WHERE (? IS NULL OR site = ?) ORDER BY requested_at DESC, rowid DESC LIMIT ?`,
      ),
    };
  }

  record(command: Omit<CommandRecord, 'status' | 'ack' | 'ackedAt'>): void {
    this.statements.insert.run({
      id: command.id,
      requestedAt: command.requestedAt,
      requestedBy: command.requestedBy,
      ...command.target,
      writes: JSON.stringify(command.writes),
      expiresTs: command.expiresTs,
    });
  }

  acknowledge(id: string, ack: CommandAck, ackedAt: number): boolean {
    const succeeded = ack.error === undefined && ack.results.length > 0 && ack.results.every((r) => r.ok);
    const status: CommandStatus = succeeded ? 'succeeded' : 'failed';
    return this.statements.acknowledge.run({ id, status, ack: JSON.stringify(ack), ackedAt }).changes > 0;
  }

  command(id: string): CommandRecord | undefined {
    const row = this.statements.one.get(id);
    return row && recordOf(row);
  }

  commands(query: { site?: string; limit: number }): CommandRecord[] {
    const site = query.site ?? null;
    return this.statements.newest.all(site, site, query.limit).map(recordOf);
  }
}

function recordOf(row: CommandRow): CommandRecord {
  return {
    id: row.id,
    requestedAt: row.requested_at,
    requestedBy: row.requested_by,
    target: { region: row.region, site: row.site, gateway: row.gateway },
    writes: JSON.parse(row.writes) as WriteRequest[],
    expiresTs: row.expires_ts,
    status: row.status,
    ack: row.ack === null ? null : (JSON.parse(row.ack) as CommandAck),
    ackedAt: row.acked_at,
  };
}
