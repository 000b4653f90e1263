/**
 * What the collector needs of a time-series store: the embedded SQLite store and the InfluxDB
 * stores (samples in InfluxDB, registry in an SQLite catalog) implement the same interface.
 */
import type {
  DataType,
  KpiRole,
  MetadataMessage,
  PointMetadata,
  PointValue,
  Protocol,
  ProtocolStatus,
  Quality,
  Region,
  StatusMessage,
  TelemetryBatch,
} from '../../gateway/schema/index.js';
import type { AggregatedSample, AggregateFunction } from '../aggregate.js';
import { CollectorError } from '../errors.js';
import type { RollupColumns, RollupRow, ScalarSeries } from '../kpi/model.js';
import type { Accounts } from './account-table.js';
import type { CommandLog } from './command-table.js';

/**
 * A batch as the store takes it. Without `gateway.seq` (Sparkplug B carries none) there is no batch
 * dedupe or gap tracking; a replayed sample still overwrites itself by point and timestamp.
 */
export type IncomingBatch = Omit<TelemetryBatch, 'gateway'> & {
  gateway: { id: string; boot: number; seq?: number };
};

/**
 * A point's metadata as the store takes it: the wire contract's, or that of a Sparkplug node of another
 * vendor, which has no jjj protocol, may name its unit in text (`gal/min`) and keeps its original name.
 */
export type IncomingPointMetadata = Omit<PointMetadata, 'protocol' | 'address'> & {
  protocol?: Protocol;
  address?: string;
  /** The Sparkplug address the point came from: `group/edge node/device/metric`, as the node names them. */
  sourceName?: string;
};

export type IncomingMetadata = Omit<MetadataMessage, 'points'> & { points: IncomingPointMetadata[] };

/** What ingest hands a store: a telemetry batch (JSON or Sparkplug), point metadata or a gateway status. */
export type IncomingMessage = IncomingBatch | IncomingMetadata | StatusMessage;

/**
 * A store refusing the data itself (e.g. InfluxDB answering 400 to a field type conflict): retrying
 * cannot help, so ingest dead-letters the message. Any other error a store throws is retried.
 */
export class StoreRefusedError extends CollectorError {
  constructor(message: string, options?: ErrorOptions) {
    super('STORE_REFUSED', message, options);
  }
}

/**
 * A numeric sample outside its point's declared `min`/`max` (metadata): the value is kept, its
 * quality lowered from good to uncertain (OPC UA's Uncertain_EngineeringUnitsExceeded) and marked.
 */
export type OutOfRange = 'above-max' | 'below-min';

/** A sample as the store keeps it: as received, with the range judgement the store made. */
export type StoredSample = IncomingBatch['points'][number] & { outOfRange?: OutOfRange };

export type TelemetryWrite =
  /**
   * `missingBefore`: batches of this gateway's sequence skipped since the newest one held;
   * `filledGap`: this batch is one of those, arriving late (e.g. through another collector of a
   * shared subscription); `outOfRange`: samples outside their point's declared range.
   */
  | { outcome: 'stored'; points: number; missingBefore: number; filledGap: boolean; outOfRange: number }
  | { outcome: 'duplicate' };

/** Who a site belongs to in the registry: the first claim (or the configured owner) and the gateway last speaking for it. */
export interface SiteOwner {
  region: Region;
  project: string;
  gateway: string;
}

/** Where a gateway's record stands, for judging whether a message's boot and seq are possible. */
export interface GatewayPosition {
  boot: number;
  /** Newest seq of `boot`; null when none arrived in this boot yet. */
  lastSeq: number | null;
  lastSeen: number | null;
  /**
   * Newest seq stored for the boot asked about when it is older than `boot` (a replay); null when
   * none, and for the current or a newer boot (read only when needed: `lastSeq` covers the current one).
   */
  topSeqOfAskedBoot: number | null;
}

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

/** How many of a site's points have a newest sample of bad or of uncertain quality. */
export interface SiteQualityCounts {
  bad: number;
  uncertain: number;
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
  outOfRange?: OutOfRange;
}

export interface SeriesSample {
  ts: number;
  value: PointValue;
  quality: Quality;
  outOfRange?: OutOfRange;
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

/** One value per window of `windowMs`; the store computes it, never the collector from raw samples. */
export interface AggregateQuery extends SeriesQuery {
  fn: AggregateFunction;
  windowMs: number;
  /** Most samples of the point the store may read; more throws `QueryRefusedError`. */
  maxSamples: number;
}

export interface AggregatedSeries {
  point: string;
  unit?: string;
  samples: AggregatedSample[];
  /** True when more windows hold samples than `limit`. */
  truncated: boolean;
}

export interface DeadLetter {
  id: number;
  receivedAt: number;
  topic: string;
  reason: string;
  detail: string;
  /** The payload's first bytes as text (at most 1 KiB), and its full size. */
  payloadPreview: string;
  payloadSize: number;
}

export interface DeadLetterQuery {
  reason?: string;
  limit: number;
}

export interface GatewaySummary {
  id: string;
  site: string;
  state: 'online' | 'offline' | null;
  boot: number;
  lastSeq: number | null;
  lastSeen: number | null;
  batches: number;
  /** Sequence numbers never received, over every boot. */
  missingBatches: number;
}

/** A run of sequence numbers of one boot that never arrived, inclusive. */
export interface SequenceGap {
  boot: number;
  fromSeq: number;
  toSeq: number;
}

/** A gateway's gaps, newest first, at most the limit asked. */
export interface SequenceGaps {
  gaps: SequenceGap[];
  /** True when it has more gaps than were returned. */
  truncated: boolean;
}

export interface PointInfo {
  pointId: string;
  line: string;
  equipment: string;
  point: string;
  protocol: Protocol | null;
  unit: string | null;
  /** As the gateway's metadata declared; `null` when it did not (or the point was learned from telemetry). */
  dataType: DataType | null;
  description: string | null;
  /** The declared engineering range; the gateway refuses a write outside it. */
  min: number | null;
  max: number | null;
  /** True when the gateway's config lets commands write the point; false when it did not say. */
  writable: boolean;
  /** What the point means for the KPIs, as its metadata declared. */
  kpi?: KpiRole;
  /** For a point of another vendor's Sparkplug node: its original `group/edge node/device/metric`. */
  sourceName?: string;
}

/**
 * Where a site's rollups stand. Every telemetry write lowers `dirtyFrom` to its oldest sample and
 * raises `newestTs`; the rollup job takes `dirtyFrom` and moves `cursor` (rows before it are final,
 * unless late data lowers `dirtyFrom` below it).
 */
export interface RollupState {
  site: string;
  /** Newest sample time of the site (any point). */
  newestTs: number;
  /** Oldest sample time written since the job last took it; null when nothing was. */
  dirtyFrom: number | null;
  /** Minute from which the job recomputes next; null before its first run. */
  cursor: number | null;
}

export interface RollupQuery {
  sites: string[];
  /** Inclusive bounds on the rows' start, ms. */
  from: number;
  to: number;
  /**
   * Rows are summed per (site, line, equipment, planned) into windows of this length, aligned to
   * multiples of it since the epoch: read from hour rows when it is a whole number of hours, else from
   * minute rows.
   */
  windowMs: number;
  /**
   * `line`: summed over each line's equipment too (rows with `equipment` ''), for the project, site and
   * line levels: a fraction of the rows to read and hand over. Default `equipment`.
   */
  by?: 'line' | 'equipment';
}

/** Batches a site's gateway numbered (first to last seq per boot) versus those that arrived. */
export interface Completeness {
  expectedBatches: number;
  receivedBatches: number;
}

/** A site's completeness over a range and over each window of it that had batches. */
export interface WindowedCompleteness {
  total: Completeness;
  /** By window start; a window without batches is absent. */
  windows: Map<number, Completeness>;
}

export interface TelemetryStore {
  /** Stores a batch in one transaction; a batch whose gateway, boot and seq were already stored is dropped. */
  writeTelemetry(batch: IncomingBatch, receivedAt: number): Promise<TelemetryWrite>;
  writeMetadata(message: IncomingMetadata): Promise<void>;
  writeStatus(message: StatusMessage): Promise<void>;
  /** Keeps a message that could not be ingested aside, with why. */
  writeRejected(message: RejectedMessage): Promise<void>;
  /** Sites ordered by region (BJ, TJ, HE) then id. */
  listSites(): Promise<SiteSummary[]>;
  /** The newest sample of each point of a site; `undefined` for an unknown site. */
  latest(site: string): Promise<LatestPoint[] | undefined>;
  /**
   * Per site, its points whose newest sample is bad or uncertain (one grouped read of the latest
   * values); a site with none of either is absent.
   */
  qualityCounts(): Promise<Map<string, SiteQualityCounts>>;
  /** `undefined` for an unknown point. */
  series(query: SeriesQuery): Promise<Series | undefined>;
  /** `undefined` for an unknown point; throws `QueryRefusedError` over a limit. */
  aggregateSeries(query: AggregateQuery): Promise<AggregatedSeries | undefined>;
  /**
   * Good-quality scalar samples (numbers, booleans, texts) of each point in [from, to], oldest first;
   * points without samples are left out. More than `maxSamples` in all throws `QueryRefusedError`.
   */
  scalarSamplesOf(
    pointIds: string[],
    from: number,
    to: number,
    maxSamples: number,
  ): Promise<Map<string, ScalarSeries>>;
  /** Every site's rollup state (sites that have samples). */
  rollupStates(): Promise<RollupState[]>;
  /**
   * Reads and clears a site's `dirtyFrom` at once (null when nothing was written since), lowering its
   * `cursor` to the minute of it in the same step, so the recompute it asks for survives a restart.
   */
  takeRollupDirty(site: string): Promise<number | null>;
  setRollupCursor(site: string, cursor: number): Promise<void>;
  /**
   * Replaces the site's minute rows starting in [from, to] with `rows` (all minute rows of that site
   * and range), then rewrites its hour rows of the hours those minutes touch from the minute rows.
   */
  writeRollups(site: string, from: number, to: number, rows: RollupRow[]): Promise<void>;
  /**
   * Rollup rows summed into the query's windows, as columns: one `RollupColumns` per site asked, in
   * its order. Throws `QueryRefusedError` past the query time limit.
   */
  readRollupColumns(query: RollupQuery): Promise<RollupColumns[]>;
  /**
   * Deletes minute rows (KPI and batch rollups) that start before `before` (hour rows are kept).
   * Answers the KPI minute rows deleted.
   */
  pruneMinuteRollups(before: number): Promise<number>;
  /** The point registry of a site; `undefined` for an unknown site. */
  points(site: string): Promise<PointInfo[] | undefined>;
  gateways(): Promise<GatewaySummary[]>;
  gaps(gateway: string, limit: number): Promise<SequenceGaps>;
  /** Over batches sent in [from, to]; `undefined` for an unknown site. */
  completeness(site: string, from: number, to: number): Promise<Completeness | undefined>;
  /**
   * `completeness` of each site (zero counts for one without batches) over [from, to] and over each
   * window of it, from the batch rollups: windows of whole minutes, the range whole windows aligned to
   * multiples of `windowMs`; minute windows only where minute rows are kept (`pruneMinuteRollups`).
   * Throws `QueryRefusedError` past the query time limit.
   */
  completenessWindows(
    sites: string[],
    from: number,
    to: number,
    windowMs: number,
  ): Promise<Map<string, WindowedCompleteness>>;
  /** Newest first. */
  deadLetters(query: DeadLetterQuery): Promise<DeadLetter[]>;
  /** API users, tokens and sessions (in the catalog, whatever holds the samples). */
  readonly accounts: Accounts;
  /** Commands sent to gateways and their outcome. */
  readonly commandLog: CommandLog;
  /** The registered owner of a site; `undefined` for a site never seen. */
  siteOwner(site: string): Promise<SiteOwner | undefined>;
  /** The gateway's record, with the newest seq of `boot` when that is an older boot; `undefined` for a gateway never seen. */
  gatewayPosition(gateway: string, boot: number): Promise<GatewayPosition | undefined>;
  /** Rejects when the store cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
