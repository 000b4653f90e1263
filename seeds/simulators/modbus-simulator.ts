/**
 * One Modbus TCP server per site serving every Modbus device of the site by unit id, per the fixed
 * register maps. Unknown unit ids, unmapped addresses and the coil / discrete tables answer the
 * IllegalDataAddress exception, the way a real meter does, rather than zeros a gateway would trust.
 * Writes go to the registers the map marks writable (a line PLC's speed set point) and are served
 * back from the model; a value out of the register's range answers IllegalDataValue, and a write to
 * any other register IllegalFunction (read-only), as a PLC guarding its set points does.
 */
import { ServerTCP } from 'modbus-serial';
import { modbusDevicesOf, type Site } from '../catalogue.js';
import { decodeWord, encodeRegister, type RegisterTable, registerAt, registerMaps } from '../device-maps.js';
import type { SiteModel } from '../signals.js';

export interface ModbusSimulatorOptions {
  port: number;
  model: SiteModel;
  host?: string;
}

export interface ModbusSimulator {
  host: string;
  port: number;
  /** Unit id → device id, for printing what the server serves. */
  units: ReadonlyMap<number, string>;
  stop(): Promise<void>;
}

export const ModbusException = {
  IllegalFunction: 0x01,
  IllegalDataAddress: 0x02,
  IllegalDataValue: 0x03,
} as const;

/** The shape modbus-serial turns into an exception response. */
class ModbusExceptionError extends Error {
  constructor(
    readonly modbusErrorCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ModbusExceptionError';
  }
}

export async function startModbusSimulator(
  site: Site,
  options: ModbusSimulatorOptions,
): Promise<ModbusSimulator> {
  const host = options.host ?? '127.0.0.1';
  const { model } = options;
  const devices = new Map(modbusDevicesOf(site).map((device) => [device.unitId, device]));

  /** Reads `length` words of one table, encoded from the model's current values. */
  const readWords = (table: RegisterTable, address: number, length: number, unitId: number): number[] => {
    const device = devices.get(unitId);
    if (!device) throw new ModbusExceptionError(ModbusException.IllegalDataAddress, `no unit ${unitId}`);
    const values = model.modbusValues(unitId) ?? {};
    const words = new Map<number, number>();
    for (const spec of registerMaps[device.kind]) {
      if (spec.table !== table) continue;
      const value = values[spec.name];
      if (value === undefined) continue;
      encodeRegister(spec, value).forEach((word, i) => {
        words.set(spec.address + i, word);
      });
    }
    return Array.from({ length }, (_, i) => {
      const word = words.get(address + i);
      if (word === undefined) {
        throw new ModbusExceptionError(
          ModbusException.IllegalDataAddress,
          `unit ${unitId}: no ${table} ${address + i}`,
        );
      }
      return word;
    });
  };
  const noBits = (address: number, unitId: number): boolean => {
    throw new ModbusExceptionError(
      ModbusException.IllegalDataAddress,
      `unit ${unitId}: no coil or input ${address}`,
    );
  };
  const readOnly = (address: number, _value: unknown, unitId: number): void => {
    throw new ModbusExceptionError(
      ModbusException.IllegalFunction,
      `unit ${unitId}: ${address} is read-only`,
    );
  };
  /** One word to a writable single-register point (function 6, or 16 with one word). */
  const writeRegister = (address: number, word: number, unitId: number): void => {
    const device = devices.get(unitId);
    const spec = device && registerAt(device.kind, 'holding', address);
    if (!spec?.writable || spec.type === 'uint32' || spec.type === 'float32') readOnly(address, word, unitId);
    else if (!model.writeModbus(unitId, spec.name, decodeWord(spec, word))) {
      throw new ModbusExceptionError(
        ModbusException.IllegalDataValue,
        `unit ${unitId}: ${word} is out of the range of ${spec.name}`,
      );
    }
  };

  const server = new ServerTCP(
    {
      getHoldingRegister: (address: number, unitId: number) =>
        readWords('holding', address, 1, unitId)[0] ?? 0,
      getMultipleHoldingRegisters: (address: number, length: number, unitId: number) =>
        readWords('holding', address, length, unitId),
      getInputRegister: (address: number, unitId: number) => readWords('input', address, 1, unitId)[0] ?? 0,
      getMultipleInputRegisters: (address: number, length: number, unitId: number) =>
        readWords('input', address, length, unitId),
      getCoil: noBits,
      getDiscreteInput: noBits,
      setRegister: writeRegister,
      setCoil: readOnly,
      setRegisterArray: (address: number, words: number[], unitId: number) => {
        const [word] = words;
        if (words.length !== 1 || word === undefined) readOnly(address, words, unitId);
        else writeRegister(address, word, unitId);
      },
    },
    { host, port: options.port, unitID: 255 },
  );
  await new Promise<void>((resolveListen, reject) => {
    server.once('initialized', () => resolveListen());
    server.once('serverError', reject);
  });
  // A client that resets its connection is its own business, not the simulator's.
  server.on('socketError', () => {});

  let stopped: Promise<void> | undefined;
  return {
    host,
    port: options.port,
    units: new Map([...devices].map(([unitId, device]) => [unitId, device.id])),
    stop() {
      stopped ??= new Promise<void>((resolveClose, reject) => {
        server.close((error) => (error ? reject(error) : resolveClose()));
      });
      return stopped;
    },
  };
}
