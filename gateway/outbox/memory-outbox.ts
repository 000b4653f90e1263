/** An outbox in RAM, for tests and for gateways that must not write to disk: lost on restart. */
import {
  type Dropped,
  decodeEntry,
  encodeBatch,
  type Outbox,
  type OutboxEntry,
  type OutboxStats,
  type SerialisedBatch,
} from './outbox.js';

interface HeldRecord {
  id: number;
  points: number;
  record: Buffer;
}

export class MemoryOutbox implements Outbox {
  /** In id order; removal leaves holes that `compact` clears, so reads stay cheap. */
  private records: Array<HeldRecord | undefined> = [];
  private readonly index = new Map<number, number>();
  private nextId = 1;
  readonly stats: OutboxStats = { batches: 0, points: 0, bytes: 0 };

  constructor(private readonly maxBytes: number) {}

  get lastId(): number {
    return this.nextId - 1;
  }

  appendAll(batches: readonly SerialisedBatch[]): number[] {
    return batches.map((serialised) => {
      // Encoded like the disk outbox, so both count the same bytes against their cap.
      const held: HeldRecord = {
        id: this.nextId++,
        points: serialised.points,
        record: encodeBatch(serialised),
      };
      this.index.set(held.id, this.records.length);
      this.records.push(held);
      this.stats.batches++;
      this.stats.points += held.points;
      this.stats.bytes += held.record.length;
      return held.id;
    });
  }

  read(afterId: number, upToId: number, limit: number): OutboxEntry[] {
    const entries: OutboxEntry[] = [];
    for (const held of this.records) {
      if (entries.length >= limit) break;
      if (!held || held.id <= afterId) continue;
      if (held.id > upToId) break;
      entries.push(decodeEntry(held.id, held.record, held.points));
    }
    return entries;
  }

  remove(ids: readonly number[]): void {
    for (const id of ids) {
      const position = this.index.get(id);
      if (position === undefined) continue;
      const held = this.records[position] as HeldRecord;
      this.records[position] = undefined;
      this.index.delete(id);
      this.stats.batches--;
      this.stats.points -= held.points;
      this.stats.bytes -= held.record.length;
    }
    if (this.index.size * 2 < this.records.length) this.compact();
  }

  trim(keep: ReadonlySet<number>): Dropped {
    const dropped: Dropped = { batches: 0, points: 0 };
    const victims: number[] = [];
    let bytes = this.stats.bytes;
    for (const held of this.records) {
      if (bytes <= this.maxBytes) break;
      if (!held || keep.has(held.id)) continue;
      victims.push(held.id);
      bytes -= held.record.length;
      dropped.batches++;
      dropped.points += held.points;
    }
    this.remove(victims);
    return dropped;
  }

  close(): void {
    this.records = [];
    this.index.clear();
  }

  private compact(): void {
    this.records = this.records.filter((held) => held !== undefined);
    this.index.clear();
    this.records.forEach((held, position) => {
      this.index.set((held as HeldRecord).id, position);
    });
  }
}
