import { describe, expect, it } from 'vitest';
import {
  type DeviceAdapter,
  gatewayStatus,
  lazyDeviceAdapter,
  type Reading,
} from '../../adapters/contract.js';
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

describe('lazyDeviceAdapter', () => {
  function counting() {
    const calls: string[] = [];
    const reading: Reading = { point: 'p', value: 1, ts: 1, quality: 'good' };
    const inner: DeviceAdapter = {
      start: async () => void calls.push('start'),
      scanOnce: async () => {
        calls.push('scanOnce');
        return [reading];
      },
      stop: async () => void calls.push('stop'),
    };
    let loads = 0;
    const adapter = lazyDeviceAdapter(async () => {
      loads++;
      return inner;
    });
    return { adapter, calls, loads: () => loads, reading };
  }

  it('loads the implementation once, on first use, and delegates to it', async () => {
    const { adapter, calls, loads, reading } = counting();
    expect(loads()).toBe(0);
    await adapter.start();
    expect(await adapter.scanOnce()).toEqual([reading]);
    await adapter.stop();
    expect(loads()).toBe(1);
    expect(calls).toEqual(['start', 'scanOnce', 'stop']);
  });

  it('does not load anything just to stop an adapter that never started', async () => {
    const { adapter, calls, loads } = counting();
    await adapter.stop();
    expect(loads()).toBe(0);
    expect(calls).toEqual([]);
  });
});
