/**
 * What the collector needs of a time-series store. SQLite is the only store today; InfluxDB
 * stores will implement the same interface, so every method is asynchronous.
 */
import type {
  MetadataMessage,
  PointValue,
  Protocol,
  ProtocolStatus,
  Quality,
  Region,
  StatusMessage,
  TelemetryBatch,
} from '../../gateway/schema/index.js';

export type TelemetryWrite = { outcome: 'stored'; points: number } | { outcome: 'duplicate' };

export interface RejectedMessage {
  receivedAt: number;
  topic: string;
  /** A short, bounded reason code (also a metric label). */
  reason: string;
  /** What exactly was wrong, for a human. */
  detail: string;
  payload: Buffer;
}

export interface SiteSummary {
  id: string;
  /** English name; the site id until metadata has named it. */
  name: string;
  nameZh: string | null;
  region: Region;
  project: string;
  gateway: string;
  /** True when the site's gateway last declared itself online. */
  online: boolean;
  points: number;
  lastTs: number | null;
  protocols: Protocol[];
}

export interface LatestPoint {
  pointId: string;
  line: string;
  equipment: string;
  point: string;
  value: PointValue;
  quality: Quality;
  ts: number;
  unit?: string;
  status?: ProtocolStatus;
}

export interface SeriesSample {
  ts: number;
  value: PointValue;
  quality: Quality;
}

export interface SeriesQuery {
  pointId: string;
  /** Inclusive bounds, ms. */
  from: number;
  to: number;
  /** Most samples returned, oldest first. */
  limit: number;
}

export interface Series {
  point: string;
  unit?: string;
  samples: SeriesSample[];
  /** True when more samples lie in the window than `limit`. */
  truncated: boolean;
}

export interface TelemetryStore {
  /** Stores a batch in one transaction; a batch whose gateway, boot and seq were already stored is dropped. */
  writeTelemetry(batch: TelemetryBatch, receivedAt: number): Promise<TelemetryWrite>;
  writeMetadata(message: MetadataMessage): Promise<void>;
  writeStatus(message: StatusMessage): Promise<void>;
  /** Keeps a message that could not be ingested aside, with why. */
  writeRejected(message: RejectedMessage): Promise<void>;
  /** Sites ordered by region (BJ, TJ, HE) then id. */
  listSites(): Promise<SiteSummary[]>;
  /** The newest sample of each point of a site; `undefined` for an unknown site. */
  latest(site: string): Promise<LatestPoint[] | undefined>;
  /** `undefined` for an unknown point. */
  series(query: SeriesQuery): Promise<Series | undefined>;
  /** Rejects when the store cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
