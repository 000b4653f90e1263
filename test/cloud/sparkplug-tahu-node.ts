/**
 * A Sparkplug B edge node of another vendor, written for the tests with Eclipse Tahu's
 * `sparkplug-payload` (the reference implementation's encoder) over a real MQTT client: it numbers its
 * messages with `seq` (0–255) per session and can be told to skip some, or to send data before its births.
 */
import { createRequire } from 'node:module';
import type { MqttClient } from 'mqtt';

const tahu = createRequire(import.meta.url)('sparkplug-payload').get('spBv1.0') as {
  encodePayload(payload: unknown): Uint8Array;
  decodePayload(payload: Uint8Array): { metrics: { name?: string; value: unknown }[] };
};

/** A metric as Tahu's encoder takes it. */
export interface TahuMetric {
  name?: string;
  alias?: number;
  type: string;
  value: unknown;
  timestamp?: number;
  properties?: Record<string, { type: string; value: unknown }>;
  metadata?: { description?: string };
}

export function decodeTahu(payload: Uint8Array) {
  return tahu.decodePayload(payload);
}

export class TahuEdgeNode {
  private seq = 0;
  private bdSeq = 0;

  constructor(
    private readonly client: MqttClient,
    readonly group: string,
    readonly node: string,
  ) {}

  topic(type: string, device?: string): string {
    return `spBv1.0/${this.group}/${type}/${this.node}${device === undefined ? '' : `/${device}`}`;
  }

  /** NBIRTH with seq 0 and the session's bdSeq, plus any node-level metrics. */
  async nbirth(metrics: TahuMetric[] = []): Promise<void> {
    this.seq = 0;
    await this.send(
      'NBIRTH',
      undefined,
      [{ name: 'bdSeq', type: 'UInt64', value: this.bdSeq }, ...metrics],
      0,
    );
  }

  async dbirth(device: string, metrics: TahuMetric[]): Promise<void> {
    await this.send('DBIRTH', device, metrics);
  }

  async ddata(device: string, metrics: TahuMetric[]): Promise<void> {
    await this.send('DDATA', device, metrics);
  }

  /** Messages lost on the way: the next one carries a seq this many further on. */
  skip(messages: number): void {
    this.seq = (this.seq + messages) % 256;
  }

  /** The seq the next message will carry. */
  get nextSeq(): number {
    return (this.seq + 1) % 256;
  }

  /** Sends with an explicit seq (a late or repeated message); the node's own counter is left alone. */
  async send(type: string, device: string | undefined, metrics: TahuMetric[], seq?: number): Promise<void> {
    if (seq === undefined) {
      this.seq = (this.seq + 1) % 256;
      seq = this.seq;
    }
    const payload = tahu.encodePayload({ timestamp: Date.now(), seq, metrics });
    await this.client.publishAsync(this.topic(type, device), Buffer.from(payload), { qos: 1 });
  }
}
