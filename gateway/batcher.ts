/**
 * Batching: readings go straight into the columns of the batch under construction, one group per
 * line and equipment (`jjj.telemetry/2`), with no object per sample. A batch is cut
 * `publish.lingerMs` after its first sample, so the scans that complete together share it, or at
 * once when it holds `publish.maxPoints`; while live batches wait for the broker it lingers on, up
 * to `publish.intervalMs`, so the number of batches follows what the link carries. Each batch is
 * numbered (gateway id, boot counter, per-boot sequence) and serialised once, in the configured
 * format; the batches cut in one turn of the event loop are handed over together, to go into the
 * outbox in one transaction.
 */
import type { Reading } from '../adapters/contract.js';
import type { LoadedGatewayConfig } from './config.js';
import type { ConfiguredPoint, EquipmentKey } from './normalise.js';
import type { SerialisedBatch } from './outbox/outbox.js';
import {
  COMPACT_TELEMETRY_SCHEMA,
  type CompactTelemetryBatch,
  expandCompactBatch,
  type SampleGroup,
  sameStatus,
} from './schema/compact-telemetry.js';
import type { PointValue, ProtocolStatus, Quality } from './schema/index.js';

/** The columns of one equipment's samples in the batch under construction (packGroup's rules). */
class GroupColumns {
  readonly points: string[] = [];
  readonly values: PointValue[] = [];
  private readonly ts: number[] = [];
  private minTs = Number.POSITIVE_INFINITY;
  private sameTs = true;
  /** Allocated at the first sample with a server timestamp, earlier ones `null`. */
  private serverTs: Array<number | null> | undefined;
  /** A scalar until a sample's quality differs, then one entry per sample. */
  private quality: Quality = 'good';
  private qualities: Quality[] | undefined;
  private statuses: Array<ProtocolStatus | null> | undefined;

  constructor(private readonly key: EquipmentKey) {}

  add(point: string, reading: Reading): void {
    const n = this.points.length;
    const ts = Math.trunc(reading.ts);
    const { quality, status, serverTs } = reading;
    this.points.push(point);
    // Bad quality never carries a value: a stale good value must not pass as fresh.
    this.values.push(quality === 'bad' ? null : reading.value);
    if (n > 0 && ts !== this.ts[0]) this.sameTs = false;
    this.ts.push(ts);
    if (ts < this.minTs) this.minTs = ts;
    if (serverTs !== undefined) {
      this.serverTs ??= new Array<number | null>(n).fill(null);
      this.serverTs.push(Math.trunc(serverTs));
    } else this.serverTs?.push(null);
    if (this.qualities) this.qualities.push(quality);
    else if (n === 0) this.quality = quality;
    else if (quality !== this.quality) {
      this.qualities = new Array<Quality>(n).fill(this.quality);
      this.qualities.push(quality);
    }
    if (status) {
      this.statuses ??= new Array<ProtocolStatus | null>(n).fill(null);
      this.statuses.push(status);
    } else this.statuses?.push(null);
  }

  pack(): SampleGroup {
    const ts = this.minTs;
    const group: SampleGroup = {
      line: this.key.line,
      equipment: this.key.equipment,
      ts,
      points: this.points,
      values: this.values,
      quality: this.qualities ?? this.quality,
    };
    if (!this.sameTs) group.dt = this.ts.map((t) => t - ts);
    if (this.serverTs) group.serverDt = this.serverTs.map((s) => (s === null ? null : s - ts));
    const statuses = this.statuses;
    if (statuses) {
      const first = statuses[0] as ProtocolStatus | null;
      group.status = statuses.every((s) => sameStatus(s, first)) ? first : statuses;
    }
    return group;
  }
}

export interface BatcherOptions {
  config: Pick<LoadedGatewayConfig, 'gateway' | 'publish'>;
  boot: number;
  /** Takes the batches cut at one moment, together (into the outbox in one transaction). */
  submit: (batches: SerialisedBatch[]) => void;
  /**
   * Whether live batches already wait for the broker (its in-flight window is full): then a batch
   * lingers on, up to `publish.intervalMs`, so a slow link gets fewer, larger batches.
   */
  congested: () => boolean;
}

export class Batcher {
  private groups = new Map<EquipmentKey, GroupColumns>();
  private pending = 0;
  private nextSeq = 0;
  private linger: NodeJS.Timeout | undefined;
  /** When the batch under construction took its first reading. */
  private firstAt = 0;
  private cut: SerialisedBatch[] = [];
  private handover: NodeJS.Immediate | undefined;

  constructor(private readonly options: BatcherOptions) {}

  /** The sequence number the next batch gets: how many batches this boot has made. */
  get seq(): number {
    return this.nextSeq;
  }

  add(point: ConfiguredPoint, reading: Reading): void {
    let group = this.groups.get(point.equipment);
    if (!group) {
      group = new GroupColumns(point.equipment);
      this.groups.set(point.equipment, group);
    }
    group.add(point.identity.point, reading);
    const { lingerMs, maxPoints } = this.options.config.publish;
    if (++this.pending >= maxPoints) this.cutBatch();
    else if (this.pending === 1) {
      this.firstAt = performance.now();
      this.linger = setTimeout(() => this.lingered(), lingerMs);
    }
  }

  /** What is pending leaves now, in a last batch, handed over before this returns. */
  stop(): void {
    this.cutBatch();
    this.handOver();
  }

  private lingered(): void {
    const { lingerMs, intervalMs } = this.options.config.publish;
    const waited = performance.now() - this.firstAt;
    if (this.options.congested() && waited + lingerMs < intervalMs) {
      this.linger = setTimeout(() => this.lingered(), lingerMs);
      return;
    }
    this.cutBatch();
  }

  private cutBatch(): void {
    clearTimeout(this.linger);
    this.linger = undefined;
    if (this.pending === 0) return;
    const { config, boot } = this.options;
    const { gateway, publish } = config;
    const groups: SampleGroup[] = [];
    for (const group of this.groups.values()) groups.push(group.pack());
    const batch: CompactTelemetryBatch = {
      schema: COMPACT_TELEMETRY_SCHEMA,
      region: gateway.region,
      project: gateway.project,
      site: gateway.site,
      gateway: { id: gateway.id, boot, seq: this.nextSeq++ },
      sentTs: Date.now(),
      groups,
    };
    const wire = publish.format === 'samples' ? expandCompactBatch(batch) : batch;
    this.cut.push({ batch, json: JSON.stringify(wire), points: this.pending });
    this.groups = new Map();
    this.pending = 0;
    // Batches cut by size in this turn (a burst of scans) wait for it to end, to share one commit.
    this.handover ??= setImmediate(() => this.handOver());
  }

  private handOver(): void {
    clearImmediate(this.handover);
    this.handover = undefined;
    if (this.cut.length === 0) return;
    const batches = this.cut;
    this.cut = [];
    this.options.submit(batches);
  }
}
