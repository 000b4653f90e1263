/** The OPC UA adapter module, as listed in `adapters/registry.ts`. */
import { join } from 'node:path';
import type { AdapterModule } from '../contract.js';
import { OpcuaAdapter } from './adapter.js';
import { deviceSchema, type OpcuaDevice } from './config.js';

export type { OpcuaAdapterOptions } from './adapter.js';
export { OpcuaAdapter } from './adapter.js';
export { deviceSchema, type OpcuaDevice, type OpcuaPoint } from './config.js';

export const opcuaAdapter: AdapterModule<OpcuaDevice> = {
  protocol: 'opcua',
  deviceSchema,
  create: (device, context) => new OpcuaAdapter(device, context, { pkiDir: join(context.stateDir, 'pki') }),
  addressOf: (_device, point) => ({
    address: point.nodeId,
    ...(point.dataType && { dataType: point.dataType }),
  }),
};
