/** The shared adapter contract (test/adapters/adapter-suite.ts), for Modbus TCP against modbus-serial's ServerTCP. */
import { ModbusDeviceAdapter } from '../../../adapters/modbus/adapter.js';
import type { ModbusDevice } from '../../../adapters/modbus/config.js';
import { modbusAdapter } from '../../../adapters/modbus/index.js';
import { freePort } from '../../helpers/ports.js';
import { adapterContractSuite, type SuitePeer } from '../adapter-suite.js';
import { startServer, type TestServer, type UnitData } from './helpers.js';

interface ModbusPeer extends SuitePeer {
  port: number;
}

async function startPeer(): Promise<ModbusPeer> {
  const port = await freePort();
  const units = new Map<number, UnitData>([
    [
      1,
      {
        holding: new Map([
          [0, 7],
          [1, 0],
        ]),
      },
    ],
  ]);
  let server: TestServer | undefined = await startServer(port, units);
  return {
    port,
    connections: () => server?.connections() ?? 0,
    stop: async () => {
      await server?.close();
      server = undefined;
    },
    restart: async () => {
      server = await startServer(port, units);
    },
  };
}

function deviceAt(port: number) {
  return {
    protocol: 'modbus',
    id: 'meter',
    line: 'utilities',
    host: '127.0.0.1',
    port,
    pollIntervalMs: 50,
    timeoutMs: 500,
    points: [
      { name: 'served', table: 'holding', address: 0, type: 'uint16' },
      { name: 'unserved', table: 'holding', address: 500, type: 'uint16' },
      { name: 'writable', table: 'holding', address: 1, type: 'uint16', writable: true },
    ],
  };
}

adapterContractSuite('Modbus TCP', {
  module: modbusAdapter,
  startPeer,
  device: (peer) => deviceAt(peer.port),
  unreachableDevice: async () => deviceAt(await freePort()),
  servedValue: 7,
  writeValue: 42,
  quietMs: 500,
  create: (device, context) =>
    new ModbusDeviceAdapter(device as ModbusDevice, context, { initialMs: 50, maxMs: 200 }),
});
