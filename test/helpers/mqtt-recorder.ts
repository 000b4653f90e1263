/** Subscribes a real MQTT client and records every message, for assertions. */
import { connectAsync } from 'mqtt';
import { payloadJson } from './telemetry.js';
import { waitUntil } from './wait.js';

export interface RecordedMessage {
  topic: string;
  /** The payload's JSON as sent (a zlib payload inflated); `telemetrySamples` reads telemetry of either version. */
  json: unknown;
  retain: boolean;
}

export async function recordMqtt(url: string, filter: string) {
  const client = await connectAsync(url, { reconnectPeriod: 200 });
  const messages: RecordedMessage[] = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, json: payloadJson(payload), retain: packet.retain });
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return {
    messages,
    waitFor(predicate: (all: RecordedMessage[]) => boolean, what: string, timeoutMs = 15_000) {
      return waitUntil(
        () => `${what}; got ${messages.length} messages`,
        () => predicate(messages),
        timeoutMs,
      );
    },
    close: () => client.endAsync(),
  };
}
