/**
 * The batcher: readings written straight into columns must come out as exactly the samples
 * `toSample` would have made (the `jjj.telemetry/2` rules of `packGroup`), cut by time and by size,
 * in order, none lost, and the batches cut together handed over together.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../adapters/contract.js';
import { Batcher } from '../../gateway/batcher.js';
import { parseGatewayConfig } from '../../gateway/config.js';
import { buildPointDirectory, type ConfiguredPoint, toSample } from '../../gateway/normalise.js';
import type { SerialisedBatch } from '../../gateway/outbox/outbox.js';
import { type CompactTelemetryBatch, packGroup } from '../../gateway/schema/compact-telemetry.js';
import { type PointSample, TelemetryBatch } from '../../gateway/schema/index.js';
import { telemetrySamples } from '../helpers/telemetry.js';
import { waitUntil } from '../helpers/wait.js';

const POINTS = ['a', 'b', 'c', 'd'];

function config(publish: Record<string, unknown> = {}) {
  const device = (id: string, equipment: string) => ({
    protocol: 'modbus',
    id,
    line: 'line-1',
    equipment,
    transport: 'tcp',
    host: '127.0.0.1',
    port: 502,
    unitId: 1,
    points: POINTS.map((name, address) => ({ name, table: 'holding', address, type: 'uint16' })),
  });
  return parseGatewayConfig(
    {
      gateway: {
        id: 'gw-batcher',
        region: 'HE',
        project: 'jjj-dp-03',
        site: 'he-batcher',
        siteName: { zh: '批', en: 'Batcher' },
      },
      mqtt: { url: 'mqtt://127.0.0.1:1883' },
      publish,
      devices: [device('dev-1', 'press-1'), device('dev-2', 'press-2')],
    },
    'test',
    '/tmp',
  );
}

const batchers: Batcher[] = [];
afterEach(() => {
  for (const batcher of batchers.splice(0)) batcher.stop();
});

function setup(publish: Record<string, unknown> = {}) {
  const loaded = config(publish);
  const directory = buildPointDirectory(loaded);
  const handovers: SerialisedBatch[][] = [];
  const link = { congested: false };
  const batcher = new Batcher({
    config: loaded,
    boot: 3,
    submit: (batches) => handovers.push(batches),
    congested: () => link.congested,
  });
  batchers.push(batcher);
  const point = (device: string, name: string) => directory.get(device)?.get(name) as ConfiguredPoint;
  const fed: PointSample[] = [];
  const feed = (device: string, name: string, reading: Omit<Reading, 'point'>) => {
    const configured = point(device, name);
    const full = { point: name, ...reading };
    fed.push(toSample(configured, full));
    batcher.add(configured, full);
  };
  const samplesOut = () => handovers.flat().flatMap((b) => telemetrySamples(b.json).points);
  return { batcher, handovers, feed, fed, samplesOut, link };
}

const status = { source: 'modbus' as const, code: 2, name: 'IllegalDataAddress' };

describe('the batcher', () => {
  it('packs each equipment’s readings as packGroup does, scalar columns only where every entry agrees', () => {
    const { batcher, handovers, feed, fed } = setup();
    const t = 1_700_000_000_000;
    // press-1: one scan, all good, one timestamp: every column that can be scalar is.
    for (const [i, name] of POINTS.entries()) feed('dev-1', name, { value: i, ts: t + 0.7, quality: 'good' });
    // press-2: timestamps, qualities, statuses and server timestamps that differ.
    feed('dev-2', 'a', { value: 1.5, ts: t + 3, quality: 'good' });
    feed('dev-2', 'b', { value: 7, ts: t, quality: 'bad', status });
    feed('dev-2', 'c', { value: 'x', ts: t + 9, serverTs: t + 10.9, quality: 'uncertain' });
    feed('dev-2', 'd', { value: [1, 2], ts: t + 1, quality: 'good', status });
    batcher.stop();
    expect(handovers).toHaveLength(1);
    const batch = handovers[0]?.[0]?.batch as CompactTelemetryBatch;
    expect(batch.groups).toEqual([packGroup(fed.slice(0, 4)), packGroup(fed.slice(4))]);
    expect(batch.groups[0]).toEqual({
      line: 'line-1',
      equipment: 'press-1',
      ts: t,
      points: POINTS,
      values: [0, 1, 2, 3],
      quality: 'good',
    });
    // Bad quality carries no value; the rest round-trips exactly.
    expect(telemetrySamples(handovers[0]?.[0]?.json as string).points).toEqual(fed);
    expect(fed[5]?.value).toBeNull();
    expect(batch.gateway).toEqual({ id: 'gw-batcher', boot: 3, seq: 0 });
  });

  it('cuts at maxPoints at once, hands the batches cut in one turn over together, and loses or reorders nothing', async () => {
    const { batcher, handovers, feed, fed, samplesOut } = setup({ maxPoints: 3, lingerMs: 60_000 });
    const t = Date.now();
    for (let scan = 0; scan < 5; scan++) {
      for (const name of POINTS) feed('dev-1', name, { value: scan, ts: t + scan, quality: 'good' });
      for (const name of POINTS) feed('dev-2', name, { value: scan + 100, ts: t + scan, quality: 'good' });
    }
    // 40 readings: 13 full batches now, one reading still pending (its linger is a minute).
    expect(handovers).toHaveLength(0);
    await waitUntil('the handover', () => handovers.length === 1);
    expect(handovers[0]?.map((b) => b.points)).toEqual(Array(13).fill(3));
    expect(handovers[0]?.map((b) => b.batch.gateway.seq)).toEqual([...Array(13).keys()]);
    batcher.stop();
    expect(handovers).toHaveLength(2);
    expect(batcher.seq).toBe(14);
    // Within a batch samples are grouped by equipment; across cuts each point keeps its order.
    const key = (s: PointSample) => `${s.equipment}/${s.point}`;
    const perPoint = (samples: PointSample[]) => {
      const series = new Map<string, PointSample[]>();
      for (const s of samples) series.set(key(s), [...(series.get(key(s)) ?? []), s]);
      return series;
    };
    expect(samplesOut()).toHaveLength(fed.length);
    expect(perPoint(samplesOut())).toEqual(perPoint(fed));
  });

  it('cuts lingerMs after the first sample of a batch, not on a fixed tick', async () => {
    const { handovers, feed } = setup({ lingerMs: 200 });
    const started = performance.now();
    feed('dev-1', 'a', { value: 1, ts: Date.now(), quality: 'good' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    feed('dev-2', 'a', { value: 2, ts: Date.now(), quality: 'good' });
    expect(handovers).toHaveLength(0);
    await waitUntil('the batch cut', () => handovers.length === 1);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(195);
    // Both readings in the one batch, the second waited only for the first one's linger.
    expect(handovers[0]?.[0]?.points).toBe(2);
    feed('dev-1', 'b', { value: 3, ts: Date.now(), quality: 'good' });
    await waitUntil('the next batch', () => handovers.length === 2);
    expect(handovers[1]?.[0]?.batch.gateway.seq).toBe(1);
  });

  it('lingers on while live batches wait for the broker, up to intervalMs, then cuts', async () => {
    const { handovers, feed, link } = setup({ lingerMs: 20, intervalMs: 300 });
    link.congested = true;
    const started = performance.now();
    feed('dev-1', 'a', { value: 1, ts: Date.now(), quality: 'good' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(handovers).toHaveLength(0);
    feed('dev-1', 'b', { value: 2, ts: Date.now(), quality: 'good' });
    await waitUntil('the batch cut at intervalMs', () => handovers.length === 1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(handovers[0]?.[0]?.points).toBe(2);
    // The link caught up: the next batch leaves after lingerMs again.
    link.congested = false;
    const next = performance.now();
    feed('dev-1', 'c', { value: 3, ts: Date.now(), quality: 'good' });
    await waitUntil('the next batch', () => handovers.length === 2);
    expect(performance.now() - next).toBeLessThan(250);
  });

  it('serialises jjj.telemetry/1 when publish.format is samples', () => {
    const { batcher, handovers, feed, fed } = setup({ format: 'samples' });
    feed('dev-1', 'a', { value: 1, ts: 1000, quality: 'good' });
    feed('dev-2', 'b', { value: null, ts: 1001, quality: 'bad', status });
    batcher.stop();
    const sent = TelemetryBatch.parse(JSON.parse(handovers[0]?.[0]?.json as string));
    expect(sent.points).toEqual(fed);
    expect(sent.gateway.seq).toBe(0);
  });
});
