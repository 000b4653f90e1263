/**
 * `npm run bench:outbox`: outbox append and replay throughput (points/s; replay as the JSON format sends
 * it, from the stored text, and with each batch parsed, as Sparkplug needs it), the encoded size per
 * reading (what the default cap holds), the cost of making every reading durable as it is accepted
 * (one append per reading) against one append per batch, and the p99 latency of live batches while a
 * backlog replays divided by the p99 with no replay, against a real Mosquitto, all in one run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { DEFAULT_OUTBOX_BYTES } from '../gateway/config.js';
import { jsonEncoder } from '../gateway/json-encoder.js';
import { createGatewayMetrics } from '../gateway/metrics.js';
import { MqttLink } from '../gateway/mqtt-link.js';
import { Delivery } from '../gateway/outbox/delivery.js';
import { DiskOutbox, type FsyncPolicy } from '../gateway/outbox/disk-outbox.js';
import { MemoryOutbox } from '../gateway/outbox/memory-outbox.js';
import { type Outbox, sampleCount, serialiseBatch } from '../gateway/outbox/outbox.js';
import type { TelemetryBatch } from '../gateway/schema/index.js';
import { startMosquittoBroker } from './collector-peers.js';

const POINTS_PER_BATCH = 1000;
const equipment = ['cnc-01', 'cnc-02', 'press-01', 'meter-main', 'boiler-02'];
const names = ['spindle-speed', 'feed-rate', 'power', 'energy-total', 'temperature', 'pressure', 'state'];

/** Batches shaped like a seed site's: a few equipment, named points, float values, ms timestamps. */
function siteBatch(seq: number, points = POINTS_PER_BATCH): TelemetryBatch {
  const ts = 1_760_000_000_000 + seq * 1000;
  return {
    schema: 'jjj.telemetry/1',
    region: 'BJ',
    project: 'jjj-dp-01',
    site: 'bj-etown-cnc',
    gateway: { id: 'gw-bj-etown-cnc', boot: 7, seq },
    sentTs: ts + 3,
    points: Array.from({ length: points }, (_, i) => ({
      line: 'machining',
      equipment: equipment[i % equipment.length] as string,
      point: `${names[i % names.length]}-${Math.floor(i / 35)}`,
      value: Math.round(Math.sin(seq + i) * 100_000) / 100,
      ts: ts + (i % 50),
      quality: 'good' as const,
    })),
  };
}

function perSecond(count: number, ms: number): string {
  return `${Math.round((count / ms) * 1000).toLocaleString('en')} points/s`;
}

/** Appends `batches`, then replays them all, oldest first, as delivery does; `parse` also decodes each batch. */
function appendAndReplay(open: () => Outbox, batches: number, parse: boolean) {
  const outbox = open();
  const prepared = Array.from({ length: batches }, (_, seq) => siteBatch(seq));
  let started = performance.now();
  for (const batch of prepared) outbox.appendAll([serialiseBatch(batch)]);
  const appendMs = performance.now() - started;
  const bytesPerPoint = outbox.stats.bytes / outbox.stats.points;
  started = performance.now();
  let after = 0;
  let replayed = 0;
  for (;;) {
    const entries = outbox.read(after, Number.MAX_SAFE_INTEGER, 16);
    if (entries.length === 0) break;
    // The JSON encoder sends `json` as stored; the Sparkplug encoder needs the parsed batch.
    for (const entry of entries) replayed += parse ? sampleCount(entry.batch) : entry.points;
    after = entries.at(-1)?.id as number;
    outbox.remove(entries.map((e) => e.id));
  }
  const replayMs = performance.now() - started;
  outbox.close();
  return { appendMs, replayMs, replayed, bytesPerPoint };
}

function measureOutbox(label: string, open: () => Outbox, batches: number): { bytesPerPoint: number } {
  const json = appendAndReplay(open, batches, false);
  const parsed = appendAndReplay(open, batches, true);
  console.log(
    `${label.padEnd(28)} append ${perSecond(batches * POINTS_PER_BATCH, json.appendMs).padStart(18)}   replay ${perSecond(json.replayed, json.replayMs).padStart(18)}   replay+parse ${perSecond(parsed.replayed, parsed.replayMs).padStart(18)}`,
  );
  return { bytesPerPoint: json.bytesPerPoint };
}

/** CPU and disk time per reading when each append carries `perAppend` readings. */
function microsPerReading(open: () => Outbox, perAppend: number, readings: number): number {
  const outbox = open();
  const appends = Array.from({ length: Math.ceil(readings / perAppend) }, (_, seq) =>
    serialiseBatch(siteBatch(seq, perAppend)),
  );
  const started = performance.now();
  for (const serialised of appends) outbox.appendAll([serialised]);
  const ms = performance.now() - started;
  outbox.close();
  return (ms * 1000) / (appends.length * perAppend);
}

/**
 * What a `kill -9` could no longer lose if every reading were appended as it is accepted, instead of
 * with its batch at the next publish tick: the price per reading, and what it is at 10,000 readings/s.
 */
function durableOnAccept(open: (fsync: FsyncPolicy) => () => Outbox): void {
  console.log('every reading durable on accept (one append each) vs one append per batch:');
  for (const fsync of ['every-batch', 'checkpoint'] as const) {
    const single = microsPerReading(open(fsync), 1, fsync === 'every-batch' ? 300 : 3000);
    const batched = microsPerReading(open(fsync), POINTS_PER_BATCH, 100 * POINTS_PER_BATCH);
    console.log(
      `  fsync ${fsync.padEnd(11)} ${single.toFixed(1).padStart(8)} µs per reading vs ${batched.toFixed(2)} µs in batches (${(single / batched).toFixed(0)}×); at 10,000 readings/s: ${((single * 10_000) / 1e6).toFixed(2)} s of every second`,
    );
  }
}

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] as number;
}

/** p99 of submit → subscriber latency of live batches, with `backlog` batches replaying meanwhile. */
async function liveLatency(
  brokerUrl: string,
  dir: string,
  backlog: number,
): Promise<{ p99: number; replayed: number }> {
  const outbox = new DiskOutbox({ dir, maxBytes: DEFAULT_OUTBOX_BYTES, fsync: 'every-batch' });
  for (let seq = 0; seq < backlog; seq++) outbox.appendAll([serialiseBatch(siteBatch(seq, 200))]);
  const topics = {
    telemetry: 'bench/telemetry',
    status: 'bench/status',
    metadata: 'bench/metadata',
    command: 'bench/command',
  };
  const encoder = jsonEncoder({
    topics,
    status: (state) => ({
      schema: 'jjj.status/1',
      region: 'BJ',
      project: 'p',
      site: 's',
      gateway: { id: 'g', boot: 1 },
      state,
      ts: 1,
    }),
    metadata: () => ({
      schema: 'jjj.metadata/1',
      region: 'BJ',
      project: 'p',
      site: 's',
      gateway: { id: 'g', boot: 1 },
      ts: 1,
      siteName: { zh: 's', en: 's' },
      points: [],
    }),
  });
  const latencies: number[] = [];
  const submitted = new Map<number, number>();
  const subscriber = await connectAsync(brokerUrl);
  await subscriber.subscribeAsync(topics.telemetry, { qos: 1 });
  subscriber.on('message', (_topic, payload) => {
    const batch = JSON.parse(payload.toString()) as TelemetryBatch;
    const at = submitted.get(batch.gateway.seq);
    if (!batch.historical && at !== undefined) latencies.push(performance.now() - at);
  });
  const logger = pino({ level: 'silent' });
  let delivery: Delivery | undefined;
  const link = new MqttLink({
    url: brokerUrl,
    clientId: `bench-${backlog}`,
    protocolVersion: 4,
    keepaliveSeconds: 30,
    reconnect: { minMs: 100, maxMs: 1000 },
    encoder,
    logger,
    onConnectionChange: (connected) => {
      if (connected) link.announce();
      delivery?.connectionChanged(connected);
    },
  });
  // Live: one batch of 200 points every 50 ms; replay at the default 20× that rate.
  const intervalMs = 50;
  delivery = new Delivery({
    outbox,
    link,
    isOnline: () => link.isConnected,
    encoder,
    replayIntervalMs: intervalMs / 20,
    inFlightBatches: 8,
    metrics: createGatewayMetrics('bench'),
    logger,
  });
  link.start();
  while (!link.isConnected) await new Promise((r) => setTimeout(r, 10));
  for (let i = 0; i < 80; i++) {
    const seq = 1_000_000 + i;
    submitted.set(seq, performance.now());
    delivery.submit([serialiseBatch(siteBatch(seq, 200))]);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  await delivery.drain(5000);
  const replayed = delivery.counters.delivered.history.batches;
  await link.close();
  delivery.close();
  outbox.close();
  await subscriber.endAsync();
  return { p99: p99(latencies), replayed };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'jjj-bench-outbox-'));
  const broker = await startMosquittoBroker();
  try {
    console.log(`outbox throughput, batches of ${POINTS_PER_BATCH} points shaped like a seed site's:`);
    let n = 0;
    const disk = (fsync: FsyncPolicy) => () =>
      new DiskOutbox({ dir: join(dir, `t${n++}`), maxBytes: DEFAULT_OUTBOX_BYTES, fsync });
    measureOutbox('memory', () => new MemoryOutbox(DEFAULT_OUTBOX_BYTES), 300);
    measureOutbox('disk, fsync every-batch', disk('every-batch'), 300);
    const { bytesPerPoint } = measureOutbox('disk, fsync checkpoint', disk('checkpoint'), 300);
    const day = 1000 * 86_400;
    console.log(
      `encoded size: ${bytesPerPoint.toFixed(1)} bytes/point; 24 h at 1,000 points/s = ${day.toLocaleString('en')} points = ${((day * bytesPerPoint) / 2 ** 30).toFixed(2)} GiB (default cap ${DEFAULT_OUTBOX_BYTES / 2 ** 30} GiB)`,
    );

    durableOnAccept(disk);

    await liveLatency(broker.url, join(dir, 'warm-up'), 0);
    const quiet = await liveLatency(broker.url, join(dir, 'quiet'), 0);
    const busy = await liveLatency(broker.url, join(dir, 'busy'), 3000);
    console.log(`live latency p99 without replay: ${quiet.p99.toFixed(2)} ms`);
    console.log(
      `live latency p99 during replay:  ${busy.p99.toFixed(2)} ms (${busy.replayed} backlog batches replayed meanwhile)`,
    );
    console.log(`ratio during/without replay: ${(busy.p99 / quiet.p99).toFixed(2)} (target <= 2)`);
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
