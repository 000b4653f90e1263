/**
 * Which points feed a site's KPIs: the points whose metadata declares a KPI role, grouped by
 * equipment, each with the factor that turns its UNECE Rec 20 unit into the role's unit. Nothing here
 * looks at a point's name.
 */
import type { KpiRole, KpiRoleName, MachineStateRole } from '../../gateway/schema/index.js';
import type { PointInfo } from '../store/store.js';
import type { EquipmentPlan, RolePoint, SitePlan } from './model.js';

/** UNECE Rec 20 unit → factor into the role's unit (kWh, kW, m³, s). */
const energyCounterUnits: Record<string, number> = { KWH: 1, WHR: 0.001, MWH: 1000 };
const powerUnits: Record<string, number> = { KWT: 1, WTT: 0.001, MAW: 1000 };
const waterUnits: Record<string, number> = { MTQ: 1, LTR: 0.001 };
const cycleTimeUnits: Record<string, number> = { SEC: 1, MIN: 60, HUR: 3600, C26: 0.001 };

/** The units a role accepts; `undefined` for roles whose values are counts, states or CNY (any unit, scale 1). */
function unitsOf(role: KpiRole): Record<string, number> | undefined {
  switch (role.role) {
    case 'energy':
      return role.measure === 'power' ? powerUnits : energyCounterUnits;
    case 'water':
      return waterUnits;
    case 'ideal-cycle-time':
      return cycleTimeUnits;
    default:
      return undefined;
  }
}

/** The role's own unit, for warnings. */
function roleUnitName(role: KpiRole): string {
  switch (role.role) {
    case 'energy':
      return role.measure === 'power' ? 'kW (KWT)' : 'kWh (KWH)';
    case 'water':
      return 'm³ (MTQ)';
    default:
      return 's (SEC)';
  }
}

/** Roles of which an equipment uses one point only. */
const singleRoles = new Set<KpiRoleName>(['machine-state', 'ideal-cycle-time', 'unit-value']);

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function planSite(site: string, points: PointInfo[]): SitePlan {
  const warnings: string[] = [];
  const byEquipment = new Map<string, EquipmentPlan>();
  const seen = new Set<string>();
  // Sorted by point id, so "the first" of duplicates is the same whatever order the store lists them in.
  const rolePoints = points
    .filter((p): p is PointInfo & { kpi: KpiRole } => p.kpi !== undefined)
    .sort((a, b) => compareText(a.pointId, b.pointId));
  for (const info of rolePoints) {
    if (seen.has(info.pointId)) continue;
    seen.add(info.pointId);
    const role = info.kpi;
    const units = unitsOf(role);
    let scale = 1;
    if (units !== undefined && info.unit !== null && info.unit !== '') {
      const factor = units[info.unit];
      if (factor === undefined) {
        warnings.push(
          `${info.pointId}: unit ${info.unit} cannot be turned into ${roleUnitName(role)} for role ${role.role}; point left out (use one of ${Object.keys(units).join(', ')})`,
        );
        continue;
      }
      scale = factor;
    }
    const key = `${info.line}/${info.equipment}`;
    let equipment = byEquipment.get(key);
    if (!equipment) {
      equipment = {
        site,
        line: info.line,
        equipment: info.equipment,
        goodCounts: [],
        rejectCounts: [],
        totalCounts: [],
        energy: [],
        water: [],
      };
      byEquipment.set(key, equipment);
    }
    const rolePoint: RolePoint = { pointId: info.pointId, point: info.point, role, scale };
    if (singleRoles.has(role.role)) {
      const held =
        role.role === 'machine-state'
          ? equipment.state
          : role.role === 'ideal-cycle-time'
            ? equipment.idealCycleTime
            : equipment.unitValue;
      if (held) {
        warnings.push(
          `${info.pointId}: ${key} already has its ${role.role} point (${held.pointId}, the first by point id); this one is left out`,
        );
        continue;
      }
    }
    switch (role.role) {
      case 'machine-state':
        equipment.state = rolePoint as RolePoint<MachineStateRole>;
        break;
      case 'ideal-cycle-time':
        equipment.idealCycleTime = rolePoint;
        break;
      case 'unit-value':
        equipment.unitValue = rolePoint;
        break;
      case 'good-count':
      case 'total-count':
        (role.role === 'good-count' ? equipment.goodCounts : equipment.totalCounts).push(rolePoint);
        takeConstants(equipment, info.pointId, role, warnings);
        break;
      case 'reject-count':
        equipment.rejectCounts.push(rolePoint);
        break;
      case 'energy':
        equipment.energy.push(rolePoint);
        break;
      case 'water':
        equipment.water.push(rolePoint);
        break;
    }
  }
  const equipment = [...byEquipment.values()].sort(
    (a, b) => compareText(a.line, b.line) || compareText(a.equipment, b.equipment),
  );
  return { site, equipment, pointIds: pointIdsOf(equipment), warnings };
}

/** The equipment constants a count role declares; the first by point id wins when two disagree. */
function takeConstants(
  equipment: EquipmentPlan,
  pointId: string,
  role: { idealCycleTimeS?: number | undefined; unitValue?: number | undefined },
  warnings: string[],
): void {
  const key = `${equipment.line}/${equipment.equipment}`;
  if (role.idealCycleTimeS !== undefined) {
    if (equipment.idealCycleTimeS === undefined) equipment.idealCycleTimeS = role.idealCycleTimeS;
    else if (equipment.idealCycleTimeS !== role.idealCycleTimeS)
      warnings.push(
        `${pointId}: idealCycleTimeS ${role.idealCycleTimeS} differs from ${equipment.idealCycleTimeS} declared first on ${key}; the first is used`,
      );
  }
  if (role.unitValue !== undefined) {
    if (equipment.unitValueConstant === undefined) equipment.unitValueConstant = role.unitValue;
    else if (equipment.unitValueConstant !== role.unitValue)
      warnings.push(
        `${pointId}: unitValue ${role.unitValue} differs from ${equipment.unitValueConstant} declared first on ${key}; the first is used`,
      );
  }
}

/** Every point of the plan (sorted), whose samples the rollups read. */
function pointIdsOf(equipment: EquipmentPlan[]): string[] {
  const ids: string[] = [];
  for (const e of equipment) {
    for (const single of [e.state, e.idealCycleTime, e.unitValue]) if (single) ids.push(single.pointId);
    for (const list of [e.goodCounts, e.rejectCounts, e.totalCounts, e.energy, e.water])
      for (const p of list) ids.push(p.pointId);
  }
  return ids.sort(compareText);
}
