/** Query-string parameters the API's routes share (every value arrives as a string). */
import { z } from 'zod';

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
