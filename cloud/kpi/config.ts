/**
 * The collector's `kpi:` block: the shift calendars that give each site its planned operation time,
 * and how the rollup job runs. Every field has a default, so `{}` is a valid block (every site 24/7).
 */
import { z } from 'zod';

export const weekdays = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof weekdays)[number];

const TimeZone = z
  .string()
  .refine(isTimeZone, { message: 'not an IANA time zone known to this Node.js (e.g. Asia/Shanghai)' });

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A local wall-clock time; `24:00` (the end of the day) only as an end. */
const ClockTime = z
  .string()
  .regex(/^(?:[01]\d|2[0-3]):[0-5]\d$/, { message: 'expected a time HH:MM (00:00 to 23:59)' });
const EndTime = z
  .string()
  .regex(/^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$/, { message: 'expected a time HH:MM (00:00 to 24:00)' });

/** Minutes since local midnight of an `HH:MM` the schema accepted. */
export function minuteOfDay(time: string): number {
  return Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
}

const LocalDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'expected a date YYYY-MM-DD' })
  .refine(isCalendarDate, { message: 'not a calendar date' });

/** False only for a YYYY-MM-DD that names no day (2026-02-30); the regex reports other shapes. */
function isCalendarDate(date: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return true;
  const ms = Date.parse(`${date}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === date;
}

const Break = z.strictObject({ start: ClockTime, end: EndTime });

const Shift = z
  .strictObject({
    days: z
      .array(z.enum(weekdays))
      .min(1)
      .default([...weekdays])
      .describe('weekdays the shift starts on; default every day'),
    start: ClockTime,
    end: EndTime.describe(
      'an end at or before the start crosses midnight: the shift belongs to the day it starts',
    ),
    breaks: z
      .array(Break)
      .default([])
      .describe('unplanned-for pauses inside the shift (may cross midnight with it)'),
  })
  .superRefine((shift, ctx) => {
    const length = shiftLength(shift.start, shift.end);
    shift.breaks.forEach((pause, index) => {
      const from = offsetInShift(shift.start, pause.start);
      const to = from + shiftLength(pause.start, pause.end);
      if (pause.start === pause.end || to > length)
        ctx.addIssue({
          code: 'custom',
          path: ['breaks', index],
          message: `a break must lie inside its shift ${shift.start}–${shift.end}`,
        });
    });
  });

/** Minutes from `start` to `end`, crossing midnight when `end` is not after `start` (equal: 24 h). */
export function shiftLength(start: string, end: string): number {
  const length = minuteOfDay(end) - minuteOfDay(start);
  return length > 0 ? length : length + 1440;
}

/** Minutes from a shift's start to a time inside it (the next occurrence of that time). */
export function offsetInShift(shiftStart: string, time: string): number {
  return (minuteOfDay(time) - minuteOfDay(shiftStart) + 1440) % 1440;
}

const Calendar = z.strictObject({
  timeZone: TimeZone.optional().describe("the calendar's time zone; default kpi.timeZone"),
  shifts: z.array(Shift).default([]),
  holidays: z
    .array(LocalDate)
    .default([])
    .describe('local dates on which no shift starts (a night shift starting the day before still runs)'),
  workdays: z
    .array(z.strictObject({ date: LocalDate, as: z.enum(weekdays) }))
    .default([])
    .describe('make-up working days (调休): on `date` the shifts of weekday `as` start'),
});
export type Calendar = z.infer<typeof Calendar>;

const Rollups = z.strictObject({
  intervalMs: z.number().int().min(1000).default(10_000).describe('how often the rollup job runs'),
  graceMs: z
    .number()
    .int()
    .min(0)
    .default(60_000)
    .describe('how far behind the newest sample rows stay open for slightly late gateways'),
  lookbackMs: z
    .number()
    .int()
    .min(60_000)
    .default(3_600_000)
    .describe('how far before a recompute the last value of each role point is looked for'),
  maxChunkMs: z
    .number()
    .int()
    .min(60_000)
    .default(21_600_000)
    .describe('most time one job step computes (bounds the samples it holds)'),
  minuteRetentionDays: z
    .number()
    .int()
    .min(1)
    .default(35)
    .describe('minute rows older than this are pruned; hour rows are kept'),
});

export const KpiConfig = z
  .strictObject({
    timeZone: TimeZone.default('Asia/Shanghai').describe('time zone of calendars that name none'),
    calendars: z.record(z.string().min(1), Calendar).default({}),
    sites: z
      .record(z.string().min(1), z.string().min(1))
      .default({})
      .describe('site → calendar name; a site not listed is planned 24/7'),
    rollups: Rollups.prefault({}),
  })
  .superRefine((config, ctx) => {
    for (const [site, calendar] of Object.entries(config.sites)) {
      if (!Object.hasOwn(config.calendars, calendar))
        ctx.addIssue({
          code: 'custom',
          path: ['sites', site],
          message: `no calendar named ${calendar} (known: ${Object.keys(config.calendars).join(', ') || 'none'})`,
        });
    }
  });
export type KpiConfig = z.infer<typeof KpiConfig>;
export type KpiConfigInput = z.input<typeof KpiConfig>;
