/**
 * Batch rollups (`batch_rollups`): per gateway, boot and minute or hour of `sent_ts`, the lowest and
 * highest seq stored and how many batches arrived, counted in the telemetry transaction. Min and max
 * add up over any set of whole minutes or hours, so completeness over aligned windows reads a few rows
 * per gateway and window instead of every batch (see `RegistryQueries.completeness` for the definition).
 */
import { CollectorError } from '../errors.js';
import { HOUR_MS, MINUTE_MS } from '../kpi/model.js';
import type { ReadResult, ReadTask } from '../query/read-task.js';
import type { Completeness, WindowedCompleteness } from './store.js';

/**
 * The statement of one site (rows: window, gateway, boot, min seq, max seq, received). Batches count
 * for the site their gateway belongs to now, as `completeness` counts them. CROSS JOIN keeps the
 * gateways outer, so each is a key range of the rollups (left to itself, the planner may scan every
 * row of the resolution).
 */
function windowsSql(windowMs: number): string {
  return `SELECT r.start - r.start % ${windowMs} AS window, r.gateway, r.boot,
      min(r.min_seq), max(r.max_seq), sum(r.received)
    FROM gateways g CROSS JOIN batch_rollups r
    WHERE r.resolution = ? AND r.gateway = g.id AND r.start >= ? AND r.start <= ? AND g.site = ?
    GROUP BY window, r.gateway, r.boot`;
}

/**
 * A read of `completenessWindows` for a read thread: one statement per site. Minute windows read
 * minute rows; whole hours read hour rows (a sixtieth of them). The range must be whole windows.
 */
export function completenessReadTask(sites: string[], from: number, to: number, windowMs: number): ReadTask {
  if (windowMs <= 0 || windowMs % MINUTE_MS !== 0 || from % windowMs !== 0 || (to + 1) % windowMs !== 0) {
    throw new CollectorError(
      'STORE_FAILED',
      `completeness windows of ${windowMs} ms over [${from}, ${to}] are not whole minutes aligned to their length`,
    );
  }
  const resolution = windowMs % HOUR_MS === 0 ? '1h' : '1m';
  const sql = windowsSql(windowMs);
  return {
    statements: sites.map((site) => ({ sql, params: [resolution, from, to, site] })),
    maxTouched: Number.MAX_SAFE_INTEGER,
  };
}

const expectedOf = (low: number, high: number) => high - low + 1;

/** Per site as asked: the windows' counts, and the total from each (gateway, boot)'s span over the range. */
export function decodeCompleteness(
  sites: string[],
  results: ReadResult[],
): Map<string, WindowedCompleteness> {
  const answer = new Map<string, WindowedCompleteness>();
  for (const [index, site] of sites.entries()) {
    const windows = new Map<number, Completeness>();
    // The range's span of each (gateway, boot): the lowest min and the highest max over its windows.
    const spans = new Map<string, { low: number; high: number }>();
    let received = 0;
    for (const raw of (results[index] ?? []) as unknown[][]) {
      const [start, gateway, boot, low, high, count] = raw as [
        number,
        string,
        number,
        number,
        number,
        number,
      ];
      const window = windows.get(start) ?? { expectedBatches: 0, receivedBatches: 0 };
      window.expectedBatches += expectedOf(low, high);
      window.receivedBatches += count;
      windows.set(start, window);
      received += count;
      const key = `${gateway}\u0000${boot}`;
      const span = spans.get(key);
      spans.set(
        key,
        span ? { low: Math.min(span.low, low), high: Math.max(span.high, high) } : { low, high },
      );
    }
    let expected = 0;
    for (const { low, high } of spans.values()) expected += expectedOf(low, high);
    answer.set(site, { total: { expectedBatches: expected, receivedBatches: received }, windows });
  }
  return answer;
}
