/** What a failed read becomes in a reading's `status`: the device's exception, or the gateway's own code. */
import type { ProtocolStatus } from '../contract.js';

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

/**
 * Codes the gateway itself gives (`source: 'gateway'`) when the device did not answer with data.
 * They are part of the reading contract: keep the numbers stable. 3 is taken by the gateway's
 * own `NotRead` (gateway/scan.ts).
 */
export const gatewayStatus = {
  /** The device sent no response within `timeoutMs`. */
  timeout: { source: 'gateway', code: 1, name: 'Timeout' },
  /** No TCP connection to the device: refused, unreachable, or lost and not yet re-established. */
  notConnected: { source: 'gateway', code: 2, name: 'NotConnected' },
  /** The device answered, but the registers hold no number (a float32 NaN or infinity). */
  invalidValue: { source: 'gateway', code: 4, name: 'InvalidValue' },
  /** The response was malformed (wrong length, unexpected function code). */
  communicationError: { source: 'gateway', code: 5, name: 'CommunicationError' },
} as const satisfies Record<string, ProtocolStatus>;

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
