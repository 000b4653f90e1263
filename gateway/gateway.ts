/**
 * The edge runtime: starts one adapter per configured device, normalises their readings into the
 * shared schema, and sends them in numbered batches (gateway id, boot counter, sequence) over MQTT.
 */
import type { DeviceAdapter, DeviceState, Reading, SouthboundSink } from '../adapters/contract.js';
import { nextBootCounter } from './boot-counter.js';
import type { LoadedGatewayConfig } from './config.js';
import { createDeviceAdapter, deviceStateDir } from './devices.js';
import type { Logger } from './logger.js';
import { MqttLink } from './mqtt-link.js';
import { buildPointDirectory, type PointDirectory, toSample } from './normalise.js';
import {
  METADATA_SCHEMA,
  type MetadataMessage,
  type PointSample,
  STATUS_SCHEMA,
  type StatusMessage,
  TELEMETRY_SCHEMA,
  type TelemetryBatch,
  topicFor,
} from './schema/index.js';

export class Gateway {
  readonly boot: number;
  private readonly directory: PointDirectory;
  private readonly adapters = new Map<string, DeviceAdapter>();
  private readonly deviceStates = new Map<string, DeviceState>();
  private readonly unknownPoints = new Set<string>();
  private readonly link: MqttLink;
  private pending: PointSample[] = [];
  private seq = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly startedAt = Date.now();

  constructor(
    private readonly config: LoadedGatewayConfig,
    private readonly logger: Logger,
  ) {
    this.boot = nextBootCounter(config.stateDir);
    this.directory = buildPointDirectory(config);
    const { gateway, mqtt } = config;
    const address = { region: gateway.region, site: gateway.site, gateway: gateway.id };
    const linkOptions: ConstructorParameters<typeof MqttLink>[0] = {
      url: mqtt.url,
      clientId: mqtt.clientId ?? `jjj-${gateway.id}`,
      keepaliveSeconds: mqtt.keepaliveSeconds,
      topics: {
        telemetry: topicFor({ ...address, kind: 'telemetry' }),
        status: topicFor({ ...address, kind: 'status' }),
        metadata: topicFor({ ...address, kind: 'metadata' }),
      },
      status: (state) => this.statusMessage(state),
      metadata: () => this.metadataMessage(),
      maxQueuedPoints: config.publish.maxQueuedPoints,
      logger: logger.child({ component: 'mqtt' }),
    };
    if (mqtt.username !== undefined) linkOptions.username = mqtt.username;
    if (mqtt.password !== undefined) linkOptions.password = mqtt.password;
    this.link = new MqttLink(linkOptions);
  }

  async start(): Promise<void> {
    const { gateway } = this.config;
    this.logger.info(
      { gateway: gateway.id, site: gateway.site, boot: this.boot, devices: this.config.devices.length },
      'gateway starting',
    );
    this.link.start();
    const sink: SouthboundSink = {
      readings: (deviceId, readings) => this.accept(deviceId, readings),
      deviceState: (deviceId, state, detail) => this.onDeviceState(deviceId, state, detail),
    };
    for (const device of this.config.devices) {
      const logger = this.logger.child({ device: device.id, protocol: device.protocol });
      const stateDir = deviceStateDir(this.config.stateDir, device.id);
      this.adapters.set(device.id, createDeviceAdapter(device, { sink, logger, stateDir }));
    }
    // One device failing to start must not keep the others from running.
    const results = await Promise.allSettled([...this.adapters.values()].map((adapter) => adapter.start()));
    results.forEach((result, i) => {
      if (result.status === 'rejected') {
        this.logger.error(
          { device: this.config.devices[i]?.id, err: result.reason },
          'device adapter failed to start',
        );
      }
    });
    this.flushTimer = setInterval(() => this.flush(), this.config.publish.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.flushTimer);
    await Promise.allSettled([...this.adapters.values()].map((adapter) => adapter.stop()));
    this.flush();
    await this.link.close();
    this.logger.info({ gateway: this.config.gateway.id, sent: this.link.counters }, 'gateway stopped');
  }

  get stats() {
    return { ...this.link.counters, seq: this.seq, queuedBatches: this.link.queuedBatchCount };
  }

  private accept(deviceId: string, readings: readonly Reading[]): void {
    const points = this.directory.get(deviceId);
    for (const reading of readings) {
      const point = points?.get(reading.point);
      if (!point) {
        const key = `${deviceId}/${reading.point}`;
        if (!this.unknownPoints.has(key)) {
          this.unknownPoints.add(key);
          this.logger.warn(
            { device: deviceId, point: reading.point },
            'adapter reported an unconfigured point; ignored',
          );
        }
        continue;
      }
      this.pending.push(toSample(point, reading));
    }
  }

  private onDeviceState(deviceId: string, state: DeviceState, detail?: string): void {
    if (this.deviceStates.get(deviceId) === state) return;
    this.deviceStates.set(deviceId, state);
    const log =
      state === 'connected' ? this.logger.info.bind(this.logger) : this.logger.warn.bind(this.logger);
    log({ device: deviceId, state, detail }, `device ${state}`);
  }

  private flush(): void {
    const { gateway, publish } = this.config;
    while (this.pending.length > 0) {
      const points = this.pending.splice(0, publish.maxPoints);
      const batch: TelemetryBatch = {
        schema: TELEMETRY_SCHEMA,
        region: gateway.region,
        project: gateway.project,
        site: gateway.site,
        gateway: { id: gateway.id, boot: this.boot, seq: this.seq++ },
        sentTs: Date.now(),
        points,
      };
      this.link.enqueue(batch);
    }
  }

  private siteRef() {
    const { gateway } = this.config;
    return { region: gateway.region, project: gateway.project, site: gateway.site };
  }

  private statusMessage(state: StatusMessage['state']): StatusMessage {
    const ts = state === 'offline' && !this.stopped ? this.startedAt : Date.now();
    return {
      schema: STATUS_SCHEMA,
      ...this.siteRef(),
      gateway: { id: this.config.gateway.id, boot: this.boot },
      state,
      ts,
    };
  }

  private metadataMessage(): MetadataMessage {
    const points = [...this.directory.values()].flatMap((device) =>
      [...device.values()].map((p) => p.metadata),
    );
    return {
      schema: METADATA_SCHEMA,
      ...this.siteRef(),
      gateway: { id: this.config.gateway.id, boot: this.boot },
      ts: Date.now(),
      siteName: this.config.gateway.siteName,
      points,
    };
  }
}
