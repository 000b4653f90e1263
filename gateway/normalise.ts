/** Turns adapter readings into the shared schema's samples, with the identity the config gives each point. */
import type { Reading } from '../adapters/contract.js';
import { addressOf } from './adapter-modules.js';
import { type GatewayConfig, resolvePointIdentity } from './config.js';
import type { PointIdentity, PointMetadata, PointSample } from './schema/index.js';

/** One (line, equipment): the batcher keeps one group of columns per such object. */
export interface EquipmentKey {
  line: string;
  equipment: string;
}

export interface ConfiguredPoint {
  identity: PointIdentity;
  metadata: PointMetadata;
  /** Shared by every point of the same line and equipment, whichever device reads it. */
  equipment: EquipmentKey;
}

/** Per device, its points by configured name. */
export type PointDirectory = Map<string, Map<string, ConfiguredPoint>>;

export function buildPointDirectory(config: Pick<GatewayConfig, 'devices'>): PointDirectory {
  const directory: PointDirectory = new Map();
  const equipments = new Map<string, EquipmentKey>();
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
      const key = `${identity.line}/${identity.equipment}`;
      let equipment = equipments.get(key);
      if (!equipment) {
        equipment = { line: identity.line, equipment: identity.equipment };
        equipments.set(key, equipment);
      }
      points.set(point.name, { identity, metadata, equipment });
    }
    directory.set(device.id, points);
  }
  return directory;
}

/** A reading as one sample: for `jjj-gateway test`; the running gateway batches readings as columns. */
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
