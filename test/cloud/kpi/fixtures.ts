/** Builders for the KPI engine's hand-computed fixtures: role points and sample series. */

import type { KpiConfigInput } from '../../../cloud/kpi/config.js';
import type { ScalarSample, ScalarSeries } from '../../../cloud/kpi/model.js';
import type { PointInfo } from '../../../cloud/store/store.js';
import { KpiRole, type KpiRoleName } from '../../../gateway/schema/index.js';

export const SITE = 'tj-test-plant';

/** Monday 2026-01-05 00:00 UTC: minute 0 of the fixtures. */
export const T0 = Date.UTC(2026, 0, 5);
export const SECOND = 1000;
export const MINUTE = 60_000;

/** A point with a role (parsed, so its defaults apply) and an optional UNECE unit. */
export function rolePoint(
  where: `${string}/${string}/${string}`,
  role: { role: KpiRoleName } & Record<string, unknown>,
  unit: string | null = null,
): PointInfo {
  const [line = '', equipment = '', point = ''] = where.split('/');
  return {
    pointId: `${SITE}/${where}`,
    line,
    equipment,
    point,
    protocol: null,
    unit,
    dataType: null,
    description: null,
    min: null,
    max: null,
    writable: false,
    kpi: KpiRole.parse(role),
  };
}

/** A series from [offset ms after T0, value] pairs. */
export function series(...samples: [number, ScalarSample['value']][]): ScalarSeries {
  return { ts: samples.map(([offset]) => T0 + offset), value: samples.map(([, value]) => value) };
}

/** A carried sample `offset` ms after T0 (negative: before). */
export function sample(offset: number, value: ScalarSample['value']): ScalarSample {
  return { ts: T0 + offset, value };
}

export const id = (where: string) => `${SITE}/${where}`;

/** The common brief's example: two shifts in China Standard Time, a lunch break, National Day off. */
export const twoShifts: KpiConfigInput = {
  timeZone: 'Asia/Shanghai',
  calendars: {
    'two-shifts': {
      shifts: [
        {
          days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'],
          start: '08:00',
          end: '20:00',
          breaks: [{ start: '12:00', end: '12:30' }],
        },
        { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '20:00', end: '08:00' },
      ],
      holidays: ['2026-10-01', '2026-10-02'],
    },
  },
  sites: { 'bj-etown-cnc': 'two-shifts' },
};
