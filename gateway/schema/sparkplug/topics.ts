/** The Sparkplug B 3.0 topic namespace: `spBv1.0/{group}/{type}/{edge node}[/{device}]`, and host STATE. */
import { z } from 'zod';

export const SPARKPLUG_NAMESPACE = 'spBv1.0';

export const sparkplugMessageTypes = [
  'NBIRTH',
  'NDEATH',
  'DBIRTH',
  'DDEATH',
  'NDATA',
  'DDATA',
  'NCMD',
  'DCMD',
] as const;
export type SparkplugMessageType = (typeof sparkplugMessageTypes)[number];

export interface SparkplugTopic {
  groupId: string;
  messageType: SparkplugMessageType;
  edgeNodeId: string;
  deviceId?: string;
}

export function sparkplugTopic(topic: SparkplugTopic): string {
  const base = `${SPARKPLUG_NAMESPACE}/${topic.groupId}/${topic.messageType}/${topic.edgeNodeId}`;
  return topic.deviceId === undefined ? base : `${base}/${topic.deviceId}`;
}

/** Parses an edge node or device topic; `undefined` for STATE or anything else. */
export function parseSparkplugTopic(topic: string): SparkplugTopic | undefined {
  const parts = topic.split('/');
  if (parts[0] !== SPARKPLUG_NAMESPACE || parts.length < 4 || parts.length > 5) return undefined;
  const [, groupId, messageType, edgeNodeId, deviceId] = parts as [string, string, string, string, string?];
  if (!(sparkplugMessageTypes as readonly string[]).includes(messageType)) return undefined;
  const isDeviceMessage = messageType.startsWith('D');
  if (isDeviceMessage !== (deviceId !== undefined)) return undefined;
  const parsed: SparkplugTopic = { groupId, messageType: messageType as SparkplugMessageType, edgeNodeId };
  if (deviceId !== undefined) parsed.deviceId = deviceId;
  return parsed;
}

/** Every edge node and device message (not STATE, which has three levels). */
export const SPARKPLUG_NODE_FILTERS = [`${SPARKPLUG_NAMESPACE}/+/+/+`, `${SPARKPLUG_NAMESPACE}/+/+/+/+`];

/** Where a primary host application announces itself (retained, with its Will saying offline). */
export function stateTopic(hostId: string): string {
  return `${SPARKPLUG_NAMESPACE}/STATE/${hostId}`;
}

/**
 * A Sparkplug host application id (the collector's `sparkplug.hostId`, a gateway's `primaryHostId`):
 * one topic level, upper and lower case as hosts such as Ignition name themselves, and nothing that
 * needs quoting in the broker ACL files `jjj-gateway broker-auth` writes (no space, quote or "\").
 */
export const SparkplugHostId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'expected letters, digits, ".", "-" or "_" (at most 64, starting with a letter or digit)',
  );

export const HostState = z.object({ online: z.boolean(), timestamp: z.number().int().nonnegative() });
export type HostState = z.infer<typeof HostState>;
