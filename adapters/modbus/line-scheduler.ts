/**
 * Pure scheduling of the requests on one shared link (no I/O; the clock is passed in): which request
 * goes next, and when a silent unit may be asked again. Twenty units behind one RS-485 gateway share
 * one line, and every request to a unit that does not answer holds the line for a whole timeout, so
 * units that are not known to answer are paced: at most one of their timeouts per cycle (the shortest
 * poll interval on the link), after the answering units' requests. A silent unit is asked again on a
 * jittered, doubling back-off, so two units that fell silent together do not keep probing in step.
 */

/**
 * `unknown`: not heard since the link came up; `answering`: its last request got an answer (a value
 * or an exception); `silent`: it gave up (timed out, retries spent) and is only probed.
 */
export type UnitHealth = 'unknown' | 'answering' | 'silent';

export interface ProbeBackoff {
  initialMs: number;
  maxMs: number;
}

interface Waiting<Job> {
  unitId: number;
  job: Job;
  queuedAt: number;
  /** How long the request may hold the line if the unit does not answer. */
  timeoutMs: number;
}

/** What the link knows of the time when `next` is asked. */
export interface LineClock {
  now: number;
  /** The shortest poll interval on the link. */
  cycleMs: number;
  /** When the next poll of an answering unit is due (Infinity if none). */
  nextLiveDueAt: () => number;
}

interface UnitRecord {
  health: UnitHealth;
  /** The current back-off; doubles with each unanswered probe up to the cap. */
  backoffMs: number;
  /** A silent unit's next probe is due then. */
  probeAt: number;
}

/**
 * Cycles a paced request may wait for its slot: every cycle in which the answering units' polls end
 * before the next ones are due has one, so only a saturated line makes it wait this long.
 */
const starvingCycles = 2;

export type NextRequest<Job> = { job: Job } | { at: number } | undefined;

export class LineScheduler<Job> {
  /** Requests of answering units, first come first served. */
  private readonly prompt: Waiting<Job>[] = [];
  /** Requests of units not known to answer (unknown, or a silent unit's probe). */
  private readonly paced: Waiting<Job>[] = [];
  private readonly units = new Map<number, UnitRecord>();
  /** No paced request goes before this: one cycle after the last timeout on the line. */
  private pacedOpenAt = 0;

  constructor(
    private readonly backoff: ProbeBackoff,
    /** 0 ≤ random() < 1; injected so tests are deterministic. */
    private readonly random: () => number = Math.random,
  ) {}

  health(unitId: number): UnitHealth {
    return this.units.get(unitId)?.health ?? 'unknown';
  }

  enqueue(unitId: number, job: Job, now: number, timeoutMs: number): void {
    const lane = this.health(unitId) === 'answering' ? this.prompt : this.paced;
    lane.push({ unitId, job, queuedAt: now, timeoutMs });
  }

  /** Every request still waiting, in no particular order. */
  *waiting(): Iterable<Job> {
    for (const entry of this.prompt) yield entry.job;
    for (const entry of this.paced) yield entry.job;
  }

  /** Takes the waiting requests `matches` picks out of the queue (their owner left) and returns them. */
  remove(matches: (job: Job) => boolean): Job[] {
    const removed: Job[] = [];
    for (const lane of [this.prompt, this.paced]) {
      for (let i = lane.length - 1; i >= 0; i--) {
        const entry = lane[i] as Waiting<Job>;
        if (!matches(entry.job)) continue;
        lane.splice(i, 1);
        removed.unshift(entry.job);
      }
    }
    return removed;
  }

  /**
   * The request to send now, or the time to ask again, or undefined when nothing waits. Answering
   * units go first. A paced request goes in the slot after their polls: the prompt lane is empty and
   * no answering unit's poll is due within its timeout (or, for a timeout longer than that gap, within
   * half a cycle: right after their polls, so the next ones wait the least). Once it could have gone
   * for two cycles without finding that slot it goes anyway, so a saturated line cannot starve it; and
   * never within a cycle of the last timeout.
   */
  next({ now, cycleMs, nextLiveDueAt }: LineClock): NextRequest<Job> {
    // A unit that fell silent while its request waited in the prompt lane is paced from now on.
    for (let i = this.prompt.length - 1; i >= 0; i--) {
      const entry = this.prompt[i] as Waiting<Job>;
      if (this.health(entry.unitId) === 'answering') continue;
      this.prompt.splice(i, 1);
      this.paced.push(entry);
      this.paced.sort((a, b) => a.queuedAt - b.queuedAt);
    }
    const paced = this.paced[0];
    if (paced && now >= this.pacedOpenAt) {
      // Waiting counts from when it could have gone: a cycle after a timeout it still waits for its slot.
      const starving = now - Math.max(paced.queuedAt, this.pacedOpenAt) >= starvingCycles * cycleMs;
      const inSlot =
        this.prompt.length === 0 && nextLiveDueAt() - now >= Math.min(paced.timeoutMs, cycleMs / 2);
      if (starving || inSlot) {
        this.paced.shift();
        return { job: paced.job };
      }
    }
    const prompt = this.prompt.shift();
    if (prompt) return { job: prompt.job };
    if (!paced) return undefined;
    // Ask again when the lane opens, or when the request would be starving.
    const starvingAt = Math.max(paced.queuedAt, this.pacedOpenAt) + starvingCycles * cycleMs;
    return { at: now < this.pacedOpenAt ? this.pacedOpenAt : starvingAt };
  }

  /** The unit answered (a value or an exception). Tells whether it was silent until now. */
  answered(unitId: number): boolean {
    const health = this.health(unitId);
    // Every answered request lands here: an answering unit's record is already the one it would get.
    if (health === 'answering') return false;
    this.units.set(unitId, { health: 'answering', backoffMs: this.backoff.initialMs, probeAt: 0 });
    return health === 'silent';
  }

  /** A request timed out and held the line for its whole timeout: paced requests wait a cycle. */
  timedOut(now: number, cycleMs: number): void {
    this.pacedOpenAt = Math.max(this.pacedOpenAt, now + cycleMs);
  }

  /**
   * The unit gave up (retries spent, or a probe went unanswered): it is silent, and probed after a
   * back-off that doubles with each unanswered probe. Tells whether it was answering (or unknown) until now.
   */
  silent(unitId: number, now: number): boolean {
    const record = this.units.get(unitId);
    const wasSilent = record?.health === 'silent';
    const backoffMs = wasSilent ? Math.min(record.backoffMs * 2, this.backoff.maxMs) : this.backoff.initialMs;
    this.units.set(unitId, { health: 'silent', backoffMs, probeAt: now + this.jittered(backoffMs) });
    return !wasSilent;
  }

  /**
   * Whether a silent unit's probe is due; if so the probe is claimed (the next one is not due before
   * another back-off, so two devices on one unit id do not both probe).
   */
  claimProbe(unitId: number, now: number): boolean {
    const record = this.units.get(unitId);
    if (record?.health !== 'silent' || now < record.probeAt) return false;
    record.probeAt = now + record.backoffMs;
    return true;
  }

  /** The link came up or went down: every unit is unknown again, its requests paced. */
  reset(): void {
    this.units.clear();
    this.pacedOpenAt = 0;
  }

  /** Equal jitter: half the back-off fixed, half random, so units silent since the same moment drift apart. */
  private jittered(backoffMs: number): number {
    return backoffMs / 2 + (this.random() * backoffMs) / 2;
  }
}
