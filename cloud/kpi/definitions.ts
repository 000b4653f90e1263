/**
 * The KPIs and their definitions (ISO 22400-2:2014 and Column 2 of the source document), computed
 * from summed rollup components, and what a site lacks for each (so a `null` comes with a reason).
 *
 * Time elements, over planned rows (the site's shift calendar): APT = producing, AUST = setup,
 * ADET = down, PBT = APT + AUST + ADET, AUPT = APT + AUST. ISO 22400-2's utilization efficiency
 * (APT / AUBT) is not offered: with planned busy time taken from the observed states, AUBT = PBT and it
 * would repeat availability. Quantities and
 * meters of the output and per-unit indicators count all rows, planned or not. A ratio whose
 * denominator is 0 is null, never 0.
 */
import type { KpiRoleName } from '../../gateway/schema/index.js';
import type { Components, EquipmentPlan, SitePlan } from './model.js';

export const kpiNames = [
  'oee',
  'availability',
  'effectiveness',
  'quality_ratio',
  'technical_efficiency',
  'setup_ratio',
  'scrap_ratio',
  'mttr',
  'mtbf',
  'output',
  'energy_per_unit',
  'water_per_unit',
  'energy_per_value_added',
  'water_per_value_added',
  'completeness',
] as const;
export type KpiName = (typeof kpiNames)[number];
export type ComponentKpi = Exclude<KpiName, 'completeness'>;

/** An entity's components over a window: planned rows, all rows, and its meters after scope precedence. */
export interface EntitySums {
  planned: Components;
  all: Components;
  energyKwh: number;
  waterM3: number;
}

export interface KpiDefinition {
  /** A short name for a column or an axis, in English and Chinese. */
  label: { en: string; zh: string };
  unit: string;
  formula: string;
  /** ISO 22400-2 KPI or element, or Column 2 of the source document. */
  reference: string;
  description: { en: string; zh: string };
  /** The roles whose points feed it. */
  roles: KpiRoleName[];
}

const ISO = 'ISO 22400-2:2014';
const COLUMN_2 = 'Column 2 of the source document (专栏2, 万元工业增加值能耗/用水量)';
const stateRoles: KpiRoleName[] = ['machine-state'];
const countRoles: KpiRoleName[] = ['good-count', 'reject-count', 'total-count'];

export const kpiDefinitions: Record<KpiName, KpiDefinition> = {
  oee: {
    label: { en: 'OEE', zh: '设备综合效率' },
    unit: '1',
    formula: 'availability × effectiveness × quality_ratio',
    reference: `${ISO}, Overall equipment effectiveness index (OEE)`,
    description: {
      en: 'Overall equipment effectiveness: the share of planned busy time that made good parts at the ideal rate.',
      zh: '设备综合效率（OEE）：可用率 × 性能效率 × 质量合格率。',
    },
    roles: [...stateRoles, ...countRoles, 'ideal-cycle-time'],
  },
  availability: {
    label: { en: 'Availability', zh: '可用率' },
    unit: '1',
    formula: 'APT / PBT, PBT = APT + AUST + ADET (planned time)',
    reference: `${ISO}, Availability`,
    description: {
      en: 'Actual production time over planned busy time (producing + setup + unplanned down) in the shift calendar.',
      zh: '可用率：实际生产时间 / 计划占用时间（生产 + 换型 + 非计划停机），按班次日历计。',
    },
    roles: stateRoles,
  },
  effectiveness: {
    label: { en: 'Effectiveness', zh: '性能效率' },
    unit: '1',
    formula: 'Σ (ideal cycle time × PQ) / APT (planned time)',
    reference: `${ISO}, Effectiveness`,
    description: {
      en: 'Performance: the ideal time of the parts produced over the actual production time.',
      zh: '性能效率：生产数量的理想加工时间 / 实际生产时间。',
    },
    roles: [...stateRoles, ...countRoles, 'ideal-cycle-time'],
  },
  quality_ratio: {
    label: { en: 'Quality ratio', zh: '质量合格率' },
    unit: '1',
    formula: 'GQ / PQ (planned time)',
    reference: `${ISO}, Quality ratio`,
    description: {
      en: 'Good parts over parts produced.',
      zh: '质量合格率：合格品数量 / 生产数量。',
    },
    roles: countRoles,
  },
  technical_efficiency: {
    label: { en: 'Technical efficiency', zh: '技术效率' },
    unit: '1',
    formula: 'APT / (APT + ADET) (planned time)',
    reference: `${ISO}, Technical efficiency`,
    description: {
      en: 'Actual production time over production plus unplanned downtime (setup left out).',
      zh: '技术效率：实际生产时间 / (实际生产时间 + 非计划停机时间)。',
    },
    roles: stateRoles,
  },
  setup_ratio: {
    label: { en: 'Setup ratio', zh: '换型比率' },
    unit: '1',
    formula: 'AUST / AUPT, AUPT = APT + AUST (planned time)',
    reference: `${ISO}, Setup ratio`,
    description: {
      en: 'Setup time over actual unit processing time (production + setup).',
      zh: '换型比率：实际换型时间 / 实际加工时间（生产 + 换型）。',
    },
    roles: stateRoles,
  },
  scrap_ratio: {
    label: { en: 'Scrap ratio', zh: '废品率' },
    unit: '1',
    formula: 'SQ / PQ (planned time)',
    reference: `${ISO}, Scrap ratio`,
    description: {
      en: 'Rejected parts over parts produced.',
      zh: '废品率：废品数量 / 生产数量。',
    },
    roles: countRoles,
  },
  mttr: {
    label: { en: 'MTTR', zh: '平均修复时间' },
    unit: 'min',
    formula: 'ADET / failures (planned time; a failure is a change into down)',
    reference: `${ISO}, Mean time to restoration (MTTR)`,
    description: {
      en: 'Mean time to repair: unplanned downtime per failure.',
      zh: '平均修复时间：非计划停机时间 / 故障次数。',
    },
    roles: stateRoles,
  },
  mtbf: {
    label: { en: 'MTBF', zh: '平均故障间隔时间' },
    unit: 'min',
    formula: 'APT / failures (planned time; a failure is a change into down)',
    reference: `${ISO}, Mean operating time between failures (MTBF)`,
    description: {
      en: 'Mean time between failures: actual production time per failure.',
      zh: '平均故障间隔时间：实际生产时间 / 故障次数。',
    },
    roles: stateRoles,
  },
  output: {
    label: { en: 'Output', zh: '产量' },
    unit: 'pcs',
    formula: 'GQ (all time)',
    reference: `${ISO}, Good quantity (GQ)`,
    description: {
      en: 'Good parts made (good counters, or total − rejects).',
      zh: '产量：合格品数量（合格计数，或总数 − 废品数）。',
    },
    roles: countRoles,
  },
  energy_per_unit: {
    label: { en: 'Energy per unit', zh: '单位产品能耗' },
    unit: 'kWh/pc',
    formula: 'energy / GQ (all time)',
    reference: `${COLUMN_2}, per good part instead of per value added`,
    description: {
      en: 'Electrical energy per good part.',
      zh: '单位产品能耗：用电量 / 合格品数量（千瓦时/件）。',
    },
    roles: ['energy', ...countRoles],
  },
  water_per_unit: {
    label: { en: 'Water per unit', zh: '单位产品用水量' },
    unit: 'm³/pc',
    formula: 'water / GQ (all time)',
    reference: `${COLUMN_2}, per good part instead of per value added`,
    description: {
      en: 'Water per good part.',
      zh: '单位产品用水量：用水量 / 合格品数量（立方米/件）。',
    },
    roles: ['water', ...countRoles],
  },
  energy_per_value_added: {
    label: { en: 'Energy per value added', zh: '万元工业增加值能耗' },
    unit: 'kWh/10⁴ CNY',
    formula: 'energy / (Σ unit value × GQ / 10,000) (all time)',
    reference: COLUMN_2,
    description: {
      en: 'Energy per 10,000 CNY of value added (1 kWh = 0.1229 kgce for a figure in tonnes of standard coal).',
      zh: '万元工业增加值能耗（千瓦时/万元；1 千瓦时 = 0.1229 千克标准煤）。',
    },
    roles: ['energy', ...countRoles, 'unit-value'],
  },
  water_per_value_added: {
    label: { en: 'Water per value added', zh: '万元工业增加值用水量' },
    unit: 'm³/10⁴ CNY',
    formula: 'water / (Σ unit value × GQ / 10,000) (all time)',
    reference: COLUMN_2,
    description: {
      en: 'Water per 10,000 CNY of value added.',
      zh: '万元工业增加值用水量（立方米/万元）。',
    },
    roles: ['water', ...countRoles, 'unit-value'],
  },
  completeness: {
    label: { en: 'Data completeness', zh: '数据完整率' },
    unit: '1',
    formula: 'batches received / batches numbered by the gateways',
    reference: 'data quality of the collector (not an ISO 22400 KPI)',
    description: {
      en: "The share of the site's gateway batches that arrived.",
      zh: '数据完整率：收到的批次 / 网关编号的批次。',
    },
    roles: [],
  },
};

const ratio = (numerator: number, denominator: number): number | null =>
  denominator > 0 ? numerator / denominator : null;
const product = (...factors: (number | null)[]): number | null =>
  factors.some((f) => f === null) ? null : factors.reduce<number>((a, f) => a * (f as number), 1);

const MINUTE_MS = 60_000;
/** Value added is compared per 10,000 CNY (万元). */
const VALUE_UNIT_CNY = 10_000;

/** Every KPI but completeness (which comes from the batch sequence) from an entity's sums. */
export function kpiValuesOf(sums: EntitySums): Record<ComponentKpi, number | null> {
  const { planned, all } = sums;
  const apt = planned.producingMs;
  const aust = planned.setupMs;
  const adet = planned.downMs;
  const pbt = apt + aust + adet;
  const availability = ratio(apt, pbt);
  const effectiveness = ratio(planned.idealMs, apt);
  const quality = ratio(planned.goodQty, planned.producedQty);
  const valueAdded = all.valueAdded / VALUE_UNIT_CNY;
  return {
    oee: product(availability, effectiveness, quality),
    availability,
    effectiveness,
    quality_ratio: quality,
    technical_efficiency: ratio(apt, apt + adet),
    setup_ratio: ratio(aust, apt + aust),
    scrap_ratio: ratio(planned.scrapQty, planned.producedQty),
    mttr: ratio(adet / MINUTE_MS, planned.failures),
    mtbf: ratio(apt / MINUTE_MS, planned.failures),
    output: all.goodQty,
    energy_per_unit: ratio(sums.energyKwh, all.goodQty),
    water_per_unit: ratio(sums.waterM3, all.goodQty),
    energy_per_value_added: ratio(sums.energyKwh, valueAdded),
    water_per_value_added: ratio(sums.waterM3, valueAdded),
  };
}

/** Which part of a site an explanation is about: the whole site, a line, or one equipment. */
export interface EntityScope {
  line?: string;
  equipment?: string;
}

const isProduction = (e: EquipmentPlan) =>
  e.state !== undefined ||
  e.goodCounts.length + e.rejectCounts.length + e.totalCounts.length > 0 ||
  e.idealCycleTime !== undefined ||
  e.unitValue !== undefined;

/**
 * The roles an entity of the site lacks for `kpi` to be computed, as sentences (empty when nothing
 * is missing; a KPI can still be null for want of data, e.g. no failure for MTTR).
 */
export function missingRoles(plan: SitePlan, kpi: KpiName, scope: EntityScope = {}): string[] {
  const equipment = plan.equipment.filter(
    (e) =>
      (scope.line === undefined || e.line === scope.line) &&
      (scope.equipment === undefined || e.equipment === scope.equipment),
  );
  const where =
    scope.equipment !== undefined
      ? `${scope.line}/${scope.equipment}`
      : scope.line !== undefined
        ? `line ${scope.line}`
        : `site ${plan.site}`;
  const machines = equipment.filter(isProduction);
  const missing: string[] = [];
  const perMachine = (needs: ((e: EquipmentPlan) => string | undefined)[], what: string) => {
    if (machines.length === 0) {
      missing.push(`${where}: no equipment has ${what}`);
      return;
    }
    for (const e of machines)
      for (const need of needs) {
        const lacking = need(e);
        if (lacking) missing.push(`${e.line}/${e.equipment}: needs ${lacking}`);
      }
  };
  const state = (e: EquipmentPlan) => (e.state ? undefined : 'a machine-state point');
  const produced = (e: EquipmentPlan) =>
    e.totalCounts.length + e.goodCounts.length > 0 ? undefined : 'a good-count or total-count point';
  const rejects = (e: EquipmentPlan) =>
    e.rejectCounts.length > 0 || (e.goodCounts.length > 0 && e.totalCounts.length > 0) || produced(e)
      ? undefined
      : 'a reject-count point (or both good-count and total-count); without it every part counts as good';
  const idealCycle = (e: EquipmentPlan) =>
    e.idealCycleTime || e.idealCycleTimeS !== undefined
      ? undefined
      : 'an ideal-cycle-time point or idealCycleTimeS on its count role';
  const unitValue = (e: EquipmentPlan) =>
    e.unitValue || e.unitValueConstant !== undefined
      ? undefined
      : 'a unit-value point or unitValue on its count role';
  const meter = (kind: 'energy' | 'water') => {
    const fits = (e: EquipmentPlan) =>
      e.energy
        .concat(e.water)
        .some(
          (p) =>
            p.role.role === kind &&
            (scope.equipment !== undefined
              ? p.role.scope === 'equipment'
              : scope.line !== undefined
                ? p.role.scope !== 'site'
                : true),
        );
    if (!equipment.some(fits))
      missing.push(
        `${where}: needs ${kind === 'energy' ? 'an energy' : 'a water'} point${
          scope.equipment !== undefined
            ? ' of scope equipment'
            : scope.line !== undefined
              ? ' of scope line or equipment on the line'
              : ''
        }`,
      );
  };
  switch (kpi) {
    case 'availability':
    case 'technical_efficiency':
    case 'setup_ratio':
    case 'mttr':
    case 'mtbf':
      perMachine([state], 'a machine-state point');
      break;
    case 'effectiveness':
      perMachine([state, produced, idealCycle], 'a machine-state point');
      break;
    case 'oee':
      perMachine([state, produced, rejects, idealCycle], 'a machine-state point');
      break;
    case 'quality_ratio':
    case 'scrap_ratio':
      perMachine([produced, rejects], 'a count point');
      break;
    case 'output':
      perMachine([produced], 'a good-count or total-count point');
      break;
    case 'energy_per_unit':
    case 'water_per_unit':
      meter(kpi === 'energy_per_unit' ? 'energy' : 'water');
      perMachine([produced], 'a good-count or total-count point');
      break;
    case 'energy_per_value_added':
    case 'water_per_value_added':
      meter(kpi === 'energy_per_value_added' ? 'energy' : 'water');
      perMachine([produced, unitValue], 'a good-count or total-count point');
      break;
    case 'completeness':
      break;
  }
  return missing;
}
