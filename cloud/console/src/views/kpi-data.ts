/**
 * What the projects and comparison views read from the collector: the demonstration projects
 * (`GET /api/v1/projects`), the KPI definitions (`GET /api/v1/kpis`) and comparisons
 * (`GET /api/v1/compare`), as browser copies of their contracts (the bundle imports nothing of the
 * collector), and how a KPI value is written in either language.
 */
import { getJson } from '../api.js';
import type { Locale } from '../i18n.js';
import type { Region } from '../live.js';

export interface LocalizedText {
  zh: string;
  en: string;
}

export type Industry = 'equipment-manufacturing' | 'automotive' | 'electronics' | 'other';
export type ManufacturingMode = 'smart-factory' | 'digital-workshop';

export interface NetworkSite {
  id: string;
  name: string;
  nameZh: string | null;
  region: Region;
  industry: Industry | null;
  mode: ManufacturingMode | null;
  city: LocalizedText | null;
}

export interface NetworkProject {
  id: string;
  name: LocalizedText | null;
  industry: Industry | null;
  summary: string | null;
  regions: Region[];
  sites: NetworkSite[];
}

export interface ProjectsAnswer {
  targets: { year: number; projects: number }[];
  counts: { inNetwork: number; configured: number };
  projects: NetworkProject[];
}

/** The KPIs the console shows, in the API's names and this order. */
export const shownKpis = [
  'oee',
  'availability',
  'output',
  'energy_per_unit',
  'water_per_unit',
  'completeness',
] as const;

export interface KpiDefinition {
  name: string;
  label: LocalizedText;
  unit: string;
  formula: string;
  reference: string;
  description: LocalizedText;
  roles: string[];
}

export type KpiValues = Partial<Record<string, number | null>>;

export interface CompareEntity {
  id: string;
  level: 'project' | 'site' | 'line' | 'equipment';
  region: string;
  project: string;
  site?: string;
  name?: string;
  values: KpiValues;
  windows: { start: number; values: KpiValues }[];
}

export interface CompareAnswer {
  from: number;
  to: number;
  window: string;
  level: CompareEntity['level'];
  kpis: string[];
  entities: CompareEntity[];
}

export const fetchProjects = (init?: RequestInit) => getJson<ProjectsAnswer>('/api/v1/projects', {}, init);

let definitions: Promise<Map<string, KpiDefinition>> | undefined;

/** The KPI definitions by name, asked once per page (they change only with the collector's version). */
export function fetchKpiDefinitions(): Promise<Map<string, KpiDefinition>> {
  definitions ??= getJson<{ kpis: KpiDefinition[] }>('/api/v1/kpis').then(
    ({ kpis }) => new Map(kpis.map((kpi) => [kpi.name, kpi])),
  );
  // A failure is not kept: the next view asks again.
  definitions.catch(() => {
    definitions = undefined;
  });
  return definitions;
}

export const fetchCompare = (params: Record<string, string | number | undefined>, init?: RequestInit) =>
  getJson<CompareAnswer>('/api/v1/compare', params, init);

/** A ratio (unit "1") is shown in percent. */
export const isRatio = (unit: string) => unit === '1';

/** The unit as written after a value or on an axis. */
export function unitText(unit: string, locale: Locale): string {
  if (isRatio(unit)) return '%';
  if (locale === 'zh') return unit.replace('pcs', '件').replace('/pc', '/件').replace('min', '分钟');
  return unit;
}

/** The number drawn in a chart: ratios in percent, others as they are. */
export function chartValue(value: number | null | undefined, unit: string): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  return isRatio(unit) ? Math.round(value * 10_000) / 100 : value;
}

/** A KPI value for a table: ratios as percent with one decimal, counts whole, others with 3 significant digits. */
export function formatKpi(value: number | null | undefined, unit: string, locale: Locale): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const tag = locale === 'zh' ? 'zh-CN' : 'en';
  if (isRatio(unit))
    return `${(value * 100).toLocaleString(tag, { minimumFractionDigits: 1, maximumFractionDigits: 1 })} %`;
  if (unit === 'pcs') return `${Math.round(value).toLocaleString(tag)} ${unitText(unit, locale)}`;
  return `${value.toLocaleString(tag, { maximumSignificantDigits: 3 })} ${unitText(unit, locale)}`;
}

export const localized = (text: LocalizedText, locale: Locale) => (locale === 'zh' ? text.zh : text.en);

export function projectNameOf(project: Pick<NetworkProject, 'id' | 'name'>, locale: Locale): string {
  return project.name ? localized(project.name, locale) : project.id;
}
