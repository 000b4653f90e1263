/**
 * The gateway configuration that reads a seed site's simulators: one OPC UA device per machine with
 * all its points, one Modbus device per unit with its fixed register map. Plain data in the format of
 * `gateway/config.ts`, so it can be written as YAML or validated in memory.
 */
import { stringify } from 'yaml';
import {
  modbusDevicesOf,
  opcuaEquipmentOf,
  type PlacedModbusDevice,
  projects,
  type Site,
  scopeLineOf,
} from './catalogue.js';
import {
  type KpiRoleEntry,
  opcuaNodeId,
  opcuaPointsOf,
  type RegisterSpec,
  registerMaps,
} from './device-maps.js';

export interface GatewayConfigTargets {
  opcuaEndpoint: string;
  modbusHost: string;
  modbusPort: number;
  mqttUrl: string;
  /** The collector key whose signed commands the gateway obeys (the demo's; none in the committed configs). */
  commandKey?: { id: string; publicKey: string };
}

interface PointEntry {
  name: string;
  unit?: string;
  description: string;
  kpi?: KpiRoleEntry;
}

export interface OpcuaDeviceEntry {
  protocol: 'opcua';
  id: string;
  line: string;
  equipment: string;
  endpoint: string;
  publishingIntervalMs: number;
  samplingIntervalMs: number;
  points: Array<PointEntry & { nodeId: string }>;
}

export interface ModbusDeviceEntry {
  protocol: 'modbus';
  id: string;
  line: string;
  equipment: string;
  transport: 'tcp';
  host: string;
  port: number;
  unitId: number;
  pollIntervalMs: number;
  timeoutMs: number;
  points: Array<
    PointEntry & {
      table: string;
      address: number;
      type: string;
      scale?: number;
      writable?: boolean;
      min?: number;
      max?: number;
    }
  >;
}

export interface SeedGatewayConfig {
  gateway: {
    id: string;
    region: string;
    project: string;
    site: string;
    siteName: { zh: string; en: string };
  };
  mqtt: { url: string };
  /** The cloud's command key: the demo's collector signs with it, its gateways trust it. */
  commands?: { trustedKeys: Array<{ id: string; publicKey: string }> };
  devices: Array<OpcuaDeviceEntry | ModbusDeviceEntry>;
}

export function gatewayIdFor(site: Site): string {
  return `gw-${site.id}`;
}

export function gatewayConfigFor(site: Site, targets: GatewayConfigTargets): SeedGatewayConfig {
  const opcuaDevices = opcuaEquipmentOf(site).map(
    (equipment): OpcuaDeviceEntry => ({
      protocol: 'opcua',
      id: equipment.id,
      line: equipment.line,
      equipment: equipment.id,
      endpoint: targets.opcuaEndpoint,
      publishingIntervalMs: 1000,
      samplingIntervalMs: 500,
      points: opcuaPointsOf(equipment.kind).map((point) => ({
        name: point.name,
        nodeId: opcuaNodeId(equipment.id, point.name),
        ...(point.unit ? { unit: point.unit } : {}),
        description: point.description,
        ...(point.kpi && { kpi: point.kpi }),
      })),
    }),
  );
  const modbusDevices = modbusDevicesOf(site).map(
    (device): ModbusDeviceEntry => ({
      protocol: 'modbus',
      id: device.id,
      line: device.line,
      equipment: device.id,
      transport: 'tcp',
      host: targets.modbusHost,
      port: targets.modbusPort,
      unitId: device.unitId,
      pollIntervalMs: 1000,
      timeoutMs: 1000,
      points: registerMaps[device.kind].map((spec) => {
        const kpi = meterRoleOf(site, device, spec);
        return {
          name: spec.name,
          table: spec.table,
          address: spec.address,
          type: spec.type,
          ...(spec.scale !== 1 ? { scale: spec.scale } : {}),
          ...(spec.unit ? { unit: spec.unit } : {}),
          description: spec.description,
          ...(spec.writable && { writable: true }),
          ...(spec.min !== undefined && { min: spec.min }),
          ...(spec.max !== undefined && { max: spec.max }),
          ...(kpi && { kpi }),
        };
      }),
    }),
  );
  return {
    gateway: {
      id: gatewayIdFor(site),
      region: site.region,
      project: site.project,
      site: site.id,
      siteName: { zh: site.name.zh, en: site.name.en },
    },
    mqtt: { url: targets.mqttUrl },
    ...(targets.commandKey && { commands: { trustedKeys: [targets.commandKey] } }),
    devices: [...opcuaDevices, ...modbusDevices],
  };
}

/**
 * The role of a meter total: a meter on a production line is that line's sub-meter (scope `line`),
 * one on any other line meters the whole site (scope `site`, a main meter). Line PLC counts and
 * states get no role: they repeat the machines' own counts, which would count every part twice.
 */
function meterRoleOf(site: Site, device: PlacedModbusDevice, spec: RegisterSpec): KpiRoleEntry | undefined {
  if (!spec.meter) return undefined;
  return { role: spec.meter, scope: scopeLineOf(site, device) === undefined ? 'site' : 'line' };
}

/** Where the committed config of a site lives, relative to the repository root. */
export function configPathFor(site: Site): string {
  return `seeds/configs/${site.id}.yaml`;
}

/** The committed YAML of a site: header comment (how to run it) and its config against the default ports. */
export function renderConfigYaml(site: Site, targets: GatewayConfigTargets): string {
  const project = projects.find((p) => p.id === site.project);
  const header = [
    `Gateway of ${site.id}: ${site.name.zh} / ${site.name.en}`,
    `Region ${site.region}, project ${site.project}${project ? ` (${project.name.en})` : ''}.`,
    'Generated by `npm run seeds:configs` from seeds/catalogue.ts: edit the catalogue, not this file.',
    '',
    "Run the site's simulators, then the gateway against them (needs an MQTT broker at the url below):",
    `  npm run simulate -- --site ${site.id}`,
    `  npx jjj-gateway run --config ${configPathFor(site)}`,
    `OPC UA ${targets.opcuaEndpoint}, Modbus TCP ${targets.modbusHost}:${targets.modbusPort}.`,
  ];
  const comment = header.map((line) => (line === '' ? '#' : `# ${line}`)).join('\n');
  // Machines share their role objects: spelled out in full, not as YAML anchors and aliases.
  const yaml = stringify(gatewayConfigFor(site, targets), { lineWidth: 0, aliasDuplicateObjects: false });
  return `${comment}\n${yaml}`;
}
