/**
 * The write audit: one JSON line per command (executed or refused) in `<stateDir>/audit.jsonl`,
 * written and fsynced whatever the log level, naming the verified signer. Beyond `maxBytes` the file
 * rotates to `audit.jsonl.1` (the previous one is dropped), so the audit is bounded at twice that.
 */
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { JjjError } from './common/errors.js';
import type { WriteRequest } from './schema/commands.js';

export interface AuditWrite {
  line: string;
  equipment: string;
  point: string;
  value: WriteRequest['value'];
  ok: boolean;
  reason?: string;
}

export interface AuditEntry {
  /** When the gateway decided, epoch ms. */
  ts: number;
  /** The command's id (`unknown` when it could not be read). */
  command: string;
  via: 'json' | 'sparkplug';
  outcome: 'executed' | 'refused';
  /** The verified key id (`sparkplug-dcmd` for a DCMD); absent when refused before verification. */
  signer?: string;
  /** The command's `by`, recorded only once its signature verified. */
  by?: string;
  /** Why the whole command was refused. */
  reason?: string;
  writes?: AuditWrite[];
  /** For a summary of refusals that were not acknowledged one by one (a flood). */
  count?: number;
}

const AUDIT_FILE = 'audit.jsonl';

export class WriteAudit {
  readonly file: string;
  private fd: number;
  private bytes: number;

  constructor(
    stateDir: string,
    private readonly maxBytes: number,
  ) {
    this.file = join(stateDir, AUDIT_FILE);
    try {
      mkdirSync(stateDir, { recursive: true });
      this.fd = openSync(this.file, 'a', 0o600);
      this.bytes = fstatSync(this.fd).size;
    } catch (error) {
      throw new JjjError(
        'AUDIT_OPEN_FAILED',
        `cannot open the write audit ${this.file}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Appends the entry and fsyncs it before returning. */
  record(entry: AuditEntry): void {
    const line = Buffer.from(`${JSON.stringify(entry)}\n`, 'utf8');
    if (this.bytes > 0 && this.bytes + line.length > this.maxBytes) this.rotate();
    writeSync(this.fd, line);
    fsyncSync(this.fd);
    this.bytes += line.length;
  }

  close(): void {
    closeSync(this.fd);
  }

  private rotate(): void {
    closeSync(this.fd);
    renameSync(this.file, `${this.file}.1`);
    this.fd = openSync(this.file, 'a', 0o600);
    this.bytes = 0;
  }
}
