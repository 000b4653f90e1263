/**
 * The gateway's southbound side: one adapter per configured device, made by its protocol's module,
 * and the sink they all report to. Readings of the configured points go to the batcher as they are;
 * device state sets the `jjj_gateway_device_connected` gauge (the adapter logs each change itself).
 */
import type { DeviceAdapter, DeviceState, Reading, SouthboundSink } from '../adapters/contract.js';
import { createDeviceAdapter, deviceStateDir } from './adapter-modules.js';
import type { LoadedGatewayConfig } from './config.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import type { ConfiguredPoint, PointDirectory } from './normalise.js';

export interface SouthboundOptions {
  config: Pick<LoadedGatewayConfig, 'devices' | 'stateDir'>;
  directory: PointDirectory;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Takes every reading of a configured point (the batcher writes it into its columns). */
  take: (point: ConfiguredPoint, reading: Reading) => void;
}

export class Southbound {
  /** By device id, from `start` on. */
  readonly adapters = new Map<string, DeviceAdapter>();
  private readonly protocols = new Map<string, string>();
  private readonly unknownPoints = new Set<string>();

  constructor(private readonly options: SouthboundOptions) {
    for (const device of options.config.devices) this.protocols.set(device.id, device.protocol);
  }

  /** Starts every device; one failing to start does not keep the others from running. */
  async start(): Promise<void> {
    const { config, metrics, logger } = this.options;
    const sink: SouthboundSink = {
      readings: (deviceId, readings) => this.accept(deviceId, readings),
      deviceState: (deviceId, state) => this.onDeviceState(deviceId, state),
    };
    for (const device of config.devices) {
      const context = {
        sink,
        logger: logger.child({ device: device.id, protocol: device.protocol }),
        stateDir: deviceStateDir(config.stateDir, device.id),
        metrics: metrics.registry,
      };
      this.adapters.set(device.id, createDeviceAdapter(device, context));
    }
    const results = await Promise.allSettled([...this.adapters.values()].map((adapter) => adapter.start()));
    results.forEach((result, i) => {
      if (result.status === 'rejected') {
        logger.error({ device: config.devices[i]?.id, err: result.reason }, 'device adapter failed to start');
      }
    });
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.adapters.values()].map((adapter) => adapter.stop()));
  }

  private accept(deviceId: string, readings: readonly Reading[]): void {
    const points = this.options.directory.get(deviceId);
    for (const reading of readings) {
      const point = points?.get(reading.point);
      if (!point) {
        this.warnUnknown(deviceId, reading.point);
        continue;
      }
      this.options.take(point, reading);
    }
  }

  private warnUnknown(deviceId: string, point: string): void {
    const key = `${deviceId}/${point}`;
    if (this.unknownPoints.has(key)) return;
    this.unknownPoints.add(key);
    this.options.logger.warn({ device: deviceId, point }, 'adapter reported an unconfigured point; ignored');
  }

  private onDeviceState(deviceId: string, state: DeviceState): void {
    const protocol = this.protocols.get(deviceId) ?? 'unknown';
    this.options.metrics.deviceConnected.set({ device: deviceId, protocol }, state === 'connected' ? 1 : 0);
  }
}
