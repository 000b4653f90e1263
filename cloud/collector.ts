/**
 * The collector: subscribes to every gateway's messages over MQTT, stores them, and serves the
 * query API. `startCollector` wires the parts; `close()` stops them all.
 */
import type { AddressInfo } from 'node:net';
import { connect, type MqttClient } from 'mqtt';
import { type Logger, pino } from 'pino';
import { buildApi } from './api.js';
import type { CollectorConfig } from './config.js';
import { CollectorError } from './errors.js';
import { Ingest } from './ingest.js';
import { createCollectorMetrics } from './metrics.js';
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
  const store: TelemetryStore = new SqliteStore(config.store.path);
  const metrics = createCollectorMetrics();
  const ingest = new Ingest({ store, metrics, logger });
  let mqttClient: MqttClient | undefined;

  const api = buildApi({ store, metrics, logger, brokerConnected: () => mqttClient?.connected === true });
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
  mqttClient = connectBroker(config.mqtt, ingest, inFlight, metrics.brokerConnected, logger);
  logger.info(
    { httpUrl, store: config.store.path, broker: config.mqtt.url, topic: config.mqtt.topic },
    'collector started',
  );

  let closing: Promise<void> | undefined;
  return {
    httpUrl,
    httpPort,
    close() {
      closing ??= (async () => {
        await mqttClient?.endAsync(true);
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

/** Connects and keeps reconnecting in the background; the broker being down at start is not fatal. */
function connectBroker(
  mqtt: CollectorConfig['mqtt'],
  ingest: Ingest,
  inFlight: Set<Promise<unknown>>,
  connectedGauge: { set(value: number): void },
  logger: Logger,
): MqttClient {
  const log = logger.child({ broker: mqtt.url });
  const client = connect(mqtt.url, {
    clientId: mqtt.clientId ?? `jjj-collector-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    username: mqtt.username,
    password: mqtt.password,
    // MQTT 3.1.1 so the embedded aedes broker (no MQTT 5) works too.
    protocolVersion: 4,
    clean: true,
    // Subscribing on every `connect` below covers reconnects.
    resubscribe: false,
    reconnectPeriod: RECONNECT_PERIOD_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
  });

  // The PUBACK of a QoS 1 message is held until the message is stored.
  client.handleMessage = (packet, done) => {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const handling = ingest.handle(packet.topic, payload).then(
      () => done(),
      (error: unknown) => {
        log.error({ err: error, topic: packet.topic }, 'message handling failed');
        done();
      },
    );
    inFlight.add(handling);
    void handling.finally(() => inFlight.delete(handling));
  };

  let connected = false;
  let lastError: string | undefined;
  client.on('connect', () => {
    connected = true;
    lastError = undefined;
    connectedGauge.set(1);
    log.info('connected to broker');
    client.subscribe(mqtt.topic, { qos: 1 }, (error, granted) => {
      if (error) log.error({ err: error, topic: mqtt.topic }, 'subscribe failed');
      else if (granted?.some((grant) => grant.qos === 128))
        log.error({ topic: mqtt.topic }, 'broker refused the subscription');
      else log.info({ topic: mqtt.topic }, 'subscribed');
    });
  });
  client.on('close', () => {
    if (!connected) return;
    connected = false;
    connectedGauge.set(0);
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
