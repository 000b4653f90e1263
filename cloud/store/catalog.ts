/**
 * The catalog every store keeps in SQLite: the registry (sites, gateways, points), batch dedupe and
 * gaps, latest values and dead letters. A store is this catalog plus a place for samples: the
 * embedded store's `samples` table (written in the catalog's own transaction), or InfluxDB.
 */
import type Database from 'better-sqlite3';
import { pointId, type StatusMessage } from '../../gateway/schema/index.js';
import type { AggregatedSample } from '../aggregate.js';
import type { RollupColumns, RollupRow, ScalarSeries } from '../kpi/model.js';
import type { StoreReader } from '../query/store-reader.js';
import { AccountTable } from './account-table.js';
import { completenessReadTask, decodeCompleteness } from './batch-rollups.js';
import { CommandTable } from './command-table.js';
import { DeadLetterTable } from './dead-letters.js';
import { LatestCache } from './latest-cache.js';
import { RegistryQueries } from './registry-queries.js';
import { registryStatements, siteRowOf } from './registry-writes.js';
import { decodeRollupColumns, type ReplacedRollups, RollupTable, rollupReadTask } from './rollup-table.js';
import type {
  AggregatedSeries,
  AggregateQuery,
  Completeness,
  DeadLetter,
  DeadLetterQuery,
  GatewayPosition,
  GatewaySummary,
  IncomingBatch,
  IncomingMetadata,
  LatestPoint,
  OutOfRange,
  PointInfo,
  RejectedMessage,
  RollupQuery,
  RollupState,
  SequenceGaps,
  Series,
  SeriesQuery,
  SeriesSample,
  SiteOwner,
  SiteQualityCounts,
  SiteSummary,
  StoredSample,
  TelemetryStore,
  TelemetryWrite,
  WindowedCompleteness,
} from './store.js';

/** Where a store keeps samples written in the catalog's telemetry transaction. */
export interface SampleSink {
  insert(pointId: string, sample: StoredSample): void;
}

/** A point's declared range (metadata `min`/`max`). */
interface PointRange {
  min: number | null;
  max: number | null;
}

function outOfRangeOf(value: unknown, range: PointRange): OutOfRange | undefined {
  if (typeof value !== 'number') return undefined;
  if (range.max !== null && value > range.max) return 'above-max';
  if (range.min !== null && value < range.min) return 'below-min';
  return undefined;
}

interface QueuedTelemetry {
  batch: IncomingBatch;
  receivedAt: number;
  /** The samples already carry their range judgement (`judgeBatch`). */
  judged: boolean;
  resolve: (written: TelemetryWrite) => void;
  reject: (error: unknown) => void;
}

export abstract class SqliteCatalog implements TelemetryStore {
  private readonly statements: ReturnType<typeof registryStatements>;
  private readonly queries: RegistryQueries;
  private readonly latestValues: LatestCache;
  private readonly rejected: DeadLetterTable;
  private readonly rollups: RollupTable;
  readonly accounts: AccountTable;
  readonly commandLog: CommandTable;
  // Written with `.immediate` so instances sharing the file queue on the write lock instead of failing.
  private readonly writeTelemetryTx: Database.Transaction<
    (group: readonly QueuedTelemetry[]) => TelemetryWrite[]
  >;
  private readonly writeMetadataTx: Database.Transaction<(message: IncomingMetadata) => void>;
  private readonly writeStatusTx: Database.Transaction<(message: StatusMessage) => void>;
  /** Batches waiting for the next group commit (at the next turn of the event loop). */
  private queuedTelemetry: QueuedTelemetry[] = [];
  /** Point ids this instance knows are in `points`, so a batch skips re-inserting them. */
  private readonly knownPoints = new Set<string>();
  /** Point ids the transaction in progress inserted: known once it commits. */
  private knownAfterCommit: string[] = [];
  /** Declared ranges of the points that have one, by point id (from metadata). */
  private readonly ranges = new Map<string, PointRange>();

  /**
   * `reader`: where heavy reads of the file run (rollups, and the embedded store's samples);
   * `samples`: where the store keeps samples in the same transaction; none when they live elsewhere.
   */
  constructor(
    private readonly db: Database.Database,
    protected readonly reader: StoreReader,
    samples?: SampleSink,
  ) {
    const s = registryStatements(db);
    this.statements = s;
    this.queries = new RegistryQueries(db);
    this.latestValues = new LatestCache(db);
    this.rejected = new DeadLetterTable(db);
    this.rollups = new RollupTable(db);
    this.accounts = new AccountTable(db);
    this.commandLog = new CommandTable(db);
    for (const row of s.pointRanges.all()) {
      this.ranges.set(row.point_id, { min: row.min_value, max: row.max_value });
    }

    // One transaction for every batch of a group: each batch is deduped and its gap counted in
    // order; each point's newest sample waits for the next `latest` update.
    this.writeTelemetryTx = db.transaction((group: readonly QueuedTelemetry[]): TelemetryWrite[] =>
      group.map(({ batch, receivedAt, judged }): TelemetryWrite => {
        const { id: gateway, boot, seq } = batch.gateway;
        let missingBefore = 0;
        let filledGap = false;
        if (seq !== undefined) {
          const isNew = s.insertBatch.run({
            gateway,
            boot,
            seq,
            receivedAt,
            points: batch.points.length,
            historical: batch.historical ? 1 : 0,
            sentTs: batch.sentTs,
          });
          if (isNew.changes === 0) return { outcome: 'duplicate' };
          s.countBatch.run({ gateway, boot, seq, sentTs: batch.sentTs });
          filledGap = this.countBootBatch(gateway, boot, seq);
          const held = s.gatewayPosition.get(gateway);
          const newestSeq =
            held === undefined || held.boot < boot ? -1 : held.boot > boot ? seq : (held.last_seq ?? -1);
          missingBefore = Math.max(0, seq - newestSeq - 1);
        }
        s.upsertSite.run(siteRowOf(batch));
        if (seq !== undefined) s.gatewaySeen.run({ gateway, site: batch.site, boot, seq, receivedAt });
        else s.gatewayTouched.run({ gateway, site: batch.site, boot, receivedAt });
        let outOfRange = 0;
        let oldest = Number.POSITIVE_INFINITY;
        let newest = Number.NEGATIVE_INFINITY;
        for (const received of batch.points) {
          oldest = Math.min(oldest, received.ts);
          newest = Math.max(newest, received.ts);
          const id = pointId(batch.site, received);
          const sample: StoredSample = judged ? received : this.judgeRange(id, received);
          if (sample.outOfRange) outOfRange++;
          if (!this.knownPoints.has(id)) {
            s.ensurePoint.run({
              pointId: id,
              site: batch.site,
              line: received.line,
              equipment: received.equipment,
              point: received.point,
            });
            this.knownAfterCommit.push(id);
          }
          samples?.insert(id, sample);
          this.latestValues.stage(id, batch.site, sample);
        }
        // The rollup job recomputes from the oldest sample a stored batch brought.
        if (batch.points.length > 0) this.rollups.markWritten(batch.site, oldest, newest);
        return { outcome: 'stored', points: batch.points.length, missingBefore, filledGap, outOfRange };
      }),
    );

    this.writeMetadataTx = db.transaction((message: IncomingMetadata) => {
      s.upsertSite.run(siteRowOf(message));
      s.nameSite.run({ site: message.site, en: message.siteName.en, zh: message.siteName.zh });
      for (const point of message.points) {
        s.upsertPoint.run({
          pointId: pointId(message.site, point),
          site: message.site,
          line: point.line,
          equipment: point.equipment,
          point: point.point,
          protocol: point.protocol ?? null,
          address: point.address ?? null,
          dataType: point.dataType ?? null,
          unit: point.unit ?? null,
          description: point.description ?? null,
          min: point.min ?? null,
          max: point.max ?? null,
          kpiRole: point.kpi ? JSON.stringify(point.kpi) : null,
          writable: point.writable === undefined ? null : point.writable ? 1 : 0,
          sourceName: point.sourceName ?? null,
        });
      }
    });

    this.writeStatusTx = db.transaction((message: StatusMessage) => {
      s.upsertSite.run(siteRowOf(message));
      s.gatewayState.run({
        gateway: message.gateway.id,
        site: message.site,
        state: message.state,
        ts: message.ts,
        boot: message.gateway.boot,
      });
    });
  }

  abstract series(query: SeriesQuery): Promise<Series | undefined>;
  abstract aggregateSeries(query: AggregateQuery): Promise<AggregatedSeries | undefined>;
  abstract scalarSamplesOf(
    pointIds: string[],
    from: number,
    to: number,
    maxSamples: number,
  ): Promise<Map<string, ScalarSeries>>;

  /**
   * Batches written concurrently (several MQTT connections, one InfluxDB request's worth) are
   * committed together at the next turn of the event loop: one transaction, and `latest` updated
   * once per point instead of once per batch. Each caller still learns its own outcome.
   */
  writeTelemetry(batch: IncomingBatch, receivedAt: number): Promise<TelemetryWrite> {
    return this.queueTelemetry(batch, receivedAt, false);
  }

  /** `writeTelemetry` of a batch `judgeBatch` gave: its samples are not judged again. */
  protected writeJudgedTelemetry(batch: IncomingBatch, receivedAt: number): Promise<TelemetryWrite> {
    return this.queueTelemetry(batch, receivedAt, true);
  }

  private queueTelemetry(batch: IncomingBatch, receivedAt: number, judged: boolean): Promise<TelemetryWrite> {
    return new Promise((resolve, reject) => {
      this.queuedTelemetry.push({ batch, receivedAt, judged, resolve, reject });
      if (this.queuedTelemetry.length === 1) setImmediate(() => this.commitQueuedTelemetry());
    });
  }

  private commitQueuedTelemetry(): void {
    const group = this.queuedTelemetry;
    if (group.length === 0) return;
    this.queuedTelemetry = [];
    try {
      const results = this.commitGroup(group);
      for (const [index, queued] of group.entries()) queued.resolve(results[index] as TelemetryWrite);
    } catch (error) {
      if (group.length === 1) {
        group[0]?.reject(error);
        return;
      }
      // One batch must not fail the others: alone, each succeeds or fails on its own account.
      for (const queued of group) {
        try {
          queued.resolve(this.commitGroup([queued])[0] as TelemetryWrite);
        } catch (alone) {
          queued.reject(alone);
        }
      }
    }
  }

  /** Ids and newest samples only count once their transaction committed. */
  private commitGroup(group: readonly QueuedTelemetry[]): TelemetryWrite[] {
    try {
      const written = this.writeTelemetryTx.immediate(group);
      for (const id of this.knownAfterCommit) this.knownPoints.add(id);
      this.latestValues.committed();
      return written;
    } catch (error) {
      this.latestValues.rolledBack();
      throw error;
    } finally {
      this.knownAfterCommit = [];
    }
  }

  async writeMetadata(message: IncomingMetadata): Promise<void> {
    this.writeMetadataTx.immediate(message);
    for (const point of message.points) {
      const id = pointId(message.site, point);
      if (point.min === undefined && point.max === undefined) this.ranges.delete(id);
      else this.ranges.set(id, { min: point.min ?? null, max: point.max ?? null });
    }
  }

  /** The batch with each sample as it will be stored (see `judgeRange`); the same object when none is out of range. */
  protected judgeBatch(batch: IncomingBatch): IncomingBatch {
    if (this.ranges.size === 0) return batch;
    const points = batch.points.map((sample) => this.judgeRange(pointId(batch.site, sample), sample));
    return points.some((sample, index) => sample !== batch.points[index]) ? { ...batch, points } : batch;
  }

  /**
   * The sample as stored: a number outside its point's declared range keeps its value, is marked,
   * and a good quality becomes uncertain (OPC UA: Uncertain_EngineeringUnitsExceeded).
   */
  protected judgeRange(id: string, sample: StoredSample): StoredSample {
    const range = this.ranges.get(id);
    const outOfRange = range && outOfRangeOf(sample.value, range);
    if (!outOfRange) return sample;
    return { ...sample, quality: sample.quality === 'good' ? 'uncertain' : sample.quality, outOfRange };
  }

  async writeStatus(message: StatusMessage): Promise<void> {
    this.writeStatusTx.immediate(message);
  }

  async writeRejected(message: RejectedMessage): Promise<void> {
    this.rejected.write(message);
  }

  /**
   * A new batch of a boot: a seq past the highest one opens a gap before it; a late one splits the gap it
   * fills (and the answer is true). Inside the batch's transaction.
   */
  private countBootBatch(gateway: string, boot: number, seq: number): boolean {
    const s = this.statements;
    const top = s.bootTop.get(gateway, boot)?.top ?? -1;
    s.countBootBatch.run({ gateway, boot, seq });
    if (seq > top + 1) s.insertGap.run({ gateway, boot, from: top + 1, to: seq - 1 });
    if (seq >= top) return false;
    const gap = s.gapHolding.get(gateway, boot, seq);
    if (!gap || gap.to_seq < seq) return false;
    s.deleteGap.run(gateway, boot, gap.from_seq);
    if (gap.from_seq < seq) s.insertGap.run({ gateway, boot, from: gap.from_seq, to: seq - 1 });
    if (seq < gap.to_seq) s.insertGap.run({ gateway, boot, from: seq + 1, to: gap.to_seq });
    return true;
  }

  /** True when the batch was stored before (by this or another instance sharing the file). */
  hasBatch(gateway: string, boot: number, seq: number): boolean {
    return this.statements.hasBatch.get(gateway, boot, seq) !== undefined;
  }

  async listSites(): Promise<SiteSummary[]> {
    this.latestValues.flush();
    return this.queries.sites();
  }

  async latest(site: string): Promise<LatestPoint[] | undefined> {
    return this.queries.siteExists(site) ? this.latestValues.of(site) : undefined;
  }

  async qualityCounts(): Promise<Map<string, SiteQualityCounts>> {
    return this.latestValues.qualityCounts();
  }

  async points(site: string): Promise<PointInfo[] | undefined> {
    return this.queries.points(site);
  }

  async gateways(): Promise<GatewaySummary[]> {
    return this.queries.gateways();
  }

  async gaps(gateway: string, limit: number): Promise<SequenceGaps> {
    return this.queries.gaps(gateway, limit);
  }

  async completeness(site: string, from: number, to: number): Promise<Completeness | undefined> {
    return this.queries.completeness(site, from, to);
  }

  /** The sites split over the read threads, read at once, from the batch rollups. */
  async completenessWindows(
    sites: string[],
    from: number,
    to: number,
    windowMs: number,
  ): Promise<Map<string, WindowedCompleteness>> {
    const read = await Promise.all(
      this.shares(sites).map(async (part) =>
        decodeCompleteness(
          part,
          await this.reader.read(completenessReadTask(part, from, to, windowMs), 'maxSamplesPerQuery'),
        ),
      ),
    );
    return new Map(read.flatMap((part) => [...part]));
  }

  async deadLetters(query: DeadLetterQuery): Promise<DeadLetter[]> {
    return this.rejected.newest(query);
  }

  async siteOwner(site: string): Promise<SiteOwner | undefined> {
    return this.statements.siteOwner.get(site);
  }

  async gatewayPosition(gateway: string, boot: number): Promise<GatewayPosition | undefined> {
    const held = this.statements.positionFor.get({ gateway, boot });
    if (!held) return undefined;
    return {
      boot: held.boot,
      lastSeq: held.last_seq,
      lastSeen: held.last_seen,
      topSeqOfAskedBoot: held.top_of_older_boot,
    };
  }

  async rollupStates(): Promise<RollupState[]> {
    return this.rollups.states();
  }

  async takeRollupDirty(site: string): Promise<number | null> {
    return this.rollups.takeDirty(site);
  }

  async setRollupCursor(site: string, cursor: number): Promise<void> {
    this.rollups.setCursor(site, cursor);
  }

  async writeRollups(site: string, from: number, to: number, rows: RollupRow[]): Promise<void> {
    this.replaceRollups(site, from, to, rows, false);
  }

  /** `writeRollups` in the catalog; with `copy`, answers what to copy where rows can only be overwritten. */
  protected replaceRollups(
    site: string,
    from: number,
    to: number,
    rows: RollupRow[],
    copy: boolean,
  ): ReplacedRollups {
    return this.rollups.replace(site, from, to, rows, copy);
  }

  /** The sites split over the read threads, read at once. */
  async readRollupColumns(query: RollupQuery): Promise<RollupColumns[]> {
    const read = await Promise.all(
      this.shares(query.sites).map(async (sites) => {
        const part = { ...query, sites };
        return decodeRollupColumns(part, await this.reader.read(rollupReadTask(part), 'maxSamplesPerQuery'));
      }),
    );
    return read.flat();
  }

  /** `sites` in as many parts as there are read threads. */
  private shares(sites: string[]): string[][] {
    const share = Math.ceil(sites.length / this.reader.threads);
    const parts: string[][] = [];
    for (let at = 0; at < sites.length; at += share) parts.push(sites.slice(at, at + share));
    return parts;
  }

  /** The batch rollups' minute rows go with the KPI minute rows (the same retention). */
  async pruneMinuteRollups(before: number): Promise<number> {
    this.statements.pruneBatchMinutes.run(before);
    return this.rollups.prune(before);
  }

  /**
   * For `jjj-collector rollups rebuild`: marks `site` (every site without one) for recomputing from
   * `from`, by default from its oldest hour row; the rollup job does the work. Answers the sites marked.
   */
  async markRollupsForRebuild(site?: string, from?: number): Promise<{ site: string; from: number }[]> {
    return this.rollups.markForRebuild(site, from);
  }

  async ping(): Promise<void> {
    this.statements.ping.get();
  }

  async close(): Promise<void> {
    await this.reader.close();
    // Writes already queued are committed, not dropped, before the file closes.
    if (this.db.open) this.commitQueuedTelemetry();
    if (this.db.open) this.latestValues.flush();
    if (this.db.open) this.db.close();
  }

  /** Aggregated windows of a known point from those `read` gives (asked for one more than the limit, to tell truncation). */
  protected async aggregatedFrom(
    query: AggregateQuery,
    read: (maxWindows: number) => Promise<AggregatedSample[]>,
  ): Promise<AggregatedSeries | undefined> {
    const unit = this.queries.pointUnit(query.pointId);
    if (unit === undefined) return undefined;
    const windows = await read(query.limit + 1);
    return {
      point: query.pointId,
      ...(unit !== null && { unit }),
      samples: windows.slice(0, query.limit),
      truncated: windows.length > query.limit,
    };
  }

  /** A series of a known point from samples `read` gives (asked for one more than the limit, to tell truncation). */
  protected async seriesFrom(
    query: SeriesQuery,
    read: (limit: number) => SeriesSample[] | Promise<SeriesSample[]>,
  ): Promise<Series | undefined> {
    const unit = this.queries.pointUnit(query.pointId);
    if (unit === undefined) return undefined;
    const samples = await read(query.limit + 1);
    const series: Series = {
      point: query.pointId,
      samples: samples.slice(0, query.limit),
      truncated: samples.length > query.limit,
    };
    if (unit !== null) series.unit = unit;
    return series;
  }
}
