/**
 * The gateway's MQTT connection: TLS (CA, client certificate), username/password, MQTT 3.1.1 or 5,
 * keepalive, reconnect with exponential backoff and jitter, the Last Will, and the birth when the
 * connection state machine (`connection-state.ts`) says to announce. What goes on the wire comes
 * from a `WireEncoder` (the JSON contract, or Sparkplug B): the link itself only moves opaque
 * messages.
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { insecureConnectionWarnings } from './common/insecure-settings.js';
import { connectionFailureReason } from './common/mqtt-failure.js';
import { redactCredentials } from './common/redact.js';
import type { SerialisedBatch } from './outbox/outbox.js';

export interface OutgoingMessage {
  topic: string;
  payload: string | Buffer;
  qos: 0 | 1;
  retain: boolean;
}

/** Everything the gateway puts on the wire, in one encoding (the JSON contract, or Sparkplug B). */
export interface WireEncoder {
  /** The Last Will; asked again before every connect (a Sparkplug bdSeq changes per connect). */
  will(): OutgoingMessage;
  /** Sent when the gateway is connected (and its host, if any, online), before any data. */
  birth(): OutgoingMessage[];
  /** Sent at a clean shutdown, in place of the Will. */
  death(): OutgoingMessage;
  /** One batch may take several messages (Sparkplug: a DDATA per equipment). */
  batch(serialised: SerialisedBatch, historical: boolean): OutgoingMessage[];
  /** Topics to subscribe to at every connect: commands, and a Sparkplug primary host's STATE. */
  subscriptions(): string[];
}

export interface MqttTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Checking the broker's certificate; off only for a lab broker. */
  rejectUnauthorized: boolean;
}

export interface MqttLinkOptions {
  url: string;
  clientId: string;
  protocolVersion: 4 | 5;
  username?: string;
  password?: string;
  keepaliveSeconds: number;
  tls?: MqttTls;
  reconnect: { minMs: number; maxMs: number };
  encoder: WireEncoder;
  logger: Logger;
  /**
   * Called once connected and subscribed (true) and when the connection is lost (false). The birth
   * is not sent here: a Sparkplug node may have to wait for its primary host first (`announce`).
   */
  onConnectionChange?: (connected: boolean) => void;
  /** A message on one of the encoder's subscriptions (commands, host state). */
  onMessage?: (topic: string, payload: Buffer) => void;
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

/** The next reconnect delay: doubling from `minMs` up to `maxMs`, each drawn from its upper half. */
export function backoffDelay(attempt: number, { minMs, maxMs }: MqttLinkOptions['reconnect']): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

export class MqttLink {
  private client: MqttClient | undefined;
  private connected = false;
  private closing = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** The last failure logged, so a failure repeating at every retry is logged once. */
  private lastFailure: string | undefined;
  /** The broker's URL as logged: without its password. */
  private readonly broker: string;

  constructor(private readonly options: MqttLinkOptions) {
    this.broker = redactCredentials(options.url);
  }

  start(): void {
    const { url, password, tls } = this.options;
    for (const warning of insecureConnectionWarnings({ setting: 'mqtt', url, secret: password, tls })) {
      this.options.logger.warn(warning);
    }
    this.connectClient();
  }

  /**
   * A new MQTT client for every connection, reconnecting on our own backoff: nothing unacknowledged
   * carries over inside the client (whose own resend across reconnects proved unreliable); the
   * delivery resends it from the outbox instead, and the collector drops duplicates.
   */
  private connectClient(): void {
    const { options } = this;
    const clientOptions: IClientOptions = {
      clientId: options.clientId,
      protocolVersion: options.protocolVersion,
      keepalive: options.keepaliveSeconds,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      // Asked anew at every connection: a Sparkplug bdSeq changes with each CONNECT.
      will: this.willOption(),
    };
    if (options.username !== undefined) clientOptions.username = options.username;
    if (options.password !== undefined) clientOptions.password = options.password;
    if (options.tls) {
      const { ca, cert, key, rejectUnauthorized } = options.tls;
      Object.assign(clientOptions, { ca, cert, key, rejectUnauthorized });
    }
    const client = connect(options.url, clientOptions);
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.once('close', () => {
      if (this.connected && !this.closing) {
        options.logger.warn({ broker: this.broker }, 'broker connection lost; batches wait in the outbox');
        options.onConnectionChange?.(false);
      }
      this.connected = false;
      if (this.closing) return;
      // Its pending publishes are rejected here; the delivery replays them on the next connection.
      client.end(true);
      this.reconnectTimer = setTimeout(
        () => this.connectClient(),
        backoffDelay(this.attempt++, options.reconnect),
      );
    });
    client.on('error', (error) => this.onFailure(error));
    client.on('message', (topic, payload) => options.onMessage?.(topic, payload));
  }

  /** Sends the encoder's birth; the client sends in call order, so it precedes any data sent after. */
  announce(): void {
    for (const message of this.options.encoder.birth()) {
      this.publish(message).catch((error: Error) => {
        if (!this.closing) this.options.logger.warn({ err: error }, 'could not publish the birth');
      });
    }
  }

  /** Publishes several messages in order; resolves when the broker acknowledged all of them. */
  async publishAll(messages: readonly OutgoingMessage[]): Promise<void> {
    await Promise.all(messages.map((message) => this.publish(message)));
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /**
   * Resolves at the broker's acknowledgement (QoS 1); rejects if the connection ends first (the
   * client is not reused, so it resends nothing: the delivery resends from the outbox).
   */
  async publish(message: OutgoingMessage): Promise<void> {
    const client = this.client;
    if (!client) throw new Error('the MQTT link is not started');
    await client.publishAsync(message.topic, message.payload, { qos: message.qos, retain: message.retain });
  }

  /** Publishes the death (`offline`), then disconnects cleanly so the broker drops the Will. */
  async close(): Promise<void> {
    const client = this.client;
    if (!client || this.closing) return;
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    if (this.connected) {
      await within(
        this.publish(this.options.encoder.death()).catch(() => undefined),
        1000,
      );
    }
    // A clean end waits for every unacknowledged message, forever if the broker is gone: force it
    // after a bound. What was not acknowledged stays in the outbox for the next start.
    const cleanly = await within(
      client.endAsync(false).then(() => true),
      2000,
    );
    if (!cleanly) await client.endAsync(true);
  }

  private willOption(): IClientOptions['will'] {
    const will = this.options.encoder.will();
    const payload = typeof will.payload === 'string' ? Buffer.from(will.payload) : will.payload;
    return { topic: will.topic, payload, qos: will.qos, retain: will.retain };
  }

  private onConnect(): void {
    const { options } = this;
    this.connected = true;
    this.attempt = 0;
    this.lastFailure = undefined;
    options.logger.info(
      { broker: this.broker, protocolVersion: options.protocolVersion },
      'connected to broker',
    );
    const client = this.client as MqttClient;
    const topics = options.encoder.subscriptions();
    if (topics.length === 0) {
      options.onConnectionChange?.(true);
      return;
    }
    client.subscribeAsync(topics, { qos: 1 }).then(
      () => options.onConnectionChange?.(true),
      (error: Error) => {
        if (!this.closing) options.logger.error({ err: error, topics }, 'could not subscribe to commands');
        options.onConnectionChange?.(true);
      },
    );
  }

  private onFailure(error: Error): void {
    if (this.closing) return;
    const reason = connectionFailureReason(error);
    if (reason === this.lastFailure) return;
    this.lastFailure = reason;
    this.options.logger.error({ broker: this.broker, reason }, `cannot connect to the broker: ${reason}`);
  }
}
