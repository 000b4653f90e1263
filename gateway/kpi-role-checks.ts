/**
 * The checks of KPI roles (docs/kpi-roles.md) that span points, run when the gateway config is
 * loaded: an equipment has one state, one ideal cycle time and one unit value, its count points
 * agree on their constants, and a role sits on a point whose values can carry it.
 */
import { formatPath as printed } from './common/config-loading.js';
import { type DataType, isIntegerType, type KpiRole } from './schema/index.js';

export type ConfigPath = (string | number)[];

/** A configured point that declares a role, with what the checks need to know of it. */
export interface RolePointEntry {
  /** Where the point is in the config, e.g. `['devices', 0, 'points', 3]`. */
  path: ConfigPath;
  /** `line/equipment`: roles are counted per equipment. */
  equipment: string;
  role: KpiRole;
  /** The type of the values the point publishes, when the config tells it. */
  dataType?: DataType | undefined;
}

export interface RoleIssue {
  path: ConfigPath;
  message: string;
}

/** Roles an equipment has at most one point of: two would contradict each other. */
const singleRoles = ['machine-state', 'ideal-cycle-time', 'unit-value'] as const;
/** The equipment constants a count role may give, and the role that gives the same as a point. */
const constants = { idealCycleTimeS: 'ideal-cycle-time', unitValue: 'unit-value' } as const;
type CountRole = Extract<KpiRole, { role: 'good-count' | 'total-count' }>;
const nonNumericTypes: ReadonlySet<DataType> = new Set(['bool', 'string', 'datetime']);

export function kpiRoleIssues(entries: readonly RolePointEntry[]): RoleIssue[] {
  const issues: RoleIssue[] = entries.flatMap(typeIssues);
  const byEquipment = new Map<string, RolePointEntry[]>();
  for (const entry of entries) {
    const points = byEquipment.get(entry.equipment);
    if (points) points.push(entry);
    else byEquipment.set(entry.equipment, [entry]);
  }
  for (const [equipment, points] of byEquipment) {
    for (const role of singleRoles) {
      const [first, ...others] = points.filter((p) => p.role.role === role);
      for (const other of others) {
        issues.push({
          path: [...other.path, 'kpi'],
          message: `equipment ${equipment} already has its ${role} point at ${printed((first as RolePointEntry).path)}`,
        });
      }
    }
    const counts = points.filter(
      (p): p is RolePointEntry & { role: CountRole } =>
        p.role.role === 'good-count' || p.role.role === 'total-count',
    );
    for (const [constant, pointRole] of Object.entries(constants) as [keyof typeof constants, string][]) {
      const [first, ...others] = counts.filter((p) => p.role[constant] !== undefined);
      if (!first) continue;
      for (const other of others.filter((p) => p.role[constant] !== first.role[constant])) {
        issues.push({
          path: [...other.path, 'kpi', constant],
          message: `${other.role[constant]} differs from ${first.role[constant]} at ${printed(first.path)}: one equipment has one ${constant}`,
        });
      }
      const point = points.find((p) => p.role.role === pointRole);
      if (point) {
        issues.push({
          path: [...first.path, 'kpi', constant],
          message: `equipment ${equipment} also has a ${pointRole} point at ${printed(point.path)}: keep one of the two`,
        });
      }
    }
  }
  return issues;
}

/** A role on a point whose values cannot mean what the role says. */
function typeIssues({ path, role, dataType }: RolePointEntry): RoleIssue[] {
  if (dataType === undefined) return [];
  if (role.role !== 'machine-state') {
    return nonNumericTypes.has(dataType)
      ? [{ path: [...path, 'kpi'], message: `the ${role.role} role needs a number, not a ${dataType} point` }]
      : [];
  }
  if (role.bits) {
    return isIntegerType(dataType) || dataType === 'bool'
      ? []
      : [
          {
            path: [...path, 'kpi', 'bits'],
            message: `bits need an integer or bool point, not a ${dataType} point`,
          },
        ];
  }
  // A key the point's values never spell would never match: e.g. "1" for a bool, "RUN" for an int.
  const spells =
    dataType === 'bool'
      ? (key: string) => key === 'true' || key === 'false'
      : isIntegerType(dataType)
        ? (key: string) => /^-?\d+$/.test(key)
        : () => true;
  return Object.keys(role.values ?? {})
    .filter((key) => !spells(key))
    .map((key) => ({
      path: [...path, 'kpi', 'values', key],
      message: `a ${dataType} point never reads "${key}"${dataType === 'bool' ? ': use "true" or "false"' : ''}`,
    }));
}
