/**
 * What a well-formed message may still not claim: a time far ahead of receipt, a boot or seq no real
 * gateway could have reached, a site that belongs to someone else, a number that is not finite.
 * Pure judgements; `Ingest` reads the registry, applies them and dead-letters what they refuse.
 */
import type { PointSample, Region } from '../gateway/schema/index.js';
import type { CollectorConfig } from './config.js';
import type { GatewayPosition, IncomingBatch, IncomingMessage, SiteOwner } from './store/store.js';

export type IngestGuardConfig = Pick<
  CollectorConfig['ingest'],
  'maxFutureSkewMs' | 'maxBootStep' | 'maxFirstBoot' | 'maxSeqGap' | 'maxBatchesPerSecond'
>;

/** Samples of a batch a guard set aside, by reason; the rest of the batch is stored. */
export interface SetAsideSamples {
  reason: 'future-timestamp' | 'non-finite';
  samples: PointSample[];
}

const isFiniteValue = (value: PointSample['value']): boolean =>
  typeof value === 'number'
    ? Number.isFinite(value)
    : !Array.isArray(value) || value.every((item) => typeof item !== 'number' || Number.isFinite(item));

/** Why the message's own time (sent, status or metadata `ts`) is impossible; `undefined` when it is not. */
export function futureMessageTime(
  message: IncomingMessage,
  receivedAt: number,
  config: IngestGuardConfig,
): string | undefined {
  const field = 'sentTs' in message ? 'sentTs' : 'ts';
  const ts = 'sentTs' in message ? message.sentTs : message.ts;
  const ahead = ts - receivedAt;
  if (ahead <= config.maxFutureSkewMs) return undefined;
  return `${field} ${ts} is ${ahead} ms ahead of receipt (${receivedAt}); at most ${config.maxFutureSkewMs} allowed`;
}

/**
 * Splits a batch's samples into those to store and those set aside: a source or server time more
 * than the skew ahead of receipt, or a number that is NaN or infinite (only Sparkplug can carry one:
 * JSON has none, and `1e999` is refused with the whole message by the schema).
 */
export function sortSamples(
  batch: IncomingBatch,
  receivedAt: number,
  config: IngestGuardConfig,
): { kept: PointSample[]; setAside: SetAsideSamples[] } {
  const latestAllowed = receivedAt + config.maxFutureSkewMs;
  const future: PointSample[] = [];
  const nonFinite: PointSample[] = [];
  let kept: PointSample[] | undefined;
  for (const [index, sample] of batch.points.entries()) {
    const isFuture = sample.ts > latestAllowed || (sample.serverTs ?? 0) > latestAllowed;
    const isNonFinite = !isFuture && !isFiniteValue(sample.value);
    if (!isFuture && !isNonFinite) {
      kept?.push(sample);
      continue;
    }
    // The common case, nothing set aside, copies nothing.
    kept ??= batch.points.slice(0, index);
    (isFuture ? future : nonFinite).push(sample);
  }
  const setAside: SetAsideSamples[] = [];
  if (future.length > 0) setAside.push({ reason: 'future-timestamp', samples: future });
  if (nonFinite.length > 0) setAside.push({ reason: 'non-finite', samples: nonFinite });
  return { kept: kept ?? batch.points, setAside };
}

/** What a dead letter says about samples set aside: how many, and the first few with their time and value. */
export function describeSetAside(
  { reason, samples }: SetAsideSamples,
  total: number,
  receivedAt: number,
  config: IngestGuardConfig,
): string {
  const shown = samples
    .slice(0, 5)
    .map(
      (s) =>
        `${s.line}/${s.equipment}/${s.point} ts ${s.ts}${s.serverTs ? ` serverTs ${s.serverTs}` : ''} value ${String(s.value)}`,
    )
    .join('; ');
  const why =
    reason === 'future-timestamp'
      ? `more than ${config.maxFutureSkewMs} ms ahead of receipt (${receivedAt})`
      : 'value NaN or infinite';
  return `${samples.length} of ${total} samples set aside, the rest stored: ${why}: ${shown}${samples.length > 5 ? ' …' : ''}`;
}

/**
 * Why the boot (and seq) of a message cannot come from a real gateway, given what the registry
 * holds of it; `undefined` when it can. Boot grows by one per start; seq counts batches from 0 per
 * boot, at most `maxBatchesPerSecond`. An older boot is history (a replay) and is accepted.
 */
export function impossibleSequence(
  gateway: { id: string; boot: number; seq?: number },
  held: GatewayPosition | undefined,
  receivedAt: number,
  config: IngestGuardConfig,
): string | undefined {
  const { boot, seq } = gateway;
  if (!held) {
    if (boot <= config.maxFirstBoot) return undefined;
    return `boot ${boot} of a gateway never seen before is above ${config.maxFirstBoot}`;
  }
  if (boot > held.boot + config.maxBootStep) {
    return `boot ${boot} jumps more than ${config.maxBootStep} above the last known boot ${held.boot}`;
  }
  if (seq === undefined) return undefined;
  // Batches a gateway can have numbered since it was last heard from, on top of a fixed allowance.
  const elapsedSeconds = Math.max(0, receivedAt - (held.lastSeen ?? receivedAt)) / 1000;
  const allowance = config.maxSeqGap + Math.floor(elapsedSeconds * config.maxBatchesPerSecond);
  const [from, limit] =
    boot > held.boot
      ? ['the start of a new boot', allowance]
      : boot === held.boot
        ? [`the last seq ${held.lastSeq ?? 'none'}`, (held.lastSeq ?? -1) + allowance]
        : [
            `the newest seq ${held.topSeqOfAskedBoot ?? 'none'} of that older boot`,
            (held.topSeqOfAskedBoot ?? -1) + config.maxSeqGap,
          ];
  if (seq <= limit) return undefined;
  return `seq ${seq} of boot ${boot} jumps more than ${limit} past ${from} (last known boot ${held.boot})`;
}

/** The owner a configured site has, in the registry's shape. */
export interface ConfiguredSite {
  region: Region;
  project: string;
  gateways: string[];
}

/** Why a message may not speak for its site; `undefined` when it may. */
export function foreignSite(
  message: IncomingMessage,
  owner: ConfiguredSite | SiteOwner,
  how: 'configured' | 'first claim',
): string | undefined {
  const gateways = 'gateways' in owner ? owner.gateways : [owner.gateway];
  const wrong: string[] = [];
  if (message.region !== owner.region) wrong.push(`region ${message.region} (site is in ${owner.region})`);
  if (message.project !== owner.project) wrong.push(`project ${message.project} (site is ${owner.project})`);
  if (!gateways.includes(message.gateway.id)) {
    wrong.push(`gateway ${message.gateway.id} (site belongs to ${gateways.join(', ')})`);
  }
  if (wrong.length === 0) return undefined;
  return `site ${message.site} (${how}) claimed with ${wrong.join(', ')}`;
}
