/**
 * The load of the collector benchmarks (`bench:collector`, `bench:scale-out`): batches of numbered
 * points, a publisher in a worker thread (gateways are other processes), the CPU of processes, and
 * how many points VictoriaMetrics can search.
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { compactBatch } from '../gateway/schema/compact-telemetry.js';
import { type TelemetryBatch, topicFor } from '../gateway/schema/index.js';
import { encodeTelemetryPayload } from '../gateway/schema/telemetry-payload.js';
import { forceFlush } from './collector-peers.js';
import type { PublisherInput } from './collector-publisher.js';

export const POINTS_PER_BATCH = 1000;
/** QoS 1 messages the publisher keeps in flight. */
const PUBLISH_WINDOW = 64;
const T0 = Date.now() - 86_400_000;

/**
 * Batch `seq` of a gateway: POINTS_PER_BATCH points of 20 machines (50 each, on 10 lines), each
 * machine's scan together as a gateway batches them, each value telling its seq and index.
 */
export function makeBatch(site: string, gateway: string, seq: number): TelemetryBatch {
  return {
    schema: 'jjj.telemetry/1',
    region: 'BJ',
    project: 'bench',
    site,
    gateway: { id: gateway, boot: 1, seq },
    sentTs: T0 + seq * 1000,
    points: Array.from({ length: POINTS_PER_BATCH }, (_, i) => ({
      line: `line-${Math.floor(i / 100)}`,
      equipment: `machine-${Math.floor(i / 50)}`,
      point: `p-${i % 50}`,
      value: seq + i / 1000,
      ts: T0 + seq * 1000,
      quality: 'good' as const,
    })),
  };
}

/** How the publisher sends a batch: the JSON contract v1, the compact v2, or v2 zlib-compressed. */
export const wireFormats = ['v1', 'v2', 'v2-zlib'] as const;
export type WireFormat = (typeof wireFormats)[number];

export function encodeBatch(batch: TelemetryBatch, format: WireFormat): Buffer {
  if (format === 'v1') return Buffer.from(JSON.stringify(batch));
  return encodeTelemetryPayload(compactBatch(batch), format === 'v2-zlib').payload;
}

export const makeBatches = (site: string, gateway: string, batches: number) =>
  Array.from({ length: batches }, (_, seq) => makeBatch(site, gateway, seq));

export const rate = (points: number, ms: number) => Math.round((points / ms) * 1000);

/** CPU-seconds used so far by each process: this one (collector, publisher, client) and the servers. */
export type Cpu = Record<string, number>;

export function cpuOf(servers: Record<string, number>): Cpu {
  const usage = process.cpuUsage();
  const cpu: Cpu = { 'this process': (usage.user + usage.system) / 1e6 };
  for (const [name, pid] of Object.entries(servers)) cpu[name] = cpuSecondsOf(pid);
  return cpu;
}

/** CPU-seconds a process has used, from /proc/PID/stat (utime and stime, fields 14 and 15, in 1/100 s). */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export const cpuSince = (before: Cpu, after: Cpu) =>
  Object.entries(after)
    .map(([name, seconds]) => `${name} ${(seconds - (before[name] ?? 0)).toFixed(2)}`)
    .join(', ');
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Points of a site VictoriaMetrics can search, counted by the database itself (cheaper than exporting them). */
export async function pointsSearchable(victoriaUrl: string, site: string): Promise<number> {
  await forceFlush(victoriaUrl);
  const params = new URLSearchParams({
    query: `sum(count_over_time(jjj_value{site="${site}"}[3d]))`,
    time: String(Math.ceil(Date.now() / 1000)),
    nocache: '1',
  });
  const answer = (await (await fetch(`${victoriaUrl}/api/v1/query?${params}`)).json()) as {
    data?: { result?: { value: [number, string] }[] };
  };
  return Number(answer.data?.result?.[0]?.value[1] ?? 0);
}

/** Waits until `total` points of the site are searchable; returns ms since `started`. */
export async function untilSearchable(
  victoriaUrl: string,
  site: string,
  total: number,
  started: number,
): Promise<number> {
  const deadline = Date.now() + 60_000;
  while ((await pointsSearchable(victoriaUrl, site)) < total) {
    if (Date.now() > deadline) throw new Error(`${site}: not every point searchable within 60 s`);
    // Each check flushes and queries the database: checking more often would slow what it measures.
    await sleep(50);
  }
  return performance.now() - started;
}

/**
 * A publisher worker with every message prepared; `go()` starts it and resolves once all are PUBACKed,
 * `stop()` ends the worker whatever happened.
 */
export async function preparePublisher(
  brokerUrl: string,
  site: string,
  gateway: string,
  batches: number,
  format: WireFormat = 'v1',
): Promise<{ go(): Promise<void>; stop(): Promise<unknown> }> {
  // Serialised one batch at a time: the collector's heap, shared with this script, holds no batch objects.
  const topic = topicFor({ region: 'BJ', site, gateway, kind: 'telemetry' });
  const input: PublisherInput = {
    brokerUrl,
    window: PUBLISH_WINDOW,
    messages: Array.from({ length: batches }, (_, seq) => ({
      topic,
      payload: encodeBatch(makeBatch(site, gateway, seq), format),
    })),
  };
  const publisher = new Worker(new URL('./collector-publisher.js', import.meta.url), { workerData: input });
  const published = new Promise<void>((resolve, reject) => {
    publisher.on('error', reject);
    publisher.on('message', (message) => {
      if (message === 'published') resolve();
    });
  });
  await new Promise<void>((resolve, reject) => {
    publisher.once('error', reject);
    publisher.once('message', () => resolve());
  });
  return {
    async go() {
      publisher.postMessage('go');
      await published;
    },
    stop: () => publisher.terminate(),
  };
}
