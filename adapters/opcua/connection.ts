/**
 * One device's client connection and session: made in the background, watched, and rebuilt. node-opcua
 * reconnects on its own (with back-off) and, after a server restart, recreates the session and its
 * subscription; what it does not do is kept here: a session or subscription the server refused or dropped
 * is torn down and made again after a pause, and a subscription gone silent counts as dropped.
 */
import type { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import {
  AttributeIds,
  type ClientSession,
  type ClientSubscription,
  type DataValue,
  OPCUAClient,
  type OPCUAClientOptions,
  resolveNodeId,
  VariableIds,
} from 'node-opcua-client';
import type { Logger } from 'pino';
import type { OpcuaDevice } from './config.js';
import { channelSecurityOf, errorMessage, explain, userIdentityOf } from './identity.js';
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
/** A one-shot connection (`jjj-gateway test`) tries once. */
const ONE_SHOT = { maxRetry: 0, initialDelay: 100, maxDelay: 200 };
/** Slack on top of the keep-alive period before a silent subscription counts as dead. */
const SILENCE_MARGIN_MS = 2_000;
/** Used when a server does not publish an operation limit (0 means "no limit" in OPC UA). */
const FALLBACK_ITEMS_PER_CALL = 1000;

/** The server's per-call limits, or the fallback where it publishes none. */
export interface OperationLimits {
  maxNodesPerRead: number;
  maxMonitoredItemsPerCall: number;
}

export interface Connection {
  readonly client: OPCUAClient;
  session?: ClientSession;
  limits: OperationLimits;
  /** Stop what runs on the session (watchdog, Read loop) before it closes. */
  readonly cleanups: (() => void)[];
}

/** How the device is doing, as the connection and the acquisition on it find out. */
export interface DeviceStatus {
  connected(): void;
  /** The device went (or stays) disconnected; `reason` says why. */
  disconnected(reason: string): void;
}

/** Starts acquisition (a subscription or a Read loop) on a new session; a throw rebuilds the connection later. */
export type Acquire = (connection: Connection, session: ClientSession) => Promise<void>;

export class ConnectionKeeper {
  private certificateManager: OPCUACertificateManager | undefined;
  private connection: Connection | undefined;
  private isRunning = false;
  private rebuildTimer: NodeJS.Timeout | undefined;
  /** The background connect-and-acquire of the current connection, awaited by stop(). */
  private establishing: Promise<void> | undefined;
  /** Teardowns of connections being rebuilt, so stop() can wait for them too. */
  private readonly closing = new Set<Promise<void>>();

  constructor(
    private readonly device: OpcuaDevice,
    private readonly options: OpcuaAdapterOptions,
    private readonly logger: Logger,
    private readonly status: DeviceStatus,
    private readonly acquire: Acquire,
  ) {}

  get running(): boolean {
    return this.isRunning;
  }

  /** The current session, for writes. */
  get session(): ClientSession | undefined {
    return this.connection?.session;
  }

  /** Whether `connection` is still the one in use (not stopped, not being rebuilt). */
  isCurrent(connection: Connection): boolean {
    return this.isRunning && this.connection === connection;
  }

  /** Connects in the background; resolves once acquiring or once the first failure is reported. */
  async start(): Promise<void> {
    if (this.isRunning) return;
    this.isRunning = true;
    await this.connect();
  }

  async stop(): Promise<void> {
    if (!this.isRunning) return;
    this.isRunning = false;
    clearTimeout(this.rebuildTimer);
    this.rebuildTimer = undefined;
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await this.close(connection);
    await this.establishing;
    await Promise.all(this.closing);
    await this.releasePki();
  }

  private async connect(): Promise<void> {
    const delays = this.options.reconnectDelayMs ?? DEFAULT_RECONNECT_DELAY_MS;
    const connection = await this.newConnection({
      initialDelay: delays.initial,
      maxDelay: delays.max,
      maxRetry: -1,
    });
    if (!connection) return;
    if (!this.isRunning) {
      // stop() ran while the PKI was being set up: it found nothing to release yet.
      await this.releasePki();
      return;
    }
    this.connection = connection;
    const { client } = connection;
    const { endpoint } = this.device;
    return new Promise<void>((settle) => {
      client.on('backoff', () => {
        this.status.disconnected(`cannot connect to ${endpoint}; retrying in the background`);
        settle();
      });
      client.on('connection_lost', () => this.status.disconnected(`connection to ${endpoint} lost`));
      this.establishing = this.openSession(connection)
        .then((session) => this.acquire(connection, session))
        .then(() => this.status.connected())
        .catch((error: unknown) => this.rebuildLater(connection, error))
        .finally(settle);
    });
  }

  /** The connection came up but the session or subscription failed: drop it all and try again later. */
  rebuildLater(connection: Connection, error: unknown): void {
    if (!this.isCurrent(connection)) return;
    this.connection = undefined;
    this.status.disconnected(explain(error, this.device.endpoint, this.device.security?.user));
    const closing = this.close(connection).then(() => {
      this.closing.delete(closing);
      if (!this.isRunning) return;
      this.rebuildTimer = setTimeout(() => {
        this.rebuildTimer = undefined;
        if (this.isRunning) void this.connect();
      }, this.options.rebuildDelayMs ?? DEFAULT_REBUILD_DELAY_MS);
    });
    this.closing.add(closing);
  }

  /**
   * A server that drops the session (e.g. after a session timeout) can leave the subscription silent with
   * no error on the client. A subscription sends data or a keep-alive at least every publishing interval ×
   * max keep-alive count; twice that without anything while not reconnecting means it is dead: rebuild.
   */
  watchSilence(connection: Connection, subscription: ClientSubscription): void {
    const silenceLimitMs =
      2 * subscription.publishingInterval * subscription.maxKeepAliveCount + SILENCE_MARGIN_MS;
    const watchdog = setTimeout(() => {
      if (connection.client.isReconnecting) {
        watchdog.refresh();
        return;
      }
      this.rebuildLater(
        connection,
        new Error(`no data or keep-alive from the server for ${silenceLimitMs} ms`),
      );
    }, silenceLimitMs);
    connection.cleanups.push(() => clearTimeout(watchdog));
    subscription.on('raw_notification', () => watchdog.refresh());
    connection.session?.on('session_restored', () => watchdog.refresh());
  }

  /** A connection of its own that tries once, for a single scan; end it with `closeOneShot`. */
  openOneShot(): Promise<Connection | undefined> {
    return this.newConnection(ONE_SHOT);
  }

  async closeOneShot(connection: Connection): Promise<void> {
    await this.close(connection);
    await this.releasePki();
  }

  /** Connects, creates the session with the configured user and reads the server's operation limits. */
  async openSession(connection: Connection): Promise<ClientSession> {
    const { client } = connection;
    await client.connect(this.device.endpoint);
    const session = await client.createSession(await userIdentityOf(this.device.security?.user));
    connection.session = session;
    connection.limits = await operationLimitsOf(session);
    return session;
  }

  /** A client for the configured security; `undefined` (reported) when the PKI cannot be set up. */
  private async newConnection(
    connectionStrategy: OPCUAClientOptions['connectionStrategy'],
  ): Promise<Connection | undefined> {
    try {
      this.certificateManager ??= await acquireCertificateManager(this.options.pkiDir);
    } catch (error) {
      this.status.disconnected(`cannot set up the PKI in ${this.options.pkiDir}: ${errorMessage(error)}`);
      return undefined;
    }
    const client = OPCUAClient.create({
      applicationName: 'jjj-gateway',
      endpointMustExist: false,
      connectionStrategy,
      // A subscription's publish requests keep the session alive; a slow Read loop needs node-opcua's pings.
      keepSessionAlive: this.device.mode === 'polling',
      clientCertificateManager: this.certificateManager,
      ...channelSecurityOf(this.device.security),
    });
    return {
      client,
      limits: { maxNodesPerRead: FALLBACK_ITEMS_PER_CALL, maxMonitoredItemsPerCall: FALLBACK_ITEMS_PER_CALL },
      cleanups: [],
    };
  }

  private async releasePki(): Promise<void> {
    const manager = this.certificateManager;
    this.certificateManager = undefined;
    if (manager && !this.isRunning) await releaseCertificateManager(manager);
  }

  /** Deletes the subscription with the session, then disconnects; never throws. */
  private async close(connection: Connection): Promise<void> {
    const { client, session } = connection;
    for (const cleanup of connection.cleanups) cleanup();
    try {
      if (session && !client.isReconnecting) await session.close(true);
    } catch (error) {
      this.logger.debug({ reason: errorMessage(error) }, 'closing the session failed');
    }
    try {
      await client.disconnect();
    } catch (error) {
      this.logger.debug({ reason: errorMessage(error) }, 'disconnecting failed');
    }
  }
}

/** The server's per-call limits; node-opcua's own helper logs every missing one. */
async function operationLimitsOf(session: ClientSession): Promise<OperationLimits> {
  const [read, monitor] = await session.read(
    [
      VariableIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead,
      VariableIds.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall,
    ].map((id) => ({ nodeId: resolveNodeId(id), attributeId: AttributeIds.Value })),
  );
  const limit = (dataValue: DataValue | undefined) =>
    (dataValue?.statusCode.isGood() && typeof dataValue.value.value === 'number' && dataValue.value.value) ||
    FALLBACK_ITEMS_PER_CALL;
  return { maxNodesPerRead: limit(read), maxMonitoredItemsPerCall: limit(monitor) };
}

/** `items` in calls of at most `size` (a server's operation limit). */
export function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}
