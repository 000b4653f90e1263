/**
 * The collector as a Sparkplug B host application: learns each edge node's births (aliases,
 * datatypes, metric metadata) and turns its messages into the jjj schema's metadata, status and
 * samples, so Sparkplug gateways land in the same store as JSON ones. Pure: no MQTT, no store.
 *
 * Mapping (the gateway's, read back): group = site, edge node = gateway, device = equipment, metric
 * name = point; region, project, site names and boot counter travel as NBIRTH `Properties/…` metrics;
 * line, unit, protocol, address and the KPI role (JSON text) as DBIRTH metric properties.
 */
import type { Logger } from 'pino';
import { formatIssues } from '../gateway/common/config-loading.js';
import {
  Identifier,
  KpiRole,
  METADATA_SCHEMA,
  type MetadataMessage,
  type PointMetadata,
  type PointSample,
  Protocol,
  ProtocolStatus,
  type Quality,
  Region,
  STATUS_SCHEMA,
  type StatusMessage,
  TELEMETRY_SCHEMA,
} from '../gateway/schema/index.js';
import {
  BDSEQ_METRIC,
  decodePayload,
  encodePayload,
  nodeProperties,
  parseSparkplugTopic,
  pointProperties,
  qualityOfCode,
  qualityProperties,
  REBIRTH_METRIC,
  type SparkplugDataType,
  type SparkplugMetric,
  type SparkplugPayload,
  sparkplugTopic,
} from '../gateway/schema/sparkplug/index.js';
import type { IncomingBatch } from './store/store.js';

/** What the host makes of a message: the jjj messages the JSON path would have received, or a rebirth request. */
export type SparkplugEvent =
  | { kind: 'metadata'; message: MetadataMessage }
  | { kind: 'status'; message: StatusMessage }
  | { kind: 'telemetry'; message: IncomingBatch }
  /** The host met data it has no birth for: Sparkplug says to ask the node for a rebirth (NCMD). */
  | { kind: 'rebirth-request'; topic: string; payload: Buffer };

const StatusSource = ProtocolStatus.shape.source;

export class SparkplugIngestError extends Error {
  readonly code = 'SPARKPLUG_INGEST';
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'SparkplugIngestError';
  }
}

interface BornMetric {
  point: string;
  line: string;
  datatype: SparkplugDataType;
}

interface EdgeNode {
  region: Region;
  project: string;
  boot: number;
  bdSeq: string;
  siteName: { zh: string; en: string };
  /** Metrics by alias and by name, per device. */
  devices: Map<string, { byAlias: Map<number, BornMetric>; byName: Map<string, BornMetric> }>;
}

function text(metric: SparkplugMetric | undefined): string | undefined {
  return typeof metric?.value === 'string' ? metric.value : undefined;
}

function identifier(value: string | undefined, what: string): string {
  if (value === undefined || !Identifier.safeParse(value).success) {
    throw new SparkplugIngestError(
      `${what} ${JSON.stringify(value)} is not a jjj identifier (lower-case, digits, - or _)`,
    );
  }
  return value;
}

export class SparkplugHost {
  private readonly nodes = new Map<string, EdgeNode>();

  /** `logger` hears of what is dropped but not refused (an invalid KPI role: the point is kept). */
  constructor(private readonly logger?: Pick<Logger, 'warn'>) {}

  handle(topic: string, payload: Buffer, receivedAt = Date.now()): SparkplugEvent[] {
    const address = parseSparkplugTopic(topic);
    if (!address) throw new SparkplugIngestError(`not a Sparkplug B edge node topic: ${topic}`);
    const site = identifier(address.groupId, 'group id (site)');
    const gateway = identifier(address.edgeNodeId, 'edge node id (gateway)');
    const key = `${site}/${gateway}`;
    const node = this.nodes.get(key);
    switch (address.messageType) {
      case 'NBIRTH':
        return this.nbirth(key, site, gateway, decodeOrReject(payload), receivedAt);
      case 'NDEATH': {
        const bdSeq = decodeOrReject(payload).metrics.find((m) => m.name === BDSEQ_METRIC)?.value;
        // A Will from an older session must not mark a node offline that has since reconnected.
        if (!node || String(bdSeq) !== node.bdSeq) return [];
        return [{ kind: 'status', message: this.status(site, gateway, node, 'offline', receivedAt) }];
      }
      case 'DBIRTH': {
        if (!node) return [this.rebirthRequest(site, gateway)];
        const device = identifier(address.deviceId, 'device id (equipment)');
        return this.dbirth(site, gateway, node, device, decodeOrReject(payload), receivedAt);
      }
      case 'DDATA': {
        const device = node?.devices.get(address.deviceId ?? '');
        if (!node || !device) return [this.rebirthRequest(site, gateway)];
        const decoded = decodeOrReject(
          payload,
          (m) =>
            (m.alias !== undefined ? device.byAlias.get(m.alias) : device.byName.get(m.name ?? ''))?.datatype,
        );
        const points: PointSample[] = [];
        for (const metric of decoded.metrics) {
          const born =
            metric.alias !== undefined
              ? device.byAlias.get(metric.alias)
              : device.byName.get(metric.name ?? '');
          if (!born) return [this.rebirthRequest(site, gateway)];
          points.push(sample(address.deviceId as string, born, metric, decoded.timestamp ?? receivedAt));
        }
        if (points.length === 0) return [];
        return [telemetry(site, gateway, node, points, receivedAt)];
      }
      default:
        // NDATA (no node-level data is used), DDEATH and commands carry nothing to store.
        return [];
    }
  }

  private nbirth(
    key: string,
    site: string,
    gateway: string,
    payload: SparkplugPayload,
    now: number,
  ): SparkplugEvent[] {
    const byName = new Map(payload.metrics.map((m) => [m.name, m]));
    const region = Region.safeParse(text(byName.get(nodeProperties.region)));
    if (!region.success) {
      throw new SparkplugIngestError(
        `NBIRTH has no ${nodeProperties.region} of ${Region.options.join(', ')}: the node is not part of the Jing-Jin-Ji network`,
      );
    }
    const project = identifier(text(byName.get(nodeProperties.project)), nodeProperties.project);
    const bdSeq = byName.get(BDSEQ_METRIC)?.value;
    if (bdSeq === undefined || bdSeq === null)
      throw new SparkplugIngestError(`NBIRTH has no ${BDSEQ_METRIC} metric`);
    const boot = Number(byName.get(nodeProperties.boot)?.value ?? 1);
    const node: EdgeNode = {
      region: region.data,
      project,
      boot: Number.isSafeInteger(boot) && boot > 0 ? boot : 1,
      bdSeq: String(bdSeq),
      siteName: {
        en: text(byName.get(nodeProperties.siteName)) ?? site,
        zh: text(byName.get(nodeProperties.siteNameZh)) ?? text(byName.get(nodeProperties.siteName)) ?? site,
      },
      devices: new Map(),
    };
    this.nodes.set(key, node);
    return [{ kind: 'status', message: this.status(site, gateway, node, 'online', now) }];
  }

  private dbirth(
    site: string,
    gateway: string,
    node: EdgeNode,
    device: string,
    payload: SparkplugPayload,
    now: number,
  ): SparkplugEvent[] {
    const byAlias = new Map<number, BornMetric>();
    const byName = new Map<string, BornMetric>();
    const metadata: PointMetadata[] = [];
    const points: PointSample[] = [];
    for (const metric of payload.metrics) {
      const point = identifier(metric.name, `DBIRTH metric name of ${device}`);
      const property = (name: string) => metric.properties?.[name]?.value;
      const line = identifier(
        String(property(pointProperties.line) ?? ''),
        `${pointProperties.line} property of ${device}/${point}`,
      );
      if (!metric.datatype)
        throw new SparkplugIngestError(`DBIRTH metric ${device}/${point} has no datatype`);
      const born: BornMetric = { point, line, datatype: metric.datatype };
      byName.set(point, born);
      if (metric.alias !== undefined) byAlias.set(metric.alias, born);
      const protocol = Protocol.safeParse(property(pointProperties.protocol));
      if (protocol.success) {
        const meta: PointMetadata = {
          line,
          equipment: device,
          point,
          protocol: protocol.data,
          address: String(property(pointProperties.address) ?? point),
        };
        const unit = property(pointProperties.unit);
        if (typeof unit === 'string') meta.unit = unit;
        if (metric.description) meta.description = metric.description;
        // A float property may be NaN or infinite on the wire: no range then.
        const min = property(pointProperties.min);
        if (typeof min === 'number' && Number.isFinite(min)) meta.min = min;
        const max = property(pointProperties.max);
        if (typeof max === 'number' && Number.isFinite(max)) meta.max = max;
        if (property(pointProperties.writable) === true) meta.writable = true;
        const kpi = property(pointProperties.kpi);
        if (kpi !== undefined) {
          const role = kpiRoleOf(kpi);
          if (role.success) meta.kpi = role.data;
          else {
            this.logger?.warn(
              { site, gateway, point: `${line}/${device}/${point}`, reason: role.reason },
              `Sparkplug DBIRTH: the ${pointProperties.kpi} of ${device}/${point} is not a valid KPI role; the point is kept without it`,
            );
          }
        }
        metadata.push(meta);
      }
      if (metric.value !== null) points.push(sample(device, born, metric, payload.timestamp ?? now));
    }
    node.devices.set(device, { byAlias, byName });
    const events: SparkplugEvent[] = [
      {
        kind: 'metadata',
        message: {
          schema: METADATA_SCHEMA,
          region: node.region,
          project: node.project,
          site,
          gateway: { id: gateway, boot: node.boot },
          ts: now,
          siteName: node.siteName,
          points: metadata,
        },
      },
    ];
    if (points.length > 0) events.push(telemetry(site, gateway, node, points, now));
    return events;
  }

  private status(
    site: string,
    gateway: string,
    node: EdgeNode,
    state: StatusMessage['state'],
    ts: number,
  ): StatusMessage {
    return {
      schema: STATUS_SCHEMA,
      region: node.region,
      project: node.project,
      site,
      gateway: { id: gateway, boot: node.boot },
      state,
      ts,
    };
  }

  private rebirthRequest(site: string, gateway: string): SparkplugEvent {
    return {
      kind: 'rebirth-request',
      topic: sparkplugTopic({ groupId: site, messageType: 'NCMD', edgeNodeId: gateway }),
      payload: encodePayload({
        timestamp: Date.now(),
        metrics: [{ name: REBIRTH_METRIC, datatype: 'Boolean', value: true }],
      }),
    };
  }
}

/**
 * Samples as a batch of the JSON path. Sparkplug numbers no batches, so there is no `seq` (no dedupe
 * or gap tracking) and the receive time stands for the send time.
 */
function telemetry(
  site: string,
  gateway: string,
  node: EdgeNode,
  points: PointSample[],
  receivedAt: number,
): SparkplugEvent {
  return {
    kind: 'telemetry',
    message: {
      schema: TELEMETRY_SCHEMA,
      region: node.region,
      project: node.project,
      site,
      gateway: { id: gateway, boot: node.boot },
      sentTs: receivedAt,
      points,
    },
  };
}

/** A `KpiRole` property: JSON text of the role (see `pointProperties.kpi`). */
function kpiRoleOf(text: unknown): { success: true; data: KpiRole } | { success: false; reason: string } {
  if (typeof text !== 'string') return { success: false, reason: 'not a String property' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { success: false, reason: `not JSON: ${(error as Error).message}` };
  }
  const role = KpiRole.safeParse(json);
  return role.success
    ? { success: true, data: role.data }
    : { success: false, reason: formatIssues(role.error.issues).join('; ') };
}

function decodeOrReject(payload: Buffer, datatypeOf?: Parameters<typeof decodePayload>[1]): SparkplugPayload {
  try {
    return decodePayload(payload, datatypeOf);
  } catch (error) {
    throw new SparkplugIngestError((error as Error).message);
  }
}

function sample(
  equipment: string,
  born: BornMetric,
  metric: SparkplugMetric,
  fallbackTs: number,
): PointSample {
  const property = (name: string) => metric.properties?.[name]?.value;
  const code = property(qualityProperties.quality);
  const quality: Quality = typeof code === 'number' ? qualityOfCode(code) : 'good';
  const out: PointSample = {
    line: born.line,
    equipment,
    point: born.point,
    value: quality === 'bad' ? null : metric.value,
    ts: metric.timestamp ?? fallbackTs,
    quality,
  };
  if (out.value === null && quality !== 'bad') out.quality = 'bad';
  const source = StatusSource.safeParse(property(qualityProperties.statusSource));
  const statusCode = property(qualityProperties.statusCode);
  if (source.success && typeof statusCode === 'number') {
    const name = String(property(qualityProperties.statusName) ?? '');
    out.status = { source: source.data, code: statusCode, name };
  }
  const serverTs = property(qualityProperties.serverTimestamp);
  if (typeof serverTs === 'number') out.serverTs = serverTs;
  return out;
}
