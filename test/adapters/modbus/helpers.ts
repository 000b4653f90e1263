/** Test peers and probes for the Modbus adapter: a modbus-serial ServerTCP, a recording sink, a log capture. */
import { Writable } from 'node:stream';
import { ServerTCP } from 'modbus-serial';
import { type Logger, pino } from 'pino';
import type { DeviceState, Reading, SouthboundSink } from '../../../adapters/contract.js';

export interface UnitData {
  holding?: Map<number, number>;
  input?: Map<number, number>;
  coil?: Map<number, boolean>;
  discrete?: Map<number, boolean>;
}

export interface TestServer {
  port: number;
  /** Sockets currently connected to the server. */
  connections(): number;
  /** Most requests ever in progress at the same time. */
  maxInFlight(): number;
  close(): Promise<void>;
}

const illegalDataAddress = { modbusErrorCode: 2 };

/**
 * A modbus-serial ServerTCP serving `units` (unit id → tables). An address a table does not hold
 * answers with exception 2 (IllegalDataAddress); `delayMs` holds every answer back that long.
 */
export async function startServer(
  port: number,
  units: Map<number, UnitData>,
  { delayMs = 0 }: { delayMs?: number } = {},
): Promise<TestServer> {
  let inFlight = 0;
  let maxInFlight = 0;
  const lookup = <T>(table: keyof UnitData, address: number, unitId: number): Promise<T> => {
    const value = units.get(unitId)?.[table]?.get(address) as T | undefined;
    if (value === undefined) return Promise.reject(illegalDataAddress);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    return new Promise<T>((resolve) =>
      setTimeout(() => {
        inFlight--;
        resolve(value);
      }, delayMs),
    );
  };
  const server = new ServerTCP(
    {
      getHoldingRegister: (address: number, unitId: number) => lookup<number>('holding', address, unitId),
      getInputRegister: (address: number, unitId: number) => lookup<number>('input', address, unitId),
      getCoil: (address: number, unitId: number) => lookup<boolean>('coil', address, unitId),
      getDiscreteInput: (address: number, unitId: number) => lookup<boolean>('discrete', address, unitId),
    },
    { host: '127.0.0.1', port },
  );
  await new Promise<void>((resolve, reject) => {
    server.on('initialized', () => resolve());
    server.on('serverError', reject);
  });
  // A client that disappears mid-answer is part of these tests, not a failure.
  server.on('socketError', () => {});
  server.on('error', () => {});
  return {
    port,
    connections: () => server.socks.size,
    maxInFlight: () => maxInFlight,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Big-endian (ABCD) registers of a value, encoded by Node's Buffer, independently of the code under test. */
export function encode(type: 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32', value: number): number[] {
  const bytes = Buffer.alloc(type.endsWith('16') ? 2 : 4);
  if (type === 'int16') bytes.writeInt16BE(value);
  if (type === 'uint16') bytes.writeUInt16BE(value);
  if (type === 'int32') bytes.writeInt32BE(value);
  if (type === 'uint32') bytes.writeUInt32BE(value);
  if (type === 'float32') bytes.writeFloatBE(value);
  return Array.from({ length: bytes.length / 2 }, (_, i) => bytes.readUInt16BE(i * 2));
}

/** Writes `registers` into `table` from `address` on. */
export function put(table: Map<number, number>, address: number, registers: number[]): void {
  registers.forEach((word, i) => {
    table.set(address + i, word);
  });
}

export interface RecordingSink extends SouthboundSink {
  batches: Reading[][];
  states: { state: DeviceState; detail?: string }[];
  /** Resolves once `condition` holds after a sink call; rejects after 15 s with what was seen. */
  until(condition: () => boolean, what: string): Promise<void>;
}

export function recordingSink(deviceId: string): RecordingSink {
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const check of waiters) check();
  };
  const sink: RecordingSink = {
    batches: [],
    states: [],
    readings(id, readings) {
      if (id !== deviceId) throw new Error(`readings for unknown device ${id}`);
      sink.batches.push([...readings]);
      notify();
    },
    deviceState(id, state, detail) {
      if (id !== deviceId) throw new Error(`state for unknown device ${id}`);
      sink.states.push({ state, detail });
      notify();
    },
    until(condition, what) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!condition()) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${what}; states ${JSON.stringify(sink.states)}`));
        }, 15_000);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
  return sink;
}

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

export const lastBatch = (sink: RecordingSink): Reading[] => sink.batches.at(-1) ?? [];
