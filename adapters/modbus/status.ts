/** What a failed read becomes in a reading's `status`: the device's exception, or the gateway's own code. */
import { gatewayStatus, type ProtocolStatus } from '../contract.js';

/** Exception codes of the Modbus application protocol v1.1b3, section 7. */
const exceptionNames: Record<number, string> = {
  1: 'IllegalFunction',
  2: 'IllegalDataAddress',
  3: 'IllegalDataValue',
  4: 'ServerDeviceFailure',
  5: 'Acknowledge',
  6: 'ServerDeviceBusy',
  8: 'MemoryParityError',
  10: 'GatewayPathUnavailable',
  11: 'GatewayTargetDeviceFailedToRespond',
};

export function exceptionStatus(code: number): ProtocolStatus {
  return { source: 'modbus', code, name: exceptionNames[code] ?? `Exception${code}` };
}

/** Maps an error from a modbus-serial request to the status of the points it was reading. */
export function statusOfError(error: unknown): ProtocolStatus {
  const { modbusCode, errno, name } = (error ?? {}) as {
    modbusCode?: unknown;
    errno?: unknown;
    name?: unknown;
  };
  if (typeof modbusCode === 'number') return exceptionStatus(modbusCode);
  if (errno === 'ETIMEDOUT') return gatewayStatus.timeout;
  if (
    name === 'PortNotOpenError' ||
    errno === 'ECONNREFUSED' ||
    errno === 'ECONNRESET' ||
    errno === 'EPIPE'
  ) {
    return gatewayStatus.notConnected;
  }
  return gatewayStatus.communicationError;
}
