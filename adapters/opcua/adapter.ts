/**
 * The OPC UA device adapter: one client and one session per device, and either one subscription (the
 * server reports changes) or a Read loop (polling). node-opcua reconnects on its own and, after a server
 * restart, recreates the session, the subscription and its monitored items under new server ids while
 * keeping the client handles this adapter maps to points. This adapter turns those events into device
 * states, makes sure no stale good value outlives a disconnect, and drops notifications it already passed on.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import {
  AttributeIds,
  type ClientMonitoredItemBase,
  type ClientSession,
  type ClientSubscription,
  DataChangeFilter,
  DataChangeNotification,
  DataChangeTrigger,
  type DataValue,
  DeadbandType,
  MessageSecurityMode,
  type NotificationMessage,
  OPCUAClient,
  type OPCUAClientOptions,
  type ReadValueIdOptions,
  resolveNodeId,
  SecurityPolicy,
  StatusCodes,
  TimestampsToReturn,
  type UserIdentityInfo,
  UserTokenType,
  VariableIds,
} from 'node-opcua-client';
import type {
  AdapterContext,
  DeviceAdapter,
  DeviceState,
  Reading,
  ReadingScalar,
  WriteResult,
} from '../contract.js';
import type { OpcuaDevice, OpcuaPoint, Security } from './config.js';
import { notConnectedReading, qualityOf, readingFromDataValue, statusOf, variantForWrite } from './decode.js';
import { LastSamples } from './last-samples.js';
import { connectedGauge, outagesCounter, readingsCounter } from './metrics.js';
import { acquireCertificateManager, releaseCertificateManager } from './pki.js';

export interface OpcuaAdapterOptions {
  /** Folder of the client's PKI, shared by the gateway's OPC UA devices (own certificate made on first use). */
  pkiDir: string;
  /** Reconnection back-off, ms; tests shorten it. */
  reconnectDelayMs?: { initial: number; max: number };
  /** Wait before rebuilding a session or subscription the server refused or dropped, ms. */
  rebuildDelayMs?: number;
}

const DEFAULT_RECONNECT_DELAY_MS = { initial: 1000, max: 10_000 };
const DEFAULT_REBUILD_DELAY_MS = 5_000;
/** Slack on top of the keep-alive period before a silent subscription counts as dead. */
const SILENCE_MARGIN_MS = 2_000;
/** Used when a server does not publish an operation limit (0 means "no limit" in OPC UA). */
const FALLBACK_ITEMS_PER_CALL = 1000;
/**
 * Changes per publish response unless the device says otherwise. A server sends the rest in further
 * responses straight away (node-opcua keeps several publish requests in flight), and the gateway then
 * decodes and hands on one small response at a time instead of holding all of a large device's changes.
 */
const DEFAULT_MAX_NOTIFICATIONS_PER_PUBLISH = 1000;

interface Connection {
  client: OPCUAClient;
  session?: ClientSession;
  subscription?: ClientSubscription;
  silenceWatchdog?: NodeJS.Timeout;
  pollTimer?: NodeJS.Timeout;
  limits?: OperationLimits;
  /** Node ids the server refused to monitor, tried again after each session restore. */
  refusedNodeIds: string[];
}

export class OpcuaAdapter implements DeviceAdapter {
  readonly #device: OpcuaDevice;
  readonly #context: AdapterContext;
  readonly #options: OpcuaAdapterOptions;
  readonly #labels: { device: string; endpoint: string };
  /**
   * Point indexes by normalised node id (several points may read the same node; the first one's
   * monitoring options apply). Each list is made with its first index, so it holds no spare slots.
   */
  readonly #nodes = new Map<string, number[]>();
  /**
   * Points by the client handle of their monitored item; handles survive node-opcua's re-creation. A
   * subscription numbers its handles 1, 2, 3…, so an array indexed by handle is dense (a Map of 10,000s
   * of entries takes several times the memory).
   */
  readonly #pointsByHandle: (number[] | undefined)[] = [];
  readonly #lastSamples: LastSamples;
  #certificateManager: OPCUACertificateManager | undefined;
  #connection: Connection | undefined;
  #state: DeviceState | undefined;
  #running = false;
  #rebuildTimer: NodeJS.Timeout | undefined;
  /** The background connect-and-subscribe of the current connection, awaited by stop(). */
  #establishing: Promise<void> | undefined;
  /** Teardowns of connections being rebuilt, so stop() can wait for them too. */
  readonly #closing = new Set<Promise<void>>();

  constructor(device: OpcuaDevice, context: AdapterContext, options: OpcuaAdapterOptions) {
    this.#device = device;
    this.#context = context;
    this.#options = options;
    this.#labels = { device: device.id, endpoint: device.endpoint };
    device.points.forEach((point, index) => {
      const nodeId = normaliseNodeId(point.nodeId);
      const points = this.#nodes.get(nodeId);
      if (points) points.push(index);
      else this.#nodes.set(nodeId, [index]);
    });
    this.#lastSamples = new LastSamples(device.points.length);
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    connectedGauge.set(this.#labels, 0);
    await this.#connect();
  }

  /** Connects in the background; resolves once acquiring or once the first failure is reported. */
  async #connect(): Promise<void> {
    const delays = this.#options.reconnectDelayMs ?? DEFAULT_RECONNECT_DELAY_MS;
    const connection = await this.#newConnection({
      initialDelay: delays.initial,
      maxDelay: delays.max,
      maxRetry: -1,
    });
    if (!connection) return;
    if (!this.#running) {
      // stop() ran while the PKI was being set up: it found nothing to release yet.
      await this.#releasePki();
      return;
    }
    this.#connection = connection;
    const { client } = connection;
    return new Promise<void>((settle) => {
      client.on('backoff', () => {
        this.#disconnected(`cannot connect to ${this.#device.endpoint}; retrying in the background`);
        settle();
      });
      client.on('connection_lost', () => this.#disconnected(`connection to ${this.#device.endpoint} lost`));
      this.#establishing = this.#acquire(connection)
        .then(() => {
          this.#setState('connected');
        })
        .catch((error: unknown) => this.#rebuildLater(connection, error))
        .finally(settle);
    });
  }

  async #acquire(connection: Connection): Promise<void> {
    const { client } = connection;
    await client.connect(this.#device.endpoint);
    const session = await client.createSession(await this.#userIdentity());
    connection.session = session;
    connection.limits = await operationLimitsOf(session);
    if (this.#device.mode === 'polling') {
      session.on('session_restored', () => this.#setState('connected'));
      this.#pollLoop(connection);
      return;
    }
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
      maxNotificationsPerPublish:
        this.#device.maxNotificationsPerPublish ?? DEFAULT_MAX_NOTIFICATIONS_PER_PUBLISH,
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
    await this.#monitor(connection, [...this.#nodes.keys()]);
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
   * Adds monitored items for `nodeIds`, one CreateMonitoredItems call per group of equal options and at
   * most the server's MaxMonitoredItemsPerCall items each. node-opcua drops the items a server refuses
   * (e.g. BadNodeIdUnknown) and does not recreate them after a reconnect, so they are remembered and tried
   * again after each restore: a restarted server may know them by then.
   */
  async #monitor(connection: Connection, nodeIds: readonly string[]): Promise<void> {
    const { subscription } = connection;
    if (!subscription || nodeIds.length === 0) return;
    const groups = new Map<string, { options: MonitoringOptions; nodeIds: string[] }>();
    for (const nodeId of nodeIds) {
      const point = this.#device.points[this.#nodes.get(nodeId)?.[0] ?? -1];
      if (!point) continue;
      const options = this.#monitoringOptions(point);
      const key = JSON.stringify(options);
      const group = groups.get(key) ?? { options, nodeIds: [] };
      group.nodeIds.push(nodeId);
      groups.set(key, group);
    }
    const perCall = connection.limits?.maxMonitoredItemsPerCall || FALLBACK_ITEMS_PER_CALL;
    const refused: string[] = [];
    for (const { options, nodeIds: groupIds } of groups.values()) {
      for (const chunk of chunks(groupIds, perCall)) {
        const group = await subscription.monitorItems(
          chunk.map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value })),
          {
            samplingInterval: options.samplingIntervalMs,
            queueSize: options.queueSize,
            discardOldest: options.discardOldest,
            ...(options.deadband && {
              filter: new DataChangeFilter({
                trigger: DataChangeTrigger.StatusValue,
                deadbandType:
                  options.deadband.type === 'absolute' ? DeadbandType.Absolute : DeadbandType.Percent,
                deadbandValue: options.deadband.value,
              }),
            }),
          },
          TimestampsToReturn.Both,
        );
        for (const item of group.monitoredItems) {
          const points = this.#nodes.get(item.itemToMonitor.nodeId.toString());
          if (points) this.#pointsByHandle[item.monitoringParameters.clientHandle] = points;
        }
        refused.push(...this.#reportRefusedItems(group.monitoredItems));
      }
    }
    connection.refusedNodeIds = refused;
  }

  #monitoringOptions(point: OpcuaPoint): MonitoringOptions {
    const device = this.#device;
    const deadband = point.deadband ?? device.deadband;
    return {
      samplingIntervalMs: point.samplingIntervalMs ?? device.samplingIntervalMs,
      queueSize: point.queueSize ?? device.queueSize,
      discardOldest: point.discardOldest ?? device.discardOldest,
      ...(deadband && { deadband }),
    };
  }

  /** One publish response = one call to the sink. */
  #onNotifications(message: NotificationMessage): void {
    const receivedAt = Date.now();
    const readings: Reading[] = [];
    for (const data of message.notificationData ?? []) {
      if (!(data instanceof DataChangeNotification)) continue;
      for (const change of data.monitoredItems ?? []) {
        for (const point of this.#pointsByHandle[change.clientHandle] ?? []) {
          this.#collect(readings, point, change.value, receivedAt);
        }
      }
    }
    this.#deliver(readings);
  }

  /** Adds the reading of point `index` unless it is the very sample last handed on (same time, value and status). */
  #collect(readings: Reading[], index: number, dataValue: DataValue, receivedAt: number): void {
    const point = this.#device.points[index];
    if (!point) return;
    const reading = readingFromDataValue(point.name, dataValue, receivedAt, this.#device.timestamp);
    if (this.#lastSamples.record(index, reading)) readings.push(reading);
  }

  #deliver(readings: Reading[]): void {
    if (readings.length === 0) return;
    readingsCounter.inc(this.#labels, readings.length);
    this.#context.sink.readings(this.#device.id, readings);
  }

  /** Polling mode: Read every node each `pollIntervalMs`, the next Read scheduled once this one ended. */
  #pollLoop(connection: Connection): void {
    const poll = async () => {
      const { session } = connection;
      if (!session || this.#connection !== connection) return;
      try {
        const readings: Reading[] = [];
        const dataValues = await this.#read(connection, session, [...this.#nodes.keys()]);
        const receivedAt = Date.now();
        [...this.#nodes.values()].forEach((points, index) => {
          const dataValue = dataValues[index];
          if (!dataValue) return;
          for (const point of points) this.#collect(readings, point, dataValue, receivedAt);
        });
        this.#setState('connected');
        this.#deliver(readings);
      } catch (error) {
        this.#disconnected(`reading from ${this.#device.endpoint} failed: ${errorMessage(error)}`);
      }
      if (this.#running && this.#connection === connection) {
        connection.pollTimer = setTimeout(() => void poll(), this.#device.pollIntervalMs);
      }
    };
    void poll();
  }

  /** Reads the Value of `nodeIds` in as many calls as the server's MaxNodesPerRead needs. */
  async #read(
    connection: Connection,
    session: ClientSession,
    nodeIds: readonly string[],
  ): Promise<DataValue[]> {
    const perCall = connection.limits?.maxNodesPerRead || FALLBACK_ITEMS_PER_CALL;
    const dataValues: DataValue[] = [];
    for (const chunk of chunks(nodeIds, perCall)) {
      const request: ReadValueIdOptions[] = chunk.map((nodeId) => ({
        nodeId,
        attributeId: AttributeIds.Value,
      }));
      dataValues.push(...(await session.read(request)));
    }
    return dataValues;
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
      for (const index of this.#nodes.get(nodeId) ?? []) {
        const point = this.#device.points[index];
        if (!point) continue;
        this.#lastSamples.forget(index);
        readings.push({ point: point.name, value: null, ts: now, quality: 'bad', status });
      }
    }
    this.#deliver(readings);
    return refused;
  }

  /** The connection came up but the session or subscription failed: drop it all and try again later. */
  #rebuildLater(connection: Connection, error: unknown): void {
    if (!this.#running || this.#connection !== connection) return;
    this.#connection = undefined;
    this.#disconnected(explain(error, this.#device.endpoint, this.#device.security?.user));
    const closing = this.#close(connection).then(() => {
      this.#closing.delete(closing);
      if (!this.#running) return;
      this.#rebuildTimer = setTimeout(() => {
        this.#rebuildTimer = undefined;
        if (this.#running) void this.#connect();
      }, this.#options.rebuildDelayMs ?? DEFAULT_REBUILD_DELAY_MS);
    });
    this.#closing.add(closing);
  }

  async scanOnce(): Promise<Reading[]> {
    const connection = await this.#newConnection({ maxRetry: 0, initialDelay: 100, maxDelay: 200 });
    const now = () => Date.now();
    if (!connection) return this.#device.points.map((point) => notConnectedReading(point.name, now()));
    try {
      await connection.client.connect(this.#device.endpoint);
      const session = await connection.client.createSession(await this.#userIdentity());
      connection.session = session;
      connection.limits = await operationLimitsOf(session);
      const dataValues = await this.#read(
        connection,
        session,
        this.#device.points.map((point) => point.nodeId),
      );
      const receivedAt = now();
      return this.#device.points.map((point, index) => {
        const dataValue = dataValues[index];
        return dataValue
          ? readingFromDataValue(point.name, dataValue, receivedAt, this.#device.timestamp)
          : notConnectedReading(point.name, receivedAt);
      });
    } catch (error) {
      const reason = explain(error, this.#device.endpoint, this.#device.security?.user);
      this.#context.logger.warn({ endpoint: this.#device.endpoint, reason }, 'scan failed');
      this.#context.sink.deviceState(this.#device.id, 'disconnected', reason);
      return this.#device.points.map((point) => notConnectedReading(point.name, now()));
    } finally {
      await this.#close(connection);
      await this.#releasePki();
    }
  }

  async write(pointName: string, value: ReadingScalar): Promise<WriteResult> {
    const point = this.#device.points.find((candidate) => candidate.name === pointName);
    if (!point) return { ok: false, reason: `no point ${pointName} on device ${this.#device.id}` };
    const session = this.#connection?.session;
    if (!session || this.#state !== 'connected') {
      return { ok: false, reason: `not connected to ${this.#device.endpoint}` };
    }
    try {
      const nodeId = resolveNodeId(point.nodeId);
      const variant = variantForWrite(await session.getBuiltInDataType(nodeId), value);
      if (!variant)
        return { ok: false, reason: `the variable cannot take the value ${JSON.stringify(value)}` };
      const statusCode = await session.write({
        nodeId,
        attributeId: AttributeIds.Value,
        value: { value: variant },
      });
      if (statusCode.value === StatusCodes.Good.value) return { ok: true };
      const status = statusOf(statusCode);
      return {
        ok: false,
        reason: `the server refused the write: ${statusCode.name}`,
        ...(status && { status }),
      };
    } catch (error) {
      return { ok: false, reason: errorMessage(error) };
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
    await this.#releasePki();
    connectedGauge.set(this.#labels, 0);
  }

  /** A client for the configured security; `undefined` (reported) when the PKI cannot be set up. */
  async #newConnection(
    connectionStrategy: OPCUAClientOptions['connectionStrategy'],
  ): Promise<Connection | undefined> {
    try {
      this.#certificateManager ??= await acquireCertificateManager(this.#options.pkiDir);
    } catch (error) {
      this.#disconnected(`cannot set up the PKI in ${this.#options.pkiDir}: ${errorMessage(error)}`);
      return undefined;
    }
    const security = this.#device.security;
    const client = OPCUAClient.create({
      applicationName: 'jjj-gateway',
      endpointMustExist: false,
      connectionStrategy,
      // A subscription's publish requests keep the session alive; a slow Read loop needs node-opcua's pings.
      keepSessionAlive: this.#device.mode === 'polling',
      clientCertificateManager: this.#certificateManager,
      securityMode: MessageSecurityMode[security?.mode ?? 'None'],
      securityPolicy: SecurityPolicy[security?.policy ?? 'None'],
    });
    return { client, refusedNodeIds: [] };
  }

  async #userIdentity(): Promise<UserIdentityInfo> {
    return userIdentityOf(this.#device.security?.user);
  }

  async #releasePki(): Promise<void> {
    const manager = this.#certificateManager;
    this.#certificateManager = undefined;
    if (manager && !this.#running) await releaseCertificateManager(manager);
  }

  /** Deletes the subscription with the session, then disconnects; never throws. */
  async #close(connection: Connection): Promise<void> {
    const { client, session } = connection;
    clearTimeout(connection.silenceWatchdog);
    clearTimeout(connection.pollTimer);
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
  }

  /** Going disconnected also marks every point bad, once, so no stale good value stands. */
  #disconnected(reason: string): void {
    if (!this.#setState('disconnected', reason)) return;
    const now = Date.now();
    this.#lastSamples.forgetAll();
    this.#deliver(this.#device.points.map((point) => notConnectedReading(point.name, now)));
  }

  /** Reports a state change (once) and tells whether it was one. */
  #setState(state: DeviceState, detail?: string): boolean {
    if (this.#state === state || !this.#running) return false;
    const wasConnected = this.#state === 'connected';
    this.#state = state;
    connectedGauge.set(this.#labels, state === 'connected' ? 1 : 0);
    if (state === 'connected') this.#context.logger.info({ endpoint: this.#device.endpoint }, 'connected');
    else {
      if (wasConnected) outagesCounter.inc(this.#labels);
      this.#context.logger.warn({ endpoint: this.#device.endpoint, reason: detail }, 'disconnected');
    }
    this.#context.sink.deviceState(this.#device.id, state, detail);
    return true;
  }
}

interface OperationLimits {
  maxNodesPerRead: number;
  maxMonitoredItemsPerCall: number;
}

/** The server's per-call limits (0 = none published); node-opcua's own helper logs every missing one. */
async function operationLimitsOf(session: ClientSession): Promise<OperationLimits> {
  const [read, monitor] = await session.read(
    [
      VariableIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead,
      VariableIds.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall,
    ].map((id) => ({ nodeId: resolveNodeId(id), attributeId: AttributeIds.Value })),
  );
  const limit = (dataValue: DataValue | undefined) =>
    dataValue?.statusCode.isGood() && typeof dataValue.value.value === 'number' ? dataValue.value.value : 0;
  return { maxNodesPerRead: limit(read), maxMonitoredItemsPerCall: limit(monitor) };
}

interface MonitoringOptions {
  samplingIntervalMs: number;
  queueSize: number;
  discardOldest: boolean;
  deadband?: OpcuaPoint['deadband'];
}

/** The session's user identity from the config; passwords may come from the environment. */
export async function userIdentityOf(user: Security['user'] | undefined): Promise<UserIdentityInfo> {
  if (!user || user.type === 'anonymous') return { type: UserTokenType.Anonymous };
  if (user.type === 'username') {
    const password = user.password ?? process.env[user.passwordEnv ?? ''];
    if (password === undefined) throw new Error(`environment variable ${user.passwordEnv} is not set`);
    return { type: UserTokenType.UserName, userName: user.username, password };
  }
  const certificate = new X509Certificate(await readFile(user.certificateFile));
  return {
    type: UserTokenType.Certificate,
    certificateData: certificate.raw,
    privateKey: await readFile(user.privateKeyFile, 'utf8'),
  };
}

/** Turns node-opcua's certificate refusals (the server's, or of the user certificate) into what to do about it. */
export function explain(error: unknown, endpoint: string, user?: Security['user']): string {
  const message = errorMessage(error);
  if (/certificate verification failed|BadCertificateUntrusted/i.test(message)) {
    return (
      `the server certificate of ${endpoint} is not trusted (${message}); check it with ` +
      '`jjj-gateway certificates --config FILE list` and trust it with `… trust FINGERPRINT`'
    );
  }
  if (
    user?.type === 'certificate' &&
    /BadIdentityToken|BadUserSignatureInvalid|BadUserAccessDenied/.test(message)
  ) {
    return (
      `${endpoint} refused the user certificate ${user.certificateFile} (${message}); the server must trust ` +
      'it for user authentication, and privateKeyFile must be its private key'
    );
  }
  return message;
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}

/** Node ids as node-opcua prints them, so config spellings (`i=85` vs `ns=0;i=85`) match notifications. */
function normaliseNodeId(nodeId: string): string {
  const normalised = resolveNodeId(nodeId).toString();
  // The config's own string when it is already normal: one copy per point, not two.
  return normalised === nodeId ? nodeId : normalised;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
