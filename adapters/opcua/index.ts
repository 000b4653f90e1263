/** The OPC UA adapter module, as listed in `adapters/registry.ts`. node-opcua loads on first use. */
import { join } from 'node:path';
import { type AdapterModule, lazyDeviceAdapter } from '../contract.js';
import { deviceSchema, type OpcuaDevice } from './config.js';

export { deviceSchema, type OpcuaDevice, type OpcuaPoint } from './config.js';

export const opcuaAdapter: AdapterModule<OpcuaDevice> = {
  protocol: 'opcua',
  deviceSchema,
  create: (device, context) =>
    lazyDeviceAdapter(async () => {
      const { OpcuaAdapter } = await import('./adapter.js');
      return new OpcuaAdapter(device, context, { pkiDir: join(context.stateDir, 'pki') });
    }),
  addressOf: (_device, point) => ({
    address: point.nodeId,
    ...(point.dataType && { dataType: point.dataType }),
  }),
};
