/**
 * Turns one MQTT message into store writes, independent of MQTT itself: size check, topic check,
 * inflate (zlib) and JSON parse, schema validation (a `jjj.telemetry/2` batch is then expanded to
 * `jjj.telemetry/1`, so both follow one path from here), topic/identity match, then store.
 * Anything malformed is counted, dead-lettered in the store with its reason, logged once per reason
 * and topic, and skipped: never a crash. A store that fails is retried with backoff until it takes
 * the message: the caller acknowledges the message only when `handle` resolves, so nothing is
 * acknowledged before it is durable.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { formatIssues } from '../gateway/common/config-loading.js';
import {
  COMPACT_TELEMETRY_SCHEMA,
  CompactTelemetryBatch,
  expandCompactBatch,
} from '../gateway/schema/compact-telemetry.js';
import {
  METADATA_SCHEMA,
  parseTopic,
  STATUS_SCHEMA,
  TELEMETRY_SCHEMA,
  type TopicAddress,
  type TopicKind,
  WireMessage,
} from '../gateway/schema/index.js';
import { parseSparkplugTopic, SPARKPLUG_NAMESPACE } from '../gateway/schema/sparkplug/index.js';
import { decodeTelemetryPayload } from '../gateway/schema/telemetry-payload.js';
import {
  type ConfiguredSite,
  describeSetAside,
  foreignSite,
  futureMessageTime,
  type IngestGuardConfig,
  impossibleSequence,
  type SetAsideSamples,
  sortSamples,
} from './ingest-guards.js';
import type { CollectorMetrics } from './metrics.js';
import { SparkplugMappingConfig } from './sparkplug/mapping.js';
import { NodeRateLimit, RebirthBackoff } from './sparkplug/rebirth.js';
import {
  type RebirthRequest,
  rebirthPayload,
  type SparkplugEvent,
  SparkplugHost,
  SparkplugIngestError,
} from './sparkplug-host.js';
import {
  type GatewayPosition,
  type IncomingMessage,
  type SiteOwner,
  StoreRefusedError,
  type TelemetryStore,
} from './store/store.js';
import { isCertainlyValidCompactTelemetry, isCertainlyValidTelemetry } from './telemetry-fast-path.js';

export const rejectReasons = [
  'oversized',
  'bad-topic',
  'bad-json',
  /** A zlib-compressed payload that is corrupt, truncated or followed by other bytes. */
  'bad-compression',
  'unknown-schema',
  'invalid-message',
  'identity-mismatch',
  /** A Sparkplug B message this host cannot read or place (see the detail). */
  'sparkplug-invalid',
  /** The NBIRTH of a Sparkplug node no `sparkplug.nodes` entry places (kept once per node). */
  'sparkplug-unmapped',
  /** Sparkplug data (or a DBIRTH) before its birth, or naming a metric its birth did not declare (at most one per node per back-off). */
  'sparkplug-no-birth',
  /** The store refused the data itself (e.g. InfluxDB answered 400): retrying cannot help. */
  'store-refused',
  /** A time (sample ts or serverTs, sentTs, status or metadata ts) more than the allowed skew ahead of receipt. */
  'future-timestamp',
  /** A message claiming a site that belongs to other gateways, or another region or project. */
  'foreign-site',
  /** A boot or seq no real gateway could have reached from what the registry holds of it. */
  'impossible-sequence',
  /** A NaN or infinite number (a Sparkplug float or double; JSON's `1e999` is an invalid message). */
  'non-finite',
] as const;
export type RejectReason = (typeof rejectReasons)[number];

export type IngestOutcome =
  | { status: 'stored'; kind: TopicKind; points: number }
  | { status: 'duplicate' }
  /** An empty payload clears a retained message; there is nothing to store. */
  | { status: 'ignored' }
  | { status: 'rejected'; reason: RejectReason; detail: string }
  /** The collector is stopping while the store was failing: not acknowledged, the broker redelivers. */
  | { status: 'abandoned' };

const kindOfSchema: Record<WireMessage['schema'], TopicKind> = {
  [TELEMETRY_SCHEMA]: 'telemetry',
  [METADATA_SCHEMA]: 'metadata',
  [STATUS_SCHEMA]: 'status',
};
/** Every schema a JSON-contract message may name: the wire messages and the compact telemetry batch. */
const acceptedSchemas: ReadonlySet<string> = new Set([
  ...Object.keys(kindOfSchema),
  COMPACT_TELEMETRY_SCHEMA,
]);

/**
 * Who placed a message in its site: the message itself (a jjj gateway, JSON or Sparkplug), or the
 * collector's own `sparkplug` config (a mapped or quarantined node), which several nodes may share.
 */
type Origin = 'message' | 'config';

/** `storeRetrying`'s answer when the collector stopped while the store was failing. */
const ABANDONED = Symbol('abandoned');

/** Bounds the memory spent remembering which problems were already logged. */
const MAX_REMEMBERED_PROBLEMS = 1000;
const MAX_ISSUES_IN_DETAIL = 5;

export interface IngestDependencies extends IngestGuardConfig {
  /** Sites and the gateways allowed to speak for them; other sites belong to their first claim. */
  sites: Record<string, ConfiguredSite>;
  /** False: only the configured sites are accepted. */
  claimUnlistedSites: boolean;
  store: TelemetryStore;
  metrics: CollectorMetrics;
  logger: Logger;
  maxMessageBytes: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** Aborted when the collector stops: retries end. */
  stopping: AbortSignal;
  /** Sends a Sparkplug rebirth request (NCMD) to a node whose data arrived without its birth. */
  publish?: (topic: string, payload: Buffer) => void;
  /** Third-party Sparkplug nodes: mapping, quarantine, rebirth back-off, reorder timeout (config `sparkplug`). */
  sparkplug?: Partial<SparkplugMappingConfig>;
  now?: () => number;
}

export class Ingest {
  private readonly loggedProblems = new Set<string>();
  private readonly now: () => number;
  /** True from a failed store write until the next one that works: logs once per outage. */
  private storeDown = false;
  private readonly sparkplug: SparkplugHost;
  private readonly rebirths: RebirthBackoff;
  /** Dead letters of Sparkplug data without a birth: one per node per back-off, the rest only counted. */
  private readonly noBirthLetters: NodeRateLimit;
  /** Per Sparkplug node with skipped messages: the check when their reorder wait ends. */
  private readonly gapChecks = new Map<string, NodeJS.Timeout>();
  /**
   * The owner of each unlisted site seen, decided in memory before the first store write so two
   * gateways racing for a new site cannot both win.
   */
  private readonly siteClaims = new Map<string, SiteOwner>();

  constructor(private readonly deps: IngestDependencies) {
    this.now = deps.now ?? Date.now;
    const sparkplug = SparkplugMappingConfig.parse(deps.sparkplug ?? {});
    this.sparkplug = new SparkplugHost(deps.logger, sparkplug);
    this.rebirths = new RebirthBackoff(sparkplug.rebirthBackoffMs, sparkplug.rebirthBackoffMaxMs);
    this.noBirthLetters = new NodeRateLimit(sparkplug.rebirthBackoffMs);
    deps.stopping.addEventListener(
      'abort',
      () => {
        for (const timer of this.gapChecks.values()) clearTimeout(timer);
        this.gapChecks.clear();
      },
      { once: true },
    );
  }

  /** Never rejects: every failure becomes a `rejected` outcome. */
  async handle(topic: string, payload: Buffer): Promise<IngestOutcome> {
    const receivedAt = this.now();
    const sparkplug = topic.startsWith(`${SPARKPLUG_NAMESPACE}/`);
    const address = sparkplug ? undefined : parseTopic(topic);
    this.deps.metrics.messagesReceived.inc({ kind: sparkplug ? 'sparkplug' : (address?.kind ?? 'unknown') });
    if (payload.length > this.deps.maxMessageBytes) {
      const detail = `${payload.length} bytes, more than the ${this.deps.maxMessageBytes} allowed`;
      return this.reject(topic, payload, receivedAt, 'oversized', detail);
    }
    if (sparkplug) return this.handleSparkplug(topic, payload, receivedAt);
    if (!address)
      return this.reject(
        topic,
        payload,
        receivedAt,
        'bad-topic',
        'not a jjj/v1/{region}/{site}/{gateway}/{kind} topic',
      );
    // Commands are the cloud's own messages to gateways; acknowledgements answer whoever sent them.
    if (payload.length === 0 || address.kind === 'command' || address.kind === 'command-ack') {
      return { status: 'ignored' };
    }

    const read = readWireMessage(payload, this.deps.maxMessageBytes);
    // A compressed message that inflated is kept aside inflated: its dead letter can be read.
    if (!read.ok) return this.reject(topic, read.kept, receivedAt, read.reason, read.detail);
    return this.accept(topic, read.text, read.message, address, receivedAt);
  }

  private accept(
    topic: string,
    payload: Buffer,
    message: WireMessage,
    address: TopicAddress,
    receivedAt: number,
  ): Promise<IngestOutcome> {
    const mismatch = identityMismatch(address, message);
    if (mismatch) return this.reject(topic, payload, receivedAt, 'identity-mismatch', mismatch);
    return this.storeWithRetries(topic, payload, message, receivedAt, 'message');
  }

  /**
   * A Sparkplug message: an NBIRTH first reads where the store holds its gateway (the boot and seq
   * its session continues from), then the host's events are stored or acted on in order.
   */
  private async handleSparkplug(topic: string, payload: Buffer, receivedAt: number): Promise<IngestOutcome> {
    const birth = this.sparkplug.birthGateway(topic, payload);
    let held: GatewayPosition | undefined;
    if (birth) {
      const position = await this.storeRetrying(() =>
        this.deps.store.gatewayPosition(birth.gateway, birth.boot ?? 0),
      );
      if (position === ABANDONED) return { status: 'abandoned' };
      held = position;
    }
    let events: SparkplugEvent[];
    try {
      events = this.sparkplug.handle(topic, payload, receivedAt, held);
    } catch (error) {
      if (!(error instanceof SparkplugIngestError)) throw error;
      return this.reject(topic, payload, receivedAt, error.rejectReason, error.reason);
    }
    const { metrics } = this.deps;
    let outcome: IngestOutcome = { status: 'ignored' };
    let wellRead = true;
    for (const event of events) {
      switch (event.kind) {
        case 'rebirth-request':
          wellRead = false;
          this.askRebirth(event, receivedAt);
          break;
        case 'no-birth':
          metrics.sparkplugNoBirth.inc();
          if (this.noBirthLetters.allow(event.node, receivedAt)) {
            outcome = await this.reject(topic, payload, receivedAt, 'sparkplug-no-birth', event.detail);
          }
          break;
        case 'unmapped':
          wellRead = false;
          metrics.sparkplugUnmapped.inc();
          break;
        case 'gap-opened':
          this.scheduleGapCheck(event.node, event.deadline);
          break;
        default:
          outcome = await this.storeWithRetries(
            topic,
            payload,
            event.message,
            receivedAt,
            event.placed ? 'config' : 'message',
          );
          if (outcome.status === 'abandoned' || outcome.status === 'rejected') return outcome;
      }
    }
    const address = parseSparkplugTopic(topic);
    if (wellRead && (address?.messageType === 'DDATA' || address?.messageType === 'NDATA')) {
      this.rebirths.wasWell(`${address.groupId}/${address.edgeNodeId}`, receivedAt);
    }
    return outcome;
  }

  /** Publishes a rebirth request unless the node's back-off is still running. */
  private askRebirth(request: RebirthRequest, now: number): void {
    const { publish, metrics, logger } = this.deps;
    if (!publish) return;
    if (!this.rebirths.mayAsk(request.node, now)) {
      metrics.sparkplugRebirthsHeldBack.inc({ reason: request.reason });
      return;
    }
    metrics.sparkplugRebirthRequests.inc({ reason: request.reason });
    logger.info(
      { node: request.node, reason: request.reason },
      'asking the Sparkplug node for a rebirth (further requests wait for its back-off)',
    );
    publish(request.topic, rebirthPayload());
  }

  /** One pending check per node: when the reorder wait of its skipped messages ends. */
  private scheduleGapCheck(node: string, deadline: number): void {
    if (this.gapChecks.has(node) || this.deps.stopping.aborted) return;
    const timer = setTimeout(
      () => {
        this.gapChecks.delete(node);
        this.checkGaps(node);
      },
      Math.max(0, deadline - this.now()),
    );
    this.gapChecks.set(node, timer);
  }

  /** Skipped messages still missing after the reorder timeout are lost: the node is asked for a rebirth. */
  private checkGaps(node: string): void {
    const now = this.now();
    const overdue = this.sparkplug.overdueGaps(node, now);
    if (!overdue) return;
    if (overdue.missing > 0) {
      this.deps.logger.warn(
        { node, missing: overdue.missing },
        'Sparkplug messages lost: seq skipped past the reorder timeout',
      );
      this.askRebirth(overdue.rebirth, now);
    }
    if (overdue.nextDeadline !== undefined) this.scheduleGapCheck(node, overdue.nextDeadline);
  }

  private async storeWithRetries(
    topic: string,
    payload: Buffer,
    message: IncomingMessage,
    receivedAt: number,
    origin: Origin,
  ): Promise<IngestOutcome> {
    const outcome = await this.storeRetrying(async () => {
      const stopTimer = this.deps.metrics.storeLatency.startTimer();
      try {
        // Judged against the registry inside the retries: reading it may fail like a write.
        const refusal = await this.refusal(message, receivedAt, origin);
        if (refusal) return this.reject(topic, payload, receivedAt, refusal.reason, refusal.detail);
        const stored = await this.storeVetted(topic, payload, message, receivedAt);
        stopTimer();
        return stored;
      } catch (error) {
        if (error instanceof StoreRefusedError) {
          return this.reject(topic, payload, receivedAt, 'store-refused', (error as Error).message);
        }
        throw error;
      }
    });
    return outcome === ABANDONED ? { status: 'abandoned' } : outcome;
  }

  /** Runs `attempt` until the store answers, with backoff; `ABANDONED` when the collector stops first. */
  private async storeRetrying<T>(attempt: () => Promise<T>): Promise<T | typeof ABANDONED> {
    const { metrics, logger, stopping } = this.deps;
    for (let delay = this.deps.retryMinMs; ; delay = Math.min(delay * 2, this.deps.retryMaxMs)) {
      try {
        const result = await attempt();
        if (this.storeDown) {
          this.storeDown = false;
          logger.info('store writes work again');
        }
        return result;
      } catch (error) {
        metrics.storeFailures.inc();
        if (!this.storeDown) {
          this.storeDown = true;
          logger.error(
            { err: error },
            'store write failed; holding acknowledgements and retrying with backoff',
          );
        }
      }
      if (stopping.aborted) return ABANDONED;
      // Jitter spreads the retries of several connections and instances.
      await sleep(delay * (0.5 + Math.random() / 2), undefined, { signal: stopping }).catch(() => undefined);
      if (stopping.aborted) return ABANDONED;
    }
  }

  /** Why the message as a whole may not touch the registry; `undefined` when it may. */
  private async refusal(
    message: IncomingMessage,
    receivedAt: number,
    origin: Origin,
  ): Promise<{ reason: RejectReason; detail: string } | undefined> {
    const future = futureMessageTime(message, receivedAt, this.deps);
    if (future) return { reason: 'future-timestamp', detail: future };
    const held = await this.deps.store.gatewayPosition(message.gateway.id, message.gateway.boot);
    const impossible = impossibleSequence(message.gateway, held, receivedAt, this.deps);
    if (impossible) return { reason: 'impossible-sequence', detail: impossible };
    const foreign = await this.foreignSite(message, origin);
    if (foreign) return { reason: 'foreign-site', detail: foreign };
    return undefined;
  }

  private async foreignSite(message: IncomingMessage, origin: Origin): Promise<string | undefined> {
    const configured = this.deps.sites[message.site];
    // The config placed it there (region and project too); `ingest.sites` may still name the gateways.
    if (origin === 'config' && !configured) return undefined;
    if (configured) return foreignSite(message, configured, 'configured');
    if (!this.deps.claimUnlistedSites) return `site ${message.site} is not one of ingest.sites`;
    let owner = this.siteClaims.get(message.site);
    if (!owner) {
      const registered = await this.deps.store.siteOwner(message.site);
      // Another message may have claimed the site while the registry was read.
      owner = this.siteClaims.get(message.site) ??
        registered ?? {
          region: message.region,
          project: message.project,
          gateway: message.gateway.id,
        };
      this.siteClaims.set(message.site, owner);
    }
    return foreignSite(message, owner, 'first claim');
  }

  /**
   * Stores a message the registry accepts. A batch's samples with a future time or a non-finite
   * number are set aside (one dead letter per reason, after the rest is stored) and the rest is
   * stored under the batch's gateway/boot/seq: a replay of the batch is then a duplicate, and its
   * bad samples are already kept in the dead letter. A batch with nothing left is dead-lettered whole.
   */
  private async storeVetted(
    topic: string,
    payload: Buffer,
    message: IncomingMessage,
    receivedAt: number,
  ): Promise<IngestOutcome> {
    if (message.schema !== TELEMETRY_SCHEMA) return this.store(message, receivedAt);
    const { kept, setAside } = sortSamples(message, receivedAt, this.deps);
    if (setAside.length === 0) return this.store(message, receivedAt);
    const total = message.points.length;
    const details = setAside.map((group) => describeSetAside(group, total, receivedAt, this.deps));
    if (kept.length === 0) {
      const reason = (setAside[0] as SetAsideSamples).reason;
      return this.reject(topic, payload, receivedAt, reason, details.join(' | '));
    }
    const outcome = await this.store({ ...message, points: kept }, receivedAt);
    // A duplicate's samples were set aside when the batch first came.
    if (outcome.status === 'stored') {
      for (const [index, group] of setAside.entries()) {
        await this.reject(topic, payload, receivedAt, group.reason, details[index] as string);
      }
    }
    return outcome;
  }

  private async store(message: IncomingMessage, receivedAt: number): Promise<IngestOutcome> {
    const { store, metrics, logger } = this.deps;
    switch (message.schema) {
      case TELEMETRY_SCHEMA: {
        const written = await store.writeTelemetry(message, receivedAt);
        if (written.outcome === 'duplicate') {
          metrics.duplicateBatches.inc();
          logger.debug({ gateway: message.gateway }, 'duplicate batch dropped');
          return { status: 'duplicate' };
        }
        metrics.pointsStored.inc(written.points);
        if (written.outOfRange > 0) metrics.outOfRangeSamples.inc(written.outOfRange);
        if (written.filledGap) metrics.lateBatches.inc();
        if (written.missingBefore > 0) {
          metrics.sequenceGaps.inc(written.missingBefore);
          logger.warn(
            {
              gateway: message.gateway.id,
              boot: message.gateway.boot,
              seq: message.gateway.seq,
              missing: written.missingBefore,
            },
            'gap in gateway sequence',
          );
        }
        return { status: 'stored', kind: 'telemetry', points: written.points };
      }
      case METADATA_SCHEMA:
        await store.writeMetadata(message);
        logger.info(
          { site: message.site, gateway: message.gateway.id, points: message.points.length },
          'point metadata stored',
        );
        return { status: 'stored', kind: 'metadata', points: 0 };
      case STATUS_SCHEMA:
        await store.writeStatus(message);
        logger.info(
          {
            site: message.site,
            gateway: message.gateway.id,
            boot: message.gateway.boot,
            state: message.state,
          },
          `gateway ${message.state}`,
        );
        return { status: 'stored', kind: 'status', points: 0 };
    }
  }

  private async reject(
    topic: string,
    payload: Buffer,
    receivedAt: number,
    reason: RejectReason,
    detail: string,
  ): Promise<IngestOutcome> {
    this.deps.metrics.deadLetters.inc({ reason });
    const problem = `${reason} ${topic}`;
    if (!this.loggedProblems.has(problem) && this.loggedProblems.size < MAX_REMEMBERED_PROBLEMS) {
      this.loggedProblems.add(problem);
      this.deps.logger.warn(
        { topic, reason, detail },
        'message rejected (further ones like it are only counted)',
      );
    }
    try {
      await this.deps.store.writeRejected({ receivedAt, topic, reason, detail, payload });
    } catch (error) {
      this.deps.logger.error({ topic, err: error }, 'cannot keep a rejected message');
    }
    return { status: 'rejected', reason, detail };
  }
}

export type ReadMessage =
  | { ok: true; message: WireMessage; text: Buffer }
  | { ok: false; reason: RejectReason; detail: string; kept: Buffer };

/**
 * A JSON-contract payload as a valid wire message, `jjj.telemetry/2` expanded to `jjj.telemetry/1`,
 * or why not; `text` is the JSON text (inflated when it came compressed). Pure: `handle`'s reading
 * step, which the collector benchmark also measures alone.
 */
export function readWireMessage(payload: Buffer, maxMessageBytes: number): ReadMessage {
  const decoded = decodeTelemetryPayload(payload, { maxInflatedBytes: maxMessageBytes });
  if (!decoded.ok) {
    return { ok: false, reason: decoded.error.code, detail: decoded.error.message, kept: payload };
  }
  const { json, text } = decoded;
  const schema =
    typeof json === 'object' && json !== null ? (json as { schema?: unknown }).schema : undefined;
  if (typeof schema !== 'string' || !acceptedSchemas.has(schema)) {
    const known = [...acceptedSchemas].join(', ');
    const detail = `schema: expected one of ${known}, got ${JSON.stringify(schema) ?? 'nothing'}`;
    return { ok: false, reason: 'unknown-schema', detail, kept: text };
  }
  // The common case, a valid telemetry batch, skips the costlier zod pass; zod judges the rest.
  if (isCertainlyValidTelemetry(json)) return { ok: true, message: json, text };
  if (isCertainlyValidCompactTelemetry(json)) return { ok: true, message: expandCompactBatch(json), text };
  const parsed =
    schema === COMPACT_TELEMETRY_SCHEMA ? CompactTelemetryBatch.safeParse(json) : WireMessage.safeParse(json);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error.issues);
    const more =
      issues.length > MAX_ISSUES_IN_DETAIL ? ` (+${issues.length - MAX_ISSUES_IN_DETAIL} more)` : '';
    const detail = issues.slice(0, MAX_ISSUES_IN_DETAIL).join('; ') + more;
    return { ok: false, reason: 'invalid-message', detail, kept: text };
  }
  const message =
    parsed.data.schema === COMPACT_TELEMETRY_SCHEMA ? expandCompactBatch(parsed.data) : parsed.data;
  return { ok: true, message, text };
}

/** Why the topic a message came on disagrees with what the message says it is; `undefined` when they agree. */
export function identityMismatch(address: TopicAddress, message: WireMessage): string | undefined {
  const expected: [string, string, string][] = [
    ['kind', address.kind, kindOfSchema[message.schema]],
    ['region', address.region, message.region],
    ['site', address.site, message.site],
    ['gateway', address.gateway, message.gateway.id],
  ];
  const wrong = expected.filter(([, inTopic, inMessage]) => inTopic !== inMessage);
  if (wrong.length === 0) return undefined;
  return wrong
    .map(([field, inTopic, inMessage]) => `${field}: topic says "${inTopic}", message says "${inMessage}"`)
    .join('; ');
}
