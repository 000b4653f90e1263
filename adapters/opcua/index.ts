/** The OPC UA adapter module, as listed in `adapters/registry.ts`. node-opcua loads on first use. */
import { type AdapterModule, lazyDeviceAdapter } from '../contract.js';
import { opcuaCli } from './cli.js';
import { deviceSchema, type OpcuaDevice } from './config.js';

export { deviceSchema, type OpcuaDevice, type OpcuaPoint } from './config.js';

export const opcuaAdapter: AdapterModule<OpcuaDevice> = {
  protocol: 'opcua',
  deviceSchema,
  create: (device, context) =>
    lazyDeviceAdapter(async () => {
      const [{ OpcuaAdapter }, { pkiDirOfDeviceStateDir }] = await Promise.all([
        import('./adapter.js'),
        import('./pki.js'),
      ]);
      return new OpcuaAdapter(device, context, { pkiDir: pkiDirOfDeviceStateDir(context.stateDir) });
    }),
  addressOf: (_device, point) => ({
    address: point.nodeId,
    ...(point.dataType && { dataType: point.dataType }),
  }),
  cli: opcuaCli,
};
