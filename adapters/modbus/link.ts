/**
 * One connection per endpoint (a TCP host:port or a serial port), shared by every unit id behind
 * it. Requests on a link go one at a time, with the inter-frame silence an RTU line needs, so a
 * serial bus or an RTU-over-TCP device server never sees two masters talking at once. The link
 * reconnects on its own with backoff while any device uses it, and closes when the last one leaves.
 */
import modbusSerial from 'modbus-serial';
import type { ModbusDevice, ModbusTransport } from './config.js';

const ModbusRTU = modbusSerial.default;
export type ModbusClient = InstanceType<typeof ModbusRTU>;

export interface ReconnectBackoff {
  initialMs: number;
  maxMs: number;
}

/** 1 s, doubling up to 30 s; reset once the device answers again. */
export const defaultReconnectBackoff: ReconnectBackoff = { initialMs: 1000, maxMs: 30_000 };

/** What a link needs to know; the first device on an endpoint sets it for all. */
export interface LinkSettings {
  key: string;
  transport: ModbusTransport;
  host?: string;
  port: number;
  serialPort?: string;
  baudRate: number;
  parity: 'none' | 'even' | 'odd';
  dataBits: number;
  stopBits: number;
  interFrameDelayMs: number;
  connectTimeoutMs: number;
}

export function linkSettingsOf(device: ModbusDevice): LinkSettings {
  const { transport, host, port, serialPort, baudRate, parity, dataBits, stopBits } = device;
  const key = transport === 'rtu' ? `rtu:${serialPort}` : `${transport}:${host}:${port}`;
  // Modbus RTU: 3.5 character times of 11 bits; the spec fixes 1.75 ms above 19200 baud, timers need ≥ 2 ms.
  const rtuSilence = Math.max(2, Math.ceil((3.5 * 11 * 1000) / baudRate));
  const interFrameDelayMs = device.interFrameDelayMs ?? (transport === 'tcp' ? 0 : rtuSilence);
  return {
    key,
    transport,
    host,
    port,
    serialPort,
    baudRate,
    parity,
    dataBits,
    stopBits,
    interFrameDelayMs,
    connectTimeoutMs: device.timeoutMs,
  };
}

/** A device using a link: told when the link comes up or goes down. */
export interface LinkUser {
  unitId: number;
  linkUp(): void;
  linkDown(reason: string): void;
}

/** A request on a link that is not connected; maps to the NotConnected status. */
export class LinkNotOpenError extends Error {
  override readonly name = 'PortNotOpenError';
  readonly code = 'MODBUS_NOT_CONNECTED';
}

export class ModbusLink {
  private client: ModbusClient | undefined;
  private readonly users = new Set<LinkUser>();
  private connecting: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelayMs: number;
  private downReason = 'not connected yet';
  /** Units that gave up since the last answer; a link where every unit fell silent is presumed half-open. */
  private silentTimeouts = 0;
  /** The end of the request queue: each request starts when the previous one and its pause are over. */
  private tail: Promise<void> = Promise.resolve();
  private readonly pause: () => Promise<void>;

  constructor(
    readonly settings: LinkSettings,
    private readonly backoff: ReconnectBackoff,
    /** Called when the last user leaves, with a promise that settles once the link is closed. */
    private readonly onEmpty: (closed: Promise<void>) => void,
    /** The previous link to this endpoint, still closing: a serial port opens only once it is free. */
    private readonly previousClosed: Promise<void> = Promise.resolve(),
  ) {
    this.reconnectDelayMs = backoff.initialMs;
    const silence = settings.interFrameDelayMs;
    this.pause = silence > 0 ? () => delay(silence) : () => Promise.resolve();
  }

  get isOpen(): boolean {
    return this.client?.isOpen === true;
  }

  /** Why the link is down, for the device's state detail. */
  get reason(): string {
    return this.downReason;
  }

  /** Adds a user; resolves once a first connection attempt has settled (it never throws). */
  async join(user: LinkUser): Promise<void> {
    this.users.add(user);
    if (!this.client && !this.connecting && !this.reconnectTimer) this.startConnecting();
    await this.connecting;
  }

  /** Removes a user; the last one out closes the socket or port and cancels any reconnect. */
  async leave(user: LinkUser): Promise<void> {
    if (!this.users.delete(user) || this.users.size > 0) return;
    let closed = () => {};
    this.onEmpty(new Promise<void>((resolve) => (closed = resolve)));
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    await this.connecting;
    await this.tail;
    const client = this.client;
    this.client = undefined;
    if (client) await closeClient(client, this.settings.transport);
    closed();
  }

  /**
   * Queues one request for `unitId`; it fails with LinkNotOpenError at once when the link is down,
   * and with an ETIMEDOUT error when no answer comes within `timeoutMs`.
   */
  run<T>(unitId: number, timeoutMs: number, operation: (client: ModbusClient) => Promise<T>): Promise<T> {
    const result = this.tail.then(() => this.execute(unitId, timeoutMs, operation));
    this.tail = result.then(this.pause, this.pause);
    return result;
  }

  private async execute<T>(
    unitId: number,
    timeoutMs: number,
    operation: (client: ModbusClient) => Promise<T>,
  ): Promise<T> {
    const client = this.client;
    if (!client?.isOpen) throw new LinkNotOpenError(this.downReason);
    client.setID(unitId);
    client.setTimeout(timeoutMs);
    try {
      const value = await withDeadline(operation(client), timeoutMs);
      this.answered();
      return value;
    } catch (error) {
      if (isModbusException(error)) this.answered();
      throw error;
    }
  }

  private answered(): void {
    this.silentTimeouts = 0;
    this.reconnectDelayMs = this.backoff.initialMs;
  }

  /**
   * A unit gave up on a request (timed out, retries spent). Once as many units as use the link have
   * done so with no answer in between, the link itself is presumed dead (half-open) and reopened.
   */
  unitSilent(timeoutMs: number): void {
    const client = this.client;
    if (!client) return;
    this.silentTimeouts++;
    const units = new Set([...this.users].map((user) => user.unitId)).size;
    if (this.silentTimeouts >= units) this.lost(client, `no response within ${timeoutMs} ms`);
  }

  private startConnecting(): void {
    this.connecting = this.connect().finally(() => {
      this.connecting = undefined;
    });
  }

  private async connect(): Promise<void> {
    await this.previousClosed;
    const client = new ModbusRTU();
    // modbus-serial relays port errors as 'error' events; requests report them, so only keep Node from throwing.
    client.on('error', () => {});
    try {
      const { connectTimeoutMs } = this.settings;
      await withDeadline(
        open(client, this.settings),
        connectTimeoutMs,
        `no connection within ${connectTimeoutMs} ms`,
      );
    } catch (error) {
      await closeClient(client, this.settings.transport);
      if (this.users.size === 0) return;
      this.down(describeError(error));
      this.scheduleReconnect();
      return;
    }
    if (this.users.size === 0) {
      await closeClient(client, this.settings.transport);
      return;
    }
    client.on('close', () => this.lost(client, 'connection closed by the device'));
    this.client = client;
    this.silentTimeouts = 0;
    for (const user of this.users) user.linkUp();
  }

  private lost(client: ModbusClient, reason: string): void {
    if (this.client !== client) return;
    this.client = undefined;
    void closeClient(client, this.settings.transport);
    this.down(reason);
    this.scheduleReconnect();
  }

  private down(reason: string): void {
    this.downReason = reason;
    for (const user of this.users) user.linkDown(reason);
  }

  private scheduleReconnect(): void {
    if (this.users.size === 0 || this.reconnectTimer) return;
    const wait = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(wait * 2, this.backoff.maxMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.startConnecting();
    }, wait);
  }
}

/** The process-wide links, by endpoint: every device behind one endpoint shares its link. */
const links = new Map<string, ModbusLink>();
/** Links that lost their last user and are still closing, by endpoint. */
const closing = new Map<string, Promise<void>>();

export function linkFor(device: ModbusDevice, backoff: ReconnectBackoff): ModbusLink {
  const settings = linkSettingsOf(device);
  const { key } = settings;
  const existing = links.get(key);
  if (existing) return existing;
  const created = new ModbusLink(
    settings,
    backoff,
    (closed) => {
      if (links.get(key) === created) links.delete(key);
      closing.set(key, closed);
      void closed.then(() => {
        if (closing.get(key) === closed) closing.delete(key);
      });
    },
    closing.get(key),
  );
  links.set(key, created);
  return created;
}

async function open(client: ModbusClient, settings: LinkSettings): Promise<void> {
  const { transport, host = '', port } = settings;
  if (transport === 'tcp') return client.connectTCP(host, { port });
  // modbus-serial's "TcpRTUBuffered" port speaks MBAP framing; its telnet port sends raw RTU frames.
  if (transport === 'rtu-over-tcp') return client.connectTelnet(host, { port });
  const { serialPort = '', baudRate, parity, dataBits, stopBits } = settings;
  return client.connectRTUBuffered(serialPort, { baudRate, parity, dataBits, stopBits });
}

export function isModbusException(error: unknown): boolean {
  return typeof (error as { modbusCode?: unknown } | undefined)?.modbusCode === 'number';
}

/** Settles like `work`, or rejects with an ETIMEDOUT error after `ms` (its timer always cleared). */
export async function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  message = `no response within ${ms} ms`,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(message), { errno: 'ETIMEDOUT' })), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Closes the socket or port; resolves once it is closed, so the next link to a serial port finds it
 * free. A late 'close' event is ignored by `lost`, which checks identity.
 */
function closeClient(client: ModbusClient, transport: ModbusTransport): Promise<void> {
  return new Promise((resolve) => {
    // destroy() fails pending requests and drops a socket at once; a serial port has no destroy.
    client.destroy(() => {});
    if (transport === 'rtu' && client.isOpen) client.close(() => resolve());
    else resolve();
  });
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const { code } = error as { code?: unknown };
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
