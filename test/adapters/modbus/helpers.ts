/** Test peers and probes for the Modbus adapter: a modbus-serial ServerTCP and register encoding. */
import { startModbusServer } from '../../helpers/modbus-server.js';

export interface UnitData {
  holding?: Map<number, number>;
  input?: Map<number, number>;
  coil?: Map<number, boolean>;
  discrete?: Map<number, boolean>;
}

export interface TestServer {
  port: number;
  /** Register/bit lookups the server made for a unit (one per address read). */
  lookups(unitId: number): number;
  /** Writes received, in order: `fc6`/`fc16` for registers (single/array), `coil` for coils. */
  writes: {
    kind: 'fc6' | 'fc16' | 'coil';
    unitId: number;
    address: number;
    value: number | boolean | number[];
  }[];
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
  {
    delayMs = 0,
    unitDelaysMs = new Map<number, number>(),
    silentUnits = new Set<number>(),
    rejectingUnits = new Set<number>(),
  }: {
    delayMs?: number;
    /** Answer delays of particular units, instead of `delayMs` (a slow device among fast ones). */
    unitDelaysMs?: Map<number, number>;
    /** Units that never answer (a dead device behind a gateway). */
    silentUnits?: Set<number>;
    /** Units that answer every read with exception 4 (ServerDeviceFailure). */
    rejectingUnits?: Set<number>;
  } = {},
): Promise<TestServer> {
  let inFlight = 0;
  let maxInFlight = 0;
  const lookupCounts = new Map<number, number>();
  const writes: TestServer['writes'] = [];
  const lookup = <T>(table: keyof UnitData, address: number, unitId: number): Promise<T> => {
    lookupCounts.set(unitId, (lookupCounts.get(unitId) ?? 0) + 1);
    if (silentUnits.has(unitId)) return new Promise<T>(() => {});
    if (rejectingUnits.has(unitId)) return Promise.reject({ modbusErrorCode: 4 });
    const value = units.get(unitId)?.[table]?.get(address) as T | undefined;
    if (value === undefined) return Promise.reject(illegalDataAddress);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    return new Promise<T>((resolve) =>
      setTimeout(() => {
        inFlight--;
        resolve(value);
      }, unitDelaysMs.get(unitId) ?? delayMs),
    );
  };
  const { server, close } = await startModbusServer(port, {
    getHoldingRegister: (address: number, unitId: number) => lookup<number>('holding', address, unitId),
    getInputRegister: (address: number, unitId: number) => lookup<number>('input', address, unitId),
    getCoil: (address: number, unitId: number) => lookup<boolean>('coil', address, unitId),
    getDiscreteInput: (address: number, unitId: number) => lookup<boolean>('discrete', address, unitId),
    setRegister: (address: number, value: number, unitId: number) => {
      writes.push({ kind: 'fc6', unitId, address, value });
      units.get(unitId)?.holding?.set(address, value);
    },
    setRegisterArray: (address: number, values: number[], unitId: number) => {
      writes.push({ kind: 'fc16', unitId, address, value: values });
      values.forEach((value, i) => {
        units.get(unitId)?.holding?.set(address + i, value);
      });
    },
    setCoil: (address: number, value: boolean, unitId: number) => {
      writes.push({ kind: 'coil', unitId, address, value });
      units.get(unitId)?.coil?.set(address, value);
    },
  });
  return {
    port,
    lookups: (unitId) => lookupCounts.get(unitId) ?? 0,
    writes,
    connections: () => server.socks.size,
    maxInFlight: () => maxInFlight,
    close,
  };
}

export type EncodableType =
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'float32'
  | 'float64';

/**
 * Registers of a value in a byte order, encoded by Node's Buffer, independently of the code under
 * test: the big-endian bytes, then words reversed (CDAB, DCBA) and bytes swapped in each word (BADC, DCBA).
 */
export function encode(type: EncodableType, value: number | bigint, order = 'ABCD'): number[] {
  const bytes = Buffer.alloc(type.endsWith('16') ? 2 : type.endsWith('64') ? 8 : 4);
  if (type === 'int16') bytes.writeInt16BE(Number(value));
  if (type === 'uint16') bytes.writeUInt16BE(Number(value));
  if (type === 'int32') bytes.writeInt32BE(Number(value));
  if (type === 'uint32') bytes.writeUInt32BE(Number(value));
  if (type === 'int64') bytes.writeBigInt64BE(BigInt(value));
  if (type === 'uint64') bytes.writeBigUInt64BE(BigInt(value));
  if (type === 'float32') bytes.writeFloatBE(Number(value));
  if (type === 'float64') bytes.writeDoubleBE(Number(value));
  const words = Array.from({ length: bytes.length / 2 }, (_, i) => bytes.readUInt16BE(i * 2));
  if (order === 'CDAB' || order === 'DCBA') words.reverse();
  return order === 'BADC' || order === 'DCBA' ? words.map((w) => ((w & 0xff) << 8) | (w >> 8)) : words;
}

/** Writes `registers` into `table` from `address` on. */
export function put(table: Map<number, number>, address: number, registers: number[]): void {
  registers.forEach((word, i) => {
    table.set(address + i, word);
  });
}
