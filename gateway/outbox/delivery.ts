/**
 * Delivery from the outbox to the broker, at least once: a batch leaves the outbox only after its
 * PUBACK. Two streams, each in order and each with its own in-flight window, so live data is never
 * queued behind history: live batches (taken while connected) go out at once; the backlog (what
 * accumulated while the broker was unreachable, or before a restart) is replayed oldest first,
 * marked historical, paced at up to its in-flight window per `replayIntervalMs`. A replayed batch
 * keeps its original gateway id, boot counter and sequence number, so the collector drops it if it
 * already has it.
 *
 * Nothing unacknowledged is left to the MQTT client's own resend (the link makes a fresh client for
 * every connection): when a connection ends, whatever was in flight on it is sent again from the
 * outbox, and a publish the client abandons is replayed. The collector drops what arrives twice.
 */
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../metrics.js';
import type { OutgoingMessage, WireEncoder } from '../mqtt-link.js';
import type { Outbox, OutboxEntry, SerialisedBatch } from './outbox.js';

/** Live batches waiting beyond this many mean the broker is not keeping up: they become backlog. */
const MAX_LIVE_QUEUE = 64;
/** Entries read from the outbox per look-up while skipping ones already in flight. */
const READ_AHEAD = 16;

export type Stream = 'live' | 'history';

/** What delivery needs of the MQTT link. */
export interface BatchLink {
  /** Resolves once the broker acknowledged every message; rejects when the connection ends first. */
  publishAll(messages: readonly OutgoingMessage[]): Promise<void>;
}

export interface DeliveryOptions {
  outbox: Outbox;
  link: BatchLink;
  /** Whether data may go on the wire now (connected, birth sent). */
  isOnline: () => boolean;
  encoder: WireEncoder;
  /** A replay tick (filling the history window): the publish interval divided by the replay speed-up. */
  replayIntervalMs: number;
  /** Batches awaiting their PUBACK, per stream. */
  inFlightBatches: number;
  metrics: GatewayMetrics;
  logger: Logger;
}

export class Delivery {
  private liveQueue: OutboxEntry[] = [];
  private readonly inFlight = new Map<number, Stream>();
  private readonly inFlightCount: Record<Stream, number> = { live: 0, history: 0 };
  /** Counts connections: an outcome of a publish made on an earlier one no longer settles anything. */
  private generation = 0;
  /** Entries with an id up to this one are history; everything already on disk at start is. */
  private backlogUpTo: number;
  private replayCursor = 0;
  private replayTimer: NodeJS.Timeout | undefined;
  private acked: number[] = [];
  private removal: NodeJS.Immediate | undefined;
  private droppedInEpisode = 0;
  private closed = false;
  readonly counters = {
    delivered: { live: { batches: 0, points: 0 }, history: { batches: 0, points: 0 } },
    pointsDropped: 0,
  };

  constructor(private readonly options: DeliveryOptions) {
    this.backlogUpTo = options.outbox.lastId;
    this.updateGauges();
    const { stats } = options.outbox;
    if (stats.batches > 0) {
      options.logger.info(
        { batches: stats.batches, points: stats.points },
        'outbox holds a backlog from before',
      );
    }
  }

  /**
   * Takes the batches cut at one moment: durable in the outbox, in one transaction, when this
   * returns; live ones then go out at once.
   */
  submit(batches: readonly SerialisedBatch[]): void {
    if (batches.length === 0) return;
    const { outbox, isOnline } = this.options;
    const ids = outbox.appendAll(batches);
    this.enforceCap();
    if (isOnline()) {
      batches.forEach((serialised, i) => {
        this.liveQueue.push({ id: ids[i] as number, ...serialised });
      });
      if (this.liveQueue.length > MAX_LIVE_QUEUE) this.demoteLiveQueue();
      this.pumpLive();
    }
    this.updateGauges();
  }

  /** Wire to the link: the birth is out (true) or the connection is gone (false). */
  connectionChanged(connected: boolean): void {
    if (this.closed) return;
    this.options.metrics.brokerConnected.set(connected ? 1 : 0);
    if (!connected) {
      clearInterval(this.replayTimer);
      this.replayTimer = undefined;
      // What was in flight on the lost connection is not known to have arrived: it replays.
      this.generation++;
      this.inFlight.clear();
      this.inFlightCount.live = 0;
      this.inFlightCount.history = 0;
      return;
    }
    // Everything not acknowledged is history now, whatever stream it was on.
    this.liveQueue = [];
    this.backlogUpTo = this.options.outbox.lastId;
    this.replayCursor = 0;
    this.startReplay();
  }

  /** Whether live batches wait for a free place in the in-flight window: the broker is behind. */
  get congested(): boolean {
    return this.liveQueue.length > 0;
  }

  /** Whether a backlog is being replayed right now. */
  get replaying(): boolean {
    return this.replayTimer !== undefined;
  }

  /** Waits (bounded) until every live batch is acknowledged; history stays on disk for later. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (
      this.options.isOnline() &&
      (this.liveQueue.length > 0 || this.inFlightCount.live > 0) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops replaying and forgets what was acknowledged; later acknowledgements are ignored. */
  close(): void {
    clearInterval(this.replayTimer);
    clearImmediate(this.removal);
    this.removeAcked();
    this.closed = true;
  }

  private demoteLiveQueue(): void {
    const newest = this.liveQueue.at(-1);
    if (newest) this.backlogUpTo = Math.max(this.backlogUpTo, newest.id);
    this.liveQueue = [];
    if (this.options.isOnline()) this.startReplay();
  }

  private startReplay(): void {
    if (this.replayTimer || this.backlogUpTo === 0) return;
    this.replayTimer = setInterval(() => this.replayNext(), this.options.replayIntervalMs);
  }

  private pumpLive(): void {
    while (this.liveQueue.length > 0 && this.inFlightCount.live < this.options.inFlightBatches) {
      const entry = this.liveQueue.shift() as OutboxEntry;
      this.send(entry, 'live');
    }
  }

  /**
   * One replay tick: fills the history window. Batches are cut by time and size now, not one per
   * publish interval, so one batch per tick could fall behind the live rate and never catch up.
   */
  private replayNext(): void {
    while (this.inFlightCount.history < this.options.inFlightBatches) {
      const entries = this.options.outbox.read(this.replayCursor, this.backlogUpTo, READ_AHEAD);
      if (entries.length === 0) {
        if (this.inFlightCount.history === 0) this.caughtUp();
        return;
      }
      for (const entry of entries) {
        this.replayCursor = entry.id;
        if (this.inFlight.has(entry.id)) continue;
        this.send(entry, 'history');
        if (this.inFlightCount.history >= this.options.inFlightBatches) return;
      }
    }
  }

  private caughtUp(): void {
    clearInterval(this.replayTimer);
    this.replayTimer = undefined;
    this.options.logger.info({ upToEntry: this.backlogUpTo }, 'backlog replayed');
    if (this.droppedInEpisode > 0) {
      this.options.logger.warn(
        { dropped: this.droppedInEpisode },
        'caught up; readings were dropped while the outbox was full',
      );
      this.droppedInEpisode = 0;
    }
  }

  private send(entry: OutboxEntry, stream: Stream): void {
    const { link, encoder, logger } = this.options;
    const generation = this.generation;
    this.inFlight.set(entry.id, stream);
    this.inFlightCount[stream]++;
    link.publishAll(encoder.batch(entry, stream === 'history')).then(
      () => this.onAcked(entry, stream, generation),
      (error: Error) => {
        if (this.closed) return;
        logger.debug({ err: error, entry: entry.id }, 'publish abandoned; it will replay');
        if (!this.settle(entry.id, stream, generation)) return;
        // The batch is still in the outbox: point the replay back at it.
        this.backlogUpTo = Math.max(this.backlogUpTo, entry.id);
        this.replayCursor = Math.min(this.replayCursor, entry.id - 1);
        if (this.options.isOnline()) this.startReplay();
      },
    );
  }

  /** Clears the in-flight mark of a publish made on the current connection; false for an older one. */
  private settle(id: number, stream: Stream, generation: number): boolean {
    if (generation !== this.generation) return false;
    this.inFlight.delete(id);
    this.inFlightCount[stream]--;
    return true;
  }

  private onAcked(entry: OutboxEntry, stream: Stream, generation: number): void {
    if (this.closed) return;
    if (!this.settle(entry.id, stream, generation)) {
      // Acknowledged on an earlier connection after all: the broker has it, so it leaves the outbox
      // (uncounted: its replay may be acknowledged too).
      this.acked.push(entry.id);
      this.scheduleRemoval();
      return;
    }
    const { points } = entry;
    const delivered = this.counters.delivered[stream];
    delivered.batches++;
    delivered.points += points;
    this.options.metrics.batchesDelivered.inc({ stream });
    this.options.metrics.pointsDelivered.inc({ stream }, points);
    this.acked.push(entry.id);
    this.scheduleRemoval();
    if (stream === 'live') this.pumpLive();
  }

  /** Acknowledgements arriving together are removed in one transaction. */
  private scheduleRemoval(): void {
    this.removal ??= setImmediate(() => {
      this.removal = undefined;
      this.removeAcked();
    });
  }

  private removeAcked(): void {
    if (this.closed || this.acked.length === 0) return;
    this.options.outbox.remove(this.acked);
    this.acked = [];
    this.updateGauges();
  }

  private enforceCap(): void {
    const keep = new Set(this.inFlight.keys());
    for (const entry of this.liveQueue) keep.add(entry.id);
    const dropped = this.options.outbox.trim(keep);
    if (dropped.points === 0) return;
    if (this.droppedInEpisode === 0) {
      this.options.logger.error(
        { outbox: this.options.outbox.stats },
        'outbox full: dropping the oldest readings until the broker takes them again',
      );
    }
    this.droppedInEpisode += dropped.points;
    this.counters.pointsDropped += dropped.points;
    this.options.metrics.pointsDropped.inc(dropped.points);
  }

  private updateGauges(): void {
    const { stats } = this.options.outbox;
    const { metrics } = this.options;
    metrics.outboxBatches.set(stats.batches);
    metrics.outboxPoints.set(stats.points);
    metrics.outboxBytes.set(stats.bytes);
  }
}
