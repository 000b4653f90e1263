/**
 * The device's points as acquisition meets them: by node id (what a Read or a monitored item names), and
 * handed on to the gateway's sink unless the same sample was handed on before.
 */
import { type DataValue, resolveNodeId } from 'node-opcua-client';
import type { ProtocolStatus, Reading, SouthboundSink } from '../contract.js';
import type { OpcuaDevice } from './config.js';
import { notConnectedReading, readingFromDataValue } from './decode.js';
import { LastSamples } from './last-samples.js';

export class DevicePoints {
  /**
   * Point indexes by normalised node id (several points may read the same node; the first one's
   * monitoring options apply). Each list is made with its first index, so it holds no spare slots.
   */
  readonly byNodeId = new Map<string, number[]>();
  private readonly lastSamples: LastSamples;

  constructor(
    private readonly device: OpcuaDevice,
    private readonly sink: SouthboundSink,
    /** The device's count of readings handed on. */
    private readonly handedOn: { inc(count: number): void },
  ) {
    device.points.forEach((point, index) => {
      const nodeId = normaliseNodeId(point.nodeId);
      const points = this.byNodeId.get(nodeId);
      if (points) points.push(index);
      else this.byNodeId.set(nodeId, [index]);
    });
    this.lastSamples = new LastSamples(device.points.length);
  }

  /** Adds the reading of point `index` unless it is the very sample last handed on (same time, value and status). */
  collect(readings: Reading[], index: number, dataValue: DataValue, receivedAt: number): void {
    const point = this.device.points[index];
    if (!point) return;
    const reading = readingFromDataValue(point.name, dataValue, receivedAt, this.device.timestamp);
    if (this.lastSamples.record(index, reading)) readings.push(reading);
  }

  /** Adds a bad reading with `status` for each point of a node the server refused; its next sample passes. */
  collectRefused(readings: Reading[], nodeId: string, status: ProtocolStatus, ts: number): void {
    for (const index of this.byNodeId.get(nodeId) ?? []) {
      const point = this.device.points[index];
      if (!point) continue;
      this.lastSamples.forget(index);
      readings.push({ point: point.name, value: null, ts, quality: 'bad', status });
    }
  }

  deliver(readings: Reading[]): void {
    if (readings.length === 0) return;
    this.handedOn.inc(readings.length);
    this.sink.readings(this.device.id, readings);
  }

  /** One NotConnected reading per point; every next sample passes. */
  notConnected(ts: number): Reading[] {
    this.lastSamples.forgetAll();
    return this.device.points.map((point) => notConnectedReading(point.name, ts));
  }
}

/** Node ids as node-opcua prints them, so config spellings (`i=85` vs `ns=0;i=85`) match notifications. */
function normaliseNodeId(nodeId: string): string {
  const normalised = resolveNodeId(nodeId).toString();
  // The config's own string when it is already normal: one copy per point, not two.
  return normalised === nodeId ? nodeId : normalised;
}
