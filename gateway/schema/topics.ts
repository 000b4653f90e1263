/**
 * The MQTT topic namespace: `jjj/v1/{region}/{site}/{gateway}/{kind}`.
 * Region and site lead so a cloud operator can subscribe to a region or a site with one filter.
 */
import { type Region, regions } from './index.js';

export const TOPIC_ROOT = 'jjj/v1';
/** Gateways publish telemetry, metadata, status and command-ack; the cloud publishes command. */
export const topicKinds = ['telemetry', 'metadata', 'status', 'command', 'command-ack'] as const;
export type TopicKind = (typeof topicKinds)[number];

export interface TopicAddress {
  region: Region;
  site: string;
  gateway: string;
  kind: TopicKind;
}

export function topicFor(address: TopicAddress): string {
  return `${TOPIC_ROOT}/${address.region}/${address.site}/${address.gateway}/${address.kind}`;
}

/** Everything every gateway publishes, for a collector's subscription. */
export const ALL_GATEWAYS_FILTER = `${TOPIC_ROOT}/+/+/+/+`;

/** Parses a topic of the namespace; `undefined` for any other topic. */
export function parseTopic(topic: string): TopicAddress | undefined {
  const parts = topic.split('/');
  if (parts.length !== 6 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return undefined;
  const [, , region, site, gateway, kind] = parts as [string, string, string, string, string, string];
  if (!(regions as readonly string[]).includes(region)) return undefined;
  if (!(topicKinds as readonly string[]).includes(kind)) return undefined;
  return { region: region as Region, site, gateway, kind: kind as TopicKind };
}
