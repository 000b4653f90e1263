/**
 * The collector as a Sparkplug B host application: learns each edge node's births (aliases,
 * datatypes, metric metadata) and turns its messages into the jjj schema's metadata, status and
 * samples, so Sparkplug nodes land in the same store as JSON gateways. Pure: no MQTT, no store, no timers.
 *
 * Two kinds of node:
 * - jjj's own gateways, whose NBIRTH carries `Properties/Region` (and project, site names, boot):
 *   group = site, edge node = gateway, device = equipment, metric name = point, and the line, unit,
 *   protocol, address and KPI role as DBIRTH metric properties; every name must be an identifier.
 * - any other conformant node: placed by `sparkplug.nodes` (cloud/sparkplug/mapping.ts), names made
 *   identifiers by `stableId` (cloud/sparkplug/names.ts) with the original kept as `sourceName`, and
 *   Sparkplug's own metric properties read (`engUnit`, `engLow`/`engHigh`, a description).
 *
 * Each node session numbers its messages (`seq`, 0–255) as batches of one gateway boot, so the store
 * counts its gaps, duplicates and completeness as for JSON batches (cloud/sparkplug/sequence.ts).
 */
import type { Logger } from 'pino';
import { formatIssues } from '../gateway/common/config-loading.js';
import {
  type DataType,
  Identifier,
  KpiRole,
  METADATA_SCHEMA,
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
import { type NodePlacement, SparkplugMapping, SparkplugMappingConfig } from './sparkplug/mapping.js';
import { stableId } from './sparkplug/names.js';
import { SessionSequence } from './sparkplug/sequence.js';
import { unitOf } from './sparkplug/units.js';
import type {
  GatewayPosition,
  IncomingBatch,
  IncomingMetadata,
  IncomingPointMetadata,
} from './store/store.js';

/** Why the host asks a node for its births again. */
export type RebirthReason = 'no-birth' | 'gap';

/**
 * What the host makes of a message: the jjj messages the JSON path would have received, and what
 * ingest must act on (`node` is the node's key, `group/edge node` as the node names them).
 */
export type SparkplugEvent =
  | ({ kind: 'metadata'; message: IncomingMetadata } & Placed)
  | ({ kind: 'status'; message: StatusMessage } & Placed)
  | ({ kind: 'telemetry'; message: IncomingBatch } & Placed)
  /** Ask the node for a rebirth (NCMD on `topic`, payload `rebirthPayload()`), subject to its back-off. */
  | { kind: 'rebirth-request'; node: string; reason: RebirthReason; topic: string }
  /** Data (or a DBIRTH) the host has no birth for: nothing of it is stored. */
  | { kind: 'no-birth'; node: string; detail: string }
  /** A message of a node no mapping places, after its NBIRTH was dead-lettered: dropped. */
  | { kind: 'unmapped'; node: string }
  /** Messages were skipped: if they have not come by `deadline`, `overdueGaps` reports them. */
  | { kind: 'gap-opened'; node: string; deadline: number };

export type RebirthRequest = Extract<SparkplugEvent, { kind: 'rebirth-request' }>;

/** `placed`: the site, region and project come from the collector's `sparkplug` config, not the node. */
interface Placed {
  placed?: true;
}

const StatusSource = ProtocolStatus.shape.source;

export class SparkplugIngestError extends Error {
  readonly code = 'SPARKPLUG_INGEST';
  constructor(
    readonly reason: string,
    /** The dead letter's reason code. */
    readonly rejectReason: 'sparkplug-invalid' | 'sparkplug-unmapped' = 'sparkplug-invalid',
  ) {
    super(reason);
    this.name = 'SparkplugIngestError';
  }
}

interface BornMetric {
  line: string;
  equipment: string;
  point: string;
  datatype: SparkplugDataType;
  /** A metric jjj cannot hold (DataSet, Template, …): born, so its data is known, but not stored. */
  skip?: true;
}

interface BornDevice {
  byAlias: Map<number, BornMetric>;
  byName: Map<string, BornMetric>;
}

/** The node-level metrics (NBIRTH/NDATA) of a node of another vendor, kept as a device of this key. */
const NODE_LEVEL = '';

interface NodeSession {
  group: string;
  node: string;
  /** `undefined` for jjj's own gateways. */
  placement: NodePlacement | undefined;
  region: Region;
  project: string;
  site: string;
  gateway: string;
  boot: number;
  bdSeq: string;
  siteName: { zh: string; en: string };
  sequence: SessionSequence;
  devices: Map<string, BornDevice>;
}

export type SparkplugHostOptions = Partial<SparkplugMappingConfig>;

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

const sparkplugToDataType: Partial<Record<SparkplugDataType, DataType>> = {
  Int8: 'int16',
  Int16: 'int16',
  Int32: 'int32',
  Int64: 'int64',
  UInt8: 'uint16',
  UInt16: 'uint16',
  UInt32: 'uint32',
  UInt64: 'uint64',
  Float: 'float32',
  Double: 'float64',
  Boolean: 'bool',
  String: 'string',
  Text: 'string',
  UUID: 'string',
  DateTime: 'datetime',
};

export class SparkplugHost {
  private readonly nodes = new Map<string, NodeSession>();
  /** Nodes whose NBIRTH no mapping placed (dead-lettered once); bounded like the sessions. */
  private readonly unmapped = new Set<string>();
  private readonly mapping: SparkplugMapping;
  private readonly reorderTimeoutMs: number;

  /** `logger` hears of each node's state changes and of what is dropped but not refused (an invalid KPI role). */
  constructor(
    private readonly logger?: Pick<Logger, 'warn' | 'info'>,
    options: SparkplugHostOptions = {},
  ) {
    const config = SparkplugMappingConfig.parse(options);
    this.mapping = new SparkplugMapping(config);
    this.reorderTimeoutMs = config.reorderTimeoutMs;
  }

  /**
   * The gateway an NBIRTH starts a session of (and the boot it declares, for jjj's own gateways), so
   * ingest can read where the store holds it before `handle`; `undefined` when the node is not placed.
   */
  birthGateway(topic: string, payload: Buffer): { gateway: string; boot: number | undefined } | undefined {
    const address = parseSparkplugTopic(topic);
    if (address?.messageType !== 'NBIRTH') return undefined;
    let decoded: SparkplugPayload;
    try {
      decoded = decodePayload(payload, undefined, { skipUnsupported: true });
    } catch {
      return undefined;
    }
    const byName = new Map(decoded.metrics.map((m) => [m.name, m]));
    if (byName.has(nodeProperties.region)) {
      return { gateway: address.edgeNodeId, boot: bootOf(byName.get(nodeProperties.boot)) };
    }
    const placement = this.mapping.placementOf(address.groupId, address.edgeNodeId);
    return placement && { gateway: placement.gateway, boot: undefined };
  }

  /**
   * `held`: the store's record of the gateway `birthGateway` named, for an NBIRTH (without it, the
   * host continues from what it remembers of the node).
   */
  handle(topic: string, payload: Buffer, receivedAt = Date.now(), held?: GatewayPosition): SparkplugEvent[] {
    const address = parseSparkplugTopic(topic);
    if (!address) throw new SparkplugIngestError(`not a Sparkplug B edge node topic: ${topic}`);
    const key = `${address.groupId}/${address.edgeNodeId}`;
    if (address.messageType === 'NBIRTH') {
      return this.nbirth(key, address.groupId, address.edgeNodeId, payload, receivedAt, held);
    }
    if (address.messageType === 'NCMD' || address.messageType === 'DCMD') return [];
    const session = this.nodes.get(key);
    if (!session) {
      if (this.unmapped.has(key)) return [{ kind: 'unmapped', node: key }];
      if (address.messageType === 'NDEATH') return [];
      return this.noBirth(
        key,
        address.groupId,
        address.edgeNodeId,
        `${address.messageType} before its NBIRTH`,
      );
    }
    const device = address.deviceId ?? NODE_LEVEL;
    switch (address.messageType) {
      case 'NDEATH': {
        const bdSeq = decodeOrReject(payload).metrics.find((m) => m.name === BDSEQ_METRIC)?.value;
        // A Will from an older session must not mark a node offline that has since reconnected.
        if (String(bdSeq) !== session.bdSeq) return [];
        this.logger?.info(
          { group: session.group, node: session.node, gateway: session.gateway, boot: session.boot },
          'Sparkplug node offline (NDEATH)',
        );
        return [
          { kind: 'status', message: this.status(session, 'offline', receivedAt), ...placedMark(session) },
        ];
      }
      case 'DBIRTH':
        return this.birth(key, session, device, decodeOrReject(payload), receivedAt);
      case 'DDATA':
      case 'NDATA': {
        const born = session.devices.get(device);
        if (!born) {
          if (address.messageType === 'NDATA')
            return this.sequenced(key, session, decodeOrReject(payload), [], receivedAt);
          return this.noBirth(
            key,
            session.group,
            session.node,
            `DDATA of device ${device} before its DBIRTH`,
          );
        }
        const lookup = (m: { name?: string; alias?: number }) =>
          m.alias !== undefined ? born.byAlias.get(m.alias) : born.byName.get(m.name ?? '');
        const decoded = decodeOrReject(payload, (m) => lookup(m)?.datatype);
        const points: PointSample[] = [];
        for (const metric of decoded.metrics) {
          const metricBirth = lookup(metric);
          // A session control the birth left out (`Node Control/…`) is no data: not worth a rebirth.
          if (!metricBirth && isSessionControl(metric.name)) continue;
          if (!metricBirth) {
            const which =
              metric.alias !== undefined ? `alias ${metric.alias}` : `metric ${JSON.stringify(metric.name)}`;
            return this.noBirth(
              key,
              session.group,
              session.node,
              `${address.messageType} of ${device || session.node} has ${which}, which its birth did not declare`,
            );
          }
          if (!metricBirth.skip && !metric.unsupported) {
            points.push(sample(metricBirth, metric, decoded.timestamp ?? receivedAt));
          }
        }
        return this.sequenced(key, session, decoded, points, receivedAt);
      }
      case 'DDEATH':
        return this.sequenced(key, session, decodeOrReject(payload), [], receivedAt);
      default:
        return [];
    }
  }

  /** Skipped messages of the node whose wait is over and that never came; `undefined` for a node without a session. */
  overdueGaps(
    node: string,
    now: number,
  ): { missing: number; nextDeadline: number | undefined; rebirth: RebirthRequest } | undefined {
    const session = this.nodes.get(node);
    if (!session) return undefined;
    return {
      ...session.sequence.takeOverdue(now),
      rebirth: rebirthRequest(node, session.group, session.node, 'gap'),
    };
  }

  private nbirth(
    key: string,
    group: string,
    node: string,
    bytes: Buffer,
    now: number,
    held: GatewayPosition | undefined,
  ): SparkplugEvent[] {
    const payload = decodeOrReject(bytes);
    const byName = new Map(payload.metrics.map((m) => [m.name, m]));
    const bdSeq = byName.get(BDSEQ_METRIC)?.value;
    const previous = this.nodes.get(key);
    const jjj = byName.has(nodeProperties.region);
    const placement = jjj ? undefined : this.mapping.placementOf(group, node);
    if (!jjj && !placement) {
      if (this.unmapped.has(key)) return [{ kind: 'unmapped', node: key }];
      this.remember(this.unmapped, key);
      this.logger?.warn(
        { group, node },
        'Sparkplug node not mapped: its messages are dropped (sparkplug.nodes)',
      );
      throw new SparkplugIngestError(
        `NBIRTH of ${key} has no ${nodeProperties.region} and no sparkplug.nodes entry matches it (sparkplug.unmapped: dead-letter); its further messages are dropped until it is mapped`,
        'sparkplug-unmapped',
      );
    }
    if (bdSeq === undefined || bdSeq === null)
      throw new SparkplugIngestError(`NBIRTH has no ${BDSEQ_METRIC} metric`);
    const birthSeq = payload.seq ?? 0;
    const session = jjj
      ? this.jjjSession(group, node, byName, birthSeq, held, previous)
      : this.placedSession(group, node, placement as NodePlacement, birthSeq, held, previous);
    session.bdSeq = String(bdSeq);
    this.nodes.set(key, session);
    this.unmapped.delete(key);
    this.logger?.info(
      {
        group,
        node,
        site: session.site,
        gateway: session.gateway,
        boot: session.boot,
        placed: placement?.how ?? 'jjj',
      },
      'Sparkplug node online (NBIRTH)',
    );
    const events: SparkplugEvent[] = [
      { kind: 'status', message: this.status(session, 'online', now), ...placedMark(session) },
    ];
    // Another vendor's node-level metrics are points of their own (its NDATA is read against them).
    if (placement) events.push(...this.birth(key, session, NODE_LEVEL, payload, now, false));
    return events;
  }

  /** jjj's own gateway: placed by its NBIRTH properties; its batches continue the seq of its boot. */
  private jjjSession(
    group: string,
    node: string,
    byName: Map<string | undefined, SparkplugMetric>,
    birthSeq: number,
    held: GatewayPosition | undefined,
    previous: NodeSession | undefined,
  ): NodeSession {
    const site = identifier(group, 'group id (site)');
    const gateway = identifier(node, 'edge node id (gateway)');
    const region = Region.safeParse(text(byName.get(nodeProperties.region)));
    if (!region.success) {
      throw new SparkplugIngestError(
        `NBIRTH has no ${nodeProperties.region} of ${Region.options.join(', ')}: the node is not part of the Jing-Jin-Ji network`,
      );
    }
    const project = identifier(text(byName.get(nodeProperties.project)), nodeProperties.project);
    const boot = bootOf(byName.get(nodeProperties.boot)) ?? 1;
    // A reconnect (or a rebirth) within one boot carries on from the last batch of that boot.
    const lastSeq = held
      ? held.boot === boot
        ? (held.lastSeq ?? -1)
        : held.boot > boot
          ? (held.topSeqOfAskedBoot ?? -1)
          : -1
      : previous?.boot === boot
        ? previous.sequence.lastSeq
        : -1;
    return {
      group,
      node,
      placement: undefined,
      region: region.data,
      project,
      site,
      gateway,
      boot,
      bdSeq: '',
      siteName: {
        en: text(byName.get(nodeProperties.siteName)) ?? site,
        zh: text(byName.get(nodeProperties.siteNameZh)) ?? text(byName.get(nodeProperties.siteName)) ?? site,
      },
      sequence: new SessionSequence(birthSeq, lastSeq + 1),
      devices: new Map(),
    };
  }

  /** Another vendor's node: each NBIRTH starts a new boot of its gateway, numbered from 0. */
  private placedSession(
    group: string,
    node: string,
    placement: NodePlacement,
    birthSeq: number,
    held: GatewayPosition | undefined,
    previous: NodeSession | undefined,
  ): NodeSession {
    return {
      group,
      node,
      placement,
      region: placement.region,
      project: placement.project,
      site: placement.site,
      gateway: placement.gateway,
      boot: (held?.boot ?? previous?.boot ?? 0) + 1,
      bdSeq: '',
      siteName: placement.siteName,
      sequence: new SessionSequence(birthSeq, 0),
      devices: new Map(),
    };
  }

  /** A DBIRTH (or a placed node's NBIRTH metrics, `counted` false: the NBIRTH numbers no batch). */
  private birth(
    key: string,
    session: NodeSession,
    device: string,
    payload: SparkplugPayload,
    now: number,
    counted = true,
  ): SparkplugEvent[] {
    const born: BornDevice = { byAlias: new Map(), byName: new Map() };
    const metadata: IncomingPointMetadata[] = [];
    const points: PointSample[] = [];
    const placedAt = session.placement?.deviceAt(device || session.node);
    if (!placedAt) identifier(device, 'device id (equipment)');
    const pointNames = new Map<string, string>();
    for (const metric of payload.metrics) {
      const meta = placedAt
        ? this.placedPoint(session, device, placedAt, metric, pointNames)
        : this.jjjPoint(session, device, metric);
      if (!meta) continue;
      const { bornMetric, point } = meta;
      if (metric.name !== undefined) born.byName.set(metric.name, bornMetric);
      if (metric.alias !== undefined) born.byAlias.set(metric.alias, bornMetric);
      if (bornMetric.skip) continue;
      if (point) metadata.push(point);
      if (metric.value !== null) points.push(sample(bornMetric, metric, payload.timestamp ?? now));
    }
    session.devices.set(device, born);
    const events: SparkplugEvent[] = [
      {
        kind: 'metadata',
        ...placedMark(session),
        message: {
          schema: METADATA_SCHEMA,
          region: session.region,
          project: session.project,
          site: session.site,
          gateway: { id: session.gateway, boot: session.boot },
          ts: now,
          siteName: session.siteName,
          points: metadata,
        },
      },
    ];
    if (!counted) {
      if (points.length > 0) events.push(telemetry(session, points, now, undefined));
      return events;
    }
    return [...events, ...this.sequenced(key, session, payload, points, now)];
  }

  /** A DBIRTH metric of jjj's own gateway: its name and `Line` property must be identifiers. */
  private jjjPoint(
    session: NodeSession,
    device: string,
    metric: SparkplugMetric,
  ): { bornMetric: BornMetric; point: IncomingPointMetadata | undefined } {
    const equipment = identifier(device, 'device id (equipment)');
    const point = identifier(metric.name, `DBIRTH metric name of ${device}`);
    const property = (name: string) => metric.properties?.[name]?.value;
    const line = identifier(
      String(property(pointProperties.line) ?? ''),
      `${pointProperties.line} property of ${device}/${point}`,
    );
    if (!metric.datatype) throw new SparkplugIngestError(`DBIRTH metric ${device}/${point} has no datatype`);
    const bornMetric: BornMetric = { line, equipment, point, datatype: metric.datatype };
    const protocol = Protocol.safeParse(property(pointProperties.protocol));
    if (!protocol.success) return { bornMetric, point: undefined };
    const meta: IncomingPointMetadata = {
      line,
      equipment,
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
          {
            site: session.site,
            gateway: session.gateway,
            point: `${line}/${device}/${point}`,
            reason: role.reason,
          },
          `Sparkplug DBIRTH: the ${pointProperties.kpi} of ${device}/${point} is not a valid KPI role; the point is kept without it`,
        );
      }
    }
    return { bornMetric, point: meta };
  }

  /**
   * A birth metric of another vendor's node: any name, made an identifier by `stableId`; Sparkplug's
   * `engUnit`, `engLow`/`engHigh` and description where present. `undefined` for a metric the birth
   * cannot declare (no name, or a name whose id another name of the device already has).
   */
  private placedPoint(
    session: NodeSession,
    device: string,
    placedAt: { line: string; equipment: string },
    metric: SparkplugMetric,
    pointNames: Map<string, string>,
  ): { bornMetric: BornMetric; point: IncomingPointMetadata | undefined } | undefined {
    const name = metric.name;
    const where = { group: session.group, node: session.node, device: device || undefined, metric: name };
    if (name === undefined) {
      this.logger?.warn(where, 'Sparkplug birth metric without a name: ignored');
      return undefined;
    }
    const point = stableId(name);
    const taken = pointNames.get(point);
    if (taken !== undefined && taken !== name) {
      this.logger?.warn(
        { ...where, point, other: taken },
        'Sparkplug metric names map to one point id: the second is ignored',
      );
      return undefined;
    }
    pointNames.set(point, name);
    const datatype = metric.datatype ?? 'Unknown';
    const bornMetric: BornMetric = { ...placedAt, point, datatype };
    // The session's own controls: known, so NDATA may carry them, but not plant data.
    if (device === NODE_LEVEL && isSessionControl(name)) {
      return { bornMetric: { ...bornMetric, skip: true }, point: undefined };
    }
    if (metric.unsupported !== undefined || metric.datatype === undefined) {
      this.logger?.warn({ ...where, datatype }, 'Sparkplug metric of a type jjj does not store: ignored');
      return { bornMetric: { ...bornMetric, skip: true }, point: undefined };
    }
    const property = (...names: string[]) =>
      names.map((n) => metric.properties?.[n]?.value).find((value) => value !== undefined && value !== null);
    const meta: IncomingPointMetadata = {
      ...placedAt,
      point,
      address: name,
      sourceName: [session.group, session.node, device, name].filter((part) => part !== NODE_LEVEL).join('/'),
    };
    const dataType = sparkplugToDataType[metric.datatype];
    if (dataType) meta.dataType = dataType;
    const unit = unitOf(property('engUnit', 'EngUnit', pointProperties.unit));
    if (unit) meta.unit = unit;
    const description = metric.description ?? property('Description', 'description', 'Documentation');
    if (typeof description === 'string' && description !== '') meta.description = description;
    const min = property('engLow', 'EngLow', pointProperties.min);
    if (typeof min === 'number' && Number.isFinite(min)) meta.min = min;
    const max = property('engHigh', 'EngHigh', pointProperties.max);
    if (typeof max === 'number' && Number.isFinite(max)) meta.max = max;
    return { bornMetric, point: meta };
  }

  /** The batch a message numbers in its session (possibly without samples), and a wait for skipped ones. */
  private sequenced(
    key: string,
    session: NodeSession,
    payload: SparkplugPayload,
    points: PointSample[],
    now: number,
  ): SparkplugEvent[] {
    const deadline = now + this.reorderTimeoutMs;
    const numbered = payload.seq === undefined ? undefined : session.sequence.next(payload.seq, deadline);
    const seq = numbered?.seq;
    const events: SparkplugEvent[] = [];
    if (seq !== undefined || points.length > 0) events.push(telemetry(session, points, now, seq));
    if (numbered && numbered.skipped > 0) events.push({ kind: 'gap-opened', node: key, deadline });
    return events;
  }

  private noBirth(key: string, group: string, node: string, detail: string): SparkplugEvent[] {
    return [rebirthRequest(key, group, node, 'no-birth'), { kind: 'no-birth', node: key, detail }];
  }

  private status(session: NodeSession, state: StatusMessage['state'], ts: number): StatusMessage {
    return {
      schema: STATUS_SCHEMA,
      region: session.region,
      project: session.project,
      site: session.site,
      gateway: { id: session.gateway, boot: session.boot },
      state,
      ts,
    };
  }

  private remember(set: Set<string>, key: string): void {
    set.add(key);
    if (set.size > MAX_REMEMBERED_NODES) set.delete(set.values().next().value as string);
  }
}

/** Bounds the nodes remembered as unmapped, so invented node names cannot grow memory without end. */
const MAX_REMEMBERED_NODES = 10_000;

function rebirthRequest(key: string, group: string, node: string, reason: RebirthReason): RebirthRequest {
  return {
    kind: 'rebirth-request',
    node: key,
    reason,
    topic: sparkplugTopic({ groupId: group, messageType: 'NCMD', edgeNodeId: node }),
  };
}

/**
 * The NCMD payload of a rebirth request, encoded only when one is sent: a node streaming data without
 * its birth yields a request per message, and its back-off holds back nearly all of them.
 */
export function rebirthPayload(): Buffer {
  return encodePayload({
    timestamp: Date.now(),
    metrics: [{ name: REBIRTH_METRIC, datatype: 'Boolean', value: true }],
  });
}

/** The node's own session metrics (`bdSeq`, `Node Control/Rebirth`, …), not plant data. */
function isSessionControl(name: string | undefined): boolean {
  return name === BDSEQ_METRIC || name?.startsWith('Node Control/') === true;
}

function placedMark(session: NodeSession): Placed {
  return session.placement ? { placed: true } : {};
}

function bootOf(metric: SparkplugMetric | undefined): number | undefined {
  const boot = Number(metric?.value);
  return Number.isSafeInteger(boot) && boot > 0 ? boot : undefined;
}

/**
 * Samples as a batch of the JSON path: `seq` the message's place in its node session (none for a
 * message without a Sparkplug seq); the receive time stands for the send time.
 */
function telemetry(
  session: NodeSession,
  points: PointSample[],
  receivedAt: number,
  seq: number | undefined,
): SparkplugEvent {
  return {
    kind: 'telemetry',
    ...placedMark(session),
    message: {
      schema: TELEMETRY_SCHEMA,
      region: session.region,
      project: session.project,
      site: session.site,
      gateway: { id: session.gateway, boot: session.boot, ...(seq !== undefined && { seq }) },
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
    return decodePayload(payload, datatypeOf, { skipUnsupported: true });
  } catch (error) {
    throw new SparkplugIngestError((error as Error).message);
  }
}

function sample(born: BornMetric, metric: SparkplugMetric, fallbackTs: number): PointSample {
  const property = (name: string) => metric.properties?.[name]?.value;
  const code = property(qualityProperties.quality);
  const quality: Quality = typeof code === 'number' ? qualityOfCode(code) : 'good';
  const out: PointSample = {
    line: born.line,
    equipment: born.equipment,
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
