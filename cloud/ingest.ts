/**
 * Turns one MQTT message into store writes, independent of MQTT itself: topic check, JSON parse,
 * schema validation, topic/identity match, then store. Anything malformed is counted, kept aside
 * in the store with its reason, logged once per reason and topic, and skipped: never a crash.
 */
import type { Logger } from 'pino';
import { formatIssues } from '../gateway/config-format.js';
import {
  METADATA_SCHEMA,
  parseTopic,
  STATUS_SCHEMA,
  TELEMETRY_SCHEMA,
  type TopicAddress,
  type TopicKind,
  WireMessage,
} from '../gateway/schema/index.js';
import type { CollectorMetrics } from './metrics.js';
import type { TelemetryStore } from './store/store.js';

export const rejectReasons = [
  'bad-topic',
  'bad-json',
  'unknown-schema',
  'invalid-message',
  'identity-mismatch',
  'store-failed',
] as const;
export type RejectReason = (typeof rejectReasons)[number];

export type IngestOutcome =
  | { status: 'stored'; kind: TopicKind; points: number }
  | { status: 'duplicate' }
  /** An empty payload clears a retained message; there is nothing to store. */
  | { status: 'ignored' }
  | { status: 'rejected'; reason: RejectReason; detail: string };

const kindOfSchema: Record<WireMessage['schema'], TopicKind> = {
  [TELEMETRY_SCHEMA]: 'telemetry',
  [METADATA_SCHEMA]: 'metadata',
  [STATUS_SCHEMA]: 'status',
};

/** Bounds the memory spent remembering which problems were already logged. */
const MAX_REMEMBERED_PROBLEMS = 1000;
const MAX_ISSUES_IN_DETAIL = 5;

export interface IngestDependencies {
  store: TelemetryStore;
  metrics: CollectorMetrics;
  logger: Logger;
  now?: () => number;
}

export class Ingest {
  private readonly loggedProblems = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly deps: IngestDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /** Never rejects: every failure becomes a `rejected` outcome. */
  async handle(topic: string, payload: Buffer): Promise<IngestOutcome> {
    const receivedAt = this.now();
    const address = parseTopic(topic);
    this.deps.metrics.messagesReceived.inc({ kind: address?.kind ?? 'unknown' });
    if (!address)
      return this.reject(
        topic,
        payload,
        receivedAt,
        'bad-topic',
        'not a jjj/v1/{region}/{site}/{gateway}/{kind} topic',
      );
    if (payload.length === 0) return { status: 'ignored' };

    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch (error) {
      return this.reject(topic, payload, receivedAt, 'bad-json', (error as Error).message);
    }
    const schema =
      typeof json === 'object' && json !== null ? (json as { schema?: unknown }).schema : undefined;
    if (typeof schema !== 'string' || !Object.hasOwn(kindOfSchema, schema)) {
      const known = Object.keys(kindOfSchema).join(', ');
      const detail = `schema: expected one of ${known}, got ${JSON.stringify(schema) ?? 'nothing'}`;
      return this.reject(topic, payload, receivedAt, 'unknown-schema', detail);
    }
    const parsed = WireMessage.safeParse(json);
    if (!parsed.success) {
      const issues = formatIssues(parsed.error.issues);
      const more =
        issues.length > MAX_ISSUES_IN_DETAIL ? ` (+${issues.length - MAX_ISSUES_IN_DETAIL} more)` : '';
      const detail = issues.slice(0, MAX_ISSUES_IN_DETAIL).join('; ') + more;
      return this.reject(topic, payload, receivedAt, 'invalid-message', detail);
    }
    const message = parsed.data;
    const mismatch = identityMismatch(address, message);
    if (mismatch) return this.reject(topic, payload, receivedAt, 'identity-mismatch', mismatch);

    try {
      return await this.store(message, receivedAt);
    } catch (error) {
      return this.reject(topic, payload, receivedAt, 'store-failed', (error as Error).message);
    }
  }

  private async store(message: WireMessage, receivedAt: number): Promise<IngestOutcome> {
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
    this.deps.metrics.rejected.inc({ reason });
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
