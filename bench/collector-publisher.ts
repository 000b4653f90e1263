/**
 * The benchmark's gateway side, run in a worker thread: it publishes the prepared messages with
 * QoS 1 once told to, on its own event loop, as gateways do from their own processes, so the
 * collector's loop is not also paying for the publishing.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connectAsync } from 'mqtt';

export interface PublisherInput {
  brokerUrl: string;
  /** A Buffer arrives in the worker as a Uint8Array. */
  messages: { topic: string; payload: Uint8Array }[];
  /** QoS 1 messages kept in flight. */
  window: number;
}

const { brokerUrl, messages, window } = workerData as PublisherInput;
const port = parentPort;
if (port === null) throw new Error('collector-publisher runs as a worker thread');

const publisher = await connectAsync(brokerUrl);
port.once('message', async () => {
  const inFlight = new Set<Promise<unknown>>();
  for (const { topic, payload } of messages) {
    const sent = publisher.publishAsync(
      topic,
      Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
      {
        qos: 1,
      },
    );
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
    if (inFlight.size >= window) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await publisher.endAsync();
  port.postMessage('published');
});
port.postMessage('ready');
