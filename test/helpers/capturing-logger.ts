/** A pino logger whose lines the test reads back, for adapters' (and their kit's) log assertions. */
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';

/** A pino logger whose lines are kept as parsed objects. */
export function capturingLogger(): { logger: Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}
