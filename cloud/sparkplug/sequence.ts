/**
 * A Sparkplug node session's `seq` (0–255, wrapping, one per message after the NBIRTH) as the
 * monotonic batch seq the store numbers gateways by, so gaps, duplicates and completeness work as on
 * the JSON path. The NBIRTH is message 0 of the session; message n is batch seq `firstSeq + n - 1`.
 * A step of up to 127 forward is new messages (a skip is a gap); a step back is a late or repeated
 * message, which the store fills into its gap or drops as a duplicate.
 */
const HALF_RANGE = 128;
/** Bounds the memory a node sending wild seqs can cost; a gap lost from this list is still in the store. */
const MAX_AWAITED = 1024;

export class SessionSequence {
  /** Highest message index seen (the NBIRTH is 0) and its raw seq. */
  private top = 0;
  private topRaw: number;
  /** Message indexes skipped and not yet arrived, with when to stop waiting for them. */
  private readonly awaited = new Map<number, number>();

  /** `birthSeq`: the NBIRTH's seq; `firstSeq`: the batch seq of the message after it. */
  constructor(
    birthSeq: number,
    private readonly firstSeq: number,
  ) {
    this.topRaw = birthSeq & 0xff;
  }

  /**
   * The batch seq of a message with this raw seq (`undefined` for one from before the first message
   * after the NBIRTH), and how many messages it skipped: a skip waits until `reorderDeadline` for them.
   */
  next(raw: number, reorderDeadline: number): { seq: number | undefined; skipped: number } {
    const step = (raw - this.topRaw + 256) % 256;
    let index: number;
    let skipped = 0;
    if (step > 0 && step < HALF_RANGE) {
      skipped = step - 1;
      for (let missing = this.top + 1; missing < this.top + step; missing++) {
        if (this.awaited.size >= MAX_AWAITED) break;
        this.awaited.set(missing, reorderDeadline);
      }
      index = this.top + step;
      this.top = index;
      this.topRaw = raw & 0xff;
    } else {
      index = this.top - (step === 0 ? 0 : 256 - step);
      this.awaited.delete(index);
    }
    return { seq: index >= 1 ? this.firstSeq + index - 1 : undefined, skipped };
  }

  /** The batch seq of the newest message (the one before `firstSeq` right after the NBIRTH). */
  get lastSeq(): number {
    return this.firstSeq + this.top - 1;
  }

  /**
   * Takes the skipped messages whose wait ended by `now` and are still missing; answers how many, and
   * when the next wait ends (`undefined` when none is left).
   */
  takeOverdue(now: number): { missing: number; nextDeadline: number | undefined } {
    let missing = 0;
    let nextDeadline: number | undefined;
    for (const [index, deadline] of this.awaited) {
      if (deadline <= now) {
        missing++;
        this.awaited.delete(index);
      } else nextDeadline = Math.min(nextDeadline ?? deadline, deadline);
    }
    return { missing, nextDeadline };
  }
}
