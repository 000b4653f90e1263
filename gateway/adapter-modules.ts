/** Dispatches a configured device to its protocol's adapter module. */
import { join } from 'node:path';
import type { AdapterContext, ConfigWarning, DeviceAdapter, PointAddress } from '../adapters/contract.js';
import { adapterModules } from '../adapters/registry.js';
import { formatPath } from './common/config-loading.js';
import type { DeviceConfig } from './config.js';

interface ErasedModule {
  create(device: DeviceConfig, context: AdapterContext): DeviceAdapter;
  addressOf(device: DeviceConfig, point: DeviceConfig['points'][number]): PointAddress;
  configWarnings?(device: DeviceConfig): ConfigWarning[];
}

function moduleFor(device: DeviceConfig): ErasedModule {
  // The config was validated against this module's own schema, so the pairing is sound.
  return adapterModules.find((m) => m.protocol === device.protocol) as unknown as ErasedModule;
}

/** Creates the device's adapter, logging first what its config probably did not mean (once per device). */
export function createDeviceAdapter(device: DeviceConfig, context: AdapterContext): DeviceAdapter {
  for (const warning of configWarningsOf(device)) {
    context.logger.warn({ path: formatPath(warning.path) }, warning.message);
  }
  return moduleFor(device).create(device, context);
}

/** The protocol's warnings about a valid device entry, with paths inside the entry. */
export function configWarningsOf(device: DeviceConfig): ConfigWarning[] {
  return moduleFor(device).configWarnings?.(device) ?? [];
}

export function addressOf(device: DeviceConfig, point: DeviceConfig['points'][number]): PointAddress {
  return moduleFor(device).addressOf(device, point);
}

/** Each device keeps its state (e.g. OPC UA certificates) in its own folder under the gateway's. */
export function deviceStateDir(gatewayStateDir: string, deviceId: string): string {
  return join(gatewayStateDir, 'devices', deviceId);
}
