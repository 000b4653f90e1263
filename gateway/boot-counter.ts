/**
 * Counters kept in the state dir across restarts. The boot counter is incremented at every gateway
 * start and sent with every batch, so the collector can tell a restarted gateway's sequence 0 from a
 * replay of the previous boot's sequence 0. Sparkplug's bdSeq is incremented at every MQTT CONNECT
 * and kept too, so the Will of the previous process (which the broker may still deliver late) never
 * carries the bdSeq of the new process's session.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GatewayError } from './errors.js';

/** The counter's last value, or `undefined` when it was never written. */
function readCounter(file: string, what: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GatewayError('STATE_UNREADABLE', `cannot read ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const value = Number.parseInt(text.trim(), 10);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new GatewayError('STATE_CORRUPT', `${file} does not hold a ${what}; fix or delete it`);
  }
  return value;
}

function writeCounter(stateDir: string, file: string, value: number): void {
  try {
    mkdirSync(stateDir, { recursive: true });
    // Write then rename: a power cut leaves either the old or the new counter, never a torn file.
    writeFileSync(`${file}.tmp`, `${value}\n`, { flush: true });
    renameSync(`${file}.tmp`, file);
  } catch (error) {
    throw new GatewayError('STATE_UNWRITABLE', `cannot write ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

export function nextBootCounter(stateDir: string): number {
  const file = join(stateDir, 'boot-counter');
  const boot = (readCounter(file, 'boot counter') ?? 0) + 1;
  writeCounter(stateDir, file, boot);
  return boot;
}

/**
 * Sparkplug's bdSeq (0–255, wrapping), persisted in `<stateDir>/sparkplug-bdseq`: each call returns
 * the next value and stores it before it goes into a CONNECT. The first ever is 0.
 */
export function persistentBdSeq(stateDir: string): () => number {
  const file = join(stateDir, 'sparkplug-bdseq');
  let last = readCounter(file, 'Sparkplug bdSeq');
  if (last !== undefined && last > 255) {
    throw new GatewayError('STATE_CORRUPT', `${file} holds ${last}, not a bdSeq (0–255); fix or delete it`);
  }
  return () => {
    const next = last === undefined ? 0 : (last + 1) % 256;
    writeCounter(stateDir, file, next);
    last = next;
    return next;
  };
}
