/** Planned minutes from shift calendars: shifts, breaks, holidays, make-up days, and DST offsets. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { calendarNameOf, plannedMinutes, ZoneOffsets } from '../../../cloud/kpi/calendar.js';
import { KpiConfig } from '../../../cloud/kpi/config.js';
import { twoShifts } from './fixtures.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const utc = (iso: string) => Date.parse(iso);

/** How many minutes of [from, to) the checker calls planned. */
function countPlanned(isPlanned: (minute: number) => boolean, from: number, to: number): number {
  let count = 0;
  for (let t = from; t < to; t += MINUTE) if (isPlanned(t)) count++;
  return count;
}

describe('plannedMinutes', () => {
  afterEach(() => vi.restoreAllMocks());

  const config = KpiConfig.parse(twoShifts);
  const cnc = plannedMinutes(config, 'bj-etown-cnc');
  /** A China Standard Time (UTC+8, no DST) wall-clock time as an instant. */
  const cst = (local: string) => utc(`${local}+08:00`);

  it('plans every minute of a site without calendar', () => {
    expect(calendarNameOf(config, 'tj-other')).toBeNull();
    expect(calendarNameOf(config, 'bj-etown-cnc')).toBe('two-shifts');
    const always = plannedMinutes(config, 'tj-other');
    expect(countPlanned(always, cst('2026-10-01T00:00'), cst('2026-10-02T00:00'))).toBe(1440);
  });

  it('follows shifts, the lunch break and the night shift crossing midnight', () => {
    // Wednesday 2026-09-30: night shift of Tuesday until 08:00, day shift 08:00–20:00 less 12:00–12:30, night from 20:00.
    expect(cnc(cst('2026-09-30T07:59'))).toBe(true);
    expect(cnc(cst('2026-09-30T08:00'))).toBe(true);
    expect(cnc(cst('2026-09-30T11:59'))).toBe(true);
    expect(cnc(cst('2026-09-30T12:00'))).toBe(false);
    expect(cnc(cst('2026-09-30T12:29'))).toBe(false);
    expect(cnc(cst('2026-09-30T12:30'))).toBe(true);
    expect(cnc(cst('2026-09-30T23:59'))).toBe(true);
    // Sunday: no shift starts; Saturday's day shift has no night shift after it, Friday's night runs into Saturday.
    expect(cnc(cst('2026-09-26T07:59'))).toBe(true);
    expect(cnc(cst('2026-09-26T20:00'))).toBe(false);
    expect(cnc(cst('2026-09-27T10:00'))).toBe(false);
    expect(cnc(cst('2026-09-28T07:59'))).toBe(false); // Monday morning: Sunday has no night shift
  });

  it('stops the shifts starting on a holiday, not the night shift started the evening before', () => {
    // Thursday 2026-10-01 (holiday): Wednesday's night shift still runs until 08:00.
    expect(cnc(cst('2026-10-01T07:59'))).toBe(true);
    expect(cnc(cst('2026-10-01T08:00'))).toBe(false);
    expect(cnc(cst('2026-10-01T21:00'))).toBe(false);
    expect(cnc(cst('2026-10-02T07:59'))).toBe(false);
    // A normal week Mon 00:00 – Mon 00:00: Mon–Fri (720 − 30) + 720 = 1410 each, Saturday 690 → 7740.
    expect(countPlanned(cnc, cst('2026-09-21T00:00'), cst('2026-09-28T00:00'))).toBe(5 * 1410 + 690);
    // The National Day week: Thursday and Friday (holidays) lose 1410 each → 7740 − 2820 = 4920.
    expect(countPlanned(cnc, cst('2026-09-28T00:00'), cst('2026-10-05T00:00'))).toBe(4920);
  });

  it('plans a make-up working day with the shifts of the weekday it stands for', () => {
    const withWorkday = KpiConfig.parse({
      ...twoShifts,
      calendars: {
        'two-shifts': {
          ...twoShifts.calendars?.['two-shifts'],
          workdays: [{ date: '2026-09-27', as: 'mon' }],
        },
      },
    });
    const isPlanned = plannedMinutes(withWorkday, 'bj-etown-cnc');
    // Sunday 2026-09-27 works as a Monday: day shift (690) + night shift until Monday 08:00 (720).
    expect(countPlanned(isPlanned, cst('2026-09-27T00:00'), cst('2026-09-28T08:00'))).toBe(1410);
  });

  it('counts wall-clock shifts across DST in Europe/Berlin, while a UTC+8 zone keeps 8 h every night', () => {
    const nightShift = (timeZone: string) =>
      plannedMinutes(
        KpiConfig.parse({
          calendars: { nights: { timeZone, shifts: [{ days: ['sat'], start: '22:00', end: '06:00' }] } },
          sites: { plant: 'nights' },
        }),
        'plant',
      );
    const berlin = nightShift('Europe/Berlin');
    const shanghai = nightShift('Asia/Shanghai');
    const nightOf = (isPlanned: (t: number) => boolean, saturday: string) =>
      countPlanned(isPlanned, utc(`${saturday}T12:00Z`), utc(`${saturday}T12:00Z`) + 24 * HOUR);
    // Clocks go forward at 02:00 CET on Sunday 2026-03-29: 22:00 CET (21:00Z) to 06:00 CEST (04:00Z) is 7 h.
    expect(nightOf(berlin, '2026-03-28')).toBe(7 * 60);
    expect(berlin(utc('2026-03-28T20:59Z'))).toBe(false);
    expect(berlin(utc('2026-03-28T21:00Z'))).toBe(true);
    expect(berlin(utc('2026-03-29T03:59Z'))).toBe(true);
    expect(berlin(utc('2026-03-29T04:00Z'))).toBe(false);
    // A winter night: 22:00 CET (21:00Z) to 06:00 CET (05:00Z), 8 h.
    expect(nightOf(berlin, '2026-03-21')).toBe(8 * 60);
    // Clocks go back at 03:00 CEST on Sunday 2026-10-25: 22:00 CEST (20:00Z) to 06:00 CET (05:00Z) is 9 h.
    expect(nightOf(berlin, '2026-10-24')).toBe(9 * 60);
    expect(berlin(utc('2026-10-24T19:59Z'))).toBe(false);
    expect(berlin(utc('2026-10-24T20:00Z'))).toBe(true);
    expect(berlin(utc('2026-10-25T04:59Z'))).toBe(true);
    expect(berlin(utc('2026-10-25T05:00Z'))).toBe(false);
    // Shanghai has no DST: 22:00 CST is 14:00Z, every Saturday night is 8 h.
    for (const saturday of ['2026-03-21', '2026-03-28', '2026-10-24'])
      expect(nightOf(shanghai, saturday)).toBe(480);
    expect(shanghai(utc('2026-03-28T13:59Z'))).toBe(false);
    expect(shanghai(utc('2026-03-28T14:00Z'))).toBe(true);
  });

  it('resolves skipped and repeated wall-clock times like Temporal (forward; first occurrence)', () => {
    const berlin = new ZoneOffsets('Europe/Berlin');
    // 02:30 on 2026-03-29 does not exist in Berlin: it moves forward by the gap, to 03:30 CEST = 01:30Z.
    expect(berlin.utcOf(utc('2026-03-29T02:30Z'))).toBe(utc('2026-03-29T01:30Z'));
    // 02:30 on 2026-10-25 happens twice (CEST, then CET): the first, 00:30Z.
    expect(berlin.utcOf(utc('2026-10-25T02:30Z'))).toBe(utc('2026-10-25T00:30Z'));
    expect(berlin.at(utc('2026-03-29T00:59Z'))).toBe(HOUR);
    expect(berlin.at(utc('2026-03-29T01:00Z'))).toBe(2 * HOUR);
  });

  it('asks Intl a few times per day, not once per minute, over a month of minutes', () => {
    const formatToParts = vi.spyOn(Intl.DateTimeFormat.prototype, 'formatToParts');
    const berlin = plannedMinutes(
      KpiConfig.parse({ ...twoShifts, timeZone: 'Europe/Berlin', sites: { plant: 'two-shifts' } }),
      'plant',
    );
    // Monday 2026-09-28 00:00 CEST (22:00Z) to Monday 2026-10-26 00:00 CET (23:00Z): 4 weeks plus the
    // hour clocks went back, 40,380 minutes. 4 × 7740 less the holidays Thursday and Friday (2 × 1410);
    // the DST change falls on a Saturday night without shift, so it adds nothing.
    const planned = countPlanned(berlin, utc('2026-09-27T22:00Z'), utc('2026-10-25T23:00Z'));
    expect(planned).toBe(4 * 7740 - 2 * 1410);
    expect(formatToParts.mock.calls.length).toBeLessThan(200);
  });
});
