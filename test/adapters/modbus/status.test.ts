import { describe, expect, it } from 'vitest';
import { gatewayStatus } from '../../../adapters/contract.js';
import { exceptionStatus, statusOfError } from '../../../adapters/modbus/status.js';

describe('statusOfError', () => {
  const cases: { name: string; error: unknown; expected: unknown }[] = [
    {
      name: 'exception 2',
      error: { modbusCode: 2 },
      expected: { source: 'modbus', code: 2, name: 'IllegalDataAddress' },
    },
    {
      name: 'exception 11',
      error: { modbusCode: 11 },
      expected: { source: 'modbus', code: 11, name: 'GatewayTargetDeviceFailedToRespond' },
    },
    {
      name: 'unlisted exception',
      error: { modbusCode: 42 },
      expected: { source: 'modbus', code: 42, name: 'Exception42' },
    },
    {
      name: 'timeout',
      error: { name: 'TransactionTimedOutError', errno: 'ETIMEDOUT' },
      expected: gatewayStatus.timeout,
    },
    {
      name: 'port not open',
      error: { name: 'PortNotOpenError', errno: 'ECONNREFUSED' },
      expected: gatewayStatus.notConnected,
    },
    {
      name: 'reset',
      error: Object.assign(new Error('reset'), { errno: 'ECONNRESET' }),
      expected: gatewayStatus.notConnected,
    },
    { name: 'CRC error', error: new Error('CRC error'), expected: gatewayStatus.communicationError },
    { name: 'not an error', error: undefined, expected: gatewayStatus.communicationError },
  ];
  it.each(cases)('$name', ({ error, expected }) => {
    expect(statusOfError(error)).toEqual(expected);
  });

  it('names Modbus exceptions by the specification', () => {
    expect(exceptionStatus(4).name).toBe('ServerDeviceFailure');
    expect(exceptionStatus(11).name).toBe('GatewayTargetDeviceFailedToRespond');
    expect(exceptionStatus(99).name).toBe('Exception99');
  });
});
