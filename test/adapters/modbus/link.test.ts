/** The shared link against a real Modbus TCP peer (modbus-serial ServerTCP) on loopback. */
import { afterEach, describe, expect, it } from 'vitest';
import { deviceSchema } from '../../../adapters/modbus/config.js';
import { type LinkUser, linkFor, type ModbusClient } from '../../../adapters/modbus/link.js';
import { freePort } from '../../helpers/ports.js';
import { startServer } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the Modbus link', () => {
  it('keeps no transaction of modbus-serial once it settled (a client used to hold its last 256)', async () => {
    const port = await freePort();
    const server = await startServer(port, new Map([[1, { holding: new Map([[0, 7]]) }]]));
    cleanups.push(() => server.close());
    const device = deviceSchema.parse({
      protocol: 'modbus',
      id: 'meter',
      line: 'utilities',
      host: '127.0.0.1',
      port,
      timeoutMs: 500,
      points: [{ name: 'p', table: 'holding', address: 0, type: 'uint16' }],
    });
    const link = linkFor(device, { initialMs: 50, maxMs: 200 });
    const user: LinkUser = {
      unitId: 1,
      deviceId: 'meter',
      cycleMs: 1000,
      nextPollAt: () => Number.POSITIVE_INFINITY,
      linkUp: () => {},
      linkDown: () => {},
    };
    await link.join(user);
    cleanups.push(() => link.leave(user));
    let transactions: Record<string, unknown> = {};
    const read = (client: ModbusClient) => {
      transactions = (client as unknown as { _transactions: Record<string, unknown> })._transactions;
      return client.readHoldingRegisters(0, 1);
    };
    // Answers, then exceptions (address 9 is not served): both settle their transaction.
    for (let i = 0; i < 300; i++) expect((await link.run(user, 500, read)).data).toEqual([7]);
    const exception = (client: ModbusClient) => client.readHoldingRegisters(9, 1);
    for (let i = 0; i < 20; i++) await expect(link.run(user, 500, exception)).rejects.toThrow();
    expect(Object.keys(transactions)).toEqual([]);
  });
});
