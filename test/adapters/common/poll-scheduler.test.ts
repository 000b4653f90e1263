/** The poll scheduler's timing, on vitest's fake clock (pure logic: no device involved). */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PollScheduler } from '../../../adapters/common/poll-scheduler.js';
import { capturingLogger } from '../../helpers/capturing-logger.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Stops `polls`, letting the fake clock run the poll in progress to its end. */
async function stop(polls: PollScheduler): Promise<void> {
  const stopping = polls.stop();
  await vi.runAllTimersAsync();
  await stopping;
}

function scheduler(intervalMs: number, pollMs = 0) {
  const started: number[] = [];
  const log = capturingLogger();
  const polls = new PollScheduler({
    intervalMs,
    logger: log.logger,
    poll: () => {
      started.push(Date.now() - 1_000_000);
      return new Promise((resolve) => setTimeout(resolve, pollMs));
    },
  });
  return { polls, started, log };
}

describe('PollScheduler', () => {
  it('polls at once, then on the grid start + k × interval, whatever each poll took', async () => {
    const { polls, started } = scheduler(100, 30);
    polls.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(started).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    await stop(polls);
  });

  it('skips the ticks a slow poll overlaps, never queues them, and logs a lasting overrun once', async () => {
    const { polls, started, log } = scheduler(100, 250);
    polls.start();
    await vi.advanceTimersByTimeAsync(1500);
    // Each poll takes 250 ms: the ticks at 100 and 200 find it running; the next starts at 300.
    expect(started).toEqual([0, 300, 600, 900, 1200, 1500]);
    const overruns = log.lines.filter((line) => line.msg.startsWith('a poll took longer'));
    expect(overruns).toHaveLength(1);
    await stop(polls);
  });

  it('adds the cause the adapter gives to the overrun warning, and tells when the next poll is due', async () => {
    const log = capturingLogger();
    const polls = new PollScheduler({
      intervalMs: 100,
      logger: log.logger,
      poll: () => new Promise((resolve) => setTimeout(resolve, 250)),
      overrunCause: () => ({ causedBy: { unitId: 7 } }),
    });
    expect(polls.nextDueAt).toBe(Number.POSITIVE_INFINITY);
    polls.start();
    expect(polls.nextDueAt).toBe(1_000_100);
    await vi.advanceTimersByTimeAsync(1500);
    const overruns = log.lines.filter((line) => line.msg.startsWith('a poll took longer'));
    expect(overruns).toMatchObject([{ pollIntervalMs: 100, causedBy: { unitId: 7 } }]);
    await stop(polls);
    expect(polls.nextDueAt).toBe(Number.POSITIVE_INFINITY);
  });

  it('says once when polls are back on schedule', async () => {
    let pollMs = 250;
    const log = capturingLogger();
    const polls = new PollScheduler({
      intervalMs: 100,
      logger: log.logger,
      poll: () => new Promise((resolve) => setTimeout(resolve, pollMs)),
    });
    polls.start();
    await vi.advanceTimersByTimeAsync(1500);
    pollMs = 10;
    await vi.advanceTimersByTimeAsync(1000);
    expect(log.lines.map((line) => line.msg).filter((msg) => /poll/.test(msg))).toEqual([
      'a poll took longer than pollIntervalMs; skipping polls while it runs',
      'polls back on schedule',
    ]);
    await stop(polls);
  });

  it('skips intervals missed altogether (a paused process) instead of catching up', async () => {
    const { polls, started } = scheduler(100);
    polls.start();
    await vi.advanceTimersByTimeAsync(100);
    vi.setSystemTime(Date.now() + 1050); // the clock jumps 1050 ms while no timer runs
    await vi.advanceTimersByTimeAsync(200);
    // The late tick polls once (at 1250), then the schedule is back on the original grid.
    expect(started).toEqual([0, 100, 1250, 1300]);
    await stop(polls);
  });

  it('stop() waits for the poll in progress, ends the schedule, and is safe twice', async () => {
    const { polls, started } = scheduler(100, 50);
    polls.start();
    let stopped = false;
    const stopping = polls.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(10);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(40);
    await stopping;
    await polls.stop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(started).toEqual([0]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a failed poll is logged and the schedule goes on', async () => {
    const log = capturingLogger();
    let polls = 0;
    const scheduler = new PollScheduler({
      intervalMs: 100,
      logger: log.logger,
      poll: async () => {
        polls++;
        throw new Error('boom');
      },
    });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(200);
    expect(polls).toBe(3);
    expect(log.lines.filter((line) => line.msg === 'poll failed')).toHaveLength(3);
    await stop(scheduler);
  });
});
