/** Subscribes a real MQTT client and records every message, for assertions. */
import { connectAsync } from 'mqtt';

export interface RecordedMessage {
  topic: string;
  json: unknown;
  retain: boolean;
}

export async function recordMqtt(url: string, filter: string) {
  const client = await connectAsync(url, { reconnectPeriod: 200 });
  const messages: RecordedMessage[] = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, json: JSON.parse(payload.toString()), retain: packet.retain });
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return {
    messages,
    async waitFor(predicate: (all: RecordedMessage[]) => boolean, what: string, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(messages)) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what}; got ${messages.length} messages`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => client.endAsync(),
  };
}
