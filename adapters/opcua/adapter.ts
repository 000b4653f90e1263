/**
 * The OPC UA device adapter: one client, one session and one subscription per device. node-opcua
 * reconnects on its own and, after a server restart, recreates the session and the subscription; this
 * adapter turns those events into device states and makes sure no stale good value outlives a disconnect.
 */
import {
  AttributeIds,
  type ClientMonitoredItemBase,
  type ClientSession,
  type ClientSubscription,
  DataChangeNotification,
  type NotificationMessage,
  OPCUACertificateManager,
  OPCUAClient,
  type OPCUAClientOptions,
  resolveNodeId,
  TimestampsToReturn,
} from 'node-opcua';
import type { AdapterContext, DeviceAdapter, DeviceState, Reading } from '../contract.js';
import type { OpcuaDevice, OpcuaPoint } from './config.js';
import { notConnectedReading, qualityOf, readingFromDataValue, statusOf } from './decode.js';

export interface OpcuaAdapterOptions {
  /**
   * Folder of the client's PKI (its application certificate is created there on first use). Without it,
   * node-opcua's default under ~/.config/node-opcua-default-nodejs is used.
   */
  pkiDir?: string;
}

/** node-opcua retries the first connection and every reconnection forever, backing off to this delay. */
const MAX_RECONNECT_DELAY_MS = 10_000;
/** Wait before rebuilding a session or subscription the server refused or dropped. */
const REBUILD_DELAY_MS = 5_000;
const MONITORED_ITEM_QUEUE_SIZE = 10;
/** Slack on top of the keep-alive period before a silent subscription counts as dead. */
const SILENCE_MARGIN_MS = 2_000;

interface Connection {
  client: OPCUAClient;
  certificateManager: OPCUACertificateManager | undefined;
  session?: ClientSession;
  subscription?: ClientSubscription;
  silenceWatchdog?: NodeJS.Timeout;
  /** Node ids the server refused to monitor, tried again after each session restore. */
  refusedNodeIds: string[];
}

export class OpcuaAdapter implements DeviceAdapter {
  readonly #device: OpcuaDevice;
  readonly #context: AdapterContext;
  readonly #options: OpcuaAdapterOptions;
  /** Points by normalised node id: several points may read the same node. */
  readonly #pointsByNodeId = new Map<string, OpcuaPoint[]>();
  #connection: Connection | undefined;
  #state: DeviceState | undefined;
  #running = false;
  #rebuildTimer: NodeJS.Timeout | undefined;
  /** The background connect-and-subscribe of the current connection, awaited by stop(). */
  #establishing: Promise<void> | undefined;
  /** Teardowns of connections being rebuilt, so stop() can wait for them too. */
  readonly #closing = new Set<Promise<void>>();

  constructor(device: OpcuaDevice, context: AdapterContext, options: OpcuaAdapterOptions = {}) {
    this.#device = device;
    this.#context = context;
    this.#options = options;
    for (const point of device.points) {
      const key = normaliseNodeId(point.nodeId);
      this.#pointsByNodeId.set(key, [...(this.#pointsByNodeId.get(key) ?? []), point]);
    }
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    await this.#connect();
  }

  /** Connects in the background; resolves once subscribed or once the first failure is reported. */
  #connect(): Promise<void> {
    const connection = this.#newConnection({
      initialDelay: 1000,
      maxDelay: MAX_RECONNECT_DELAY_MS,
      maxRetry: -1,
    });
    this.#connection = connection;
    const { client } = connection;
    return new Promise<void>((settle) => {
      client.on('backoff', () => {
        this.#disconnected(`cannot connect to ${this.#device.endpoint}; retrying in the background`);
        settle();
      });
      client.on('connection_lost', () => this.#disconnected(`connection to ${this.#device.endpoint} lost`));
      this.#establishing = this.#subscribe(connection)
        .then(() => {
          this.#setState('connected');
        })
        .catch((error: unknown) => this.#rebuildLater(connection, error))
        .finally(settle);
    });
  }

  async #subscribe(connection: Connection): Promise<void> {
    const { client } = connection;
    await client.connect(this.#device.endpoint);
    const session = await client.createSession();
    connection.session = session;
    // Emitted once node-opcua has reactivated or recreated the session and its subscription.
    session.on('session_restored', () => {
      this.#setState('connected');
      this.#monitor(connection, connection.refusedNodeIds).catch((error: unknown) =>
        this.#context.logger.warn({ reason: errorMessage(error) }, 'monitoring refused nodes again failed'),
      );
    });
    const subscription = await session.createSubscription2({
      requestedPublishingInterval: this.#device.publishingIntervalMs,
      requestedMaxKeepAliveCount: 10,
      requestedLifetimeCount: 60,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 1,
    });
    connection.subscription = subscription;
    this.#watchSilence(connection, subscription);
    subscription.on('received_notifications', (message: NotificationMessage) =>
      this.#onNotifications(message),
    );
    subscription.on('terminated', () => {
      if (this.#connection === connection) {
        this.#rebuildLater(connection, new Error('the server ended the subscription'));
      }
    });
    await this.#monitor(connection, [...this.#pointsByNodeId.keys()]);
  }

  /**
   * A server that drops the session (e.g. after a session timeout) can leave the subscription silent with
   * no error on the client. A subscription sends data or a keep-alive at least every publishing interval ×
   * max keep-alive count; twice that without anything while not reconnecting means it is dead: rebuild.
   */
  #watchSilence(connection: Connection, subscription: ClientSubscription): void {
    const silenceLimitMs =
      2 * subscription.publishingInterval * subscription.maxKeepAliveCount + SILENCE_MARGIN_MS;
    connection.silenceWatchdog = setTimeout(() => {
      if (connection.client.isReconnecting) {
        connection.silenceWatchdog?.refresh();
        return;
      }
      this.#rebuildLater(
        connection,
        new Error(`no data or keep-alive from the server for ${silenceLimitMs} ms`),
      );
    }, silenceLimitMs);
    subscription.on('raw_notification', () => connection.silenceWatchdog?.refresh());
    connection.session?.on('session_restored', () => connection.silenceWatchdog?.refresh());
  }

  /**
   * Adds monitored items for `nodeIds`. node-opcua drops the items a server refuses (e.g. BadNodeIdUnknown)
   * and does not recreate them after a reconnect, so they are remembered and tried again after each restore:
   * a restarted server may know them by then.
   */
  async #monitor(connection: Connection, nodeIds: readonly string[]): Promise<void> {
    if (!connection.subscription || nodeIds.length === 0) return;
    const group = await connection.subscription.monitorItems(
      nodeIds.map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value })),
      {
        samplingInterval: this.#device.samplingIntervalMs,
        queueSize: MONITORED_ITEM_QUEUE_SIZE,
        discardOldest: true,
      },
      TimestampsToReturn.Both,
    );
    connection.refusedNodeIds = this.#reportRefusedItems(group.monitoredItems);
  }

  /** One publish response = one call to the sink. */
  #onNotifications(message: NotificationMessage): void {
    const receivedAt = Date.now();
    const readings: Reading[] = [];
    const subscription = this.#connection?.subscription;
    for (const data of message.notificationData ?? []) {
      if (!(data instanceof DataChangeNotification)) continue;
      for (const change of data.monitoredItems ?? []) {
        const item = subscription?.monitoredItems[change.clientHandle];
        if (!item) continue;
        for (const point of this.#pointsByNodeId.get(item.itemToMonitor.nodeId.toString()) ?? []) {
          readings.push(readingFromDataValue(point.name, change.value, receivedAt));
        }
      }
    }
    if (readings.length > 0) this.#context.sink.readings(this.#device.id, readings);
  }

  /** A node the server refuses to monitor gets one bad reading and one log line; returns their node ids. */
  #reportRefusedItems(items: readonly ClientMonitoredItemBase[]): string[] {
    const now = Date.now();
    const readings: Reading[] = [];
    const refused: string[] = [];
    for (const item of items) {
      const status = statusOf(item.statusCode);
      if (!status || qualityOf(status.code) !== 'bad') continue;
      const nodeId = item.itemToMonitor.nodeId.toString();
      refused.push(nodeId);
      this.#context.logger.warn({ nodeId, status: status.name }, 'server refused to monitor node');
      for (const point of this.#pointsByNodeId.get(nodeId) ?? []) {
        readings.push({ point: point.name, value: null, ts: now, quality: 'bad', status });
      }
    }
    if (readings.length > 0) this.#context.sink.readings(this.#device.id, readings);
    return refused;
  }

  /** The connection came up but the session or subscription failed: drop it all and try again later. */
  #rebuildLater(connection: Connection, error: unknown): void {
    if (!this.#running || this.#connection !== connection) return;
    this.#connection = undefined;
    this.#disconnected(errorMessage(error));
    const closing = this.#close(connection).then(() => {
      this.#closing.delete(closing);
      if (!this.#running) return;
      this.#rebuildTimer = setTimeout(() => {
        this.#rebuildTimer = undefined;
        if (this.#running) void this.#connect();
      }, REBUILD_DELAY_MS);
    });
    this.#closing.add(closing);
  }

  async scanOnce(): Promise<Reading[]> {
    const connection = this.#newConnection({ maxRetry: 0, initialDelay: 100, maxDelay: 200 });
    try {
      await connection.client.connect(this.#device.endpoint);
      const session = await connection.client.createSession();
      connection.session = session;
      const dataValues = await session.read(
        this.#device.points.map((point) => ({ nodeId: point.nodeId, attributeId: AttributeIds.Value })),
      );
      const receivedAt = Date.now();
      return this.#device.points.map((point, index) => {
        const dataValue = dataValues[index];
        return dataValue
          ? readingFromDataValue(point.name, dataValue, receivedAt)
          : notConnectedReading(point.name, receivedAt);
      });
    } catch (error) {
      const reason = errorMessage(error);
      this.#context.logger.warn({ endpoint: this.#device.endpoint, reason }, 'scan failed');
      this.#context.sink.deviceState(this.#device.id, 'disconnected', reason);
      const now = Date.now();
      return this.#device.points.map((point) => notConnectedReading(point.name, now));
    } finally {
      await this.#close(connection);
    }
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    clearTimeout(this.#rebuildTimer);
    this.#rebuildTimer = undefined;
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection) await this.#close(connection);
    await this.#establishing;
    await Promise.all(this.#closing);
  }

  /** Security None/anonymous for now; a `security:` block in the config will be applied here. */
  #newConnection(connectionStrategy: OPCUAClientOptions['connectionStrategy']): Connection {
    const certificateManager =
      this.#options.pkiDir === undefined
        ? undefined
        : new OPCUACertificateManager({ rootFolder: this.#options.pkiDir });
    const client = OPCUAClient.create({
      applicationName: 'jjj-gateway',
      endpointMustExist: false,
      connectionStrategy,
      keepSessionAlive: false,
      ...(certificateManager && { clientCertificateManager: certificateManager }),
    });
    return { client, certificateManager, refusedNodeIds: [] };
  }

  /** Deletes the subscription with the session, then disconnects; never throws. */
  async #close(connection: Connection): Promise<void> {
    const { client, session, certificateManager } = connection;
    clearTimeout(connection.silenceWatchdog);
    try {
      if (session && !client.isReconnecting) await session.close(true);
    } catch (error) {
      this.#context.logger.debug({ reason: errorMessage(error) }, 'closing the session failed');
    }
    try {
      await client.disconnect();
    } catch (error) {
      this.#context.logger.debug({ reason: errorMessage(error) }, 'disconnecting failed');
    }
    try {
      await certificateManager?.dispose();
    } catch (error) {
      this.#context.logger.debug({ reason: errorMessage(error) }, 'releasing the PKI failed');
    }
  }

  /** Going disconnected also marks every point bad, once, so no stale good value stands. */
  #disconnected(reason: string): void {
    if (!this.#setState('disconnected', reason)) return;
    const now = Date.now();
    this.#context.sink.readings(
      this.#device.id,
      this.#device.points.map((point) => notConnectedReading(point.name, now)),
    );
  }

  /** Reports a state change (once) and tells whether it was one. */
  #setState(state: DeviceState, detail?: string): boolean {
    if (this.#state === state || !this.#running) return false;
    this.#state = state;
    if (state === 'connected') this.#context.logger.info({ endpoint: this.#device.endpoint }, 'connected');
    else this.#context.logger.warn({ endpoint: this.#device.endpoint, reason: detail }, 'disconnected');
    this.#context.sink.deviceState(this.#device.id, state, detail);
    return true;
  }
}

/** Node ids as node-opcua prints them, so config spellings (`i=85` vs `ns=0;i=85`) match notifications. */
function normaliseNodeId(nodeId: string): string {
  return resolveNodeId(nodeId).toString();
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
