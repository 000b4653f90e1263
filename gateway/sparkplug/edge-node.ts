/**
 * A Sparkplug B edge node: the state Sparkplug asks of a gateway, kept apart from MQTT so it can be
 * tested on its own. Group = site, edge node = gateway, device = equipment. Every MQTT session gets
 * the next bdSeq (its Will is the NDEATH carrying it; the count survives restarts); messages after
 * NBIRTH number 0–255 in `seq`; BIRTHs declare each metric with an alias and its metadata and go at
 * QoS 0 as Sparkplug requires; DATA sends values by alias, each with its datatype.
 */
import { GatewayError } from '../errors.js';
import type { OutgoingMessage } from '../mqtt-link.js';
import { type CompactTelemetryBatch, compactBatch, type SampleGroup } from '../schema/compact-telemetry.js';
import type {
  DataType,
  PointMetadata,
  PointValue,
  ProtocolStatus,
  Quality,
  TelemetryBatch,
} from '../schema/index.js';
import {
  BDSEQ_METRIC,
  decodePayload,
  encodePayload,
  HostState,
  nodeProperties,
  parseSparkplugTopic,
  pointProperties,
  qualityCodes,
  qualityProperties,
  REBIRTH_METRIC,
  type SparkplugDataType,
  type SparkplugMetric,
  type SparkplugProperty,
  type SparkplugValue,
  sparkplugIntegerRanges,
  sparkplugTopic,
  stateTopic,
} from '../schema/sparkplug/index.js';

export interface EdgeNodeOptions {
  site: string;
  gateway: string;
  region: string;
  project: string;
  siteName: { zh: string; en: string };
  boot: number;
  points: readonly PointMetadata[];
  /**
   * QoS of DDATA. Sparkplug asks for 0; 1 lets the outbox release a batch only after the broker has
   * it, which is how this gateway keeps its promise of no lost readings (a documented deviation).
   * Births are always QoS 0: a lost birth means a lost connection, and the next one births again.
   */
  dataQos: 0 | 1;
  /** Wait for this primary host's STATE `online` before publishing births and data. */
  primaryHostId?: string;
  /**
   * The bdSeq for the next MQTT CONNECT: the gateway's `persistentBdSeq` keeps it across restarts;
   * without one (a node made in a test or a tool) it counts from 0 in memory.
   */
  nextBdSeq?: () => number;
}

/** A write asked for by a DCMD, by point identity. */
export interface CommandWrite {
  line: string;
  equipment: string;
  point: string;
  value: SparkplugValue;
}

export type CommandOutcome =
  /** The primary host's STATE: taken (`canPublish` says what it is now), or older than the last one seen. */
  | { kind: 'host-state'; stale: boolean; timestamp: number }
  | { kind: 'rebirth' }
  | { kind: 'write'; writes: CommandWrite[]; rejected: string[] };

const typeOfDataType: Record<DataType, SparkplugDataType> = {
  bool: 'Boolean',
  int16: 'Int16',
  uint16: 'UInt16',
  int32: 'Int32',
  uint32: 'UInt32',
  int64: 'Int64',
  uint64: 'UInt64',
  float32: 'Float',
  float64: 'Double',
  string: 'String',
  datetime: 'DateTime',
};

/** One sample as the Sparkplug messages need it, read from a group's columns. */
interface SampleView {
  value: PointValue;
  ts: number;
  quality: Quality;
  status?: ProtocolStatus | null;
  serverTs?: number;
}

interface DeviceMetric {
  metadata: PointMetadata;
  alias: number;
  datatype: SparkplugDataType;
  /** Whether the datatype was declared, or guessed until a value shows what it is. */
  declared: boolean;
  last?: SampleView;
}

const column = <T>(entries: T | readonly T[], i: number): T =>
  Array.isArray(entries) ? (entries[i] as T) : (entries as T);

/** Sample `i` of a group (the rules of `jjj.telemetry/2`: scalar columns hold for every sample). */
function sampleAt(group: SampleGroup, i: number): SampleView {
  const sample: SampleView = {
    value: group.values[i] as PointValue,
    ts: group.ts + (group.dt ? (group.dt[i] as number) : 0),
    quality: column(group.quality, i),
  };
  if (group.status !== undefined) sample.status = column(group.status, i);
  const server = group.serverDt?.[i];
  if (server !== undefined && server !== null) sample.serverTs = group.ts + server;
  return sample;
}

/** DateTime travels as epoch milliseconds. */
const DATE_TIME_RANGE = [0, Number.MAX_SAFE_INTEGER] as const;

/** Whether a value can travel as the datatype its metric was born with. */
function fits(datatype: SparkplugDataType, value: PointValue): boolean {
  if (value === null) return true;
  const range = datatype === 'DateTime' ? DATE_TIME_RANGE : sparkplugIntegerRanges[datatype];
  if (range)
    return typeof value === 'number' && Number.isInteger(value) && value >= range[0] && value <= range[1];
  switch (datatype) {
    case 'Float':
    case 'Double':
      return typeof value === 'number';
    case 'Int64':
    case 'UInt64':
      return (
        (typeof value === 'string' && /^-?\d+$/.test(value)) ||
        (typeof value === 'number' && Number.isSafeInteger(value))
      );
    case 'Boolean':
      return typeof value === 'boolean';
    default:
      return typeof value === 'string' || Array.isArray(value);
  }
}

function inferredType(value: PointValue): SparkplugDataType | undefined {
  if (typeof value === 'boolean') return 'Boolean';
  if (typeof value === 'number') return 'Double';
  if (typeof value === 'string' || Array.isArray(value)) return 'String';
  return undefined;
}

/** Arrays have no scalar Sparkplug type here: they travel as JSON text. */
function wireValue(value: PointValue): SparkplugValue {
  return Array.isArray(value) ? JSON.stringify(value) : value;
}

export class SparkplugEdgeNode {
  private bdSeq = -1;
  private readonly nextBdSeq: () => number;
  private seq = 0;
  private hostOnline: boolean;
  /** The timestamp of the newest STATE taken: an older one (a stale retained message) is ignored. */
  private hostStateTs: number | undefined;
  private readonly devices = new Map<string, Map<string, DeviceMetric>>();
  private readonly byAlias = new Map<number, DeviceMetric>();
  /** Devices whose DBIRTH the current session has not published yet, or must publish again. */
  private readonly unborn = new Set<string>();

  constructor(private readonly options: EdgeNodeOptions) {
    this.hostOnline = options.primaryHostId === undefined;
    this.nextBdSeq = options.nextBdSeq ?? (() => (this.bdSeq + 1) % 256);
    let alias = 1;
    for (const metadata of options.points) {
      let device = this.devices.get(metadata.equipment);
      if (!device) {
        device = new Map();
        this.devices.set(metadata.equipment, device);
      }
      const clash = device.get(metadata.point);
      if (clash) {
        throw new GatewayError(
          'SPARKPLUG_NAME_CLASH',
          `equipment ${metadata.equipment} has a point "${metadata.point}" on lines ${clash.metadata.line} and ${metadata.line}: Sparkplug names metrics per device (equipment), so they must differ`,
        );
      }
      const declared = metadata.dataType !== undefined;
      const metric: DeviceMetric = {
        metadata,
        alias: alias++,
        datatype: metadata.dataType ? typeOfDataType[metadata.dataType] : 'Double',
        declared,
      };
      device.set(metadata.point, metric);
      this.byAlias.set(metric.alias, metric);
    }
  }

  /** Topics to subscribe to once connected: our NCMD and DCMDs, and the primary host's STATE. */
  subscriptions(): string[] {
    const { site, gateway, primaryHostId } = this.options;
    const topics = [
      sparkplugTopic({ groupId: site, messageType: 'NCMD', edgeNodeId: gateway }),
      `${sparkplugTopic({ groupId: site, messageType: 'DCMD', edgeNodeId: gateway })}/+`,
    ];
    if (primaryHostId !== undefined) topics.push(stateTopic(primaryHostId));
    return topics;
  }

  /** Call before each MQTT connect: the Will (NDEATH) with the next bdSeq. */
  nextSessionWill(): OutgoingMessage {
    this.bdSeq = this.nextBdSeq();
    return this.death();
  }

  /** The NDEATH of the current session, also published on a clean disconnect. */
  death(): OutgoingMessage {
    return this.message('NDEATH', undefined, { metrics: [this.bdSeqMetric()] }, 1);
  }

  /** Whether births and data may go out now (the primary host, if one is configured, is online). */
  get canPublish(): boolean {
    return this.hostOnline;
  }

  /** NBIRTH (seq 0) and a DBIRTH for every device, at session start and on a rebirth request. */
  births(now = Date.now()): OutgoingMessage[] {
    this.seq = 0;
    const { region, project, siteName, boot } = this.options;
    const text = (value: string): { datatype: SparkplugDataType; value: string } => ({
      datatype: 'String',
      value,
    });
    const nbirth = this.message(
      'NBIRTH',
      undefined,
      {
        timestamp: now,
        seq: 0,
        metrics: [
          this.bdSeqMetric(),
          { name: REBIRTH_METRIC, datatype: 'Boolean', value: false },
          { name: nodeProperties.region, ...text(region) },
          { name: nodeProperties.project, ...text(project) },
          { name: nodeProperties.siteName, ...text(siteName.en) },
          { name: nodeProperties.siteNameZh, ...text(siteName.zh) },
          { name: nodeProperties.boot, datatype: 'UInt32', value: boot },
        ],
      },
      0,
    );
    this.unborn.clear();
    return [nbirth, ...[...this.devices.keys()].map((device) => this.dbirth(device, now))];
  }

  /**
   * DDATA per equipment in the batch, each preceded by a DBIRTH where a metric's type just became
   * known. Either format: an outbox written by an older gateway holds `jjj.telemetry/1` batches.
   */
  data(
    given: CompactTelemetryBatch | TelemetryBatch,
    historical = given.historical === true,
  ): OutgoingMessage[] {
    const batch = 'points' in given ? compactBatch(given) : given;
    const byDevice = new Map<string, SparkplugMetric[]>();
    for (const group of batch.groups) {
      const device = this.devices.get(group.equipment);
      if (!device) continue;
      const metrics = byDevice.get(group.equipment) ?? [];
      byDevice.set(group.equipment, metrics);
      group.points.forEach((point, i) => {
        const metric = device.get(point);
        if (!metric) return;
        const sample = sampleAt(group, i);
        metric.last = sample;
        // A guessed type, or a declared one the value does not fit (e.g. a scaled register), is
        // replaced by what the value shows, and the device is born again with it.
        const seen = inferredType(sample.value);
        if (seen && (!metric.declared || !fits(metric.datatype, sample.value))) {
          if (seen !== metric.datatype) this.unborn.add(group.equipment);
          metric.datatype = seen;
          metric.declared = true;
        }
        metrics.push(this.dataMetric(metric, sample, historical));
      });
    }
    const messages: OutgoingMessage[] = [];
    for (const [device, metrics] of byDevice) {
      if (metrics.length === 0) continue;
      if (this.unborn.delete(device)) messages.push(this.dbirth(device, batch.sentTs));
      messages.push(
        this.message(
          'DDATA',
          device,
          { timestamp: batch.sentTs, seq: this.nextSeq(), metrics },
          this.options.dataQos,
        ),
      );
    }
    return messages;
  }

  /**
   * Handles a message on a subscribed topic: a primary host's STATE (updates `canPublish` unless it
   * is older than the last one taken), an NCMD rebirth request, or a DCMD write.
   */
  handle(topic: string, payload: Buffer): CommandOutcome | undefined {
    const { primaryHostId } = this.options;
    if (primaryHostId !== undefined && topic === stateTopic(primaryHostId)) {
      const state = HostState.safeParse(safeJson(payload));
      if (!state.success) return undefined;
      const { online, timestamp } = state.data;
      if (this.hostStateTs !== undefined && timestamp < this.hostStateTs)
        return { kind: 'host-state', stale: true, timestamp };
      this.hostStateTs = timestamp;
      this.hostOnline = online;
      return { kind: 'host-state', stale: false, timestamp };
    }
    const parsed = parseSparkplugTopic(topic);
    if (!parsed || parsed.groupId !== this.options.site || parsed.edgeNodeId !== this.options.gateway)
      return undefined;
    if (parsed.messageType === 'NCMD') {
      const metrics = decodePayload(payload).metrics;
      return metrics.some((m) => m.name === REBIRTH_METRIC && m.value === true)
        ? { kind: 'rebirth' }
        : undefined;
    }
    if (parsed.messageType !== 'DCMD' || parsed.deviceId === undefined) return undefined;
    const device = this.devices.get(parsed.deviceId);
    const writes: CommandWrite[] = [];
    const rejected: string[] = [];
    const metrics = decodePayload(payload, (m) => this.lookup(device, m)?.datatype).metrics;
    for (const metric of metrics) {
      const target = this.lookup(device, metric);
      if (!target) {
        rejected.push(`${parsed.deviceId}/${metric.name ?? `alias ${metric.alias}`}: no such metric`);
        continue;
      }
      const { line, equipment, point } = target.metadata;
      writes.push({ line, equipment, point, value: metric.value });
    }
    return { kind: 'write', writes, rejected };
  }

  private lookup(device: Map<string, DeviceMetric> | undefined, metric: { name?: string; alias?: number }) {
    if (!device) return undefined;
    if (metric.name !== undefined) return device.get(metric.name);
    const byAlias = metric.alias === undefined ? undefined : this.byAlias.get(metric.alias);
    return byAlias && device.get(byAlias.metadata.point) === byAlias ? byAlias : undefined;
  }

  private dbirth(device: string, now: number): OutgoingMessage {
    const metrics = [...(this.devices.get(device)?.values() ?? [])].map((metric) => {
      const { metadata } = metric;
      const properties: Record<string, SparkplugProperty> = {
        [pointProperties.line]: { type: 'String', value: metadata.line },
        [pointProperties.protocol]: { type: 'String', value: metadata.protocol },
        [pointProperties.address]: { type: 'String', value: metadata.address },
      };
      if (metadata.unit) properties[pointProperties.unit] = { type: 'String', value: metadata.unit };
      if (metadata.min !== undefined)
        properties[pointProperties.min] = { type: 'Double', value: metadata.min };
      if (metadata.max !== undefined)
        properties[pointProperties.max] = { type: 'Double', value: metadata.max };
      if (metadata.writable) properties[pointProperties.writable] = { type: 'Boolean', value: true };
      if (metadata.kpi)
        properties[pointProperties.kpi] = { type: 'String', value: JSON.stringify(metadata.kpi) };
      const birth: SparkplugMetric = {
        name: metadata.point,
        alias: metric.alias,
        datatype: metric.datatype,
        timestamp: metric.last?.ts ?? now,
        value: metric.last ? wireValue(metric.last.value) : null,
        properties: { ...properties, ...this.qualityProperties(metric.last) },
      };
      if (metadata.description) birth.description = metadata.description;
      return birth;
    });
    return this.message('DBIRTH', device, { timestamp: now, seq: this.nextSeq(), metrics }, 0);
  }

  private dataMetric(metric: DeviceMetric, sample: SampleView, historical: boolean): SparkplugMetric {
    // The datatype costs two bytes and lets a host that decodes without the DBIRTH (Tahu's decoder)
    // read the value instead of null.
    const data: SparkplugMetric = {
      alias: metric.alias,
      datatype: metric.datatype,
      timestamp: sample.ts,
      value: wireValue(sample.value),
    };
    if (historical) data.isHistorical = true;
    const properties = this.qualityProperties(sample);
    if (Object.keys(properties).length > 0) data.properties = properties;
    return data;
  }

  /** Good is the default in Sparkplug consumers, so only other qualities travel. */
  private qualityProperties(sample: SampleView | undefined): Record<string, SparkplugProperty> {
    if (!sample || sample.quality === 'good') return {};
    const properties: Record<string, SparkplugProperty> = {
      [qualityProperties.quality]: { type: 'Int32', value: qualityCodes[sample.quality] },
    };
    if (sample.status) {
      properties[qualityProperties.statusCode] = { type: 'UInt32', value: sample.status.code };
      properties[qualityProperties.statusSource] = { type: 'String', value: sample.status.source };
      properties[qualityProperties.statusName] = { type: 'String', value: sample.status.name };
    }
    if (sample.serverTs !== undefined)
      properties[qualityProperties.serverTimestamp] = { type: 'DateTime', value: sample.serverTs };
    return properties;
  }

  private bdSeqMetric(): SparkplugMetric {
    return { name: BDSEQ_METRIC, datatype: 'Int64', value: String(Math.max(this.bdSeq, 0)) };
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) % 256;
    return this.seq;
  }

  private message(
    messageType: 'NBIRTH' | 'NDEATH' | 'DBIRTH' | 'DDATA',
    deviceId: string | undefined,
    payload: Parameters<typeof encodePayload>[0],
    qos: 0 | 1,
  ): OutgoingMessage {
    const topic = sparkplugTopic({
      groupId: this.options.site,
      messageType,
      edgeNodeId: this.options.gateway,
      ...(deviceId !== undefined && { deviceId }),
    });
    return { topic, payload: encodePayload(payload), qos, retain: false };
  }
}

function safeJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}
