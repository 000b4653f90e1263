/**
 * What `bench/gateway.ts` needs of a workload (the devices the gateway reads and how to check what it
 * delivers), and the helpers the workloads share. A workload starts its own device simulators in a
 * child process, so the gateway's CPU and memory figures are the gateway's alone.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** One delivered sample, whichever contract carried it. */
export interface DeliveredSample {
  equipment: string;
  point: string;
  value: unknown;
  /** The series time (read or source timestamp), epoch ms. */
  ts: number;
  quality: string;
}

/** What a value check found; `stale` and `missed` only mean something for values that change. */
export type CheckOutcome = 'ok' | 'wrong' | 'stale' | 'missed';

/** The adapter alone on the same machine (its own bench with a counting sink), for the ratio. */
export interface AdapterFigures {
  cpuMicrosPerPoint: number;
  rssMb: number;
  /** Its bench's own figure lines, printed as they are. */
  lines: string[];
}

export interface Workload {
  /** e.g. "200 Modbus TCP devices × 50 uint16 points at 1 s". */
  readonly description: string;
  /** Points the devices produce per second, so what the gateway should deliver. */
  readonly pointsPerSecond: number;
  /** The gateway config's `devices:` entries. */
  readonly devices: readonly Record<string, unknown>[];
  /**
   * Checks one delivered sample: `ok`, a `wrong` value (not what the device served for that point),
   * `stale` (not newer than the last one delivered for the point) or `missed` (newer, but changes
   * were skipped in between).
   */
  check(sample: DeliveredSample): CheckOutcome;
  /**
   * Stops the simulators (and frees their CPU before the adapter-alone run); returns what the
   * simulators say went wrong on their side, if anything.
   */
  stop(): Promise<string | undefined>;
  /** The adapter alone, measured for `seconds` by its own bench. */
  adapterAlone(seconds: number): Promise<AdapterFigures>;
}

/** Runs a bench script to its end and returns its stdout lines. */
export async function outputOf(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<string[]> {
  const child: ChildProcess = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => lines.push(line));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${script} exited with ${String(code)}`);
  return lines;
}

/** A field of /proc/PID/status in MB (VmRSS now, VmHWM the peak since the process started). */
export function memoryMbOf(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Number(line?.split(/\s+/)[1]) / 1024;
}
