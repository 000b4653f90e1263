/**
 * The boot counter: incremented at every gateway start and sent with every batch, so the collector
 * can tell a restarted gateway's sequence 0 from a replay of the previous boot's sequence 0.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GatewayError } from './errors.js';

export function nextBootCounter(stateDir: string): number {
  const file = join(stateDir, 'boot-counter');
  let previous = 0;
  try {
    previous = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new GatewayError('STATE_UNREADABLE', `cannot read ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  if (!Number.isSafeInteger(previous) || previous < 0) {
    throw new GatewayError('STATE_CORRUPT', `${file} does not hold a boot counter; fix or delete it`);
  }
  const boot = previous + 1;
  try {
    mkdirSync(stateDir, { recursive: true });
    // Write then rename: a power cut leaves either the old or the new counter, never a torn file.
    writeFileSync(`${file}.tmp`, `${boot}\n`, { flush: true });
    renameSync(`${file}.tmp`, file);
  } catch (error) {
    throw new GatewayError('STATE_UNWRITABLE', `cannot write ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return boot;
}
