/** The minimal protocol passes the same adapter contract as Modbus and OPC UA. */

import { freePort } from '../../helpers/ports.js';
import { adapterContractSuite } from '../adapter-suite.js';
import { textLineAdapter } from './index.js';
import { startTextLineDevice } from './line-server.js';

const deviceAt = (port: number) => ({
  protocol: 'textline',
  id: 'thermometer',
  line: 'test-line',
  port,
  pollIntervalMs: 50,
  timeoutMs: 500,
  reconnectMs: 50,
  points: [
    { name: 'served', register: 'temperature' },
    { name: 'unserved', register: 'pressure' },
    { name: 'writable', register: 'setpoint', writable: true },
  ],
});

adapterContractSuite('text-line (minimal protocol)', {
  module: textLineAdapter,
  startPeer: () =>
    startTextLineDevice(
      new Map([
        ['temperature', 21.5],
        ['setpoint', 20],
      ]),
    ),
  device: (device) => deviceAt(device.port),
  unreachableDevice: async () => deviceAt(await freePort()),
  servedValue: 21.5,
  writeValue: 23,
  quietMs: 400,
});
