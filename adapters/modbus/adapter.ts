/**
 * The Modbus TCP device adapter: one connection per device, polled on a fixed interval with the
 * planned (coalesced) requests. A device that is down never stalls start() or other devices: it is
 * reported once, retried in the background with backoff, and its points read bad meanwhile.
 */
import modbusSerial from 'modbus-serial';
import {
  type AdapterContext,
  type DeviceAdapter,
  type DeviceState,
  gatewayStatus,
  type ProtocolStatus,
  type Reading,
} from '../contract.js';
import type { ModbusDevice } from './config.js';
import { decodeRegisters, registerCount } from './decode.js';
import { planReads, type ReadRequest } from './planner.js';
import { statusOfError } from './status.js';

const ModbusRTU = modbusSerial.default;
type ModbusClient = InstanceType<typeof ModbusRTU>;

export interface ReconnectBackoff {
  initialMs: number;
  maxMs: number;
}

/** 1 s, doubling up to 30 s; reset once the device answers again. */
export const defaultReconnectBackoff: ReconnectBackoff = { initialMs: 1000, maxMs: 30_000 };

type RequestOutcome =
  | { ts: number; registers: number[] }
  | { ts: number; bits: boolean[] }
  | { ts: number; status: ProtocolStatus };

interface Scan {
  readings: Reading[];
  /** Requests the device answered (with data or an exception). */
  answered: number;
  timedOut: number;
}

export class ModbusDeviceAdapter implements DeviceAdapter {
  private readonly requests: ReadRequest[];
  private running = false;
  private client: ModbusClient | undefined;
  private connecting: Promise<void> | undefined;
  private activeScan: Promise<unknown> | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelayMs: number;
  private reportedState: DeviceState | undefined;
  /** Ticks that found the previous poll still running; polls are skipped, never queued. */
  private skippedTicks = 0;
  private overrunning = false;
  /** Last exception name (or 'ok') per request, so a failing address is logged once, not every poll. */
  private readonly requestHealth = new Map<ReadRequest, string>();

  constructor(
    private readonly device: ModbusDevice,
    private readonly context: AdapterContext,
    private readonly backoff: ReconnectBackoff = defaultReconnectBackoff,
  ) {
    this.requests = planReads(
      device.points.map((point) => ({
        table: point.table,
        address: point.address,
        length: registerCount(point.type),
      })),
    );
    this.reconnectDelayMs = backoff.initialMs;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.connecting = this.connect();
    await this.connecting;
    this.connecting = undefined;
    if (!this.running) return;
    this.pollTimer = setInterval(() => this.tick(), this.device.pollIntervalMs);
    this.tick();
  }

  async scanOnce(): Promise<Reading[]> {
    if (this.running) {
      // Share the running connection, taking turns with the poll loop.
      while (this.activeScan) await this.activeScan;
      const scan = this.scan(this.client, () => this.running);
      // The caller sees any failure; taking turns only needs to know when the scan ends.
      this.activeScan = scan.catch(() => undefined);
      try {
        return (await scan).readings;
      } finally {
        this.activeScan = undefined;
      }
    }
    let client: ModbusClient;
    try {
      client = await connectClient(this.device);
    } catch (error) {
      this.context.logger.warn({ reason: describeError(error) }, 'cannot connect for a single scan');
      const ts = Date.now();
      return this.device.points.map((point) => badReading(point.name, ts, gatewayStatus.notConnected));
    }
    try {
      return (await this.scan(client, () => true)).readings;
    } finally {
      destroyClient(client);
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    this.pollTimer = undefined;
    this.reconnectTimer = undefined;
    // In-flight work stops at its next request boundary, within one timeoutMs.
    await this.connecting;
    await this.activeScan;
    if (this.client) {
      destroyClient(this.client);
      this.client = undefined;
      this.context.logger.info('disconnected (stopped)');
    }
    this.reportedState = undefined;
    this.reconnectDelayMs = this.backoff.initialMs;
  }

  private tick(): void {
    if (this.activeScan) {
      this.skippedTicks++;
      return;
    }
    const overran = this.skippedTicks > 0;
    this.skippedTicks = 0;
    if (overran !== this.overrunning) {
      this.overrunning = overran;
      if (overran) {
        this.context.logger.warn(
          { pollIntervalMs: this.device.pollIntervalMs },
          'a poll took longer than pollIntervalMs; skipping polls while it runs',
        );
      } else this.context.logger.info('polls back on schedule');
    }
    this.activeScan = this.poll()
      .catch((error: unknown) => this.context.logger.error({ err: error }, 'poll failed'))
      .finally(() => {
        this.activeScan = undefined;
      });
  }

  private async poll(): Promise<void> {
    const client = this.client;
    if (client && !client.isOpen) this.connectionLost(client, 'connection lost');
    const { readings, answered, timedOut } = await this.scan(this.client, () => this.running);
    if (!this.running) return;
    this.context.sink.readings(this.device.id, readings);
    if (answered > 0) this.reconnectDelayMs = this.backoff.initialMs;
    const current = this.client;
    if (current && !current.isOpen) this.connectionLost(current, 'connection lost');
    else if (current && answered === 0 && timedOut > 0) {
      // A silent peer on an open socket is usually a half-open connection: start afresh.
      this.connectionLost(current, `no response within ${this.device.timeoutMs} ms`);
    }
  }

  /**
   * Reads every planned request once; points of a failed request read bad with the failure's status.
   * Once `proceed()` turns false (stop), the remaining requests are not sent.
   */
  private async scan(client: ModbusClient | undefined, proceed: () => boolean): Promise<Scan> {
    const readings: Reading[] = new Array(this.device.points.length);
    let answered = 0;
    let timedOut = 0;
    for (const request of this.requests) {
      const outcome =
        client?.isOpen && proceed()
          ? await readRequest(client, request, this.device.timeoutMs)
          : { ts: Date.now(), status: gatewayStatus.notConnected };
      if (!('status' in outcome) || outcome.status.source === 'modbus') answered++;
      else if (outcome.status.code === gatewayStatus.timeout.code) timedOut++;
      this.noteRequestHealth(request, outcome);
      for (const item of request.items) {
        readings[item.index] = this.readingOf(item.index, item.offset, outcome);
      }
    }
    return { readings, answered, timedOut };
  }

  private readingOf(pointIndex: number, offset: number, outcome: RequestOutcome): Reading {
    const point = this.device.points[pointIndex];
    if (!point) throw new RangeError(`no point ${pointIndex}`);
    const { ts } = outcome;
    if ('status' in outcome) return badReading(point.name, ts, outcome.status);
    const width = registerCount(point.type);
    const received = 'bits' in outcome ? outcome.bits.length : outcome.registers.length;
    if (received < offset + width) return badReading(point.name, ts, gatewayStatus.communicationError);
    const value =
      'bits' in outcome
        ? outcome.bits[offset] === true
        : decodeRegisters(point.type, outcome.registers.slice(offset, offset + width), point);
    if (typeof value === 'number' && !Number.isFinite(value)) {
      return badReading(point.name, ts, gatewayStatus.invalidValue);
    }
    return { point: point.name, value, ts, quality: 'good' };
  }

  private noteRequestHealth(request: ReadRequest, outcome: RequestOutcome): void {
    const isException = 'status' in outcome && outcome.status.source === 'modbus';
    if (!isException && 'status' in outcome) return; // connection-level failures are logged as device state
    const health = isException ? outcome.status.name : 'ok';
    const previous = this.requestHealth.get(request) ?? 'ok';
    this.requestHealth.set(request, health);
    if (health === previous) return;
    const where = {
      unitId: this.device.unitId,
      table: request.table,
      address: request.address,
      length: request.length,
      points: request.items.map((item) => this.device.points[item.index]?.name),
    };
    if (isException) this.context.logger.warn({ ...where, status: outcome.status }, 'device rejected a read');
    else this.context.logger.info(where, 'read accepted again');
  }

  private async connect(): Promise<void> {
    try {
      const client = await connectClient(this.device);
      if (!this.running) {
        destroyClient(client);
        return;
      }
      client.on('close', () => this.connectionLost(client, 'connection closed by the device'));
      this.client = client;
      this.report('connected');
    } catch (error) {
      if (!this.running) return;
      this.report('disconnected', describeError(error));
      this.scheduleReconnect();
    }
  }

  private connectionLost(client: ModbusClient, reason: string): void {
    if (this.client !== client) return;
    this.client = undefined;
    destroyClient(client);
    this.report('disconnected', reason);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.running || this.reconnectTimer) return;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(delay * 2, this.backoff.maxMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connecting = this.connect().finally(() => {
        this.connecting = undefined;
      });
    }, delay);
  }

  private report(state: DeviceState, detail?: string): void {
    if (this.reportedState === state) return;
    this.reportedState = state;
    const { host, port, unitId } = this.device;
    if (state === 'connected') this.context.logger.info({ host, port, unitId }, 'connected');
    else
      this.context.logger.warn(
        { host, port, unitId, reason: detail },
        'device unreachable; retrying in background',
      );
    this.context.sink.deviceState(this.device.id, state, detail);
  }
}

function badReading(point: string, ts: number, status: ProtocolStatus): Reading {
  return { point, value: null, ts, quality: 'bad', status };
}

/** One read with its own deadline: modbus-serial leaves a request pending forever if its socket is destroyed. */
async function readRequest(
  client: ModbusClient,
  request: ReadRequest,
  timeoutMs: number,
): Promise<RequestOutcome> {
  const { address, length } = request;
  try {
    switch (request.table) {
      case 'holding': {
        const { data } = await withDeadline(client.readHoldingRegisters(address, length), timeoutMs);
        return { ts: Date.now(), registers: data };
      }
      case 'input': {
        const { data } = await withDeadline(client.readInputRegisters(address, length), timeoutMs);
        return { ts: Date.now(), registers: data };
      }
      case 'coil': {
        const { data } = await withDeadline(client.readCoils(address, length), timeoutMs);
        return { ts: Date.now(), bits: data };
      }
      case 'discrete': {
        const { data } = await withDeadline(client.readDiscreteInputs(address, length), timeoutMs);
        return { ts: Date.now(), bits: data };
      }
    }
  } catch (error) {
    return { ts: Date.now(), status: statusOfError(error) };
  }
}

/** Settles like `work`, or rejects with an ETIMEDOUT error after `ms` (its timer always cleared). */
async function withDeadline<T>(
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

/** Opens a TCP connection to the device, failing within `timeoutMs` whatever the network does. */
async function connectClient(device: ModbusDevice): Promise<ModbusClient> {
  const client = new ModbusRTU();
  client.setID(device.unitId);
  client.setTimeout(device.timeoutMs);
  // modbus-serial relays socket errors as 'error' events; requests report them, so only keep Node from throwing.
  client.on('error', () => {});
  try {
    const { host, port, timeoutMs } = device;
    await withDeadline(client.connectTCP(host, { port }), timeoutMs, `no connection within ${timeoutMs} ms`);
    return client;
  } catch (error) {
    destroyClient(client);
    throw error;
  }
}

/** Closes the socket at once; a late 'close' event is ignored by `connectionLost`, which checks identity. */
function destroyClient(client: ModbusClient): void {
  client.destroy(() => {});
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const { code } = error as { code?: unknown };
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
