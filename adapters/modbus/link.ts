/**
 * One connection per endpoint (a TCP host:port or a serial port), shared by every unit id behind
 * it. Requests on a link go one at a time, with the inter-frame silence an RTU line needs, so a
 * serial bus or an RTU-over-TCP device server never sees two masters talking at once; the order is
 * the LineScheduler's (answering units first, units not known to answer paced to one timeout per
 * cycle). The link reconnects on its own with backoff while any device uses it, and closes when the
 * last one leaves.
 */
import modbusSerial from 'modbus-serial';
import type { ModbusDevice, ModbusTransport } from './config.js';
import { LineScheduler, type UnitHealth } from './line-scheduler.js';

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
  deviceId: string;
  /** Its shortest poll interval: the link's cycle is the shortest of its users'. */
  cycleMs: number;
  /** When its next poll is due (Infinity when it does not poll): probes keep out of the way. */
  nextPollAt(): number;
  linkUp(): void;
  linkDown(reason: string): void;
}

/** The request of another unit that a request waited behind the longest, for the overrun warning. */
export interface HeldUpBy {
  unitId: number;
  deviceId: string;
  waitedMs: number;
}

/** How long a request waited for the line, and behind whom the longest. */
export interface QueueWait {
  queuedMs: number;
  longest: HeldUpBy | undefined;
}

interface Job {
  owner: LinkUser;
  start(): Promise<void>;
  fail(error: Error): void;
  /** The longest request of another unit this one waited behind. */
  heldUpBy: HeldUpBy | undefined;
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
  private readonly scheduler: LineScheduler<Job>;
  /** The request on the wire (and the pause after it); settles once the line is free. */
  private inFlight: Promise<void> | undefined;
  /** Wakes the queue when a paced request may go. */
  private dispatchTimer: NodeJS.Timeout | undefined;
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
    this.scheduler = new LineScheduler<Job>(backoff);
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

  /**
   * Removes a user: its waiting requests fail with LinkNotOpenError. The last one out closes the
   * socket or port (after the request on the wire) and cancels any reconnect.
   */
  async leave(user: LinkUser): Promise<void> {
    if (!this.users.delete(user)) return;
    for (const job of this.scheduler.remove((job) => job.owner === user)) {
      job.fail(new LinkNotOpenError('the device stopped'));
    }
    if (this.users.size > 0) return;
    let closed = () => {};
    this.onEmpty(new Promise<void>((resolve) => (closed = resolve)));
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    clearTimeout(this.dispatchTimer);
    this.dispatchTimer = undefined;
    await this.connecting;
    await this.inFlight;
    const client = this.client;
    this.client = undefined;
    if (client) await closeClient(client, this.settings.transport);
    closed();
  }

  /** How the link rates `unitId`: answering, silent (probed only) or not heard yet. */
  health(unitId: number): UnitHealth {
    return this.scheduler.health(unitId);
  }

  /** For a silent unit: whether its probe is due now (and if so, it is claimed). */
  claimProbe(unitId: number): boolean {
    return this.scheduler.claimProbe(unitId, Date.now());
  }

  /**
   * Queues one request for `owner`'s unit; it fails with LinkNotOpenError at once when the link is
   * down (or when the owner leaves first), and with an ETIMEDOUT error when no answer comes within
   * `timeoutMs`. `waited` hears, as the request goes out, how long it waited and behind whom.
   */
  run<T>(
    owner: LinkUser,
    timeoutMs: number,
    operation: (client: ModbusClient) => Promise<T>,
    waited?: (wait: QueueWait) => void,
  ): Promise<T> {
    if (!this.isOpen) return Promise.reject(new LinkNotOpenError(this.downReason));
    return new Promise<T>((resolve, reject) => {
      const queuedAt = Date.now();
      const job: Job = {
        owner,
        heldUpBy: undefined,
        fail: reject,
        start: () => {
          waited?.({ queuedMs: Date.now() - queuedAt, longest: job.heldUpBy });
          return this.execute(owner.unitId, timeoutMs, operation).then(resolve, reject);
        },
      };
      this.scheduler.enqueue(owner.unitId, job, queuedAt, timeoutMs);
      this.dispatch();
    });
  }

  /** Sends the next request if the line is free; when only paced requests wait, wakes up when they may go. */
  private dispatch(): void {
    if (this.inFlight) return;
    clearTimeout(this.dispatchTimer);
    this.dispatchTimer = undefined;
    const now = Date.now();
    const next = this.scheduler.next({
      now,
      cycleMs: this.cycleMs(),
      nextLiveDueAt: () => this.nextLiveDueAt(),
    });
    if (!next) return;
    if (!('job' in next)) {
      this.dispatchTimer = setTimeout(() => this.dispatch(), Math.max(0, next.at - now));
      return;
    }
    const { job } = next;
    const startedAt = Date.now();
    this.inFlight = job
      .start()
      .then(() => this.noteWait(job.owner, Date.now() - startedAt))
      .then(this.pause)
      .finally(() => {
        this.inFlight = undefined;
        this.dispatch();
      });
  }

  /** Every request still waiting waited `ms` behind `owner`'s. */
  private noteWait(owner: LinkUser, ms: number): void {
    for (const job of this.scheduler.waiting()) {
      if (job.owner.unitId === owner.unitId || (job.heldUpBy?.waitedMs ?? 0) >= ms) continue;
      job.heldUpBy = { unitId: owner.unitId, deviceId: owner.deviceId, waitedMs: ms };
    }
  }

  /** When the next poll of a unit that answers is due. */
  private nextLiveDueAt(): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const user of this.users) {
      if (this.scheduler.health(user.unitId) === 'answering')
        earliest = Math.min(earliest, user.nextPollAt());
    }
    return earliest;
  }

  /** The shortest poll interval of the link's users: one probe timeout per cycle at most. */
  private cycleMs(): number {
    let shortest = Number.POSITIVE_INFINITY;
    for (const user of this.users) shortest = Math.min(shortest, user.cycleMs);
    return Number.isFinite(shortest) ? shortest : 1000;
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
      this.answered(unitId);
      return value;
    } catch (error) {
      if (isModbusException(error)) this.answered(unitId);
      else if ((error as { errno?: unknown }).errno === 'ETIMEDOUT') {
        this.scheduler.timedOut(Date.now(), this.cycleMs());
      }
      throw error;
    } finally {
      forgetSettledTransactions(client);
    }
  }

  private answered(unitId: number): void {
    this.scheduler.answered(unitId);
    this.silentTimeouts = 0;
    this.reconnectDelayMs = this.backoff.initialMs;
  }

  /**
   * A unit gave up on a request (timed out, retries spent): it is silent from now on, probed on a
   * back-off. Once as many units as use the link have given up with no answer in between, the link
   * itself is presumed dead (half-open) and reopened.
   */
  unitSilent(unitId: number, timeoutMs: number): void {
    const client = this.client;
    if (!client) return;
    this.scheduler.silent(unitId, Date.now());
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
    this.scheduler.reset();
    for (const user of this.users) user.linkUp();
  }

  private lost(client: ModbusClient, reason: string): void {
    if (this.client !== client) return;
    this.client = undefined;
    void closeClient(client, this.settings.transport);
    this.scheduler.reset();
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

/** The part of a modbus-serial transaction that tells whether it is still waiting for its answer. */
interface PendingTransaction {
  _timeoutHandle?: unknown;
  _timeoutFired?: boolean;
}

/**
 * modbus-serial keeps each transaction it sent, keyed by transaction id, after it settled: over TCP
 * the ids run to 256 per client, so each link held its last 256 requests with their buffers and
 * callbacks (1.5 KB each, 75 MB at 200 devices polled at 1 s, filling for 4 minutes). A settled
 * transaction (answered: its timer cleared; or timed out) is dropped; a late answer to it is then
 * ignored, as modbus-serial ignores an answer to an unknown id. Its timeout timer, if still running
 * (our deadline fired first), holds the transaction itself and fires harmlessly.
 */
function forgetSettledTransactions(client: ModbusClient): void {
  const transactions = (client as unknown as { _transactions: Record<string, PendingTransaction> })
    ._transactions;
  for (const id in transactions) {
    const transaction = transactions[id];
    if (transaction?._timeoutHandle === undefined || transaction._timeoutFired) delete transactions[id];
  }
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
