/** The collector's `kpi:` block: defaults, the documented example, and errors as `path: reason`. */
import { describe, expect, it } from 'vitest';
import { KpiConfig } from '../../../cloud/kpi/config.js';
import { formatIssues } from '../../../gateway/common/config-loading.js';
import { twoShifts } from './fixtures.js';

const problemsOf = (input: unknown): string[] => {
  const result = KpiConfig.safeParse(input);
  return result.success ? [] : formatIssues(result.error.issues);
};

describe('KpiConfig', () => {
  it('parses {} into every default: China Standard Time, no calendars (24/7), the rollup timings', () => {
    expect(KpiConfig.parse({})).toEqual({
      timeZone: 'Asia/Shanghai',
      calendars: {},
      sites: {},
      rollups: {
        intervalMs: 10_000,
        graceMs: 60_000,
        lookbackMs: 3_600_000,
        maxChunkMs: 21_600_000,
        minuteRetentionDays: 35,
      },
    });
  });

  it('parses the documented two-shift example, filling shift and calendar defaults', () => {
    const config = KpiConfig.parse(twoShifts);
    const calendar = config.calendars['two-shifts'];
    expect(calendar?.shifts[1]).toEqual({
      days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      start: '20:00',
      end: '08:00',
      breaks: [],
    });
    expect(calendar?.timeZone).toBeUndefined();
    expect(calendar?.workdays).toEqual([]);
    expect(
      KpiConfig.parse({ calendars: { all: { shifts: [{ start: '06:00', end: '06:00' }] } } }).calendars.all
        ?.shifts[0]?.days,
    ).toEqual(['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']);
  });

  it('names the path and the reason of every problem', () => {
    expect(
      problemsOf({
        timeZone: 'Asia/Peking',
        calendars: {
          bad: {
            timeZone: 'Mars/Olympus',
            shifts: [
              { days: ['mon'], start: '8:00', end: '24:00' },
              { days: ['tue'], start: '22:00', end: '06:00', breaks: [{ start: '06:00', end: '06:30' }] },
              { days: ['wed'], start: '24:00', end: '25:00' },
            ],
            holidays: ['2026-02-30', '1 Oct 2026'],
          },
        },
        sites: { 'tj-plant': 'three-shifts' },
        rollups: { intervalMs: 0, surprise: 1 },
      }),
    ).toEqual([
      'timeZone: not an IANA time zone known to this Node.js (e.g. Asia/Shanghai)',
      'calendars.bad.timeZone: not an IANA time zone known to this Node.js (e.g. Asia/Shanghai)',
      'calendars.bad.shifts[0].start: expected a time HH:MM (00:00 to 23:59)',
      'calendars.bad.shifts[1].breaks[0]: a break must lie inside its shift 22:00–06:00',
      'calendars.bad.shifts[2].start: expected a time HH:MM (00:00 to 23:59)',
      'calendars.bad.shifts[2].end: expected a time HH:MM (00:00 to 24:00)',
      'calendars.bad.holidays[0]: not a calendar date',
      'calendars.bad.holidays[1]: expected a date YYYY-MM-DD',
      expect.stringMatching(/^rollups\.intervalMs: Too small/),
      expect.stringMatching(/^rollups: Unrecognized key: "surprise"/),
      'sites.tj-plant: no calendar named three-shifts (known: bad)',
    ]);
  });

  it('refuses a site naming a calendar that is not defined', () => {
    expect(problemsOf({ ...twoShifts, sites: { 'tj-plant': 'three-shifts' } })).toEqual([
      'sites.tj-plant: no calendar named three-shifts (known: two-shifts)',
    ]);
    expect(problemsOf({ sites: { 'tj-plant': 'toString' } })).toEqual([
      'sites.tj-plant: no calendar named toString (known: none)',
    ]);
  });
});
