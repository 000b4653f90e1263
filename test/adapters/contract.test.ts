import { describe, expect, it } from 'vitest';
import { gatewayStatus } from '../../adapters/contract.js';
import { ProtocolStatus } from '../../gateway/schema/index.js';

describe('gateway status codes', () => {
  it('stay distinct and stable: they are part of the wire contract', () => {
    expect(Object.values(gatewayStatus).map((s) => [s.code, s.name])).toEqual([
      [1, 'Timeout'],
      [2, 'NotConnected'],
      [3, 'NotRead'],
      [4, 'InvalidValue'],
      [5, 'CommunicationError'],
      [6, 'NoValue'],
    ]);
    for (const status of Object.values(gatewayStatus)) expect(ProtocolStatus.parse(status)).toEqual(status);
  });
});
