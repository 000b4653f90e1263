/** Turns adapter readings into the shared schema's samples, with the identity the config gives each point. */
import type { Reading } from '../adapters/contract.js';
import { addressOf } from './adapter-modules.js';
import { type GatewayConfig, resolvePointIdentity } from './config.js';
import type { PointIdentity, PointMetadata, PointSample } from './schema/index.js';

export interface ConfiguredPoint {
  identity: PointIdentity;
  metadata: PointMetadata;
}

/** Per device, its points by configured name. */
export type PointDirectory = Map<string, Map<string, ConfiguredPoint>>;

export function buildPointDirectory(config: Pick<GatewayConfig, 'devices'>): PointDirectory {
  const directory: PointDirectory = new Map();
  for (const device of config.devices) {
    const points = new Map<string, ConfiguredPoint>();
    for (const point of device.points) {
      const identity = resolvePointIdentity(device, point);
      const { address, dataType } = addressOf(device, point);
      const metadata: PointMetadata = { ...identity, protocol: device.protocol, address };
      if (dataType) metadata.dataType = dataType;
      if (point.unit) metadata.unit = point.unit;
      if (point.description) metadata.description = point.description;
      if (point.min !== undefined) metadata.min = point.min;
      if (point.max !== undefined) metadata.max = point.max;
      if (point.writable !== undefined) metadata.writable = point.writable;
      if (point.kpi) metadata.kpi = point.kpi;
      points.set(point.name, { identity, metadata });
    }
    directory.set(device.id, points);
  }
  return directory;
}

export function toSample(point: ConfiguredPoint, reading: Reading): PointSample {
  const sample: PointSample = {
    ...point.identity,
    // Bad quality never carries a value: a stale good value must not pass as fresh.
    value: reading.quality === 'bad' ? null : reading.value,
    ts: Math.trunc(reading.ts),
    quality: reading.quality,
  };
  if (reading.serverTs !== undefined) sample.serverTs = Math.trunc(reading.serverTs);
  if (reading.status) sample.status = reading.status;
  return sample;
}
