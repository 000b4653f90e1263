/**
 * Runs one poll every `intervalMs` on a fixed grid (start + k × interval) rather than with setInterval,
 * whose lateness adds up. A poll still running when its next tick comes is not queued behind: that
 * tick is skipped, and intervals missed altogether (a paused process) are skipped, not caught up.
 */
import type { Logger } from 'pino';

/** Consecutive late polls after which overrunning is logged. */
const overrunStreakToReport = 3;

export interface PollSchedulerOptions {
  intervalMs: number;
  /** One poll. A rejection is logged; the schedule goes on. */
  poll: () => Promise<void>;
  /** The device's logger: overruns and failed polls are logged once per change, not per poll. */
  logger: Logger;
  /**
   * What made the last poll overrun, as log fields (e.g. the neighbour on a shared line it waited
   * behind), so the warning names the cause rather than only the device that waited.
   */
  overrunCause?: () => Record<string, unknown>;
}

export class PollScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** When the next poll is due, ms since the epoch. */
  private nextAt = 0;
  private active: Promise<void> | undefined;
  /** Ticks that found the previous poll still running. */
  private skippedTicks = 0;
  /** Consecutive polls that each started late (ticks skipped before them). */
  private overrunStreak = 0;
  private overrunning = false;

  constructor(private readonly options: PollSchedulerOptions) {}

  /** When the next poll is due, ms since the epoch; Infinity when stopped. */
  get nextDueAt(): number {
    return this.running ? this.nextAt : Number.POSITIVE_INFINITY;
  }

  /** Polls now, then every interval from now on. Does nothing if already started. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.nextAt = Date.now();
    this.tick();
    this.schedule();
  }

  /** Stops the schedule and waits for a poll in progress to end. Safe to call twice. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.active;
    this.skippedTicks = 0;
    this.overrunStreak = 0;
    this.overrunning = false;
  }

  private schedule(): void {
    const now = Date.now();
    const { intervalMs } = this.options;
    this.nextAt += intervalMs;
    if (this.nextAt <= now) this.nextAt += Math.ceil((now - this.nextAt + 1) / intervalMs) * intervalMs;
    this.timer = setTimeout(() => {
      if (!this.running) return;
      this.tick();
      this.schedule();
    }, this.nextAt - now);
  }

  private tick(): void {
    if (this.active) {
      this.skippedTicks++;
      return;
    }
    this.overrunStreak = this.skippedTicks > 0 ? this.overrunStreak + 1 : 0;
    this.skippedTicks = 0;
    // A poll held up once (say behind a dead neighbour's timeout on a shared line) is not worth a
    // line; polls that keep overrunning are.
    const overran = this.overrunStreak >= overrunStreakToReport;
    const { logger, intervalMs } = this.options;
    if (overran !== this.overrunning && (overran || this.overrunStreak === 0)) {
      this.overrunning = overran;
      const where = { pollIntervalMs: intervalMs };
      if (overran) {
        const cause = this.options.overrunCause?.() ?? {};
        logger.warn(
          { ...where, ...cause },
          'a poll took longer than pollIntervalMs; skipping polls while it runs',
        );
      } else logger.info(where, 'polls back on schedule');
    }
    this.active = this.options
      .poll()
      .catch((error: unknown) => logger.error({ err: error }, 'poll failed'))
      .finally(() => {
        this.active = undefined;
      });
  }
}
