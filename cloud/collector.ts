/**
 * The collector: subscribes to every gateway's messages over MQTT, stores them, and serves the
 * query API. `startCollector` wires the parts; `close()` stops them all.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { connect, type MqttClient } from 'mqtt';
import { type Logger, pino } from 'pino';
import { insecureConnectionWarnings } from '../gateway/common/insecure-settings.js';
import { connectionFailureReason, isPermanentFailure } from '../gateway/common/mqtt-failure.js';
import { redactCredentials } from '../gateway/common/redact.js';
import type { TlsMaterial } from '../gateway/common/tls.js';
import { commandPrivateKey } from '../gateway/schema/command-signature.js';
import { parseTopic, TOPIC_ROOT } from '../gateway/schema/index.js';
import { SPARKPLUG_NODE_FILTERS } from '../gateway/schema/sparkplug/index.js';
import { buildApi } from './api.js';
import { defaultAllowedHosts } from './auth/access.js';
import { CommandSender } from './commands/command-sender.js';
import { type CollectorConfig, tlsMaterialOf } from './config.js';
import { CollectorError } from './errors.js';
import { Ingest } from './ingest.js';
import { RollupJob } from './kpi/rollup-job.js';
import { SiteEventHub } from './live/site-events.js';
import { type CollectorMetrics, createCollectorMetrics } from './metrics.js';
import { SparkplugHostState } from './sparkplug-state.js';
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
/** Every gateway's acknowledgements, unshared: the instance that sent a command hears its answer. */
const COMMAND_ACK_FILTER = `${TOPIC_ROOT}/+/+/+/command-ack`;
const CONNECT_TIMEOUT_MS = 10_000;

export async function startCollector(
  config: CollectorConfig,
  options: {
    logger?: Logger;
    /** The built web console's folder; default dist/console/ of this installation. */
    consoleDir?: string;
  } = {},
): Promise<RunningCollector> {
  const logger = (options.logger ?? pino({ level: config.log.level })).child({ component: 'collector' });
  for (const warning of insecureSettingsOf(config)) logger.warn(warning);
  const mqttTls = config.mqtt.tls && tlsMaterialOf(config.mqtt.tls, 'mqtt.tls');
  const signingKey = config.commands.signingKeyFile
    ? loadSigningKey(config.commands.signingKeyFile)
    : undefined;
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
    sparkplug: config.sparkplug,
    ...config.ingest,
  });

  const rollupJob = new RollupJob({
    store,
    config: config.kpi,
    logger,
    maxSamples: config.api.limits.maxRawSamplesPerQuery,
    registry: metrics.registry,
  });

  const brokerConnected = () => mqttClients.length > 0 && mqttClients.every((client) => client.connected);
  const commandSender = signingKey
    ? new CommandSender({
        log: store.commandLog,
        signingKey,
        keyId: config.commands.keyId,
        lifetimeMs: config.commands.lifetimeMs,
        publish: async (topic, payload) => {
          await mqttClients[0]?.publishAsync(topic, payload, { qos: 1 });
        },
        logger,
      })
    : undefined;
  const events = new SiteEventHub({
    store,
    logger,
    staleAfterMs: config.api.staleAfterMs,
    maxClients: config.api.limits.maxEventClients,
  });
  let allowedHosts: ReadonlySet<string> = new Set();
  const api = buildApi({
    store,
    metrics,
    logger,
    brokerConnected,
    auth: config.auth,
    allowedHosts: () => allowedHosts,
    commandSender,
    ackTimeoutMs: config.commands.ackTimeoutMs,
    limits: config.api.limits,
    kpi: config.kpi,
    network: config.network,
    events,
    consoleDir: options.consoleDir,
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
  allowedHosts = new Set(
    config.auth.allowedHosts?.map((name) => name.toLowerCase()) ??
      defaultAllowedHosts(config.http.host, httpPort),
  );
  const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
  const httpUrl = `http://${host}:${httpPort}`;

  const inFlight = new Set<Promise<unknown>>();
  // The STATE rides on the first connection, the one that subscribes to Sparkplug.
  const hostState =
    config.sparkplug.hostId === undefined
      ? undefined
      : new SparkplugHostState({ hostId: config.sparkplug.hostId, metrics, logger });
  const connection = {
    ingest,
    inFlight,
    metrics,
    connected: new Set<number>(),
    logger,
    tls: mqttTls,
    commandSender,
    hostState,
  };
  for (let index = 0; index < config.mqtt.connections; index++) {
    mqttClients.push(connectBroker(config.mqtt, index, connection));
  }
  const broker = redactCredentials(config.mqtt.url);
  try {
    await firstConnection(mqttClients, config.mqtt.connectTimeoutMs);
  } catch (error) {
    stopping.abort();
    await Promise.all(mqttClients.map((client) => client.endAsync(true)));
    await api.close();
    await store.close();
    throw new CollectorError(
      'BROKER_CONNECT_FAILED',
      `cannot connect to the broker ${broker}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const storeName = redactCredentials(config.store.type === 'sqlite' ? config.store.path : config.store.url);
  rollupJob.start();
  logger.info({ httpUrl, store: storeName, broker, topic: subscriptionOf(config.mqtt) }, 'collector started');
  logger.info(
    { hosts: [...allowedHosts], anonymous: config.auth.anonymous, commands: commandSender ? 'on' : 'off' },
    'API access',
  );
  if (config.auth.anonymous !== 'none')
    logger.warn({ role: config.auth.anonymous }, 'the API is open: requests without credentials are served');

  let closing: Promise<void> | undefined;
  return {
    httpUrl,
    httpPort,
    close() {
      closing ??= (async () => {
        // Retries stop; a message not yet durable is left unacknowledged for the broker to redeliver.
        stopping.abort();
        // Live streams end first: browsers reconnect elsewhere, and no poll reads a closing store.
        events.close();
        commandSender?.stop();
        // Edge nodes waiting on this host hear it leave now, not when the broker notices.
        await hostState?.stop();
        await Promise.all(mqttClients.map((client) => client.endAsync(true)));
        // Messages already being stored finish before the store closes under them.
        await Promise.allSettled(inFlight);
        await rollupJob.stop();
        await api.close();
        await store.close();
        logger.info('collector stopped');
      })();
      return closing;
    },
  };
}

/** One warning per insecure transport setting of the broker and InfluxDB connections. */
function insecureSettingsOf(config: CollectorConfig): string[] {
  const { mqtt, store } = config;
  const warnings = insecureConnectionWarnings({
    setting: 'mqtt',
    url: mqtt.url,
    secret: mqtt.password,
    tls: mqtt.tls,
  });
  if (store.type === 'influxdb') {
    const secret = store.apiVersion === 2 ? store.token : store.password;
    warnings.push(
      ...insecureConnectionWarnings(
        { setting: 'store', url: store.url, secret, tls: store.tls },
        { loopbackIsSafe: true },
      ),
    );
  }
  return warnings;
}

/**
 * Resolves once every connection has connected; rejects with the reason at a failure that retrying
 * does not cure (credentials, certificates) or, after `timeoutMs`, with the last failure seen. A
 * collector that never reached its broker would otherwise serve "degraded" forever, ingesting nothing.
 */
function firstConnection(clients: readonly MqttClient[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let lastFailure = 'no answer from the broker';
    const cleanups: (() => void)[] = [];
    const finish = (error?: Error) => {
      clearTimeout(timer);
      for (const cleanup of cleanups) cleanup();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(
      () => finish(new Error(`not connected within ${timeoutMs} ms (mqtt.connectTimeoutMs): ${lastFailure}`)),
      timeoutMs,
    );
    const check = () => {
      if (clients.every((client) => client.connected)) finish();
    };
    const onError = (error: Error & { code?: unknown }) => {
      lastFailure = connectionFailureReason(error);
      if (isPermanentFailure(error)) finish(new Error(lastFailure));
    };
    for (const client of clients) {
      client.on('connect', check);
      client.on('error', onError);
      cleanups.push(() => {
        client.off('connect', check);
        client.off('error', onError);
      });
    }
    check();
  });
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
  tls: TlsMaterial | undefined;
  commandSender: CommandSender | undefined;
  /** Present with `sparkplug.hostId`: published on connection 0. */
  hostState: SparkplugHostState | undefined;
}

function loadSigningKey(file: string) {
  try {
    return commandPrivateKey(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CollectorError(
      'SIGNING_KEY_INVALID',
      `cannot load commands.signingKeyFile ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * One MQTT connection; it connects and keeps reconnecting in the background (`startCollector`
 * waits for the first connection; outages after it are not fatal). mqtt.js handles one incoming message at a time per connection and
 * sends its PUBACK when `handleMessage` calls back: holding that call until the message is durable
 * is the acknowledgement and the back-pressure at once (a slow store stops the reading).
 */
function connectBroker(mqtt: CollectorConfig['mqtt'], index: number, context: ConnectionContext): MqttClient {
  const { ingest, inFlight, metrics, logger } = context;
  const log = logger.child({ broker: redactCredentials(mqtt.url), connection: index });
  const baseId = mqtt.clientId ?? `jjj-collector-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  const topic = subscriptionOf(mqtt);
  const hostState = index === 0 ? context.hostState : undefined;
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
    ...context.tls,
    ...hostState?.connectOptions(),
  });
  hostState?.attach(client);

  client.handleMessage = (packet, done) => {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    // The suffix first: ingest parses every other topic itself, so telemetry is not split twice.
    if (packet.topic.endsWith('/command-ack') && parseTopic(packet.topic)?.kind === 'command-ack') {
      context.commandSender?.handleAck(packet.topic, payload);
      done();
      return;
    }
    if (hostState && packet.topic === hostState.topic) {
      hostState.receive(payload, packet.retain);
      done();
      return;
    }
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
    if (index === 0 && context.commandSender) {
      client.subscribe(COMMAND_ACK_FILTER, { qos: 1 }, (error) => {
        if (error) log.error({ err: error }, 'subscribing to command acknowledgements failed');
      });
    }
    if (index === 0 && mqtt.sparkplug) {
      // A Sparkplug host subscribes to the namespace and its own STATE before it announces itself.
      const filters = hostState ? [...SPARKPLUG_NODE_FILTERS, hostState.topic] : SPARKPLUG_NODE_FILTERS;
      client.subscribe(filters, { qos: 1 }, (error, granted) => {
        if (error || granted?.some((grant) => grant.qos === 128))
          log.error({ err: error, filters }, 'subscribing to Sparkplug B failed');
        else hostState?.announce();
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
    const reason = connectionFailureReason(error);
    if (reason === lastError) return;
    lastError = reason;
    log.warn({ reason }, `broker connection error: ${reason}`);
  });
  return client;
}
