/**
 * A site's points as the console reads them: `GET /api/v1/points?site=` (what each point is) and
 * `GET /api/v1/latest?site=` (its newest sample). The browser's own copies of the collector's
 * `PointInfo` and `LatestPoint` (the bundle imports nothing of the collector).
 */
import { getJson } from './api.js';

export type Quality = 'good' | 'uncertain' | 'bad';
export type PointValue = number | boolean | string | null;

export interface PointInfo {
  pointId: string;
  line: string;
  equipment: string;
  point: string;
  protocol: string | null;
  unit: string | null;
  dataType?: string | null;
  description?: string | null;
  /** The engineering range the gateway declared; a write outside it is refused by the gateway. */
  min?: number | null;
  max?: number | null;
  /** True when the gateway's config allows commands to write the point. */
  writable?: boolean;
}

export interface LatestPoint {
  pointId: string;
  line: string;
  equipment: string;
  point: string;
  value: PointValue;
  quality: Quality;
  /** Source time of the sample, ms. */
  ts: number;
  unit?: string;
  outOfRange?: 'above-max' | 'below-min';
}

export async function fetchPoints(site: string): Promise<PointInfo[]> {
  return (await getJson<{ site: string; points: PointInfo[] }>('/api/v1/points', { site })).points;
}

export async function fetchLatest(site: string): Promise<LatestPoint[]> {
  return (await getJson<{ site: string; points: LatestPoint[] }>('/api/v1/latest', { site })).points;
}
