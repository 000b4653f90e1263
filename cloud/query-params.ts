/**
 * What the API's routes share to read a request: query-string parameters (every value arrives as a
 * string) and the 400 answer to a request that does not parse.
 */
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { formatIssues } from '../gateway/common/config-loading.js';

/** A whole number from `min` to `max` in a query string. */
export function wholeNumberParam(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

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
