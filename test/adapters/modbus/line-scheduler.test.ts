/** The shared link's request order and probe pacing, as pure logic with a hand-driven clock. */
import { describe, expect, it } from 'vitest';
import { type LineClock, LineScheduler } from '../../../adapters/modbus/line-scheduler.js';

const backoff = { initialMs: 1000, maxMs: 30_000 };
const cycleMs = 1000;
const timeoutMs = 1000;
const noLivePoll = () => Number.POSITIVE_INFINITY;

function clock(now: number, nextLiveDueAt: () => number = noLivePoll): LineClock {
  return { now, cycleMs, nextLiveDueAt };
}

/** A scheduler whose units 1..answering have answered once. */
function withAnswering(answering: number, random = () => 0.5): LineScheduler<string> {
  const line = new LineScheduler<string>(backoff, random);
  for (let unit = 1; unit <= answering; unit++) line.answered(unit);
  return line;
}

describe('LineScheduler', () => {
  it('sends answering units first, in order, and a paced request after them', () => {
    const line = withAnswering(3);
    line.enqueue(9, 'probe-9', 0, timeoutMs); // unit 9 not heard yet: paced
    line.enqueue(1, 'poll-1', 0, timeoutMs);
    line.enqueue(2, 'poll-2', 0, timeoutMs);
    const nextDue = () => 1000;
    expect(line.next(clock(1, nextDue))).toEqual({ job: 'poll-1' });
    expect(line.next(clock(2, nextDue))).toEqual({ job: 'poll-2' });
    expect(line.next(clock(3, nextDue))).toEqual({ job: 'probe-9' });
    expect(line.next(clock(4, nextDue))).toBeUndefined();
  });

  it('keeps a paced request out of the way of a live poll due within half a cycle, until that poll went', () => {
    const line = withAnswering(1);
    line.enqueue(9, 'probe-9', 0, timeoutMs);
    // Unit 1 polls at 1000: at 700 there are 300 ms left, less than the 1000 ms timeout or half a
    // cycle. Nothing else to send: ask again when it would be starving (the poll wakes the line first).
    expect(line.next(clock(700, () => 1000))).toEqual({ at: 2000 });
    // Unit 1's poll came and went; its next is a cycle away: the probe goes now.
    line.enqueue(1, 'poll-1', 1000, timeoutMs);
    expect(line.next(clock(1000, () => 2000))).toEqual({ job: 'poll-1' });
    expect(line.next(clock(1003, () => 2000))).toEqual({ job: 'probe-9' });
  });

  it('lets a paced request with a short timeout use a gap it fits in', () => {
    const line = withAnswering(1);
    line.enqueue(9, 'probe-9', 0, 100);
    expect(line.next(clock(850, () => 1000))).toEqual({ job: 'probe-9' });
  });

  it('allows one timeout per cycle: the next paced request waits a cycle after a timeout, then for its slot', () => {
    const line = withAnswering(2);
    line.enqueue(19, 'probe-19', 0, timeoutMs);
    line.enqueue(20, 'probe-20', 0, timeoutMs);
    expect(line.next(clock(20, () => 1000))).toEqual({ job: 'probe-19' });
    line.timedOut(1020, cycleMs);
    line.silent(19, 1020);
    // Unit 20's probe may not go before 2020, even with nothing else waiting.
    expect(line.next(clock(1050, () => 2000))).toEqual({ at: 2020 });
    // At 2020 the live polls of 2000 are still on the line: they go first, and it has not been
    // eligible for a cycle yet, so it does not jump ahead of them.
    line.enqueue(1, 'poll-1', 2000, timeoutMs);
    line.enqueue(2, 'poll-2', 2000, timeoutMs);
    expect(line.next(clock(2020, () => 3000))).toEqual({ job: 'poll-1' });
    expect(line.next(clock(2021, () => 3000))).toEqual({ job: 'poll-2' });
    expect(line.next(clock(2022, () => 3000))).toEqual({ job: 'probe-20' });
  });

  it('does not let a saturated line starve a paced request: after two cycles without a slot it goes next', () => {
    const line = withAnswering(1);
    line.enqueue(9, 'probe-9', 0, timeoutMs);
    line.enqueue(1, 'poll-1', 0, timeoutMs);
    expect(line.next(clock(0, () => 50))).toEqual({ job: 'poll-1' });
    line.enqueue(1, 'poll-1b', 1000, timeoutMs);
    expect(line.next(clock(1999, () => 2050))).toEqual({ job: 'poll-1b' });
    line.enqueue(1, 'poll-1c', 2000, timeoutMs);
    expect(line.next(clock(2000, () => 2050))).toEqual({ job: 'probe-9' });
    expect(line.next(clock(3000, () => 3050))).toEqual({ job: 'poll-1c' });
  });

  it('moves the waiting request of a unit that fell silent to the paced lane', () => {
    const line = withAnswering(2);
    line.enqueue(1, 'poll-1', 0, timeoutMs);
    line.enqueue(2, 'poll-2', 0, timeoutMs);
    line.silent(1, 0);
    expect(line.next(clock(1, () => 1000))).toEqual({ job: 'poll-2' });
    expect(line.next(clock(2, () => 1000))).toEqual({ job: 'poll-1' });
  });

  it('probes a silent unit on a doubling back-off, capped, with jitter between half and all of it', () => {
    const draws = [0, 0.999, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5];
    const line = new LineScheduler<string>(backoff, () => draws.shift() ?? 0.5);
    const probeTimes: number[] = [];
    let now = 0;
    expect(line.silent(7, now)).toBe(true); // a change: answering or unknown → silent
    for (let probe = 0; probe < 8; probe++) {
      while (!line.claimProbe(7, now)) now += 1;
      probeTimes.push(now);
      expect(line.silent(7, now)).toBe(false); // still silent: no change to log
    }
    const waits = probeTimes.map((t, i) => t - (probeTimes[i - 1] ?? 0));
    // Back-offs 1000, 2000, 4000, 8000, 16000, then the 30000 cap; each waited between half and all of
    // it: 1000 × 0.5 (draw 0), 2000 × ~1 (draw 0.999), then three quarters (draw 0.5).
    expect(waits).toEqual([500, 1999, 3000, 6000, 12_000, 22_500, 22_500, 22_500]);
  });

  it('claims a due probe once, and returns a unit to normal on its first answer', () => {
    const line = withAnswering(0);
    line.silent(7, 0);
    expect(line.claimProbe(7, 400)).toBe(false);
    expect(line.claimProbe(7, 750)).toBe(true);
    expect(line.claimProbe(7, 751)).toBe(false); // a second device on unit 7 does not probe too
    expect(line.health(7)).toBe('silent');
    expect(line.answered(7)).toBe(true);
    expect(line.health(7)).toBe('answering');
    expect(line.claimProbe(7, 10_000)).toBe(false);
    // Silent again later: the back-off starts over.
    line.silent(7, 20_000);
    expect(line.claimProbe(7, 20_750)).toBe(true);
  });

  it('spreads two units that fell silent together', () => {
    const draws = [0.1, 0.9];
    const line = new LineScheduler<string>(backoff, () => draws.shift() ?? 0.5);
    line.silent(7, 0);
    line.silent(15, 0);
    const dueAt = (unit: number) => {
      let now = 0;
      while (!line.claimProbe(unit, now)) now += 1;
      return now;
    };
    expect(dueAt(7)).toBe(550);
    expect(dueAt(15)).toBe(950);
  });

  it('forgets every unit when the link comes up again, and drops a leaving device’s requests', () => {
    const line = withAnswering(2);
    line.silent(2, 0);
    line.enqueue(1, 'a-1', 0, timeoutMs);
    line.enqueue(3, 'b-3', 0, timeoutMs);
    line.enqueue(1, 'c-1', 0, timeoutMs);
    expect(line.remove((job) => job.endsWith('-1'))).toEqual(['a-1', 'c-1']);
    expect([...line.waiting()]).toEqual(['b-3']);
    line.timedOut(0, cycleMs);
    line.reset();
    expect(line.health(1)).toBe('unknown');
    expect(line.health(2)).toBe('unknown');
    expect(line.next(clock(1))).toEqual({ job: 'b-3' }); // the lane is open again
  });
});
