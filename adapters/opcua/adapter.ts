/**
 * The OPC UA device adapter: one client and one session per device, and either one subscription (the
 * server reports changes) or a Read loop (polling). This class coordinates: the connection keeper makes
 * and rebuilds the session, the subscriber or Read loop acquires on it, and the device's points hand
 * readings on. It turns their events into device states and makes sure no stale good value outlives a
 * disconnect.
 */
import { AttributeIds, resolveNodeId, StatusCodes } from 'node-opcua-client';
import { DeviceStateReporter } from '../common/device-state.js';
import type { AdapterContext, DeviceAdapter, Reading, ReadingScalar, WriteResult } from '../contract.js';
import type { OpcuaDevice } from './config.js';
import { ConnectionKeeper, type DeviceStatus, type OpcuaAdapterOptions } from './connection.js';
import { notConnectedReading, readingFromDataValue, statusOf, variantForWrite } from './decode.js';
import { errorMessage, explain, insecureIdentityWarning } from './identity.js';
import { type OpcuaMetrics, opcuaMetrics } from './metrics.js';
import { DevicePoints } from './points.js';
import { ReadLoop, readValues } from './polling.js';
import { Subscriber } from './subscription.js';

export type { OpcuaAdapterOptions } from './connection.js';

export class OpcuaAdapter implements DeviceAdapter {
  private readonly labels: { device: string; endpoint: string };
  private readonly metrics: OpcuaMetrics;
  private readonly points: DevicePoints;
  private readonly link: ConnectionKeeper;
  private readonly state: DeviceStateReporter;

  constructor(
    private readonly device: OpcuaDevice,
    private readonly context: AdapterContext,
    options: OpcuaAdapterOptions,
  ) {
    this.labels = { device: device.id, endpoint: device.endpoint };
    this.metrics = opcuaMetrics(context.metrics);
    this.points = new DevicePoints(device, context.sink, this.metrics.readings.labels(this.labels));
    this.state = new DeviceStateReporter(device.id, context, { endpoint: device.endpoint });
    const status: DeviceStatus = {
      connected: () => this.connected(),
      disconnected: (reason) => this.disconnected(reason),
    };
    this.link = new ConnectionKeeper(device, options, context.logger, status, (connection, session) =>
      acquisition.start(connection, session),
    );
    const acquisition =
      device.mode === 'polling'
        ? new ReadLoop(device, this.points, this.link, status, context.logger)
        : new Subscriber(device, this.points, this.link, status, context.logger);
  }

  async start(): Promise<void> {
    const warning = insecureIdentityWarning(this.device.security, this.device.endpoint);
    if (warning) this.context.logger.warn({ device: this.device.id }, warning);
    await this.link.start();
  }

  async scanOnce(): Promise<Reading[]> {
    const { device } = this;
    const notConnected = () => device.points.map((point) => notConnectedReading(point.name, Date.now()));
    const connection = await this.link.openOneShot();
    if (!connection) return notConnected();
    try {
      const session = await this.link.openSession(connection);
      const dataValues = await readValues(
        connection,
        session,
        device.points.map((point) => point.nodeId),
      );
      const receivedAt = Date.now();
      return device.points.map((point, index) => {
        const dataValue = dataValues[index];
        return dataValue
          ? readingFromDataValue(point.name, dataValue, receivedAt, device.timestamp)
          : notConnectedReading(point.name, receivedAt);
      });
    } catch (error) {
      const reason = explain(error, device.endpoint, device.security?.user);
      this.context.logger.warn({ endpoint: device.endpoint, reason }, 'scan failed');
      this.context.sink.deviceState(device.id, 'disconnected', reason);
      return notConnected();
    } finally {
      await this.link.closeOneShot(connection);
    }
  }

  async write(pointName: string, value: ReadingScalar): Promise<WriteResult> {
    const point = this.device.points.find((candidate) => candidate.name === pointName);
    if (!point) return { ok: false, reason: `no point ${pointName} on device ${this.device.id}` };
    const { session } = this.link;
    if (!session || this.state.state !== 'connected') {
      return { ok: false, reason: `not connected to ${this.device.endpoint}` };
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
    if (!this.link.running) return;
    await this.link.stop();
    this.state.stopped();
  }

  private connected(): void {
    if (this.link.running) this.state.report('connected');
  }

  /** Going disconnected also marks every point bad, once, so no stale good value stands. */
  private disconnected(reason: string): void {
    if (!this.link.running) return;
    const wasConnected = this.state.state === 'connected';
    if (!this.state.report('disconnected', reason)) return;
    if (wasConnected) this.metrics.outages.inc(this.labels);
    this.points.deliver(this.points.notConnected(Date.now()));
  }
}
