/**
 * The edge runtime's coordinator: the southbound side (adapters → readings) feeds the batcher, whose
 * numbered batches go into the outbox and are delivered over MQTT whenever the connection state
 * machine says data may flow; commands arrive through the command intake.
 */
import { randomBytes } from 'node:crypto';
import { Announcements } from './announcements.js';
import { Batcher } from './batcher.js';
import { nextBootCounter } from './boot-counter.js';
import { CommandIntake } from './command-intake.js';
import { CommandExecutor } from './commands.js';
import type { LoadedGatewayConfig } from './config.js';
import { ConnectionStateMachine } from './connection-state.js';
import type { Logger } from './logger.js';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.js';
import { type MetricsServer, serveMetrics } from './metrics-server.js';
import { MqttLink, type MqttLinkOptions } from './mqtt-link.js';
import { buildPointDirectory } from './normalise.js';
import { Delivery } from './outbox/delivery.js';
import { DiskOutbox } from './outbox/disk-outbox.js';
import { MemoryOutbox } from './outbox/memory-outbox.js';
import type { Outbox } from './outbox/outbox.js';
import { Southbound } from './southbound.js';

export class Gateway {
  readonly boot: number;
  readonly metrics: GatewayMetrics;
  private readonly southbound: Southbound;
  private readonly batcher: Batcher;
  private readonly announcements: Announcements;
  private readonly connection: ConnectionStateMachine;
  private readonly intake: CommandIntake;
  private readonly link: MqttLink;
  private readonly outbox: Outbox;
  private readonly delivery: Delivery;
  private metricsServer: MetricsServer | undefined;
  private stopped = false;

  constructor(
    private readonly config: LoadedGatewayConfig,
    private readonly logger: Logger,
  ) {
    this.boot = nextBootCounter(config.stateDir);
    const directory = buildPointDirectory(config);
    const { gateway, mqtt, outbox } = config;
    this.metrics = createGatewayMetrics(gateway.id);
    this.outbox =
      outbox.type === 'disk'
        ? new DiskOutbox({ dir: config.outboxDir, maxBytes: outbox.maxBytes, fsync: outbox.fsync })
        : new MemoryOutbox(outbox.maxBytes);
    this.announcements = new Announcements(config, this.boot, directory);
    const { encoder, sparkplug } = this.announcements;
    this.connection = new ConnectionStateMachine(
      {
        hostOnline: () => sparkplug?.canPublish ?? true,
        birth: () => this.link.announce(),
        dataFlow: (flowing) => this.delivery.connectionChanged(flowing),
        endSession: () => {
          this.link
            .restartSession()
            .catch((error: Error) => logger.error({ err: error }, 'ending the MQTT session failed'));
        },
      },
      logger,
    );
    const linkOptions: MqttLinkOptions = {
      url: mqtt.url,
      // Unguessable, so no other client can take the gateway's session over by connecting with its id
      // (Mosquitto binds no client id to a username); one per process, as the link uses clean sessions.
      clientId: mqtt.clientId ?? `jjj-${gateway.id}-${randomBytes(6).toString('hex')}`,
      protocolVersion: mqtt.protocolVersion,
      keepaliveSeconds: mqtt.keepaliveSeconds,
      reconnect: mqtt.reconnect,
      encoder,
      logger: logger.child({ component: 'mqtt' }),
      onConnectionChange: (connected) => (connected ? this.connection.linkUp() : this.connection.linkDown()),
      onMessage: (topic, payload) => this.intake.receive(topic, payload),
    };
    // A password without a username is the gateway id's, as `jjj-gateway broker-auth` writes it.
    const username = mqtt.username ?? (mqtt.password !== undefined ? gateway.id : undefined);
    if (username !== undefined) linkOptions.username = username;
    if (mqtt.password !== undefined) linkOptions.password = mqtt.password;
    if (mqtt.tls) linkOptions.tls = { ...config.tlsFiles, rejectUnauthorized: mqtt.tls.rejectUnauthorized };
    this.link = new MqttLink(linkOptions);
    this.delivery = new Delivery({
      outbox: this.outbox,
      link: this.link,
      isOnline: () => this.connection.state === 'announced',
      encoder,
      replayIntervalMs: Math.max(1, config.publish.intervalMs / config.delivery.replaySpeedup),
      inFlightBatches: config.delivery.inFlightBatches,
      metrics: this.metrics,
      logger: logger.child({ component: 'delivery' }),
    });
    this.batcher = new Batcher({
      config,
      boot: this.boot,
      submit: (batches) => this.delivery.submit(batches),
      congested: () => this.delivery.congested,
    });
    this.southbound = new Southbound({
      config,
      directory,
      metrics: this.metrics,
      logger,
      take: (point, reading) => this.batcher.add(point, reading),
    });
    this.intake = new CommandIntake({
      config,
      boot: this.boot,
      executor: new CommandExecutor(
        directory,
        this.southbound.adapters,
        logger.child({ component: 'commands' }),
      ),
      sparkplug,
      connection: this.connection,
      publish: (message) => this.link.publish(message),
      logger,
    });
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
    await this.southbound.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.announcements.stopped();
    await this.southbound.stop();
    this.batcher.stop();
    await this.delivery.drain(3000);
    await this.link.close();
    await this.intake.close();
    this.delivery.close();
    this.outbox.close();
    await this.metricsServer?.close();
    this.logger.info({ gateway: this.config.gateway.id, ...this.stats }, 'gateway stopped');
  }

  get stats() {
    return {
      ...this.delivery.counters,
      replaying: this.delivery.replaying,
      seq: this.batcher.seq,
      outbox: { ...this.outbox.stats },
    };
  }

  /** Where `GET /metrics` answers, when the config asks for it. */
  get metricsUrl(): string | undefined {
    return this.metricsServer?.url;
  }
}
