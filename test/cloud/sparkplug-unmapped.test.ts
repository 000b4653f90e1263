/**
 * Sparkplug nodes no `sparkplug.nodes` entry places (Eclipse Tahu's encoder, real Mosquitto, real
 * collector): with `unmapped: dead-letter` the NBIRTH is dead-lettered once per node, not once per
 * message, and the node is not asked for rebirths it cannot answer usefully; with
 * `unmapped: quarantine` every such node is stored under the quarantine site, each on its own line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningCollector, startCollector } from '../../cloud/collector.js';
import { buildCollectorConfig, type CollectorConfigInput } from '../../cloud/config.js';
import { stableId } from '../../cloud/sparkplug/names.js';
import type { DeadLetter, LatestPoint, PointInfo, SiteSummary } from '../../cloud/store/store.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { eventually, waitUntil } from '../helpers/wait.js';
import { decodeTahu, TahuEdgeNode, type TahuMetric } from './sparkplug-tahu-node.js';

const temperature = (value: number): TahuMetric[] => [
  {
    name: 'Temp',
    alias: 1,
    type: 'Float',
    value,
    timestamp: Date.now(),
    properties: { engUnit: { type: 'String', value: '°C' } },
  },
];

interface Running {
  collector: RunningCollector;
  client: MqttClient;
  rebirthRequests: string[];
  get<T>(path: string): Promise<T>;
  metricValue(name: string): Promise<number>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(sparkplug: CollectorConfigInput['sparkplug']): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'jjj-sparkplug-unmapped-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const broker: Mosquitto = await startMosquitto();
  cleanups.push(() => broker.stop());
  const collector = await startCollector(
    buildCollectorConfig({
      mqtt: { url: broker.url },
      store: { path: join(dir, 'collector.db') },
      http: { port: 0 },
      auth: { anonymous: 'viewer' },
      sparkplug,
    }),
    { logger: pino({ level: 'silent' }) },
  );
  cleanups.push(() => collector.close());
  const client = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
  cleanups.push(() => client.endAsync(true));
  const rebirthRequests: string[] = [];
  client.on('message', (topic, payload) => {
    if (decodeTahu(payload).metrics.some((m) => m.name === 'Node Control/Rebirth'))
      rebirthRequests.push(topic);
  });
  await client.subscribeAsync('spBv1.0/+/NCMD/#', { qos: 1 });
  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${collector.httpUrl}${path}`);
    expect(response.status, path).toBe(200);
    return (await response.json()) as T;
  };
  const metricValue = async (name: string) => {
    const text = await (await fetch(`${collector.httpUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  };
  return { collector, client, rebirthRequests, get, metricValue };
}

describe('Sparkplug nodes no mapping places', () => {
  it('dead-letters the NBIRTH once per node, drops the rest counted, and asks no rebirth once the node is known', async () => {
    const { client, rebirthRequests, get, metricValue } = await start({ unmapped: 'dead-letter' });
    const node = new TahuEdgeNode(client, 'Vendor X', 'Edge 9');
    await node.nbirth();
    await node.dbirth('PLC 1', temperature(20));
    for (let i = 0; i < 3; i++) await node.ddata('PLC 1', temperature(21 + i));
    await node.nbirth();
    await waitUntil(
      'five messages dropped',
      async () => (await metricValue('jjj_collector_sparkplug_unmapped_messages_total')) === 5,
    );

    // A node first heard of by its data (say, after a collector restart) is asked for its births once.
    const late = new TahuEdgeNode(client, 'Vendor X', 'Edge 10');
    await late.ddata('PLC 1', temperature(30));
    await waitUntil('the rebirth request', () => rebirthRequests.length === 1);
    await late.nbirth();
    await late.ddata('PLC 1', temperature(31));
    await waitUntil(
      'its data dropped',
      async () => (await metricValue('jjj_collector_sparkplug_unmapped_messages_total')) === 6,
    );

    const letters = await get<DeadLetter[]>('/api/v1/dead-letters?reason=sparkplug-unmapped');
    expect(letters.map((letter) => letter.topic).sort()).toEqual([
      'spBv1.0/Vendor X/NBIRTH/Edge 10',
      'spBv1.0/Vendor X/NBIRTH/Edge 9',
    ]);
    expect(letters[0]?.detail).toContain('no sparkplug.nodes entry matches it');
    expect(rebirthRequests).toEqual(['spBv1.0/Vendor X/NCMD/Edge 10']);
    expect(await get<SiteSummary[]>('/api/v1/sites')).toEqual([]);
  });

  it('keeps every unmapped node under the quarantine site, each on its own line, the original names visible', async () => {
    const { client, get } = await start({ unmapped: 'quarantine', quarantine: { region: 'TJ' } });
    for (const group of ['Vendor X', 'Vendor Y']) {
      const node = new TahuEdgeNode(client, group, 'Edge 9');
      await node.nbirth();
      await node.dbirth('PLC 1', temperature(20));
      await node.ddata('PLC 1', temperature(group === 'Vendor X' ? 21 : 22));
    }
    const latest = await eventually(async () => {
      const answer = await get<{ points: LatestPoint[] }>('/api/v1/latest?site=sparkplug-quarantine');
      expect(answer.points.map((p) => p.value).sort()).toEqual([21, 22]);
      return answer.points;
    });
    expect(latest.map((p) => p.pointId).sort()).toEqual(
      ['Vendor X/Edge 9', 'Vendor Y/Edge 9']
        .map((node) => `sparkplug-quarantine/${stableId(node)}/${stableId('PLC 1')}/${stableId('Temp')}`)
        .sort(),
    );
    const points = await get<{ points: PointInfo[] }>('/api/v1/points?site=sparkplug-quarantine');
    expect(points.points.map((p) => [p.sourceName, p.unit]).sort()).toEqual([
      ['Vendor X/Edge 9/PLC 1/Temp', 'CEL'],
      ['Vendor Y/Edge 9/PLC 1/Temp', 'CEL'],
    ]);
    const sites = await get<SiteSummary[]>('/api/v1/sites');
    expect(sites).toMatchObject([
      { id: 'sparkplug-quarantine', region: 'TJ', project: 'unassigned', online: true },
    ]);
    expect(await get<DeadLetter[]>('/api/v1/dead-letters')).toEqual([]);
  });
});
