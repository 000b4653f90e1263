/**
 * Delivery's logic against a fake link (a unit of pure logic once the link is an interface): each
 * publish waits until the test acknowledges or abandons it. The end-to-end delivery through a real
 * broker outage is test/gateway/delivery.test.ts.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonEncoder } from '../../../gateway/json-encoder.js';
import { createGatewayMetrics } from '../../../gateway/metrics.js';
import type { OutgoingMessage } from '../../../gateway/mqtt-link.js';
import { type BatchLink, Delivery } from '../../../gateway/outbox/delivery.js';
import { MemoryOutbox } from '../../../gateway/outbox/memory-outbox.js';
import { serialiseBatch } from '../../../gateway/outbox/outbox.js';
import type { MetadataMessage, StatusMessage, TelemetryBatch } from '../../../gateway/schema/index.js';
import { payloadJson } from '../../helpers/telemetry.js';
import { waitUntil } from '../../helpers/wait.js';
import { telemetryBatch } from './outbox-suite.js';

const encoder = jsonEncoder({
  topics: { telemetry: 't', status: 's', metadata: 'm', command: 'c' },
  status: () => ({}) as StatusMessage,
  metadata: () => ({}) as MetadataMessage,
});

interface Publish {
  seq: number;
  historical: boolean;
  payload: string;
  ack(): void;
  abandon(): void;
}

/** Records every publish; `autoAck` acknowledges each on the next microtask, like a quick broker. */
class FakeLink implements BatchLink {
  readonly sent: Publish[] = [];
  autoAck = false;

  publishAll(messages: readonly OutgoingMessage[]): Promise<void> {
    const payload = String(messages[0]?.payload);
    // Only the header is needed: a cheap parse keeps the test's synchronous steps quick.
    const batch = payloadJson(payload) as Pick<TelemetryBatch, 'gateway' | 'historical'>;
    return new Promise((resolve, reject) => {
      this.sent.push({
        seq: batch.gateway.seq,
        historical: batch.historical === true,
        payload,
        ack: () => resolve(),
        abandon: () => reject(new Error('connection closed')),
      });
      if (this.autoAck) resolve();
    });
  }

  seqs(historical: boolean): number[] {
    return this.sent.filter((p) => p.historical === historical).map((p) => p.seq);
  }
}

const deliveries: Delivery[] = [];
afterEach(() => {
  for (const delivery of deliveries.splice(0)) delivery.close();
});

function setup(options: { inFlightBatches?: number; replayIntervalMs?: number } = {}) {
  const outbox = new MemoryOutbox(1 << 30);
  const link = new FakeLink();
  let online = false;
  const delivery = new Delivery({
    outbox,
    link,
    isOnline: () => online,
    encoder,
    replayIntervalMs: options.replayIntervalMs ?? 1,
    inFlightBatches: options.inFlightBatches ?? 8,
    metrics: createGatewayMetrics('gw'),
    logger: pino({ level: 'silent' }),
  });
  deliveries.push(delivery);
  let seq = 0;
  return {
    outbox,
    link,
    delivery,
    submit: (count = 1) => {
      for (let i = 0; i < count; i++) delivery.submit([serialiseBatch(telemetryBatch(seq++, 2))]);
    },
    online: (value: boolean) => {
      online = value;
      delivery.connectionChanged(value);
    },
  };
}

/** Lets acknowledgements take effect: their handlers run as microtasks, the removal on the next turn. */
async function settled(): Promise<void> {
  await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
}

describe('Delivery', () => {
  it('sends live batches at once and in order, byte for byte as serialised', () => {
    const { link, submit, online } = setup();
    online(true);
    submit(5);
    expect(link.seqs(false)).toEqual([0, 1, 2, 3, 4]);
    expect(link.sent[0]?.payload).toBe(JSON.stringify(telemetryBatch(0, 2)));
  });

  it('removes acknowledged batches from the outbox and counts them; the rest stay', async () => {
    const { link, outbox, delivery, submit, online } = setup();
    online(true);
    submit(3);
    link.sent[0]?.ack();
    link.sent[2]?.ack();
    await settled();
    expect(outbox.read(0, Number.MAX_SAFE_INTEGER, 10).map((e) => e.batch.gateway.seq)).toEqual([1]);
    expect(delivery.counters.delivered.live).toEqual({ batches: 2, points: 4 });
  });

  it('keeps at most inFlightBatches unacknowledged per stream, sending the next at each acknowledgement', async () => {
    const { link, submit, online } = setup({ inFlightBatches: 3 });
    online(true);
    submit(6);
    expect(link.seqs(false)).toEqual([0, 1, 2]);
    link.sent[1]?.ack();
    await waitUntil('the next batch sent', () => link.sent.length === 4);
    expect(link.seqs(false)).toEqual([0, 1, 2, 3]);
  });

  it('is congested while live batches wait for a place in the in-flight window', async () => {
    const { link, delivery, submit, online } = setup({ inFlightBatches: 1 });
    online(true);
    submit(1);
    expect(delivery.congested).toBe(false);
    submit(1);
    expect(delivery.congested).toBe(true);
    link.sent[0]?.ack();
    await waitUntil('the waiting batch sent', () => link.sent.length === 2);
    expect(delivery.congested).toBe(false);
  });

  it('after an outage replays the backlog oldest first, marked historical, while live batches go at once', async () => {
    const { link, outbox, delivery, submit, online } = setup({ replayIntervalMs: 10 });
    link.autoAck = true;
    online(true);
    submit(2);
    online(false);
    submit(5);
    expect(link.sent).toHaveLength(2);
    online(true);
    submit();
    // The live batch went out before the first replayed one.
    expect(link.sent.at(2)).toMatchObject({ seq: 7, historical: false });
    await waitUntil('the backlog replayed', () => !delivery.replaying);
    expect(link.seqs(true)).toEqual([2, 3, 4, 5, 6]);
    expect(link.seqs(false)).toEqual([0, 1, 7]);
    await settled();
    expect(outbox.stats.batches).toBe(0);
    expect(delivery.counters.delivered.history).toEqual({ batches: 5, points: 10 });
  });

  it('resends what was unacknowledged on a lost connection as history after the reconnect', async () => {
    const { link, outbox, delivery, submit, online } = setup();
    online(true);
    submit(3);
    link.sent[0]?.ack();
    online(false);
    // The client of the lost connection abandons what it had in flight.
    link.sent[1]?.abandon();
    link.sent[2]?.abandon();
    await settled();
    expect(outbox.stats.batches).toBe(2);
    link.autoAck = true;
    online(true);
    await waitUntil('the backlog replayed', () => !delivery.replaying);
    expect(link.seqs(true)).toEqual([1, 2]);
    await settled();
    expect(outbox.stats.batches).toBe(0);
  });

  it('holds batches submitted while offline without sending them', () => {
    const { link, outbox, submit } = setup();
    submit(4);
    expect(link.sent).toEqual([]);
    expect(outbox.stats.batches).toBe(4);
  });

  it('drains on stop: waits for live batches to be acknowledged, bounded when they never are', async () => {
    const { link, outbox, delivery, submit, online } = setup();
    online(true);
    submit(2);
    setTimeout(() => {
      for (const publish of link.sent) publish.ack();
    }, 30);
    await delivery.drain(5_000);
    await settled();
    expect(outbox.stats.batches).toBe(0);

    submit();
    const started = Date.now();
    await delivery.drain(100);
    expect(Date.now() - started).toBeLessThan(5_000);
    delivery.close();
    // Never acknowledged: it stays in the outbox for the next start.
    expect(outbox.stats.batches).toBe(1);
  });
});
