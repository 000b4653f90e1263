/**
 * Announcing: what the gateway says about itself (its status, online or offline, and its points'
 * metadata) and the wire encoder that carries those, with the batches, to the broker: the JSON
 * contract, or Sparkplug B, whose births carry the metadata.
 */
import { persistentBdSeq } from './boot-counter.js';
import type { LoadedGatewayConfig } from './config.js';
import { jsonEncoder } from './json-encoder.js';
import type { WireEncoder } from './mqtt-link.js';
import type { PointDirectory } from './normalise.js';
import {
  METADATA_SCHEMA,
  type MetadataMessage,
  type PointMetadata,
  STATUS_SCHEMA,
  type StatusMessage,
  type TopicKind,
  topicFor,
} from './schema/index.js';
import { SparkplugEdgeNode } from './sparkplug/edge-node.js';
import { sparkplugEncoder } from './sparkplug/encoder.js';

type GatewaySection = LoadedGatewayConfig['gateway'];

/** The site fields every message of the JSON contract starts with. */
export function siteRef({ region, project, site }: GatewaySection) {
  return { region, project, site };
}

/** The topic of one kind of message of this gateway, in the JSON contract. */
export function gatewayTopic(gateway: GatewaySection, kind: TopicKind): string {
  return topicFor({ region: gateway.region, site: gateway.site, gateway: gateway.id, kind });
}

export class Announcements {
  readonly encoder: WireEncoder;
  /** Present in Sparkplug B mode. */
  readonly sparkplug: SparkplugEdgeNode | undefined;
  private readonly points: PointMetadata[];
  private readonly startedAt = Date.now();
  private stopping = false;

  constructor(
    private readonly config: LoadedGatewayConfig,
    private readonly boot: number,
    directory: PointDirectory,
  ) {
    const { gateway, mqtt } = config;
    this.points = [...directory.values()].flatMap((device) => [...device.values()].map((p) => p.metadata));
    this.sparkplug =
      mqtt.format === 'sparkplug'
        ? new SparkplugEdgeNode({
            site: gateway.site,
            gateway: gateway.id,
            region: gateway.region,
            project: gateway.project,
            siteName: gateway.siteName,
            boot,
            points: this.points,
            dataQos: mqtt.sparkplug.dataQos,
            nextBdSeq: persistentBdSeq(config.stateDir),
            ...(mqtt.sparkplug.primaryHostId !== undefined && {
              primaryHostId: mqtt.sparkplug.primaryHostId,
            }),
          })
        : undefined;
    this.encoder = this.sparkplug
      ? sparkplugEncoder(this.sparkplug)
      : jsonEncoder({
          topics: {
            telemetry: gatewayTopic(gateway, 'telemetry'),
            status: gatewayTopic(gateway, 'status'),
            metadata: gatewayTopic(gateway, 'metadata'),
            command: gatewayTopic(gateway, 'command'),
          },
          status: (state) => this.status(state),
          metadata: () => this.metadata(),
          compression: config.publish.compression,
        });
  }

  /** From now on `offline` is the clean stop's, stamped with its own time rather than the start's. */
  stopped(): void {
    this.stopping = true;
  }

  private status(state: StatusMessage['state']): StatusMessage {
    const { gateway } = this.config;
    // The Will is made at connect but stands for whenever the connection dies: it carries the start.
    const ts = state === 'offline' && !this.stopping ? this.startedAt : Date.now();
    return {
      schema: STATUS_SCHEMA,
      ...siteRef(gateway),
      gateway: { id: gateway.id, boot: this.boot },
      state,
      ts,
    };
  }

  private metadata(): MetadataMessage {
    const { gateway } = this.config;
    return {
      schema: METADATA_SCHEMA,
      ...siteRef(gateway),
      gateway: { id: gateway.id, boot: this.boot },
      ts: Date.now(),
      siteName: gateway.siteName,
      points: this.points,
    };
  }
}
