/**
 * What the API's routes share to read a request and answer a refusal: query-string parameters (every
 * value arrives as a string), the 400 answer to a request that does not parse, and the answer naming
 * the `api.limits` key a query went over.
 */
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { formatIssues } from '../gateway/common/config-loading.js';
import { type QueryLimits, QueryRefusedError } from './query/query-errors.js';

/** A whole number from `min` to `max` in a query string. */
export function wholeNumberParam(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

/** Unix time in milliseconds in a query string. */
export const MillisParam = z
  .string()
  .regex(/^\d{1,15}$/, 'expected Unix time in milliseconds')
  .transform(Number);

/** `limit` of the list routes (dead letters, commands): 1–1000, 100 by default. */
export const ListLimit = wholeNumberParam(1, 1000).default(100);

/**
 * Validates a query string (or, with `what` "request", a path or body); on failure answers 400
 * listing each problem and returns `undefined`.
 */
export function parseRequest<T>(
  schema: z.ZodType<T>,
  input: unknown,
  reply: FastifyReply,
  what: 'query' | 'request' = 'query',
): T | undefined {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = formatIssues(result.error.issues);
  void reply.code(400).send({ error: `invalid ${what}: ${problems.join('; ')}`, problems });
  return undefined;
}

/** Answers 400, 404 or 422 with the reason and, for a refusal over `api.limits`, the limit's name. */
export function refuse(
  reply: FastifyReply,
  status: number,
  limit: keyof QueryLimits | undefined,
  reason: string,
): FastifyReply {
  return reply.code(status).send({ error: reason, ...(limit && { limit }) });
}

/** Answers a query over one of `api.limits` (or past its time) with the limit named, instead of a 500. */
export async function answerQuery(reply: FastifyReply, run: () => Promise<unknown>): Promise<unknown> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof QueryRefusedError)) throw error;
    if (error.httpStatus === 503) void reply.header('retry-after', '1');
    return refuse(reply, error.httpStatus, error.limit, error.message);
  }
}

/** A comma-separated list of `item`s in a query string, each at most once. */
export function commaList<T>(item: z.ZodType<T, string>, what: string) {
  return z
    .string()
    .transform((list) => list.split(','))
    .pipe(
      z
        .array(item)
        .min(1)
        .refine((items) => new Set(items).size === items.length, {
          message: `each ${what} may appear once (repeated ${what}s are refused)`,
        }),
    );
}
