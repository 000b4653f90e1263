/**
 * The demo's simulated devices accept anonymous writes, so they listen on 127.0.0.1 unless told
 * otherwise: reachable on loopback, refused on the machine's other addresses. `--host` binds elsewhere.
 */
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findSite } from '../../seeds/catalogue.js';
import { planSimulation, SimulateUsageError } from '../../seeds/simulate.js';
import { type SiteSimulators, startSiteSimulators } from '../../seeds/site-simulators.js';
import { freePort } from '../helpers/ports.js';

const site = findSite('bj-etown-cnc');
if (!site) throw new Error('bj-etown-cnc missing from the catalogue');

/** The first IPv4 address of this machine that is not loopback, if it has one. */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((address) => address?.family === 'IPv4' && !address.internal)?.address;

function tcpOutcome(host: string, port: number): Promise<'connected' | string> {
  return new Promise((answer) => {
    const socket = connect({ host, port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      answer('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      answer('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => answer(error.code ?? error.message));
  });
}

describe('simulators listen on loopback by default', () => {
  let simulators: SiteSimulators;
  let ports: { opcuaPort: number; modbusPort: number };
  beforeAll(async () => {
    ports = { opcuaPort: await freePort(), modbusPort: await freePort() };
    simulators = await startSiteSimulators(site, ports);
  }, 30_000);
  afterAll(() => simulators?.stop());

  it('OPC UA and Modbus answer on 127.0.0.1', async () => {
    expect(simulators.opcuaEndpoint).toBe(`opc.tcp://127.0.0.1:${ports.opcuaPort}`);
    expect(simulators.modbus.host).toBe('127.0.0.1');
    expect(await tcpOutcome('127.0.0.1', ports.opcuaPort)).toBe('connected');
    expect(await tcpOutcome('127.0.0.1', ports.modbusPort)).toBe('connected');
  });

  it.skipIf(outsideAddress === undefined)(
    `OPC UA and Modbus refuse connections on the machine's other address (${outsideAddress ?? 'none: skipped, this machine has only loopback'})`,
    async () => {
      const address = outsideAddress as string;
      expect(await tcpOutcome(address, ports.opcuaPort)).toBe('ECONNREFUSED');
      expect(await tcpOutcome(address, ports.modbusPort)).toBe('ECONNREFUSED');
    },
  );
});

describe('npm run simulate -- --host', () => {
  it('defaults to 127.0.0.1 and takes another address when asked', () => {
    expect(planSimulation(['--site', 'bj-etown-cnc']).host).toBe('127.0.0.1');
    expect(planSimulation(['--site', 'bj-etown-cnc', '--host', '0.0.0.0']).host).toBe('0.0.0.0');
    expect(() => planSimulation(['--site', 'bj-etown-cnc', '--host', 'a b'])).toThrow(SimulateUsageError);
  });
});
