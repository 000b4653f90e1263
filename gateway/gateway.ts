/**
 * The edge runtime: starts one adapter per configured device, normalises their readings into the
 * shared schema, puts them in numbered batches (gateway id, boot counter, sequence) into the outbox,
 * from which they are delivered over MQTT.
 */
import type { DeviceAdapter, DeviceState, Reading, SouthboundSink } from '../adapters/contract.js';
import { createDeviceAdapter, deviceStateDir } from './adapter-modules.js';
import { nextBootCounter } from './boot-counter.js';
import { CommandExecutor } from './commands.js';
import type { LoadedGatewayConfig } from './config.js';
import { jsonEncoder } from './json-encoder.js';
import type { Logger } from './logger.js';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.js';
import { type MetricsServer, serveMetrics } from './metrics-server.js';
import { MqttLink, type MqttLinkOptions } from './mqtt-link.js';
import { buildPointDirectory, type PointDirectory, toSample } from './normalise.js';
import { Delivery } from './outbox/delivery.js';
import { DiskOutbox } from './outbox/disk-outbox.js';
import { MemoryOutbox } from './outbox/memory-outbox.js';
import type { Outbox } from './outbox/outbox.js';
import { COMMAND_ACK_SCHEMA, type CommandAck, CommandMessage, type WriteOutcome } from './schema/commands.js';
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
import { SparkplugEdgeNode } from './sparkplug/edge-node.js';
import { sparkplugEncoder } from './sparkplug/encoder.js';

export class Gateway {
  readonly boot: number;
  private readonly directory: PointDirectory;
  private readonly adapters = new Map<string, DeviceAdapter>();
  private readonly deviceStates = new Map<string, DeviceState>();
  private readonly unknownPoints = new Set<string>();
  private readonly link: MqttLink;
  private readonly outbox: Outbox;
  private readonly delivery: Delivery;
  private readonly commands: CommandExecutor;
  /** Present in Sparkplug B mode. */
  private readonly sparkplug: SparkplugEdgeNode | undefined;
  private readonly ackTopic: string;
  /** Connected to the broker. */
  private connected = false;
  /** Connected, birth sent (and the primary host online, in Sparkplug mode with one): data may flow. */
  private announced = false;
  readonly metrics: GatewayMetrics;
  private pending: PointSample[] = [];
  private seq = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private metricsServer: MetricsServer | undefined;
  private stopped = false;
  private readonly startedAt = Date.now();

  constructor(
    private readonly config: LoadedGatewayConfig,
    private readonly logger: Logger,
  ) {
    this.boot = nextBootCounter(config.stateDir);
    this.directory = buildPointDirectory(config);
    const { gateway, mqtt, outbox } = config;
    this.metrics = createGatewayMetrics(gateway.id);
    this.outbox =
      outbox.type === 'disk'
        ? new DiskOutbox({ dir: config.outboxDir, maxBytes: outbox.maxBytes, fsync: outbox.fsync })
        : new MemoryOutbox(outbox.maxBytes);
    const address = { region: gateway.region, site: gateway.site, gateway: gateway.id };
    this.ackTopic = topicFor({ ...address, kind: 'command-ack' });
    this.sparkplug =
      mqtt.format === 'sparkplug'
        ? new SparkplugEdgeNode({
            site: gateway.site,
            gateway: gateway.id,
            region: gateway.region,
            project: gateway.project,
            siteName: gateway.siteName,
            boot: this.boot,
            points: this.pointMetadata(),
            dataQos: mqtt.sparkplug.dataQos,
            ...(mqtt.sparkplug.primaryHostId !== undefined && {
              primaryHostId: mqtt.sparkplug.primaryHostId,
            }),
          })
        : undefined;
    const encoder = this.sparkplug
      ? sparkplugEncoder(this.sparkplug)
      : jsonEncoder({
          topics: {
            telemetry: topicFor({ ...address, kind: 'telemetry' }),
            status: topicFor({ ...address, kind: 'status' }),
            metadata: topicFor({ ...address, kind: 'metadata' }),
            command: topicFor({ ...address, kind: 'command' }),
          },
          status: (state) => this.statusMessage(state),
          metadata: () => this.metadataMessage(),
        });
    const linkOptions: MqttLinkOptions = {
      url: mqtt.url,
      clientId: mqtt.clientId ?? `jjj-${gateway.id}`,
      protocolVersion: mqtt.protocolVersion,
      keepaliveSeconds: mqtt.keepaliveSeconds,
      reconnect: mqtt.reconnect,
      encoder,
      logger: logger.child({ component: 'mqtt' }),
      onConnectionChange: (connected) => this.onConnectionChange(connected),
      onMessage: (topic, payload) => {
        this.onMessage(topic, payload).catch((error: Error) =>
          this.logger.error({ err: error, topic }, 'handling a command failed'),
        );
      },
    };
    if (mqtt.username !== undefined) linkOptions.username = mqtt.username;
    if (mqtt.password !== undefined) linkOptions.password = mqtt.password;
    if (mqtt.tls) linkOptions.tls = { ...config.tlsFiles, rejectUnauthorized: mqtt.tls.rejectUnauthorized };
    this.link = new MqttLink(linkOptions);
    this.delivery = new Delivery({
      outbox: this.outbox,
      link: this.link,
      isOnline: () => this.announced,
      encoder,
      replayIntervalMs: Math.max(1, config.publish.intervalMs / config.delivery.replaySpeedup),
      inFlightBatches: config.delivery.inFlightBatches,
      metrics: this.metrics,
      logger: logger.child({ component: 'delivery' }),
    });
    this.commands = new CommandExecutor(
      this.directory,
      this.adapters,
      logger.child({ component: 'commands' }),
    );
  }

  async start(): Promise<void> {
    const { gateway } = this.config;
    this.logger.info(
      { gateway: gateway.id, site: gateway.site, boot: this.boot, devices: this.config.devices.length },
      'gateway starting',
    );
    if (this.config.metrics) {
      this.metricsServer = await serveMetrics(this.metrics.registry, this.config.metrics);
      this.logger.info({ url: this.metricsServer.url }, 'serving metrics');
    }
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
    await this.delivery.drain(3000);
    await this.link.close();
    this.delivery.close();
    this.outbox.close();
    await this.metricsServer?.close();
    this.logger.info({ gateway: this.config.gateway.id, ...this.stats }, 'gateway stopped');
  }

  get stats() {
    return {
      ...this.delivery.counters,
      replaying: this.delivery.replaying,
      seq: this.seq,
      outbox: { ...this.outbox.stats },
    };
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

  /** Where `GET /metrics` answers, when the config asks for it. */
  get metricsUrl(): string | undefined {
    return this.metricsServer?.url;
  }

  private onDeviceState(deviceId: string, state: DeviceState, detail?: string): void {
    if (this.deviceStates.get(deviceId) === state) return;
    this.deviceStates.set(deviceId, state);
    const protocol = this.config.devices.find((d) => d.id === deviceId)?.protocol ?? 'unknown';
    this.metrics.deviceConnected.set({ device: deviceId, protocol }, state === 'connected' ? 1 : 0);
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
      this.delivery.submit(batch);
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

  private pointMetadata() {
    return [...this.directory.values()].flatMap((device) => [...device.values()].map((p) => p.metadata));
  }

  private onConnectionChange(connected: boolean): void {
    this.connected = connected;
    if (connected && (this.sparkplug?.canPublish ?? true)) this.announce();
    if (!connected) this.silence();
  }

  /** Birth first, then data: live batches flow and the backlog replays. */
  private announce(): void {
    this.link.announce();
    this.announced = true;
    this.delivery.connectionChanged(true);
  }

  /** No more data on the wire for now: batches wait in the outbox and replay later as history. */
  private silence(): void {
    if (!this.announced) return;
    this.announced = false;
    this.delivery.connectionChanged(false);
  }

  private async onMessage(topic: string, payload: Buffer): Promise<void> {
    if (this.sparkplug) return this.onSparkplugMessage(this.sparkplug, topic, payload);
    const { gateway } = this.config;
    let command: CommandMessage | undefined;
    let error: string | undefined;
    try {
      const parsed = CommandMessage.safeParse(JSON.parse(payload.toString('utf8')));
      if (parsed.success) command = parsed.data;
      else error = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    } catch {
      error = 'not JSON';
    }
    let results: WriteOutcome[] = [];
    if (command)
      results = await this.commands.execute(command.writes, { id: command.id, by: command.by, via: 'json' });
    else this.logger.warn({ topic, reason: error }, 'command refused: it does not validate');
    const ack: CommandAck = {
      schema: COMMAND_ACK_SCHEMA,
      ...this.siteRef(),
      id: command?.id ?? idOf(payload),
      gateway: { id: gateway.id, boot: this.boot },
      ts: Date.now(),
      results,
      ...(error !== undefined && { error }),
    };
    await this.link.publish({ topic: this.ackTopic, payload: JSON.stringify(ack), qos: 1, retain: false });
  }

  private async onSparkplugMessage(node: SparkplugEdgeNode, topic: string, payload: Buffer): Promise<void> {
    let outcome: ReturnType<SparkplugEdgeNode['handle']>;
    try {
      outcome = node.handle(topic, payload);
    } catch (error) {
      this.logger.warn({ topic, reason: (error as Error).message }, 'unreadable Sparkplug command; ignored');
      return;
    }
    if (!outcome) {
      // The primary host's STATE changed.
      if (node.canPublish && this.connected && !this.announced) {
        this.logger.info('primary host online: publishing births and data');
        this.announce();
      } else if (!node.canPublish && this.announced) {
        this.logger.warn('primary host offline: holding data in the outbox');
        this.silence();
      }
      return;
    }
    if (outcome.kind === 'rebirth') {
      this.logger.info('rebirth requested by NCMD');
      if (this.announced) this.link.announce();
      return;
    }
    for (const reason of outcome.rejected) this.logger.warn({ topic, reason }, 'DCMD write refused');
    const writes = outcome.writes.flatMap((write) =>
      write.value === null ? [] : [{ ...write, value: write.value }],
    );
    await this.commands.execute(writes, { id: `dcmd-${Date.now()}`, via: 'sparkplug' });
  }

  private metadataMessage(): MetadataMessage {
    const points = this.pointMetadata();
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

/** The id of a command that did not validate, if it has one, so the sender can match the refusal. */
function idOf(payload: Buffer): string {
  try {
    const id = (JSON.parse(payload.toString('utf8')) as { id?: unknown }).id;
    return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : 'unknown';
  } catch {
    return 'unknown';
  }
}
