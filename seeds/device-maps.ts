/**
 * What each simulated device exposes: OPC UA points per equipment kind and the fixed Modbus register
 * maps (big-endian ABCD word order, 0-based protocol addresses), with the KPI role each point declares
 * (docs/kpi-roles.md). The simulators serve these and the gateway configs read them, so both ends
 * come from this one table.
 */
import type { z } from 'zod';
import type { KpiRole } from '../gateway/schema/index.js';
import type { ModbusDeviceKind, OpcuaEquipmentKind, Site } from './catalogue.js';
import { LINE_SETPOINT_MAX, MachineState } from './signals.js';

/** A role as the gateway config spells it (its defaults may be left out). */
export type KpiRoleEntry = z.input<typeof KpiRole>;

export function simulatorNamespaceUri(site: Site): string {
  return `urn:jjj-iiot:sim:${site.id}`;
}

/** Node id of a machine's point on its site's OPC UA server (namespace 1 is the site namespace). */
export function opcuaNodeId(equipment: string, point: string): string {
  return `ns=1;s=${equipment}.${point}`;
}

export type OpcuaDataType = 'UInt16' | 'UInt32' | 'Double';

export interface OpcuaPointSpec {
  name: string;
  dataType: OpcuaDataType;
  unit?: string;
  description: string;
  kpi?: KpiRoleEntry;
}

/** Every machine exposes these, with their roles, so OEE (availability × performance × quality) works for any kind. */
const commonPoints: OpcuaPointSpec[] = [
  {
    name: 'state',
    dataType: 'UInt16',
    description: 'machine state: 1 running, 2 idle, 3 down',
    // Idle is a planned stop (no order, changeover), down a breakdown.
    kpi: {
      role: 'machine-state',
      values: {
        [MachineState.running]: 'producing',
        [MachineState.idle]: 'idle',
        [MachineState.down]: 'down',
      },
    },
  },
  {
    name: 'good-count',
    dataType: 'UInt32',
    unit: 'C62',
    description: 'good parts produced (counter)',
    kpi: { role: 'good-count', width: 32 },
  },
  {
    name: 'reject-count',
    dataType: 'UInt32',
    unit: 'C62',
    description: 'rejected parts (counter)',
    kpi: { role: 'reject-count', width: 32 },
  },
  {
    name: 'ideal-cycle-time',
    dataType: 'Double',
    unit: 'SEC',
    description: 'ideal cycle time of one part',
    kpi: { role: 'ideal-cycle-time' },
  },
];

const kindPoints: Record<OpcuaEquipmentKind, OpcuaPointSpec[]> = {
  cnc: [
    { name: 'spindle-speed', dataType: 'Double', unit: 'RPM', description: 'spindle speed' },
    { name: 'spindle-temp', dataType: 'Double', unit: 'CEL', description: 'spindle bearing temperature' },
  ],
  robot: [
    { name: 'joint-temp', dataType: 'Double', unit: 'CEL', description: 'hottest joint motor temperature' },
    { name: 'power', dataType: 'Double', unit: 'KWT', description: 'electrical power drawn' },
  ],
  'injection-moulding': [
    { name: 'barrel-temp', dataType: 'Double', unit: 'CEL', description: 'barrel (melt) temperature' },
    { name: 'mould-temp', dataType: 'Double', unit: 'CEL', description: 'mould temperature' },
    {
      name: 'cycle-time',
      dataType: 'Double',
      unit: 'SEC',
      description: 'duration of the last completed cycle',
    },
  ],
  'smt-placement': [
    // UNECE Rec 20 has no code for components per hour, so the rate carries no unit.
    { name: 'placement-rate', dataType: 'Double', description: 'placement rate, components per hour' },
    { name: 'board-temp', dataType: 'Double', unit: 'CEL', description: 'board temperature at placement' },
  ],
};

export function opcuaPointsOf(kind: OpcuaEquipmentKind): OpcuaPointSpec[] {
  return [...commonPoints, ...kindPoints[kind]];
}

export type RegisterTable = 'holding' | 'input';
export type RegisterType = 'int16' | 'uint16' | 'uint32' | 'float32';

export interface RegisterSpec {
  name: string;
  table: RegisterTable;
  address: number;
  type: RegisterType;
  /** Engineering value = raw × scale. */
  scale: number;
  unit?: string;
  description: string;
  /**
   * The meter total this register is, for its KPI role: the role's scope follows where the meter
   * sits (a production line's sub-meter or a main meter; see `meterRoleOf` in seeds/gateway-config.ts).
   */
  meter?: 'energy' | 'water';
  /** Commands may write it (holding registers only); the simulator refuses writes to every other register. */
  writable?: boolean;
  /** Engineering range, declared in the gateway config: the gateway refuses a write outside it. */
  min?: number;
  max?: number;
}

export const registerMaps: Record<ModbusDeviceKind, RegisterSpec[]> = {
  'energy-meter': [
    {
      name: 'energy-total',
      table: 'holding',
      address: 0,
      type: 'uint32',
      scale: 0.1,
      unit: 'KWH',
      description: 'active energy import',
      meter: 'energy',
    },
    {
      name: 'power',
      table: 'holding',
      address: 2,
      type: 'float32',
      scale: 1,
      unit: 'KWT',
      description: 'active power',
    },
    {
      name: 'voltage',
      table: 'holding',
      address: 4,
      type: 'uint16',
      scale: 0.1,
      unit: 'VLT',
      description: 'line-to-line voltage',
    },
    {
      name: 'current',
      table: 'holding',
      address: 5,
      type: 'uint16',
      scale: 0.01,
      unit: 'AMP',
      description: 'phase current',
    },
    {
      name: 'power-factor',
      table: 'holding',
      address: 6,
      type: 'int16',
      scale: 0.001,
      description: 'power factor',
    },
  ],
  'water-meter': [
    {
      name: 'volume-total',
      table: 'input',
      address: 0,
      type: 'uint32',
      scale: 0.001,
      unit: 'MTQ',
      description: 'water volume (totaliser)',
      meter: 'water',
    },
    {
      name: 'flow',
      table: 'input',
      address: 2,
      type: 'float32',
      scale: 1,
      unit: 'MQH',
      description: 'water flow rate',
    },
  ],
  'line-plc': [
    {
      name: 'good-count',
      table: 'holding',
      address: 0,
      type: 'uint32',
      scale: 1,
      unit: 'C62',
      description: 'good parts of the line',
    },
    {
      name: 'reject-count',
      table: 'holding',
      address: 2,
      type: 'uint32',
      scale: 1,
      unit: 'C62',
      description: 'rejected parts of the line',
    },
    {
      name: 'state',
      table: 'holding',
      address: 4,
      type: 'uint16',
      scale: 1,
      description: 'line state: 1 running, 2 idle, 3 down',
    },
    {
      name: 'speed',
      table: 'holding',
      address: 5,
      type: 'uint16',
      scale: 1,
      description: 'line speed, parts per hour',
    },
    {
      // The demo's one writable point, so an operator can try a command: the line runs at most this fast.
      name: 'speed-setpoint',
      table: 'holding',
      address: 6,
      type: 'uint16',
      scale: 1,
      description: 'line speed set point, parts per hour',
      writable: true,
      min: 0,
      max: LINE_SETPOINT_MAX,
    },
  ],
};

/** The register of a device kind at a holding or input address, where its first word is. */
export function registerAt(
  kind: ModbusDeviceKind,
  table: RegisterTable,
  address: number,
): RegisterSpec | undefined {
  return registerMaps[kind].find((spec) => spec.table === table && spec.address === address);
}

/** The engineering value of one word of a single-register type (the inverse of `encodeRegister`). */
export function decodeWord(spec: RegisterSpec, word: number): number {
  const raw = spec.type === 'int16' ? (word << 16) >> 16 : word & 0xffff;
  return raw * spec.scale;
}

const typeRange: Record<Exclude<RegisterType, 'float32'>, [number, number]> = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  uint32: [0, 0xffff_ffff],
};

/** Encodes an engineering value into big-endian words; integers are rounded and clamped to their type. */
export function encodeRegister(spec: RegisterSpec, value: number): number[] {
  const buffer = Buffer.alloc(4);
  if (spec.type === 'float32') {
    buffer.writeFloatBE(value / spec.scale);
    return [buffer.readUInt16BE(0), buffer.readUInt16BE(2)];
  }
  const [min, max] = typeRange[spec.type];
  const raw = Math.min(max, Math.max(min, Math.round(value / spec.scale)));
  if (spec.type === 'uint32') {
    buffer.writeUInt32BE(raw);
    return [buffer.readUInt16BE(0), buffer.readUInt16BE(2)];
  }
  if (spec.type === 'int16') buffer.writeInt16BE(raw);
  else buffer.writeUInt16BE(raw);
  return [buffer.readUInt16BE(0)];
}
