/**
 * The collector: subscribes to every gateway's messages over MQTT, stores them, and serves the
 * query API. `startCollector` wires the parts; `close()` stops them all.
 */
import type { AddressInfo } from 'node:net';
import { connect, type MqttClient } from 'mqtt';
import { type Logger, pino } from 'pino';
import { SPARKPLUG_NODE_FILTERS } from '../gateway/schema/sparkplug/index.js';
import { buildApi } from './api.js';
import type { CollectorConfig } from './config.js';
import { CollectorError } from './errors.js';
import { Ingest } from './ingest.js';
import { type CollectorMetrics, createCollectorMetrics } from './metrics.js';
import { InfluxStore } from './store/influx-store.js';
import { SqliteStore } from './store/sqlite-store.js';
import type { TelemetryStore } from './store/store.js';

export interface RunningCollector {
  httpUrl: string;
  httpPort: number;
  /** Stops MQTT, then HTTP, then the store. Safe to call twice. */
  close(): Promise<void>;
}

const RECONNECT_PERIOD_MS = 1000;
const CONNECT_TIMEOUT_MS = 10_000;

export async function startCollector(
  config: CollectorConfig,
  options: { logger?: Logger } = {},
): Promise<RunningCollector> {
  const logger = (options.logger ?? pino({ level: config.log.level })).child({ component: 'collector' });
  const store: TelemetryStore =
    config.store.type === 'sqlite'
      ? new SqliteStore(config.store.path, config.api.limits)
      : new InfluxStore(config.store, config.api.limits);
  const metrics = createCollectorMetrics();
  const stopping = new AbortController();
  const mqttClients: MqttClient[] = [];
  const ingest = new Ingest({
    store,
    metrics,
    logger,
    stopping: stopping.signal,
    publish: (topic, payload) => mqttClients[0]?.publish(topic, payload, { qos: 0 }),
    ...config.ingest,
  });

  const api = buildApi({
    store,
    metrics,
    logger,
    limits: config.api.limits,
    brokerConnected: () => mqttClients.length > 0 && mqttClients.every((client) => client.connected),
  });
  let httpPort: number;
  try {
    await api.listen({ host: config.http.host, port: config.http.port });
    httpPort = (api.server.address() as AddressInfo).port;
  } catch (error) {
    await api.close();
    await store.close();
    throw new CollectorError(
      'HTTP_LISTEN_FAILED',
      `cannot listen on ${config.http.host}:${config.http.port}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
  const httpUrl = `http://${host}:${httpPort}`;

  const inFlight = new Set<Promise<unknown>>();
  const connection = { ingest, inFlight, metrics, connected: new Set<number>(), logger };
  for (let index = 0; index < config.mqtt.connections; index++) {
    mqttClients.push(connectBroker(config.mqtt, index, connection));
  }
  const storeName = config.store.type === 'sqlite' ? config.store.path : config.store.url;
  logger.info(
    { httpUrl, store: storeName, broker: config.mqtt.url, topic: subscriptionOf(config.mqtt) },
    'collector started',
  );

  let closing: Promise<void> | undefined;
  return {
    httpUrl,
    httpPort,
    close() {
      closing ??= (async () => {
        // Retries stop; a message not yet durable is left unacknowledged for the broker to redeliver.
        stopping.abort();
        await Promise.all(mqttClients.map((client) => client.endAsync(true)));
        // Messages already being stored finish before the store closes under them.
        await Promise.allSettled(inFlight);
        await api.close();
        await store.close();
        logger.info('collector stopped');
      })();
      return closing;
    },
  };
}

/** The topic filter as subscribed: `$share/{group}/{topic}` when the load is shared. */
export function subscriptionOf(mqtt: CollectorConfig['mqtt']): string {
  return mqtt.shareGroup === undefined ? mqtt.topic : `$share/${mqtt.shareGroup}/${mqtt.topic}`;
}

interface ConnectionContext {
  ingest: Ingest;
  inFlight: Set<Promise<unknown>>;
  metrics: CollectorMetrics;
  /** Indexes of the connections that are up, for the broker-connected gauge. */
  connected: Set<number>;
  logger: Logger;
}

/**
 * One MQTT connection; it connects and keeps reconnecting in the background (the broker being
 * down at start is not fatal). mqtt.js handles one incoming message at a time per connection and
 * sends its PUBACK when `handleMessage` calls back: holding that call until the message is durable
 * is the acknowledgement and the back-pressure at once (a slow store stops the reading).
 */
function connectBroker(mqtt: CollectorConfig['mqtt'], index: number, context: ConnectionContext): MqttClient {
  const { ingest, inFlight, metrics, logger } = context;
  const log = logger.child({ broker: mqtt.url, connection: index });
  const baseId = mqtt.clientId ?? `jjj-collector-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  const topic = subscriptionOf(mqtt);
  const client = connect(mqtt.url, {
    clientId: mqtt.connections > 1 ? `${baseId}-${index}` : baseId,
    username: mqtt.username,
    password: mqtt.password,
    // MQTT 3.1.1 so the embedded aedes broker (no MQTT 5) works too; Mosquitto shares subscriptions on 3.1.1.
    protocolVersion: 4,
    clean: !mqtt.persistentSession,
    // Subscribing on every `connect` below covers reconnects.
    resubscribe: false,
    reconnectPeriod: RECONNECT_PERIOD_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
  });

  client.handleMessage = (packet, done) => {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    metrics.queueDepth.inc();
    const handling = ingest.handle(packet.topic, payload).then(
      (outcome) => {
        if (outcome.status !== 'abandoned') done();
      },
      (error: unknown) => {
        // `handle` never rejects; this is a bug, and acknowledging keeps the connection from stalling.
        log.error({ err: error, topic: packet.topic }, 'message handling failed');
        done();
      },
    );
    inFlight.add(handling);
    void handling.finally(() => {
      inFlight.delete(handling);
      metrics.queueDepth.dec();
    });
  };

  let connected = false;
  let lastError: string | undefined;
  client.on('connect', () => {
    connected = true;
    lastError = undefined;
    context.connected.add(index);
    metrics.brokerConnected.set(context.connected.size);
    log.info('connected to broker');
    client.subscribe(topic, { qos: 1 }, (error, granted) => {
      if (error) log.error({ err: error, topic }, 'subscribe failed');
      else if (granted?.some((grant) => grant.qos === 128))
        log.error({ topic }, 'broker refused the subscription');
      else log.info({ topic }, 'subscribed');
    });
    if (index === 0 && mqtt.sparkplug) {
      client.subscribe(SPARKPLUG_NODE_FILTERS, { qos: 1 }, (error) => {
        if (error) log.error({ err: error }, 'subscribing to Sparkplug B failed');
      });
    }
  });
  client.on('close', () => {
    if (!connected) return;
    connected = false;
    context.connected.delete(index);
    metrics.brokerConnected.set(context.connected.size);
    log.warn('disconnected from broker; reconnecting');
  });
  client.on('error', (error) => {
    // While down, the same error repeats at every retry: log it once.
    if (error.message === lastError) return;
    lastError = error.message;
    log.warn({ err: error.message }, 'broker connection error');
  });
  return client;
}
