/**
 * The Modbus device adapter: one unit id on a shared link (TCP, RTU over TCP or a serial line).
 * Points are grouped by poll interval; each group is read with its planned (coalesced) requests on
 * its own poll schedule (the kit in adapters/common gives the scheduler, publish filter and state
 * reporting). A unit that stops answering is left alone (its points read bad) and only probed: the
 * link paces probes to one timeout per cycle, after the answering units, on a jittered back-off, so
 * the others lose at most one timeout per cycle however many units are silent; it is polled again
 * as soon as it answers.
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
  type HeldUpBy,
  type LinkUser,
  linkFor,
  type ModbusClient,
  type ModbusLink,
  type QueueWait,
  type ReconnectBackoff,
} from './link.js';
import { defaultPlanOptions, planReads, type ReadRequest } from './planner.js';
import { statusOfError } from './status.js';

export { defaultReconnectBackoff, type ReconnectBackoff };

type RequestResponse = { bytes: Buffer; registers: number } | { bits: boolean[] };

type RequestOutcome =
  | { ts: number; bytes: Buffer; registers: number }
  | { ts: number; bits: boolean[] }
  | { ts: number; status: ProtocolStatus };

/** The points that share one poll interval, and the requests that read them. */
interface PollGroup {
  intervalMs: number;
  requests: ReadRequest[];
  /** What the last poll spent waiting for the line, for the overrun warning. */
  lastPoll: PollTiming;
}

/** Where a poll's time went: its own requests, and the longest wait behind another unit. */
interface PollTiming {
  ownMs: number;
  heldUpBy: HeldUpBy | undefined;
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
  /** A probe of this silent unit, queued on the link or on the wire. */
  private probing: Promise<void> | undefined;
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
          overrunCause: () => this.overrunCause(group),
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
    this.user = {
      unitId: device.unitId,
      deviceId: device.id,
      cycleMs: Math.min(...this.groups.map((group) => group.intervalMs)),
      // Asked for every user at each dispatch while a paced request waits: no array per call.
      nextPollAt: () =>
        this.schedulers.reduce(
          (earliest, scheduler) => Math.min(earliest, scheduler.nextDueAt),
          Number.POSITIVE_INFINITY,
        ),
      linkUp: () => this.state.report('connected'),
      linkDown: (reason) => this.state.report('disconnected', reason),
    };
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const link = linkFor(this.device, this.backoff);
    this.link = link;
    await link.join(this.user);
    if (!this.running) return;
    if (link.isOpen) this.state.report('connected');
    else this.state.report('disconnected', link.reason);
    for (const scheduler of this.schedulers) scheduler.start();
  }

  async scanOnce(): Promise<Reading[]> {
    const readings = await this.withLink(async (link, user) => {
      if (!link.isOpen && !this.running) {
        this.context.logger.warn({ reason: link.reason }, 'cannot connect for a single scan');
      }
      const all = this.groups.flatMap((group) => group.requests);
      return this.read(link, all, user, () => true);
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
    return this.withLink(async (link, user) => {
      try {
        await link.run(user, this.device.timeoutMs, send);
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
    if (link) await link.leave(this.user); // a queued probe fails at once
    await this.probing;
    this.state.stopped();
    this.filter.reset();
  }

  /** Runs `work` on the running link, or on one joined just for it (for scanOnce and write when stopped). */
  private async withLink<T>(work: (link: ModbusLink, user: LinkUser) => Promise<T>): Promise<T> {
    if (this.running && this.link) return work(this.link, this.user);
    const link = linkFor(this.device, this.backoff);
    const visitor: LinkUser = {
      ...this.user,
      nextPollAt: () => Number.POSITIVE_INFINITY,
      linkUp: () => {},
      linkDown: () => {},
    };
    await link.join(visitor);
    try {
      return await work(link, visitor);
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
    if (link.isOpen && link.health(this.device.unitId) === 'silent') this.probeIfDue(link, group);
    const timing: PollTiming = { ownMs: 0, heldUpBy: undefined };
    const readings = await this.read(link, group.requests, this.user, () => this.running, timing);
    group.lastPoll = timing;
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
    user: LinkUser,
    proceed: () => boolean,
    timing?: PollTiming,
  ): Promise<(Reading | undefined)[]> {
    const readings: (Reading | undefined)[] = new Array(this.device.points.length);
    for (const request of requests) {
      const outcome = await this.readRequest(link, request, user, proceed, { timing });
      this.noteRequestHealth(request, outcome);
      for (const item of request.items) {
        readings[item.index] = this.readingOf(item.index, item.offset, outcome);
      }
    }
    return readings;
  }

  /**
   * Reads one request, resending it `retries` times after a timeout. A silent unit is not asked but
   * probed (once, without retries): its points read Timeout at once.
   */
  private async readRequest(
    link: ModbusLink,
    request: ReadRequest,
    user: LinkUser,
    proceed: () => boolean,
    { timing, probe = false }: { timing?: PollTiming | undefined; probe?: boolean } = {},
  ): Promise<RequestOutcome> {
    if (!proceed() || !link.isOpen) return { ts: Date.now(), status: gatewayStatus.notConnected };
    const { unitId, timeoutMs } = this.device;
    if (!probe && link.health(unitId) === 'silent') return { ts: Date.now(), status: gatewayStatus.timeout };
    const retries = probe ? 0 : this.device.retries;
    for (let attempt = 0; ; attempt++) {
      const sentAt = Date.now();
      let queuedMs = 0;
      const noteWait = (wait: QueueWait) => {
        queuedMs = wait.queuedMs;
        const { longest } = wait;
        if (timing && longest && longest.waitedMs > (timing.heldUpBy?.waitedMs ?? 0))
          timing.heldUpBy = longest;
      };
      const outcome = await link
        .run(user, timeoutMs, (client) => send(client, request), noteWait)
        .then(
          (response) => ({ ts: Date.now(), ...response }),
          (error: unknown) => ({ ts: Date.now(), status: statusOfError(error) }),
        );
      if (timing) timing.ownMs += Date.now() - sentAt - queuedMs;
      const timedOut = 'status' in outcome && outcome.status.code === gatewayStatus.timeout.code;
      if (!timedOut) {
        if (!('status' in outcome) || outcome.status.source === 'modbus') this.unitAnswered();
        return outcome;
      }
      if (attempt >= retries || !proceed() || !link.isOpen) {
        if (this.running) this.state.report('disconnected', `no response within ${timeoutMs} ms`);
        link.unitSilent(unitId, timeoutMs);
        return outcome;
      }
    }
  }

  /**
   * Queues one probe of this silent unit (its group's first request, no retries) when its back-off
   * is over; it does not hold up the poll, whose points read Timeout meanwhile.
   */
  private probeIfDue(link: ModbusLink, group: PollGroup): void {
    const [request] = group.requests;
    if (this.probing || !request || !link.claimProbe(this.device.unitId)) return;
    this.probing = this.readRequest(link, request, this.user, () => this.running, { probe: true }).then(
      (outcome) => this.noteRequestHealth(request, outcome),
    );
    void this.probing.finally(() => {
      this.probing = undefined;
    });
  }

  private unitAnswered(): void {
    if (this.running) this.state.report('connected');
  }

  /** The overrun warning's cause: the unit whose request the last poll waited behind, or this one. */
  private overrunCause(group: PollGroup): Record<string, unknown> {
    const { heldUpBy, ownMs } = group.lastPoll;
    if (heldUpBy && heldUpBy.waitedMs > ownMs) {
      const { unitId, deviceId, waitedMs } = heldUpBy;
      return {
        causedBy: {
          unitId,
          device: deviceId,
          waitedMs,
          reason: 'a request of another unit on the shared link',
        },
      };
    }
    return {
      causedBy: {
        unitId: this.device.unitId,
        device: this.device.id,
        reason: `its own requests took ${ownMs} ms`,
      },
    };
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
    return { intervalMs, requests, lastPoll: { ownMs: 0, heldUpBy: undefined } };
  });
}

/**
 * The read for one planned request; modbus-serial gives register bytes as received (big-endian).
 * Its callback API, called directly: its promise API adds a bound function, an argument array and a
 * promise per request.
 */
function send(client: ModbusClient, request: ReadRequest): Promise<RequestResponse> {
  const { address, length } = request;
  const unitId = client.getID();
  return new Promise((resolve, reject) => {
    const registers = (error: Error | null, result?: { buffer: Buffer; data: number[] }) => {
      if (error || !result) reject(error);
      else resolve({ bytes: result.buffer, registers: result.data.length });
    };
    const bits = (error: Error | null, result?: { data: boolean[] }) => {
      if (error || !result) reject(error);
      else resolve({ bits: result.data });
    };
    switch (request.table) {
      case 'holding':
        return client.writeFC3(unitId, address, length, registers);
      case 'input':
        return client.writeFC4(unitId, address, length, registers);
      case 'coil':
        return client.writeFC1(unitId, address, length, bits);
      case 'discrete':
        return client.writeFC2(unitId, address, length, bits);
    }
  });
}

function badReading(point: string, ts: number, status: ProtocolStatus): Reading {
  return { point, value: null, ts, quality: 'bad', status };
}
