/** Dispatches a configured device to its protocol's adapter module. */
import { join } from 'node:path';
import type { AdapterContext, DeviceAdapter, PointAddress } from '../adapters/contract.js';
import { adapterModules } from '../adapters/registry.js';
import type { DeviceConfig } from './config.js';

interface ErasedModule {
  create(device: DeviceConfig, context: AdapterContext): DeviceAdapter;
  addressOf(device: DeviceConfig, point: DeviceConfig['points'][number]): PointAddress;
}

function moduleFor(device: DeviceConfig): ErasedModule {
  // The config was validated against this module's own schema, so the pairing is sound.
  return adapterModules.find((m) => m.protocol === device.protocol) as unknown as ErasedModule;
}

export function createDeviceAdapter(device: DeviceConfig, context: AdapterContext): DeviceAdapter {
  return moduleFor(device).create(device, context);
}

export function addressOf(device: DeviceConfig, point: DeviceConfig['points'][number]): PointAddress {
  return moduleFor(device).addressOf(device, point);
}

/** Each device keeps its state (e.g. OPC UA certificates) in its own folder under the gateway's. */
export function deviceStateDir(gatewayStateDir: string, deviceId: string): string {
  return join(gatewayStateDir, 'devices', deviceId);
}
