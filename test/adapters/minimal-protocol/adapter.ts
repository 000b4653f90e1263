/**
 * The text-line device adapter, built on the adapter kit: `PollScheduler` reads every point each
 * `pollIntervalMs`, `DeviceStateReporter` tells the gateway of each connection change once. What is
 * left here is the protocol: a connection, a request per point, and reconnecting after a loss.
 */

import { DeviceStateReporter } from '../../../adapters/common/device-state.js';
import { PollScheduler } from '../../../adapters/common/poll-scheduler.js';
import {
  type AdapterContext,
  type DeviceAdapter,
  gatewayStatus,
  type ProtocolStatus,
  type Reading,
  type ReadingScalar,
  type WriteResult,
} from '../../../adapters/contract.js';
import { TextLineConnection } from './connection.js';
import type { TextLineDeviceConfig } from './index.js';

export class TextLineAdapter implements DeviceAdapter {
  private readonly scheduler: PollScheduler;
  private readonly state: DeviceStateReporter;
  private connection: TextLineConnection | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly device: TextLineDeviceConfig,
    private readonly context: AdapterContext,
  ) {
    this.scheduler = new PollScheduler({
      intervalMs: device.pollIntervalMs,
      poll: () => this.poll(),
      logger: context.logger,
    });
    this.state = new DeviceStateReporter(device.id, context, { host: device.host, port: device.port });
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.connect();
    if (this.running) this.scheduler.start();
  }

  async scanOnce(): Promise<Reading[]> {
    if (this.connection) return this.readAll(this.connection);
    const { host, port, timeoutMs } = this.device;
    const connection = await TextLineConnection.open(host, port, timeoutMs, () => {}).catch(() => undefined);
    try {
      return await this.readAll(connection);
    } finally {
      await connection?.close();
    }
  }

  async write(pointName: string, value: ReadingScalar): Promise<WriteResult> {
    const point = this.device.points.find((candidate) => candidate.name === pointName);
    if (!point) return { ok: false, reason: `no point ${pointName} on device ${this.device.id}` };
    if (typeof value !== 'number') return { ok: false, reason: 'the device takes numbers only' };
    if (!this.connection) return { ok: false, reason: 'not connected' };
    try {
      const answer = await this.connection.request(`WRITE ${point.register} ${value}`);
      return answer === 'OK' ? { ok: true } : { ok: false, reason: answer };
    } catch (error) {
      return { ok: false, reason: (error as Error).message };
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.reconnectTimer);
    await this.scheduler.stop();
    const connection = this.connection;
    this.connection = undefined;
    await connection?.close();
    this.state.stopped();
  }

  private async connect(): Promise<void> {
    const { host, port, timeoutMs } = this.device;
    try {
      const connection = await TextLineConnection.open(host, port, timeoutMs, (reason) =>
        this.lost(connection, reason),
      );
      if (!this.running) return void (await connection.close());
      this.connection = connection;
      this.state.report('connected');
    } catch (error) {
      this.state.report('disconnected', (error as Error).message);
      this.reconnectLater();
    }
  }

  private lost(connection: TextLineConnection, reason: string): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    if (!this.running) return;
    this.state.report('disconnected', reason);
    this.reconnectLater();
  }

  private reconnectLater(): void {
    if (!this.running) return;
    this.reconnectTimer = setTimeout(() => void this.connect(), this.device.reconnectMs);
  }

  private async poll(): Promise<void> {
    const readings = await this.readAll(this.connection);
    if (this.running) this.context.sink.readings(this.device.id, readings);
  }

  /** One reading per point; without a connection, or after losing it, each point reads bad. */
  private async readAll(connection: TextLineConnection | undefined): Promise<Reading[]> {
    const readings: Reading[] = [];
    for (const point of this.device.points) {
      if (!connection?.isOpen) {
        readings.push(bad(point.name, gatewayStatus.notConnected));
        continue;
      }
      const answer = await connection.request(`READ ${point.register}`).catch(() => undefined);
      const value = answer?.startsWith('VALUE ') ? Number(answer.slice('VALUE '.length)) : Number.NaN;
      if (answer === undefined) readings.push(bad(point.name, gatewayStatus.notConnected));
      // A protocol in the contract's list would give the device's own code (source: its protocol).
      else if (!Number.isFinite(value)) readings.push(bad(point.name, gatewayStatus.invalidValue));
      else readings.push({ point: point.name, value, ts: Date.now(), quality: 'good' });
    }
    return readings;
  }
}

function bad(point: string, status: ProtocolStatus): Reading {
  return { point, value: null, ts: Date.now(), quality: 'bad', status };
}
