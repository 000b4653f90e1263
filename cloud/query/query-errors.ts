/**
 * Why a query was not answered: over one of `api.limits` (the client can narrow it), or the store
 * was too slow or too busy (the client may retry later). The API answers each with its status.
 */
import { JjjError } from '../../gateway/common/errors.js';
import type { CollectorConfig } from '../config.js';

export type QueryLimits = CollectorConfig['api']['limits'];

export class QueryRefusedError extends JjjError {
  declare readonly code: 'QUERY_TOO_LARGE' | 'QUERY_TIMED_OUT' | 'QUERY_BUSY';
  constructor(
    code: QueryRefusedError['code'],
    message: string,
    /** The `api.limits` key that refused the query. */
    readonly limit: keyof QueryLimits,
  ) {
    super(code, message);
  }

  get httpStatus(): number {
    return this.code === 'QUERY_TOO_LARGE' ? 422 : 503;
  }
}

export const tooManySamples = (limit: 'maxSamplesPerQuery' | 'maxRawSamplesPerQuery', max: number) =>
  new QueryRefusedError(
    'QUERY_TOO_LARGE',
    `the query touches more than ${max} samples (api.limits.${limit}): narrow the time range or use a longer window`,
    limit,
  );

export const timedOut = (timeoutMs: number) =>
  new QueryRefusedError(
    'QUERY_TIMED_OUT',
    `the store did not answer within ${timeoutMs} ms (api.limits.queryTimeoutMs): narrow the query`,
    'queryTimeoutMs',
  );

export const busy = (queued: number) =>
  new QueryRefusedError(
    'QUERY_BUSY',
    `${queued} queries are already waiting for the store (api.limits.maxQueuedQueries): retry later`,
    'maxQueuedQueries',
  );
