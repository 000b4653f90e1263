/**
 * Sparkplug `seq` gaps of another vendor's node (Eclipse Tahu's encoder, real Mosquitto, real
 * collector): a late message fills its gap before the reorder timeout and costs no rebirth; a jump
 * 4 → 15 is counted as the JSON path counts gaps (`/api/v1/gaps`, `/api/v1/gateways`, the live
 * completeness) and, once the reorder timeout has passed, asks the node for a rebirth — not again
 * within the back-off.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCollector, startCollector } from '../../cloud/collector.js';
import { buildCollectorConfig } from '../../cloud/config.js';
import type { LiveSite } from '../../cloud/live/site-events.js';
import { stableId } from '../../cloud/sparkplug/names.js';
import type { GatewaySummary, SequenceGaps } from '../../cloud/store/store.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { eventually, waitUntil } from '../helpers/wait.js';
import { decodeTahu, TahuEdgeNode, type TahuMetric } from './sparkplug-tahu-node.js';

const DEVICE = 'Press 1';
const GATEWAY = stableId('Line 7/Edge A');
const REORDER_TIMEOUT_MS = 300;

const strokes = (value: number): TahuMetric[] => [{ alias: 1, type: 'Int32', value, timestamp: Date.now() }];

describe('Sparkplug seq gaps of another vendor’s node', () => {
  let dir: string;
  let broker: Mosquitto;
  let collector: RunningCollector;
  let client: MqttClient;
  let node: TahuEdgeNode;
  const rebirthRequests: { topic: string; at: number }[] = [];

  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${collector.httpUrl}${path}`);
    expect(response.status, path).toBe(200);
    return (await response.json()) as T;
  };
  const metricValue = async (name: string, labels = '') => {
    const text = await (await fetch(`${collector.httpUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  };
  const gateway = async () => (await get<GatewaySummary[]>('/api/v1/gateways')).find((g) => g.id === GATEWAY);
  const births = async () => {
    await node.nbirth();
    await node.dbirth(DEVICE, [
      { name: 'Strokes', alias: 1, type: 'Int32', value: 0, timestamp: Date.now() },
      { name: 'Die Temp', alias: 2, type: 'Float', value: 40, timestamp: Date.now() },
    ]);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jjj-sparkplug-gaps-'));
    broker = await startMosquitto();
    const config = buildCollectorConfig({
      mqtt: { url: broker.url },
      store: { path: join(dir, 'collector.db') },
      http: { port: 0 },
      auth: { anonymous: 'viewer' },
      sparkplug: {
        nodes: [{ group: 'Line 7', region: 'BJ', project: 'jjj-dp-02', site: 'line-7' }],
        reorderTimeoutMs: REORDER_TIMEOUT_MS,
        rebirthBackoffMs: 30_000,
      },
    });
    collector = await startCollector(config, { logger: pino({ level: 'silent' }) });
    client = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    node = new TahuEdgeNode(client, 'Line 7', 'Edge A');
    client.on('message', (topic, payload) => {
      const rebirth = decodeTahu(payload).metrics.some((m) => m.name === 'Node Control/Rebirth' && m.value);
      if (rebirth) rebirthRequests.push({ topic, at: Date.now() });
    });
    await client.subscribeAsync('spBv1.0/Line 7/NCMD/Edge A', { qos: 1 });
  });

  afterAll(async () => {
    await client?.endAsync(true);
    await collector?.close();
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fills a gap with a late message, counts a jump 4 → 15 and asks for a rebirth after the reorder timeout', async () => {
    await births(); // seq 0 (NBIRTH), 1 (DBIRTH: batch 0)
    await node.ddata(DEVICE, strokes(1)); // seq 2: batch 1
    node.skip(1);
    await node.ddata(DEVICE, strokes(3)); // seq 4: batch 3, seq 3 missing…
    await node.send('DDATA', DEVICE, strokes(2), 3); // …until it comes late
    await eventually(async () =>
      expect(await gateway()).toMatchObject({ boot: 1, batches: 4, missingBatches: 0 }),
    );

    node.skip(10);
    const jumpedAt = Date.now();
    await node.ddata(DEVICE, strokes(15)); // seq 15 after 4: seq 5–14 (batches 4–13) lost
    await eventually(async () => {
      const gaps = await get<SequenceGaps>(`/api/v1/gaps?gateway=${GATEWAY}`);
      expect(gaps).toEqual({
        gateway: GATEWAY,
        gaps: [{ boot: 1, fromSeq: 4, toSeq: 13 }],
        truncated: false,
      });
    });
    expect(await gateway()).toMatchObject({
      state: 'online',
      boot: 1,
      lastSeq: 14,
      batches: 5,
      missingBatches: 10,
    });
    expect(await metricValue('jjj_collector_sequence_gap_batches_total')).toBe(11);

    await waitUntil('a rebirth request', () => rebirthRequests.length === 1);
    expect(rebirthRequests[0]?.at).toBeGreaterThanOrEqual(jumpedAt + REORDER_TIMEOUT_MS);
    expect(await metricValue('jjj_collector_sparkplug_rebirth_requests_total', 'reason="gap"')).toBe(1);
    // The late seq 3 asked for nothing: its wait ended with it found.
    expect(
      await metricValue('jjj_collector_sparkplug_rebirth_requests_held_back_total', 'reason="gap"'),
    ).toBe(0);

    const sites = await firstSitesEvent(`${collector.httpUrl}/api/v1/events`);
    // 5 of the 15 batches numbered in the last hour arrived.
    expect(sites.find((site) => site.id === 'line-7')?.completeness).toBe(0.333);
  });

  it('starts a new boot at the rebirth, and asks no more often than the back-off when the node keeps losing messages', async () => {
    await births();
    await node.ddata(DEVICE, strokes(16)); // batch 1 of boot 2
    node.skip(3);
    await node.ddata(DEVICE, strokes(20)); // batches 2–4 lost
    await waitUntil(
      'the second gap held back by the back-off',
      async () =>
        (await metricValue('jjj_collector_sparkplug_rebirth_requests_held_back_total', 'reason="gap"')) === 1,
    );
    expect(rebirthRequests).toHaveLength(1);
    expect(await gateway()).toMatchObject({ boot: 2, lastSeq: 5, batches: 8, missingBatches: 13 });
    const gaps = await get<SequenceGaps>(`/api/v1/gaps?gateway=${GATEWAY}`);
    expect(gaps.gaps).toEqual([
      { boot: 2, fromSeq: 2, toSeq: 4 },
      { boot: 1, fromSeq: 4, toSeq: 13 },
    ]);
  });
});

/** The `sites` event a client of the live feed gets first. */
async function firstSitesEvent(url: string): Promise<LiveSite[]> {
  const aborter = new AbortController();
  const response = await fetch(url, { signal: aborter.signal });
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      const match = /^event: sites\ndata: (.*)$/m.exec(buffer);
      if (match?.[1]) return JSON.parse(match[1]) as LiveSite[];
    }
  } finally {
    aborter.abort();
  }
  throw new Error('the event stream ended without a sites event');
}
