/**
 * The Jing-Jin-Ji networked smart-manufacturing demonstration network (专栏 5, 京津冀联网智能制造示范行动):
 * cross-region demonstration projects in equipment manufacturing, automotive and electronics, each
 * spanning Beijing, Tianjin and Hebei sites that run either as a smart factory (flow manufacturing)
 * or a digital workshop (discrete manufacturing). All companies and sites are fictional.
 *
 * Site order is part of the contract: site i listens on OPC UA port 4841+i and Modbus port 5021+i.
 */
import { z } from 'zod';
import { Identifier, LocalizedName, Region } from '../gateway/schema/index.js';

export const Industry = z.enum(['equipment-manufacturing', 'automotive', 'electronics']);
export type Industry = z.infer<typeof Industry>;

/** 智能工厂 (flow manufacturing) or 数字化车间 (discrete manufacturing). */
export const ManufacturingMode = z.enum(['smart-factory', 'digital-workshop']);
export type ManufacturingMode = z.infer<typeof ManufacturingMode>;

export const OpcuaEquipmentKind = z.enum(['cnc', 'robot', 'injection-moulding', 'smt-placement']);
export type OpcuaEquipmentKind = z.infer<typeof OpcuaEquipmentKind>;

export const ModbusDeviceKind = z.enum(['energy-meter', 'water-meter', 'line-plc']);
export type ModbusDeviceKind = z.infer<typeof ModbusDeviceKind>;

/** A machine read over OPC UA. */
export const OpcuaEquipment = z.strictObject({
  id: Identifier,
  kind: OpcuaEquipmentKind,
  name: LocalizedName,
  idealCycleTimeSec: z
    .number()
    .positive()
    .describe('ideal cycle time of one part, the OEE performance reference'),
});
export type OpcuaEquipment = z.infer<typeof OpcuaEquipment>;

/**
 * A device behind the site's Modbus TCP server. Energy meters on a production line are sub-meters of
 * that line; on any other line they meter the whole site. A line PLC counts its own line.
 */
export const ModbusDevice = z.strictObject({
  id: Identifier,
  kind: ModbusDeviceKind,
  unitId: z.number().int().min(1).max(247),
  name: LocalizedName,
});
export type ModbusDevice = z.infer<typeof ModbusDevice>;

export const Line = z.strictObject({
  id: Identifier,
  name: LocalizedName,
  equipment: z.array(OpcuaEquipment),
  modbus: z.array(ModbusDevice),
});
export type Line = z.infer<typeof Line>;

export const Site = z.strictObject({
  id: Identifier,
  region: Region,
  project: Identifier,
  name: LocalizedName,
  city: LocalizedName,
  industry: Industry,
  mode: ManufacturingMode,
  lines: z.array(Line).min(1),
});
export type Site = z.infer<typeof Site>;

export const Project = z.strictObject({
  id: Identifier,
  name: LocalizedName,
  industry: Industry,
  summary: z.string().min(1),
});
export type Project = z.infer<typeof Project>;

export const Catalogue = z
  .strictObject({ projects: z.array(Project).min(1), sites: z.array(Site).min(1) })
  .superRefine((catalogue, ctx) => {
    const projectIds = new Set(catalogue.projects.map((p) => p.id));
    const siteIds = new Set<string>();
    catalogue.sites.forEach((site, s) => {
      const issue = (message: string) => ctx.addIssue({ code: 'custom', path: ['sites', s], message });
      if (siteIds.has(site.id)) issue(`duplicate site id ${site.id}`);
      siteIds.add(site.id);
      if (!site.id.startsWith(`${site.region.toLowerCase()}-`))
        issue(`${site.id} must start with its region`);
      if (!projectIds.has(site.project)) issue(`${site.id}: unknown project ${site.project}`);
      const ids = new Set<string>();
      const unitIds = new Set<number>();
      for (const line of site.lines) {
        for (const device of [...line.equipment, ...line.modbus]) {
          if (ids.has(device.id)) issue(`${site.id}: duplicate equipment id ${device.id}`);
          ids.add(device.id);
        }
        for (const device of line.modbus) {
          if (unitIds.has(device.unitId)) issue(`${site.id}: duplicate Modbus unit id ${device.unitId}`);
          unitIds.add(device.unitId);
        }
      }
    });
  });
export type Catalogue = z.infer<typeof Catalogue>;

const energyMeter = (id: string, unitId: number, zh: string, en: string): ModbusDevice => ({
  id,
  kind: 'energy-meter',
  unitId,
  name: { zh, en },
});
const mainMeters = (): ModbusDevice[] => [
  energyMeter('meter-main', 1, '总电能表', 'main energy meter'),
  { id: 'water-main', kind: 'water-meter', unitId: 2, name: { zh: '总水表', en: 'main water meter' } },
];
const utilities = (): Line => ({
  id: 'utilities',
  name: { zh: '公用动力', en: 'Utilities' },
  equipment: [],
  modbus: mainMeters(),
});
const linePlc = (line: string, unitId: number): ModbusDevice => ({
  id: `plc-${line}`,
  kind: 'line-plc',
  unitId,
  name: { zh: `${line} 产线 PLC`, en: `${line} line PLC` },
});
const cnc = (id: string, idealCycleTimeSec: number): OpcuaEquipment => ({
  id,
  kind: 'cnc',
  name: { zh: `数控加工中心 ${id}`, en: `CNC machining centre ${id}` },
  idealCycleTimeSec,
});
const robot = (id: string, idealCycleTimeSec: number): OpcuaEquipment => ({
  id,
  kind: 'robot',
  name: { zh: `工业机器人 ${id}`, en: `industrial robot ${id}` },
  idealCycleTimeSec,
});
const moulding = (id: string, idealCycleTimeSec: number): OpcuaEquipment => ({
  id,
  kind: 'injection-moulding',
  name: { zh: `注塑机 ${id}`, en: `injection moulding machine ${id}` },
  idealCycleTimeSec,
});
const smt = (id: string, idealCycleTimeSec: number): OpcuaEquipment => ({
  id,
  kind: 'smt-placement',
  name: { zh: `贴片机 ${id}`, en: `SMT placement machine ${id}` },
  idealCycleTimeSec,
});

export const catalogue: Catalogue = Catalogue.parse({
  projects: [
    {
      id: 'jjj-dp-01',
      name: {
        zh: '京津冀高端数控装备联网制造示范',
        en: 'Jing-Jin-Ji networked precision CNC equipment manufacturing',
      },
      industry: 'equipment-manufacturing',
      summary:
        'Beijing designs and machines precision spindle parts and Hebei machines the gearbox housings they fit, scheduled on one industrial cloud.',
    },
    {
      id: 'jjj-dp-02',
      name: { zh: '京津冀汽车供应链协同制造示范', en: 'Jing-Jin-Ji collaborative automotive supply chain' },
      industry: 'automotive',
      summary:
        'A Beijing OEM body shop pulls moulded parts from Tianjin and machined components from Hebei, sequenced over the industrial internet.',
    },
    {
      id: 'jjj-dp-03',
      name: { zh: '京津冀电子信息协同制造示范', en: 'Jing-Jin-Ji collaborative electronics manufacturing' },
      industry: 'electronics',
      summary:
        'Beijing R&D boards are built on Tianjin SMT smart-factory lines and Hebei digital workshops with shared quality data.',
    },
  ],
  sites: [
    {
      id: 'bj-etown-cnc',
      region: 'BJ',
      project: 'jjj-dp-01',
      name: { zh: '亦庄精密数控数字化车间', en: 'E-Town Precision CNC Digital Workshop' },
      city: { zh: '北京经济技术开发区', en: 'Beijing E-Town' },
      industry: 'equipment-manufacturing',
      mode: 'digital-workshop',
      lines: [
        {
          id: 'machining',
          name: { zh: '精密加工线', en: 'Precision machining' },
          equipment: [cnc('cnc-01', 30), cnc('cnc-02', 36)],
          modbus: [linePlc('machining', 3)],
        },
        utilities(),
      ],
    },
    {
      id: 'bj-shunyi-auto',
      region: 'BJ',
      project: 'jjj-dp-02',
      name: { zh: '顺义整车智能工厂', en: 'Shunyi Vehicle Assembly Smart Factory' },
      city: { zh: '北京顺义', en: 'Shunyi, Beijing' },
      industry: 'automotive',
      mode: 'smart-factory',
      lines: [
        {
          id: 'body-shop',
          name: { zh: '焊装线', en: 'Body shop' },
          equipment: [robot('robot-01', 12), robot('robot-02', 12), robot('robot-03', 14)],
          modbus: [
            linePlc('body-shop', 3),
            energyMeter('meter-body-shop', 4, '焊装线分表', 'body shop sub-meter'),
          ],
        },
        utilities(),
      ],
    },
    {
      id: 'tj-xiqing-parts',
      region: 'TJ',
      project: 'jjj-dp-02',
      name: { zh: '西青汽车内饰件智能工厂', en: 'Xiqing Automotive Trim Parts Smart Factory' },
      city: { zh: '天津西青', en: 'Xiqing, Tianjin' },
      industry: 'automotive',
      mode: 'smart-factory',
      lines: [
        {
          id: 'moulding',
          name: { zh: '注塑线', en: 'Injection moulding' },
          equipment: [moulding('imm-01', 28), moulding('imm-02', 32), robot('robot-01', 10)],
          modbus: [
            linePlc('moulding', 3),
            energyMeter('meter-moulding', 4, '注塑线分表', 'moulding sub-meter'),
          ],
        },
        utilities(),
      ],
    },
    {
      id: 'tj-binhai-smt',
      region: 'TJ',
      project: 'jjj-dp-03',
      name: { zh: '滨海电子贴装智能工厂', en: 'Binhai Electronics SMT Smart Factory' },
      city: { zh: '天津滨海新区', en: 'Binhai New Area, Tianjin' },
      industry: 'electronics',
      mode: 'smart-factory',
      lines: [
        {
          id: 'smt-1',
          name: { zh: '一号贴装线', en: 'SMT line 1' },
          equipment: [smt('smt-01', 18), smt('smt-02', 18)],
          modbus: [linePlc('smt-1', 3)],
        },
        {
          id: 'smt-2',
          name: { zh: '二号贴装线', en: 'SMT line 2' },
          equipment: [smt('smt-03', 22)],
          modbus: [linePlc('smt-2', 4)],
        },
        utilities(),
      ],
    },
    {
      id: 'he-baoding-gear',
      region: 'HE',
      project: 'jjj-dp-01',
      name: { zh: '保定齿轮箱数字化车间', en: 'Baoding Gearbox Digital Workshop' },
      city: { zh: '河北保定', en: 'Baoding, Hebei' },
      industry: 'equipment-manufacturing',
      mode: 'digital-workshop',
      lines: [
        {
          id: 'machining',
          name: { zh: '箱体加工线', en: 'Housing machining' },
          equipment: [cnc('cnc-01', 40), cnc('cnc-02', 40), cnc('cnc-03', 45), robot('robot-01', 15)],
          modbus: [
            linePlc('machining', 3),
            energyMeter('meter-machining', 4, '加工线分表', 'machining sub-meter'),
          ],
        },
        utilities(),
      ],
    },
    {
      id: 'he-cangzhou-comp',
      region: 'HE',
      project: 'jjj-dp-02',
      name: { zh: '沧州汽车零部件数字化车间', en: 'Cangzhou Auto Components Digital Workshop' },
      city: { zh: '河北沧州', en: 'Cangzhou, Hebei' },
      industry: 'automotive',
      mode: 'digital-workshop',
      lines: [
        {
          id: 'components',
          name: { zh: '零部件加工线', en: 'Component machining' },
          equipment: [cnc('cnc-01', 25), cnc('cnc-02', 25), robot('robot-01', 9)],
          modbus: [linePlc('components', 3)],
        },
        utilities(),
      ],
    },
    {
      id: 'he-langfang-pcba',
      region: 'HE',
      project: 'jjj-dp-03',
      name: { zh: '廊坊电路板组装数字化车间', en: 'Langfang PCBA Digital Workshop' },
      city: { zh: '河北廊坊', en: 'Langfang, Hebei' },
      industry: 'electronics',
      mode: 'digital-workshop',
      lines: [
        {
          id: 'pcba',
          name: { zh: '电路板组装线', en: 'PCB assembly' },
          equipment: [smt('smt-01', 20), moulding('imm-01', 24)],
          modbus: [linePlc('pcba', 3), energyMeter('meter-pcba', 4, '组装线分表', 'PCBA sub-meter')],
        },
        utilities(),
      ],
    },
  ],
});

export const sites: readonly Site[] = catalogue.sites;
export const projects: readonly Project[] = catalogue.projects;

export function findSite(id: string): Site | undefined {
  return sites.find((site) => site.id === id);
}

export function siteIndex(id: string): number {
  return sites.findIndex((site) => site.id === id);
}

export interface PlacedEquipment extends OpcuaEquipment {
  line: string;
}
export interface PlacedModbusDevice extends ModbusDevice {
  line: string;
}

export function opcuaEquipmentOf(site: Site): PlacedEquipment[] {
  return site.lines.flatMap((line) => line.equipment.map((equipment) => ({ ...equipment, line: line.id })));
}

export function modbusDevicesOf(site: Site): PlacedModbusDevice[] {
  return site.lines
    .flatMap((line) => line.modbus.map((device) => ({ ...device, line: line.id })))
    .sort((a, b) => a.unitId - b.unitId);
}

/** The production line a Modbus device follows, or `undefined` when it covers the whole site. */
export function scopeLineOf(site: Site, device: PlacedModbusDevice): string | undefined {
  const line = site.lines.find((l) => l.id === device.line);
  return line && line.equipment.length > 0 ? line.id : undefined;
}
