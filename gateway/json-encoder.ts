/** The jjj JSON contract on the wire (`gateway/schema/`): retained status and metadata, QoS 1 telemetry. */
import { deflateSync } from 'node:zlib';
import type { OutgoingMessage, WireEncoder } from './mqtt-link.js';
import type { SerialisedBatch } from './outbox/outbox.js';
import { telemetryContentTypes } from './schema/compact-telemetry.js';
import type { MetadataMessage, StatusMessage } from './schema/index.js';

export interface JsonEncoderOptions {
  topics: { telemetry: string; status: string; metadata: string; command: string };
  status: (state: StatusMessage['state']) => StatusMessage;
  metadata: () => MetadataMessage;
  /** zlib: telemetry payloads deflated (zlib format: the collector knows them by their first byte). */
  compression?: 'none' | 'zlib';
}

/**
 * The batch's JSON with `historical: true`: the same bytes as `JSON.stringify({ ...batch, historical:
 * true })`, made from the text the batch was serialised to once, without parsing it again. Batches
 * reach the outbox without the flag (only the wire marks a replay), so it becomes the last member.
 */
function historicalJson({ json }: SerialisedBatch): string {
  return `${json.slice(0, -1)},"historical":true}`;
}

export function jsonEncoder({ topics, status, metadata, compression }: JsonEncoderOptions): WireEncoder {
  const retained = (topic: string, message: StatusMessage | MetadataMessage): OutgoingMessage => ({
    topic,
    payload: JSON.stringify(message),
    qos: 1,
    retain: true,
  });
  return {
    will: () => retained(topics.status, status('offline')),
    birth: () => [retained(topics.status, status('online')), retained(topics.metadata, metadata())],
    death: () => retained(topics.status, status('offline')),
    // The Will carries the start time; the death published at a stop carries its own.
    willIsDeath: false,
    batch: (serialised, historical) => {
      // The flag is set only on replay, so a live batch is byte for byte what was stored (whichever
      // format: an entry written by an older gateway goes out as it was written).
      const json = historical ? historicalJson(serialised) : serialised.json;
      const zlib = compression === 'zlib';
      return [
        {
          topic: topics.telemetry,
          payload: zlib ? deflateSync(json, { level: 6 }) : json,
          qos: 1,
          retain: false,
          contentType: zlib ? telemetryContentTypes.zlib : telemetryContentTypes.json,
        },
      ];
    },
    subscriptions: () => [topics.command],
  };
}
