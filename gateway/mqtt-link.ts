/**
 * The gateway's MQTT connection: TLS (CA, client certificate), username/password, MQTT 3.1.1 or 5,
 * keepalive, reconnect with exponential backoff and jitter, the Last Will, and the birth when the
 * connection state machine (`connection-state.ts`) says to announce. What goes on the wire comes
 * from a `WireEncoder` (the JSON contract, or Sparkplug B): the link itself only moves opaque
 * messages, with one rule of its own: on every connection, no batch goes out before the birth.
 */
import { connect, type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { insecureConnectionWarnings } from './common/insecure-settings.js';
import { connectionFailureReason } from './common/mqtt-failure.js';
import { redactCredentials } from './common/redact.js';
import { GatewayError } from './errors.js';
import type { SerialisedBatch } from './outbox/outbox.js';

export interface OutgoingMessage {
  topic: string;
  payload: string | Buffer;
  qos: 0 | 1;
  retain: boolean;
  /** MQTT 5 content type (telemetry: JSON or zlib); not sent on MQTT 3.1.1, which has none. */
  contentType?: string;
}

/** Everything the gateway puts on the wire, in one encoding (the JSON contract, or Sparkplug B). */
export interface WireEncoder {
  /** The Last Will; asked again before every connect (a Sparkplug bdSeq changes per connect). */
  will(): OutgoingMessage;
  /** Sent when the gateway is connected (and its host, if any, online), before any data. */
  birth(): OutgoingMessage[];
  /** Sent at a clean shutdown, in place of the Will. */
  death(): OutgoingMessage;
  /**
   * The Will says exactly what `death()` does (Sparkplug's NDEATH): on MQTT 5 a clean stop then
   * asks the broker to publish the Will (DISCONNECT reason 0x04) instead of publishing the death.
   */
  willIsDeath: boolean;
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

/** MQTT 5 DISCONNECT reason "Disconnect with Will Message": the broker publishes the Will. */
const DISCONNECT_WITH_WILL = 0x04;

/** Batches handed over before this connection's birth: they go out right after it. */
interface HeldBatch {
  messages: readonly OutgoingMessage[];
  resolve: () => void;
  reject: (error: Error) => void;
}

/** The next reconnect delay: doubling from `minMs` up to `maxMs`, each drawn from its upper half. */
export function backoffDelay(attempt: number, { minMs, maxMs }: MqttLinkOptions['reconnect']): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

export class MqttLink {
  private client: MqttClient | undefined;
  private connected = false;
  /** Whether this connection's birth is out: until then batches are held. */
  private born = false;
  private held: HeldBatch[] = [];
  private closing = false;
  /** The session is being ended on purpose (the primary host went offline): reconnect, quietly. */
  private restarting = false;
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
      // mqtt-packet otherwise builds a Buffer for each of the 65,536 16-bit numbers (6-7 MB of heap).
      writeCache: false,
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
        if (!this.restarting)
          options.logger.warn({ broker: this.broker }, 'broker connection lost; batches wait in the outbox');
        options.onConnectionChange?.(false);
      }
      this.connected = false;
      this.restarting = false;
      this.releaseHeld(new GatewayError('MQTT_DISCONNECTED', 'the connection ended before its birth'));
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

  /**
   * Sends the encoder's birth, then the batches held for it; the client sends in call order, so the
   * birth precedes any data sent after.
   */
  announce(): void {
    for (const message of this.options.encoder.birth()) {
      this.publish(message).catch((error: Error) => {
        if (!this.closing) this.options.logger.warn({ err: error }, 'could not publish the birth');
      });
    }
    this.born = true;
    for (const { messages, resolve, reject } of this.held.splice(0)) {
      this.publishEach(messages).then(resolve, reject);
    }
  }

  /**
   * Publishes several messages in order; resolves when the broker acknowledged all of them. Before
   * this connection's birth they are held for it (rejected if the connection ends first); without a
   * connection they are refused, never left to the client's offline queue, which would send them at
   * the next CONNECT ahead of that connection's birth.
   */
  publishAll(messages: readonly OutgoingMessage[]): Promise<void> {
    if (!this.connected)
      return Promise.reject(new GatewayError('MQTT_DISCONNECTED', 'not connected to the broker'));
    if (this.born) return this.publishEach(messages);
    return new Promise((resolve, reject) => this.held.push({ messages, resolve, reject }));
  }

  private async publishEach(messages: readonly OutgoingMessage[]): Promise<void> {
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
    const options: IClientPublishOptions = { qos: message.qos, retain: message.retain };
    if (message.contentType !== undefined && this.options.protocolVersion === 5)
      options.properties = { contentType: message.contentType };
    await client.publishAsync(message.topic, message.payload, options);
  }

  /**
   * Ends the session for good: the death goes out (published, or on MQTT 5 as the Will the broker
   * sends on a DISCONNECT with reason 0x04), then the connection closes.
   */
  async close(): Promise<void> {
    const client = this.client;
    if (!client || this.closing) return;
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    this.releaseHeld(new GatewayError('MQTT_CLOSED', 'the link is closing'));
    await this.endSession(client);
  }

  /**
   * Ends this session as a clean stop does (the death goes out), then connects again after the
   * shortest backoff: what Sparkplug asks of an edge node whose primary host went offline.
   */
  async restartSession(): Promise<void> {
    const client = this.client;
    if (!client || this.closing || !this.connected) return;
    this.restarting = true;
    await this.endSession(client);
  }

  private async endSession(client: MqttClient): Promise<void> {
    // Not connected: no session to end, and a DISCONNECT would wait for a connection forever.
    if (!this.connected) {
      await client.endAsync(true);
      return;
    }
    const { encoder, protocolVersion } = this.options;
    const byWill = protocolVersion === 5 && encoder.willIsDeath;
    if (!byWill) {
      await within(
        this.publish(encoder.death()).catch(() => undefined),
        1000,
      );
    }
    // A clean end waits for every unacknowledged message, forever if the broker is gone: force it
    // after a bound. What was not acknowledged stays in the outbox for the next start.
    const disconnect = byWill ? { reasonCode: DISCONNECT_WITH_WILL } : {};
    const cleanly = await within(
      client.endAsync(false, disconnect).then(() => true),
      2000,
    );
    if (!cleanly) await client.endAsync(true);
  }

  private releaseHeld(error: Error): void {
    this.born = false;
    for (const { reject } of this.held.splice(0)) reject(error);
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
    // Up only while this very connection lasts: a subscription that failed because the connection
    // dropped meanwhile must not announce the gateway on a link that is already down.
    const stillUp = () => this.client === client && this.connected && !this.closing;
    client.subscribeAsync(topics, { qos: 1 }).then(
      () => {
        if (stillUp()) options.onConnectionChange?.(true);
      },
      (error: Error) => {
        if (!stillUp()) return;
        options.logger.error({ err: error, topics }, 'could not subscribe to commands');
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
