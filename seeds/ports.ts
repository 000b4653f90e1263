/** The port convention of the seed sites: site i (catalogue order) on OPC UA 4841+i and Modbus TCP 5021+i. */
import { sites } from './catalogue.js';

export const FIRST_OPCUA_PORT = 4841;
export const FIRST_MODBUS_PORT = 5021;

export interface SitePorts {
  opcuaPort: number;
  modbusPort: number;
}

/** The conventional ports of the site at `siteIndex` (catalogue order). */
export function defaultPorts(siteIndex: number): SitePorts {
  if (!Number.isInteger(siteIndex) || siteIndex < 0 || siteIndex >= sites.length) {
    throw new RangeError(`site index ${siteIndex} is outside the catalogue (0–${sites.length - 1})`);
  }
  return { opcuaPort: FIRST_OPCUA_PORT + siteIndex, modbusPort: FIRST_MODBUS_PORT + siteIndex };
}
