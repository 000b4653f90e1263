/**
 * The gateway's MQTT side: retained `online` status and point metadata at every connect, `offline`
 * as the Last Will, and telemetry batches at QoS 1 in order. Batches wait in a bounded in-memory
 * queue while the broker is unreachable (the disk outbox replaces it in a later issue).
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { MetadataMessage, StatusMessage, TelemetryBatch } from './schema/index.js';

/** Batches handed to the MQTT client and not yet acknowledged; the client keeps their order. */
const IN_FLIGHT_WINDOW = 8;

export interface MqttLinkOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  keepaliveSeconds: number;
  topics: { telemetry: string; status: string; metadata: string };
  status: (state: StatusMessage['state']) => StatusMessage;
  metadata: () => MetadataMessage;
  maxQueuedPoints: number;
  logger: Logger;
}

/** The promise's value, or `undefined` once `ms` have passed; the timer never outlives the call. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface QueuedBatch {
  batch: TelemetryBatch;
  payload: string;
  sent: boolean;
}

export class MqttLink {
  private client: MqttClient | undefined;
  private readonly queue: QueuedBatch[] = [];
  private queuedPoints = 0;
  private inFlight = 0;
  private connected = false;
  private droppedInEpisode = 0;
  private closing = false;
  readonly counters = { batchesAcked: 0, pointsAcked: 0, pointsDropped: 0 };

  constructor(private readonly options: MqttLinkOptions) {}

  start(): void {
    const { options } = this;
    const clientOptions: IClientOptions = {
      clientId: options.clientId,
      keepalive: options.keepaliveSeconds,
      clean: true,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      will: {
        topic: options.topics.status,
        payload: Buffer.from(JSON.stringify(options.status('offline'))),
        qos: 1,
        retain: true,
      },
    };
    if (options.username !== undefined) clientOptions.username = options.username;
    if (options.password !== undefined) clientOptions.password = options.password;
    const client = connect(options.url, clientOptions);
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('close', () => {
      if (this.connected && !this.closing) {
        options.logger.warn({ broker: options.url }, 'broker connection lost; queueing batches');
      }
      this.connected = false;
    });
    client.on('error', (error) => {
      if (!this.closing) options.logger.debug({ err: error }, 'mqtt error');
    });
    let reportedUnreachable = false;
    client.on('offline', () => {
      if (!reportedUnreachable && !this.closing) {
        options.logger.warn({ broker: options.url }, 'broker unreachable; retrying every 2 s');
        reportedUnreachable = true;
      }
    });
    client.on('connect', () => {
      reportedUnreachable = false;
    });
  }

  get isConnected(): boolean {
    return this.connected;
  }

  get queuedBatchCount(): number {
    return this.queue.length;
  }

  enqueue(batch: TelemetryBatch): void {
    this.queue.push({ batch, payload: JSON.stringify(batch), sent: false });
    this.queuedPoints += batch.points.length;
    this.dropOldestOverCap();
    this.pump();
  }

  /** Publishes `offline`, waits (bounded) for queued batches to be acknowledged, then disconnects. */
  async close(drainTimeoutMs = 3000): Promise<void> {
    const client = this.client;
    if (!client || this.closing) return;
    this.closing = true;
    const deadline = Date.now() + drainTimeoutMs;
    while (this.connected && this.queue.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (this.queue.length > 0) {
      this.options.logger.warn({ batches: this.queue.length }, 'stopping with unacknowledged batches');
    }
    if (this.connected) {
      const offline = client.publishAsync(
        this.options.topics.status,
        JSON.stringify(this.options.status('offline')),
        {
          qos: 1,
          retain: true,
        },
      );
      await within(
        offline.catch(() => undefined),
        1000,
      );
    }
    // A clean end sends DISCONNECT, so the broker drops the Last Will; but it waits for every
    // unacknowledged message, forever if the broker is gone: force it after a bound.
    const cleanly = await within(
      client.endAsync(false).then(() => true),
      2000,
    );
    if (!cleanly) await client.endAsync(true);
  }

  private onConnect(): void {
    const { options } = this;
    const client = this.client as MqttClient;
    this.connected = true;
    options.logger.info({ broker: options.url }, 'connected to broker');
    // Status and metadata go first so a consumer knows the points before their values arrive;
    // the client sends in call order. Batches sent before a drop are resent by the client itself.
    const warn = (error: Error) => options.logger.warn({ err: error }, 'could not publish status/metadata');
    const retained = { qos: 1, retain: true } as const;
    client
      .publishAsync(options.topics.status, JSON.stringify(options.status('online')), retained)
      .catch(warn);
    client.publishAsync(options.topics.metadata, JSON.stringify(options.metadata()), retained).catch(warn);
    this.pump();
  }

  private pump(): void {
    const client = this.client;
    if (!client || !this.connected) return;
    for (const entry of this.queue) {
      if (this.inFlight >= IN_FLIGHT_WINDOW) return;
      if (entry.sent) continue;
      entry.sent = true;
      this.inFlight++;
      client.publishAsync(this.options.topics.telemetry, entry.payload, { qos: 1 }).then(
        () => this.onAcked(entry),
        (error: Error) => {
          this.inFlight--;
          entry.sent = false;
          if (!this.closing) this.options.logger.debug({ err: error }, 'publish failed; will retry');
        },
      );
    }
  }

  private onAcked(entry: QueuedBatch): void {
    this.inFlight--;
    const index = this.queue.indexOf(entry);
    if (index >= 0) this.queue.splice(index, 1);
    this.queuedPoints -= entry.batch.points.length;
    this.counters.batchesAcked++;
    this.counters.pointsAcked += entry.batch.points.length;
    if (this.droppedInEpisode > 0 && this.queue.length === 0) {
      this.options.logger.warn(
        { dropped: this.droppedInEpisode },
        'queue drained; readings were dropped while full',
      );
      this.droppedInEpisode = 0;
    }
    this.pump();
  }

  private dropOldestOverCap(): void {
    while (this.queuedPoints > this.options.maxQueuedPoints) {
      const index = this.queue.findIndex((entry) => !entry.sent);
      if (index < 0) return;
      const [dropped] = this.queue.splice(index, 1) as [QueuedBatch];
      this.queuedPoints -= dropped.batch.points.length;
      this.counters.pointsDropped += dropped.batch.points.length;
      if (this.droppedInEpisode === 0) {
        this.options.logger.error(
          { maxQueuedPoints: this.options.maxQueuedPoints },
          'queue full while the broker is unreachable: dropping the oldest readings',
        );
      }
      this.droppedInEpisode += dropped.batch.points.length;
    }
  }
}
