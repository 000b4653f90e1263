/**
 * Planned operation time from a site's shift calendar: whether a minute lies in a shift (and not in
 * one of its breaks). Shifts are wall-clock times in the calendar's time zone; a shift crossing
 * midnight belongs to the day it starts (so a holiday stops the shifts starting that day, and a night
 * shift started the evening before still runs). The rollup job asks minute by minute, so time-zone
 * offsets are cached per UTC day and shift intervals per local day: Intl is asked a few times a day,
 * never once a minute.
 */
import {
  type Calendar,
  type KpiConfig,
  minuteOfDay,
  offsetInShift,
  shiftLength,
  weekdays,
} from './config.js';
import { MINUTE_MS } from './model.js';

const DAY_MS = 86_400_000;
/** Cached days before a cache starts over (a job holds a checker for a few days of minutes at most). */
const MAX_CACHED_DAYS = 4096;

/** The calendar a site follows; null for a site planned 24/7. */
export function calendarNameOf(config: KpiConfig, site: string): string | null {
  return Object.hasOwn(config.sites, site) ? (config.sites[site] ?? null) : null;
}

/** Whether the minute starting at `minuteStart` (ms) is planned operation time for `site`. */
export function plannedMinutes(config: KpiConfig, site: string): (minuteStart: number) => boolean {
  const name = calendarNameOf(config, site);
  const calendar = name === null ? undefined : config.calendars[name];
  if (!calendar) return () => true;
  const offsets = new ZoneOffsets(calendar.timeZone ?? config.timeZone);
  const shifts = shiftMinutesByWeekday(calendar);
  const holidays = new Set(calendar.holidays.map(dayIndexOf));
  const workdays = new Map(calendar.workdays.map((w) => [dayIndexOf(w.date), weekdays.indexOf(w.as)]));
  const intervalsByDay = new Map<number, number[]>();

  /** Planned intervals (UTC ms, flat [start, end, …]) of the shifts starting on local day `day`. */
  const intervalsOf = (day: number): number[] => {
    let intervals = intervalsByDay.get(day);
    if (intervals) return intervals;
    intervals = [];
    if (!holidays.has(day)) {
      const weekday = workdays.get(day) ?? ((day % 7) + 11) % 7; // 1970-01-01 (day 0) was a Thursday
      const midnight = day * DAY_MS;
      for (const [start, end] of shifts[weekday] ?? [])
        intervals.push(
          offsets.utcOf(midnight + start * MINUTE_MS),
          offsets.utcOf(midnight + end * MINUTE_MS),
        );
    }
    if (intervalsByDay.size >= MAX_CACHED_DAYS) intervalsByDay.clear();
    intervalsByDay.set(day, intervals);
    return intervals;
  };
  const inside = (intervals: number[], t: number): boolean => {
    for (let i = 0; i < intervals.length; i += 2)
      if (t >= (intervals[i] as number) && t < (intervals[i + 1] as number)) return true;
    return false;
  };
  return (minuteStart) => {
    const day = Math.floor((minuteStart + offsets.at(minuteStart)) / DAY_MS);
    // Shifts last at most a day, so only those starting today or yesterday (local) can cover the minute.
    return inside(intervalsOf(day), minuteStart) || inside(intervalsOf(day - 1), minuteStart);
  };
}

/** Per weekday (0 = Sunday), the planned pieces of its shifts as local minutes from the day's midnight (end may pass 1440). */
function shiftMinutesByWeekday(calendar: Calendar): [number, number][][] {
  const byWeekday: [number, number][][] = weekdays.map(() => []);
  for (const shift of calendar.shifts) {
    const start = minuteOfDay(shift.start);
    const pauses = shift.breaks
      .map((pause) => {
        const from = start + offsetInShift(shift.start, pause.start);
        return [from, from + shiftLength(pause.start, pause.end)] as const;
      })
      .sort((a, b) => a[0] - b[0]);
    const pieces: [number, number][] = [];
    let cursor = start;
    for (const [from, to] of pauses) {
      if (from > cursor) pieces.push([cursor, from]);
      cursor = Math.max(cursor, to);
    }
    const end = start + shiftLength(shift.start, shift.end);
    if (end > cursor) pieces.push([cursor, end]);
    for (const day of shift.days) byWeekday[weekdays.indexOf(day)]?.push(...pieces);
  }
  return byWeekday;
}

/** Days since the epoch of a `YYYY-MM-DD` date. */
function dayIndexOf(date: string): number {
  return Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / DAY_MS;
}

/**
 * A time zone's UTC offset (ms, local − UTC) at any instant, from Intl asked twice per UTC day (plus
 * a binary search to the minute on a day the offset changes).
 */
export class ZoneOffsets {
  private readonly format: Intl.DateTimeFormat;
  private readonly days = new Map<number, { before: number; after: number; changeAt: number }>();

  constructor(timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** The offset in force at `t` (ms since the epoch). */
  at(t: number): number {
    const day = Math.floor(t / DAY_MS);
    let entry = this.days.get(day);
    if (!entry) {
      entry = this.dayEntry(day);
      if (this.days.size >= MAX_CACHED_DAYS) this.days.clear();
      this.days.set(day, entry);
    }
    return t < entry.changeAt ? entry.before : entry.after;
  }

  /**
   * The instant a local wall-clock time (given as ms since the epoch as if it were UTC) falls on. A
   * time repeated when clocks go back is its first occurrence; a time skipped when they go forward
   * moves forward by the gap (as Temporal's `compatible` disambiguation does).
   */
  utcOf(local: number): number {
    const early = this.at(local - DAY_MS);
    const late = this.at(local + DAY_MS);
    if (early === late) return local - early;
    const first = local - early;
    const second = local - late;
    const firstHolds = this.at(first) === early;
    const secondHolds = this.at(second) === late;
    if (firstHolds && secondHolds) return Math.min(first, second);
    if (secondHolds) return second;
    return first;
  }

  private dayEntry(day: number): { before: number; after: number; changeAt: number } {
    let low = day * DAY_MS;
    let high = low + DAY_MS - MINUTE_MS;
    const before = this.offsetOf(low);
    const after = this.offsetOf(high);
    if (before === after) return { before, after, changeAt: low };
    // Zones change offset on a whole minute: find the first minute of the new offset.
    while (high - low > MINUTE_MS) {
      const middle = low + Math.floor((high - low) / MINUTE_MS / 2) * MINUTE_MS;
      if (this.offsetOf(middle) === before) low = middle;
      else high = middle;
    }
    return { before, after, changeAt: high };
  }

  private offsetOf(t: number): number {
    const parts: Record<string, number> = {};
    for (const { type, value } of this.format.formatToParts(t)) parts[type] = Number(value);
    const local = Date.UTC(
      parts.year ?? 1970,
      (parts.month ?? 1) - 1,
      parts.day ?? 1,
      parts.hour ?? 0,
      parts.minute ?? 0,
      parts.second ?? 0,
    );
    return local - Math.floor(t / 1000) * 1000;
  }
}
