import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../gateway/config.js';
import { findSite, modbusDevicesOf, opcuaEquipmentOf, sites } from '../../seeds/catalogue.js';
import { configPathFor, gatewayConfigFor, renderConfigYaml } from '../../seeds/gateway-config.js';
import { defaultTargets } from '../../seeds/write-configs.js';

describe.each(sites.map((site, index) => ({ site, index, id: site.id })))(
  'seeds/configs/$id.yaml',
  ({ site, index }) => {
    const file = configPathFor(site);

    it('is what gatewayConfigFor renders now (run `npm run seeds:configs` when this fails)', () => {
      expect(readFileSync(file, 'utf8')).toBe(renderConfigYaml(site, defaultTargets(index)));
    });

    it('validates as a gateway config with one device per machine and per Modbus unit', () => {
      const config = loadGatewayConfig(file);
      expect(config.gateway).toMatchObject({
        id: `gw-${site.id}`,
        region: site.region,
        project: site.project,
        site: site.id,
      });
      expect(config.devices).toHaveLength(opcuaEquipmentOf(site).length + modbusDevicesOf(site).length);
    });
  },
);

describe('gatewayConfigFor', () => {
  it('points every device at the given simulators and broker', () => {
    const site = sites[0];
    if (!site) throw new Error('empty catalogue');
    const config = gatewayConfigFor(site, {
      opcuaEndpoint: 'opc.tcp://127.0.0.1:14841',
      modbusHost: '127.0.0.2',
      modbusPort: 15021,
      mqttUrl: 'mqtt://127.0.0.1:11883',
    });
    expect(config.mqtt.url).toBe('mqtt://127.0.0.1:11883');
    const cnc = config.devices.find((d) => d.id === 'cnc-01');
    expect(cnc).toMatchObject({
      protocol: 'opcua',
      line: 'machining',
      endpoint: 'opc.tcp://127.0.0.1:14841',
    });
    expect(cnc?.points.map((p) => ('nodeId' in p ? p.nodeId : ''))).toContain('ns=1;s=cnc-01.spindle-speed');
    const meter = config.devices.find((d) => d.id === 'meter-main');
    expect(meter).toMatchObject({
      protocol: 'modbus',
      host: '127.0.0.2',
      port: 15021,
      unitId: 1,
      line: 'utilities',
    });
    expect(meter?.points.find((p) => p.name === 'energy-total')).toMatchObject({
      table: 'holding',
      address: 0,
      type: 'uint32',
      scale: 0.1,
      unit: 'KWH',
    });
    expect(config.devices.find((d) => d.id === 'water-main')).toMatchObject({ unitId: 2 });
  });
});

describe('the roles the seed configs declare', () => {
  const site = findSite('bj-shunyi-auto');
  if (!site) throw new Error('bj-shunyi-auto is not in the catalogue');
  const config = gatewayConfigFor(site, defaultTargets(0));
  const roleOf = (device: string, point: string) =>
    config.devices.find((d) => d.id === device)?.points.find((p) => p.name === point)?.kpi;
  const machine = opcuaEquipmentOf(site)[0]?.id ?? '';

  it("maps a machine's state codes, counts its 32-bit counters and reads its ideal cycle time", () => {
    expect(roleOf(machine, 'state')).toEqual({
      role: 'machine-state',
      values: { '1': 'producing', '2': 'idle', '3': 'down' },
    });
    expect(roleOf(machine, 'good-count')).toEqual({ role: 'good-count', width: 32 });
    expect(roleOf(machine, 'reject-count')).toEqual({ role: 'reject-count', width: 32 });
    expect(roleOf(machine, 'ideal-cycle-time')).toEqual({ role: 'ideal-cycle-time' });
    expect(roleOf(machine, 'spindle-speed') ?? roleOf(machine, 'joint-temp')).toBeUndefined();
  });

  it("scopes a production line's sub-meter to its line and the utilities' main meters to the site", () => {
    expect(roleOf('meter-body-shop', 'energy-total')).toEqual({ role: 'energy', scope: 'line' });
    expect(roleOf('meter-main', 'energy-total')).toEqual({ role: 'energy', scope: 'site' });
    expect(roleOf('water-main', 'volume-total')).toEqual({ role: 'water', scope: 'site' });
    expect(roleOf('meter-main', 'power')).toBeUndefined();
  });

  it("gives a line PLC's counts and state no role: they repeat the machines' counts", () => {
    const plc = config.devices.find((d) => d.id === 'plc-body-shop');
    expect(plc?.points.map((p) => p.kpi)).toEqual(plc?.points.map(() => undefined));
  });
});
