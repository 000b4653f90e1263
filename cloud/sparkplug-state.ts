/**
 * The collector as a Sparkplug 3.0 host application: its STATE on `spBv1.0/STATE/<hostId>`, so that
 * edge nodes configured with this host as their primary host (a jjj gateway's `primaryHostId`, an
 * Ignition or Tahu node) publish only while it is there to receive.
 *
 * On the MQTT connection that ingests Sparkplug: every CONNECT carries the Will `{"online":false,
 * "timestamp":T}` with T the connect time; once the Sparkplug and STATE subscriptions are granted
 * the birth `{"online":true,"timestamp":T}` (the same T, as 3.0 requires) goes out, retained at QoS
 * 1; a clean stop publishes `online:false` stamped with the stop time before disconnecting. Edge
 * nodes ignore a STATE older than the last they took, so a late Will of an earlier session changes
 * nothing for them; it would still be the retained message new nodes read, so when this host sees
 * its own STATE say offline while it is up it publishes its birth again, at most once a second. (The
 * retained STATE the broker hands over at subscription predates the birth, which replaces it.)
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { HostState, stateTopic } from '../gateway/schema/sparkplug/index.js';
import type { CollectorMetrics } from './metrics.js';

/** At most one birth republished per this interval, whatever a peer publishes on our topic. */
const REPUBLISH_INTERVAL_MS = 1000;
/** How long a clean stop waits for the broker to take the `offline` STATE. */
const STOP_TIMEOUT_MS = 1000;

export interface SparkplugHostStateOptions {
  hostId: string;
  metrics: Pick<CollectorMetrics, 'sparkplugHostOnline'>;
  logger: Logger;
}

export class SparkplugHostState {
  readonly topic: string;
  /** The connect time of the current session: its Will's and its birth's timestamp. */
  private sessionTs = 0;
  private client: MqttClient | undefined;
  private announced = false;
  private lastRepublish = 0;
  private republishTimer: NodeJS.Timeout | undefined;
  /** Whether another publisher of online STATEs on our topic was already reported. */
  private rivalReported = false;

  constructor(private readonly options: SparkplugHostStateOptions) {
    this.topic = stateTopic(options.hostId);
  }

  /**
   * The connect options for the connection that carries the STATE: the Will of the first CONNECT,
   * renewed before every reconnect (mqtt.js reads `options.will` at each CONNECT).
   */
  connectOptions(): Pick<IClientOptions, 'will'> {
    return { will: this.will() };
  }

  /** Binds to the connection made with `connectOptions()`. */
  attach(client: MqttClient): void {
    this.client = client;
    client.on('reconnect', () => {
      client.options.will = this.will();
    });
    client.on('close', () => {
      this.announced = false;
      this.options.metrics.sparkplugHostOnline.set(0);
    });
  }

  /** Call once the Sparkplug and STATE subscriptions are granted: publishes the birth. */
  announce(): void {
    this.announced = true;
    this.publishBirth(true);
  }

  /**
   * A message on `topic`: our own STATE as someone published it, or (`retained`) as the broker held
   * it when we subscribed, before our birth.
   */
  receive(payload: Buffer, retained: boolean): void {
    if (retained || !this.announced) return;
    const state = HostState.safeParse(parseJson(payload));
    if (!state.success) return;
    const { online, timestamp } = state.data;
    if (online) {
      if (timestamp !== this.sessionTs && !this.rivalReported) {
        this.rivalReported = true;
        this.options.logger.error(
          { hostId: this.options.hostId, theirs: timestamp, ours: this.sessionTs },
          'another client publishes online STATEs for this Sparkplug host id: set sparkplug.hostId on one collector instance only',
        );
      }
      return;
    }
    this.scheduleRepublish();
  }

  /** Publishes `offline` (stamped now) and waits, bounded, for the broker to take it. */
  async stop(): Promise<void> {
    clearTimeout(this.republishTimer);
    const client = this.client;
    if (!client?.connected || !this.announced) return;
    this.announced = false;
    const death = JSON.stringify({ online: false, timestamp: Date.now() } satisfies HostState);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      client.publishAsync(this.topic, death, { qos: 1, retain: true }).catch(() => undefined),
      new Promise((done) => {
        timer = setTimeout(done, STOP_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    this.options.metrics.sparkplugHostOnline.set(0);
    this.options.logger.info({ hostId: this.options.hostId }, 'Sparkplug host STATE: offline (clean stop)');
  }

  private will(): NonNullable<IClientOptions['will']> {
    this.sessionTs = Date.now();
    const payload = JSON.stringify({ online: false, timestamp: this.sessionTs } satisfies HostState);
    return { topic: this.topic, payload: Buffer.from(payload), qos: 1, retain: true };
  }

  private scheduleRepublish(): void {
    if (this.republishTimer) return;
    const wait = Math.max(0, this.lastRepublish + REPUBLISH_INTERVAL_MS - Date.now());
    this.republishTimer = setTimeout(() => {
      this.republishTimer = undefined;
      if (this.announced) this.publishBirth(false);
    }, wait);
  }

  /** A republished birth logs at debug: a peer publishing offline STATEs must not flood the log. */
  private publishBirth(first: boolean): void {
    const client = this.client;
    if (!client) return;
    this.lastRepublish = Date.now();
    const birth = JSON.stringify({ online: true, timestamp: this.sessionTs } satisfies HostState);
    const { hostId } = this.options;
    client.publishAsync(this.topic, birth, { qos: 1, retain: true }).then(
      () => {
        this.options.metrics.sparkplugHostOnline.set(1);
        const { logger } = this.options;
        if (first) logger.info({ hostId, timestamp: this.sessionTs }, 'Sparkplug host STATE: online');
        else logger.debug({ hostId }, 'Sparkplug host STATE: online again over an offline one');
      },
      (error: Error) =>
        this.options.logger.warn({ err: error, hostId }, 'could not publish the Sparkplug STATE'),
    );
  }
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}
