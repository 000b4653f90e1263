/** The Modbus adapter module: config schema, adapter factory and point addresses for metadata. */
import type { AdapterModule } from '../contract.js';
import { ModbusDeviceAdapter } from './adapter.js';
import { addressWarnings, deviceSchema, type ModbusDevice } from './config.js';

export type { ModbusDevice, ModbusPoint } from './config.js';
export { deviceSchema };

export const modbusAdapter: AdapterModule<ModbusDevice> = {
  protocol: 'modbus',
  deviceSchema,
  create: (device, context) => new ModbusDeviceAdapter(device, context),
  configWarnings: addressWarnings,
  /**
   * `unit=<unitId>;<table>=<address>`, the address 0-based as on the wire, e.g. `unit=1;holding=0`
   * for the first holding register (40001 in the old 1-based notation) of unit 1; a bit inside a
   * register follows the address after a dot (`holding=5.3`).
   */
  addressOf: (device, point) => ({
    address: `unit=${device.unitId};${point.table}=${point.address}${point.bit === undefined ? '' : `.${point.bit}`}`,
    // The type of the value published: a scaled register reads as a decimal number, not as its raw type.
    dataType: point.scale !== 1 || point.offset !== 0 ? 'float64' : point.type,
  }),
};
