/** Every protocol the gateway speaks: one line per adapter folder. */
import { modbusAdapter } from './modbus/index.js';
import { opcuaAdapter } from './opcua/index.js';

export const adapterModules = [modbusAdapter, opcuaAdapter] as const;

export type AnyAdapterModule = (typeof adapterModules)[number];
