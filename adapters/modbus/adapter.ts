/**
 * The Modbus device adapter: one unit id on a shared link (TCP, RTU over TCP or a serial line).
 * Points are grouped by poll interval; each group is read with its planned (coalesced) requests on
 * its own poll schedule (the kit in adapters/common gives the scheduler, publish filter and state
 * reporting). A unit that stops answering costs the others at most one timeout: it is then left
 * alone on a backoff schedule (its points read bad) and picked up again as soon as it answers.
 */

import { DeviceStateReporter } from '../common/device-state.js';
import { PollScheduler } from '../common/poll-scheduler.js';
import { PublishFilter } from '../common/publish-filter.js';
import {
  type AdapterContext,
  type DeviceAdapter,
  gatewayStatus,
  type ProtocolStatus,
  type Reading,
  type ReadingScalar,
  type WriteResult,
} from '../contract.js';
import type { ModbusDevice, ModbusPoint } from './config.js';
import { decodeAt, encodeRegisters, type PointFormat, registerCount } from './decode.js';
import {
  defaultReconnectBackoff,
  describeError,
  type LinkUser,
  linkFor,
  type ModbusClient,
  type ModbusLink,
  type ReconnectBackoff,
} from './link.js';
import { defaultPlanOptions, planReads, type ReadRequest } from './planner.js';
import { statusOfError } from './status.js';

export { defaultReconnectBackoff, type ReconnectBackoff };

type RequestOutcome =
  | { ts: number; bytes: Buffer; registers: number }
  | { ts: number; bits: boolean[] }
  | { ts: number; status: ProtocolStatus };

/** The points that share one poll interval, and the requests that read them. */
interface PollGroup {
  intervalMs: number;
  requests: ReadRequest[];
}

export class ModbusDeviceAdapter implements DeviceAdapter {
  private readonly formats: PointFormat[];
  private readonly groups: PollGroup[];
  private readonly schedulers: PollScheduler[];
  private readonly pointIndex: Map<string, number>;
  private readonly filter: PublishFilter;
  private readonly user: LinkUser;
  private link: ModbusLink | undefined;
  private running = false;
  private readonly state: DeviceStateReporter;
  /** While the unit is silent on a live link, its requests are not sent before this time. */
  private silentUntil = 0;
  private silenceBackoffMs: number;
  /** Last exception name (or 'ok') per request, so a failing address is logged once, not every poll. */
  private readonly requestHealth = new Map<ReadRequest, string>();

  constructor(
    private readonly device: ModbusDevice,
    private readonly context: AdapterContext,
    private readonly backoff: ReconnectBackoff = defaultReconnectBackoff,
  ) {
    this.formats = device.points.map((point) => ({
      type: point.type,
      byteOrder: point.byteOrder ?? device.byteOrder,
      scale: point.scale,
      offset: point.offset,
      bit: point.bit,
      length: point.length,
    }));
    this.pointIndex = new Map(device.points.map((point, index) => [point.name, index]));
    this.groups = planGroups(device);
    this.schedulers = this.groups.map(
      (group) =>
        new PollScheduler({
          intervalMs: group.intervalMs,
          poll: () => this.poll(group),
          logger: context.logger,
        }),
    );
    const { transport, host, port, serialPort, unitId } = device;
    this.state = new DeviceStateReporter(
      device.id,
      context,
      transport === 'rtu' ? { transport, serialPort, unitId } : { transport, host, port, unitId },
    );
    this.filter = new PublishFilter(
      device.points.map((point) => ({
        deadband: point.deadband,
        maxSilenceMs: point.maxSilenceMs ?? device.maxSilenceMs,
      })),
    );
    this.silenceBackoffMs = backoff.initialMs;
    this.user = {
      unitId: device.unitId,
      linkUp: () => {
        this.silentUntil = 0;
        this.silenceBackoffMs = this.backoff.initialMs;
        this.state.report('connected');
      },
      linkDown: (reason) => this.state.report('disconnected', reason),
    };
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.silentUntil = 0; // a scanOnce() before start may have found the unit silent
    const link = linkFor(this.device, this.backoff);
    this.link = link;
    await link.join(this.user);
    if (!this.running) return;
    if (link.isOpen) this.state.report('connected');
    else this.state.report('disconnected', link.reason);
    for (const scheduler of this.schedulers) scheduler.start();
  }

  async scanOnce(): Promise<Reading[]> {
    const readings = await this.withLink(async (link) => {
      if (!link.isOpen && !this.running) {
        this.context.logger.warn({ reason: link.reason }, 'cannot connect for a single scan');
      }
      const all = this.groups.flatMap((group) => group.requests);
      return this.read(link, all, () => true);
    });
    return readings.filter((reading) => reading !== undefined);
  }

  async write(pointName: string, value: ReadingScalar): Promise<WriteResult> {
    const index = this.pointIndex.get(pointName);
    const point = index === undefined ? undefined : this.device.points[index];
    const format = index === undefined ? undefined : this.formats[index];
    if (!point || !format) return { ok: false, reason: `no point ${pointName} on device ${this.device.id}` };
    if (!point.writable) return { ok: false, reason: `point ${pointName} is not writable` };
    let send: (client: ModbusClient) => Promise<unknown>;
    try {
      send = this.writeOperation(point, format, value);
    } catch (error) {
      return { ok: false, reason: describeError(error) };
    }
    return this.withLink(async (link) => {
      try {
        await link.run(this.device.unitId, this.device.timeoutMs, send);
        return { ok: true };
      } catch (error) {
        const status = statusOfError(error);
        return { ok: false, reason: `${status.name}: ${describeError(error)}`, status };
      }
    });
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    // In-flight polls stop at their next request boundary, within one timeoutMs.
    await Promise.all(this.schedulers.map((scheduler) => scheduler.stop()));
    const link = this.link;
    this.link = undefined;
    if (link) await link.leave(this.user);
    this.state.stopped();
    this.silentUntil = 0;
    this.silenceBackoffMs = this.backoff.initialMs;
    this.filter.reset();
  }

  /** Runs `work` on the running link, or on one joined just for it (for scanOnce and write when stopped). */
  private async withLink<T>(work: (link: ModbusLink) => Promise<T>): Promise<T> {
    if (this.running && this.link) return work(this.link);
    const link = linkFor(this.device, this.backoff);
    const visitor: LinkUser = { unitId: this.device.unitId, linkUp: () => {}, linkDown: () => {} };
    await link.join(visitor);
    try {
      return await work(link);
    } finally {
      await link.leave(visitor);
    }
  }

  private writeOperation(
    point: ModbusPoint,
    format: PointFormat,
    value: ReadingScalar,
  ): (client: ModbusClient) => Promise<unknown> {
    const { address } = point;
    const multiple = this.device.multipleWrites;
    if (point.table === 'coil') {
      if (typeof value !== 'boolean' && value !== 0 && value !== 1) {
        throw new RangeError(`a coil takes true or false, not ${JSON.stringify(value)}`);
      }
      const state = value === true || value === 1;
      return (client) => (multiple ? client.writeCoils(address, [state]) : client.writeCoil(address, state));
    }
    const registers = encodeRegisters(format, value);
    const [single] = registers;
    if (registers.length === 1 && single !== undefined && !multiple) {
      return (client) => client.writeRegister(address, single);
    }
    return (client) => client.writeRegisters(address, registers);
  }

  private async poll(group: PollGroup): Promise<void> {
    const link = this.link;
    if (!link) return;
    const readings = await this.read(link, group.requests, () => this.running);
    if (!this.running) return;
    const published: Reading[] = [];
    readings.forEach((reading, index) => {
      if (reading && this.filter.passes(index, reading)) published.push(reading);
    });
    if (published.length > 0) this.context.sink.readings(this.device.id, published);
  }

  /**
   * Reads `requests` once; points of a failed request read bad with the failure's status. The
   * result is indexed by point (undefined for points not in `requests`). Once `proceed()` turns
   * false (stop), the remaining requests are not sent.
   */
  private async read(
    link: ModbusLink,
    requests: readonly ReadRequest[],
    proceed: () => boolean,
  ): Promise<(Reading | undefined)[]> {
    const readings: (Reading | undefined)[] = new Array(this.device.points.length);
    for (const request of requests) {
      const outcome = await this.readRequest(link, request, proceed);
      this.noteRequestHealth(request, outcome);
      for (const item of request.items) {
        readings[item.index] = this.readingOf(item.index, item.offset, outcome);
      }
    }
    return readings;
  }

  private async readRequest(
    link: ModbusLink,
    request: ReadRequest,
    proceed: () => boolean,
  ): Promise<RequestOutcome> {
    if (!proceed() || !link.isOpen) return { ts: Date.now(), status: gatewayStatus.notConnected };
    if (Date.now() < this.silentUntil) return { ts: Date.now(), status: gatewayStatus.timeout };
    const { unitId, timeoutMs, retries } = this.device;
    for (let attempt = 0; ; attempt++) {
      const outcome = await link
        .run(unitId, timeoutMs, (client) => send(client, request))
        .then(
          (response) => ({ ts: Date.now(), ...response }),
          (error: unknown) => ({ ts: Date.now(), status: statusOfError(error) }),
        );
      const timedOut = 'status' in outcome && outcome.status.code === gatewayStatus.timeout.code;
      if (!timedOut) {
        if (!('status' in outcome) || outcome.status.source === 'modbus') this.unitAnswered();
        return outcome;
      }
      if (attempt >= retries || !proceed() || !link.isOpen) {
        this.unitSilent();
        link.unitSilent(timeoutMs);
        return outcome;
      }
    }
  }

  private unitAnswered(): void {
    if (this.silentUntil === 0) return;
    this.silentUntil = 0;
    this.silenceBackoffMs = this.backoff.initialMs;
    if (this.running) this.state.report('connected');
  }

  private unitSilent(): void {
    this.silentUntil = Date.now() + this.silenceBackoffMs;
    this.silenceBackoffMs = Math.min(this.silenceBackoffMs * 2, this.backoff.maxMs);
    if (this.running) this.state.report('disconnected', `no response within ${this.device.timeoutMs} ms`);
  }

  private readingOf(pointIndex: number, offset: number, outcome: RequestOutcome): Reading {
    const point = this.device.points[pointIndex];
    const format = this.formats[pointIndex];
    if (!point || !format) throw new RangeError(`no point ${pointIndex}`);
    const { ts } = outcome;
    if ('status' in outcome) return badReading(point.name, ts, outcome.status);
    if ('bits' in outcome) {
      if (outcome.bits.length <= offset) return badReading(point.name, ts, gatewayStatus.communicationError);
      return { point: point.name, value: outcome.bits[offset] === true, ts, quality: 'good' };
    }
    if (outcome.registers < offset + registerCount(format.type, format.length)) {
      return badReading(point.name, ts, gatewayStatus.communicationError);
    }
    const value = decodeAt(format, outcome.bytes, offset);
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
    if (health === previous) return;
    this.requestHealth.set(request, health);
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
}

/** Groups the points by poll interval (in order of first appearance) and plans each group's reads. */
function planGroups(device: ModbusDevice): PollGroup[] {
  const members = new Map<number, number[]>();
  device.points.forEach((point, index) => {
    const interval = point.pollIntervalMs ?? device.pollIntervalMs;
    const list = members.get(interval) ?? [];
    list.push(index);
    members.set(interval, list);
  });
  const options = { ...defaultPlanOptions, maxGap: device.maxGap };
  return [...members].map(([intervalMs, indexes]) => {
    const items = indexes.map((index) => {
      const point = device.points[index] as ModbusPoint;
      return { table: point.table, address: point.address, length: registerCount(point.type, point.length) };
    });
    const requests = planReads(items, options).map((request) => ({
      ...request,
      items: request.items.map((item) => ({ ...item, index: indexes[item.index] as number })),
    }));
    return { intervalMs, requests };
  });
}

/** The read for one planned request; modbus-serial gives register bytes as received (big-endian). */
async function send(
  client: ModbusClient,
  request: ReadRequest,
): Promise<{ bytes: Buffer; registers: number } | { bits: boolean[] }> {
  const { address, length } = request;
  switch (request.table) {
    case 'holding': {
      const { buffer, data } = await client.readHoldingRegisters(address, length);
      return { bytes: buffer, registers: data.length };
    }
    case 'input': {
      const { buffer, data } = await client.readInputRegisters(address, length);
      return { bytes: buffer, registers: data.length };
    }
    case 'coil':
      return { bits: (await client.readCoils(address, length)).data };
    case 'discrete':
      return { bits: (await client.readDiscreteInputs(address, length)).data };
  }
}

function badReading(point: string, ts: number, status: ProtocolStatus): Reading {
  return { point, value: null, ts, quality: 'bad', status };
}
