import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import m from 'modbus-serial';
import {
  AttributeIds,
  type ClientSession,
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  StatusCodes,
} from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findSite, sites } from '../../seeds/catalogue.js';
import { defaultPorts, type SiteSimulators, startSiteSimulators } from '../../seeds/site-simulators.js';
import { freePort } from '../helpers/ports.js';

const ModbusRTU = m.default;
const site = findSite('bj-etown-cnc');
if (!site) throw new Error('site 0 missing from the catalogue');

let simulators: SiteSimulators;
let opcuaClient: OPCUAClient;
let session: ClientSession;
let pkiDir: string;
const modbus = new ModbusRTU();

beforeAll(async () => {
  simulators = await startSiteSimulators(site, {
    opcuaPort: await freePort(),
    modbusPort: await freePort(),
    updateIntervalMs: 100,
  });
  pkiDir = await mkdtemp(join(tmpdir(), 'jjj-opcua-client-'));
  opcuaClient = OPCUAClient.create({
    clientCertificateManager: new OPCUACertificateManager({ rootFolder: pkiDir }),
    endpointMustExist: false,
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
    connectionStrategy: { maxRetry: 2, initialDelay: 100, maxDelay: 500 },
  });
  await opcuaClient.connect(simulators.opcuaEndpoint);
  session = await opcuaClient.createSession();
  await modbus.connectTCP(simulators.modbus.host, { port: simulators.modbus.port });
  modbus.setTimeout(2000);
});

afterAll(async () => {
  if (modbus.isOpen) await new Promise((done) => modbus.close(done));
  await session?.close();
  await opcuaClient?.disconnect();
  await simulators?.stop();
  await rm(pkiDir, { recursive: true, force: true });
});

/** Resolves once the site model has advanced past `timeMs` (the simulator's timer drives it). */
function modelPast(timeMs: number): Promise<void> {
  return new Promise((resolveAdvance) => {
    const unsubscribe = simulators.model.onAdvance((now) => {
      if (now > timeMs) {
        unsubscribe();
        resolveAdvance();
      }
    });
  });
}

describe('defaultPorts', () => {
  it('follows the catalogue order convention', () => {
    expect(defaultPorts(0)).toEqual({ opcuaPort: 4841, modbusPort: 5021 });
    expect(defaultPorts(sites.length - 1)).toEqual({
      opcuaPort: 4841 + sites.length - 1,
      modbusPort: 5021 + sites.length - 1,
    });
    expect(() => defaultPorts(sites.length)).toThrow(RangeError);
  });
});

describe('OPC UA simulator', () => {
  it('serves its site namespace as ns=1', async () => {
    const namespaces = await session.readNamespaceArray();
    expect(namespaces[1]).toBe('urn:jjj-iiot:sim:bj-etown-cnc');
  });

  it('reads every CNC point with good status, plausible values and source timestamps', async () => {
    const points = [
      'state',
      'good-count',
      'reject-count',
      'ideal-cycle-time',
      'spindle-speed',
      'spindle-temp',
    ];
    const results = await session.read(
      points.map((point) => ({ nodeId: `ns=1;s=cnc-01.${point}`, attributeId: AttributeIds.Value })),
    );
    const byPoint = Object.fromEntries(points.map((point, i) => [point, results[i]]));
    for (const result of results) {
      expect(result?.statusCode).toBe(StatusCodes.Good);
      const sourceTs = result?.sourceTimestamp?.getTime() ?? 0;
      expect(sourceTs).toBeGreaterThan(Date.UTC(2024, 0, 1));
      expect(sourceTs).toBeLessThanOrEqual(Date.now());
    }
    expect(byPoint.state?.value.dataType).toBe(DataType.UInt16);
    expect([1, 2, 3]).toContain(byPoint.state?.value.value);
    expect(byPoint['good-count']?.value.dataType).toBe(DataType.UInt32);
    expect(byPoint['ideal-cycle-time']?.value.value).toBe(30);
    const speed = byPoint['spindle-speed']?.value.value as number;
    expect(speed).toBeGreaterThanOrEqual(0);
    expect(speed).toBeLessThan(15_000);
    const temp = byPoint['spindle-temp']?.value.value as number;
    expect(temp).toBeGreaterThan(15);
    expect(temp).toBeLessThan(80);
  });

  it('organises variables under Objects/<line>/<equipment>', async () => {
    const paths = await session.translateBrowsePath({
      startingNode: 'i=85',
      relativePath: {
        elements: ['machining', 'cnc-02', 'spindle-speed'].map((name) => ({
          referenceTypeId: 'i=33',
          isInverse: false,
          includeSubtypes: true,
          targetName: { namespaceIndex: 1, name },
        })),
      },
    });
    expect(paths.statusCode).toBe(StatusCodes.Good);
    expect(paths.targets?.[0]?.targetId.toString()).toBe('ns=1;s=cnc-02.spindle-speed');
  });

  it('answers BadNodeIdUnknown for a point that does not exist', async () => {
    const result = await session.read({
      nodeId: 'ns=1;s=cnc-09.spindle-speed',
      attributeId: AttributeIds.Value,
    });
    expect(result.statusCode).toBe(StatusCodes.BadNodeIdUnknown);
  });

  it('moves source timestamps forward with the model', async () => {
    const nodeId = 'ns=1;s=cnc-01.spindle-temp';
    const before = await session.read({ nodeId, attributeId: AttributeIds.Value });
    await modelPast((before.sourceTimestamp?.getTime() ?? 0) + 200);
    const after = await session.read({ nodeId, attributeId: AttributeIds.Value });
    expect(after.sourceTimestamp?.getTime()).toBeGreaterThan(before.sourceTimestamp?.getTime() ?? 0);
  });
});

describe('Modbus simulator', () => {
  it('serves the energy meter register map on unit 1', async () => {
    modbus.setID(1);
    const { buffer } = await modbus.readHoldingRegisters(0, 7);
    const energyKwh = buffer.readUInt32BE(0) * 0.1;
    const powerKw = buffer.readFloatBE(4);
    const voltage = buffer.readUInt16BE(8) * 0.1;
    const current = buffer.readUInt16BE(10) * 0.01;
    const powerFactor = buffer.readInt16BE(12) * 0.001;
    expect(energyKwh).toBeGreaterThan(1000);
    expect(powerKw).toBeGreaterThan(5);
    expect(powerKw).toBeLessThan(100);
    expect(voltage).toBeGreaterThan(380);
    expect(voltage).toBeLessThan(420);
    expect(current).toBeGreaterThan(0);
    expect(powerFactor).toBeGreaterThan(0.7);
    expect(powerFactor).toBeLessThan(1);
  });

  it('counts energy up as the model advances', async () => {
    modbus.setID(1);
    const first = (await modbus.readHoldingRegisters(0, 2)).buffer.readUInt32BE(0);
    // One tenth of a kWh at the site's base load of 12 kW takes 30 s; watch the model, not the clock.
    const energyAt = simulators.model.modbusValues(1)?.['energy-total'] ?? 0;
    await new Promise<void>((done) => {
      const unsubscribe = simulators.model.onAdvance(() => {
        if ((simulators.model.modbusValues(1)?.['energy-total'] ?? 0) > energyAt + 0.1) {
          unsubscribe();
          done();
        }
      });
    });
    const second = (await modbus.readHoldingRegisters(0, 2)).buffer.readUInt32BE(0);
    expect(second).toBeGreaterThan(first);
  }, 60_000);

  it('serves the water meter on unit 2 input registers and the line PLC on unit 3', async () => {
    modbus.setID(2);
    const water = (await modbus.readInputRegisters(0, 4)).buffer;
    expect(water.readUInt32BE(0) * 0.001).toBeGreaterThan(100);
    expect(water.readFloatBE(4)).toBeGreaterThan(0);
    modbus.setID(3);
    const plc = (await modbus.readHoldingRegisters(0, 6)).buffer;
    expect(plc.readUInt32BE(0)).toBeGreaterThan(0);
    expect([1, 2, 3]).toContain(plc.readUInt16BE(8));
  });

  it('answers IllegalDataAddress for an unknown unit, an unmapped address or another table', async () => {
    modbus.setID(9);
    await expect(modbus.readHoldingRegisters(0, 2)).rejects.toMatchObject({ modbusCode: 2 });
    modbus.setID(1);
    await expect(modbus.readHoldingRegisters(6, 2)).rejects.toMatchObject({ modbusCode: 2 });
    await expect(modbus.readInputRegisters(0, 2)).rejects.toMatchObject({ modbusCode: 2 });
    await expect(modbus.readCoils(0, 1)).rejects.toMatchObject({ modbusCode: 2 });
    modbus.setID(2);
    await expect(modbus.readHoldingRegisters(0, 1)).rejects.toMatchObject({ modbusCode: 2 });
  });

  it('refuses writes to read-only registers, and takes the line speed set point within its range', async () => {
    modbus.setID(1);
    await expect(modbus.writeRegister(4, 1)).rejects.toMatchObject({ modbusCode: 1 });
    modbus.setID(3);
    await expect(modbus.writeRegister(5, 100)).rejects.toMatchObject({ modbusCode: 1 });
    await expect(modbus.writeRegisters(0, [0, 1])).rejects.toMatchObject({ modbusCode: 1 });
    await modbus.writeRegister(6, 1200);
    expect((await modbus.readHoldingRegisters(6, 1)).data).toEqual([1200]);
    await modbus.writeRegisters(6, [150]);
    expect((await modbus.readHoldingRegisters(6, 1)).data).toEqual([150]);
    // The line runs at most at its set point.
    expect((await modbus.readHoldingRegisters(5, 1)).data[0]).toBeLessThanOrEqual(150);
    await expect(modbus.writeRegister(6, 4000)).rejects.toMatchObject({ modbusCode: 3 });
    expect((await modbus.readHoldingRegisters(6, 1)).data).toEqual([150]);
  });
});

describe('stop', () => {
  it('closes both servers and is safe to call twice', async () => {
    const local = await startSiteSimulators(site, {
      opcuaPort: await freePort(),
      modbusPort: await freePort(),
    });
    await Promise.all([local.stop(), local.stop()]);
    const refused = (port: number) =>
      new Promise<boolean>((answer) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          answer(false);
        });
        socket.once('error', () => answer(true));
      });
    expect(await refused(local.modbus.port)).toBe(true);
    expect(await refused(Number(new URL(local.opcuaEndpoint.replace('opc.tcp', 'http')).port))).toBe(true);
  });
});
