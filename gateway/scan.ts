/** `jjj-gateway test`: one scan of every configured point, normalised into the schema's point records. */
import { Registry } from 'prom-client';
import { gatewayStatus, type SouthboundSink } from '../adapters/contract.js';
import { createDeviceAdapter, deviceStateDir } from './adapter-modules.js';
import type { LoadedGatewayConfig } from './config.js';
import type { Logger } from './logger.js';
import { buildPointDirectory, toSample } from './normalise.js';
import { POINT_SCHEMA, type PointRecord } from './schema/index.js';

export async function scanOnce(config: LoadedGatewayConfig, logger: Logger): Promise<PointRecord[]> {
  const directory = buildPointDirectory(config);
  const { gateway } = config;
  const sink: SouthboundSink = {
    readings: () => undefined,
    deviceState: (deviceId, state, detail) =>
      logger.info({ device: deviceId, state, detail }, `device ${state}`),
  };
  // A scan serves no /metrics: what the adapters count goes nowhere.
  const metrics = new Registry();
  const perDevice = await Promise.all(
    config.devices.map(async (device) => {
      const adapter = createDeviceAdapter(device, {
        sink,
        logger: logger.child({ device: device.id }),
        stateDir: deviceStateDir(config.stateDir, device.id),
        metrics,
      });
      try {
        return await adapter.scanOnce();
      } catch (error) {
        logger.error({ device: device.id, err: error }, 'scan failed');
        return [];
      } finally {
        await adapter.stop();
      }
    }),
  );
  const records: PointRecord[] = [];
  config.devices.forEach((device, d) => {
    const readings = new Map((perDevice[d] ?? []).map((reading) => [reading.point, reading]));
    for (const [name, point] of directory.get(device.id) ?? []) {
      const reading = readings.get(name) ?? {
        point: name,
        value: null,
        ts: Date.now(),
        quality: 'bad',
        status: gatewayStatus.notRead,
      };
      const record: PointRecord = {
        schema: POINT_SCHEMA,
        region: gateway.region,
        project: gateway.project,
        site: gateway.site,
        gateway: gateway.id,
        ...toSample(point, reading),
      };
      if (point.metadata.unit) record.unit = point.metadata.unit;
      records.push(record);
    }
  });
  return records;
}
