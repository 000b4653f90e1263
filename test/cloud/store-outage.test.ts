/**
 * Durable acknowledgement under load on real servers: VictoriaMetrics (InfluxDB v2 write API) is
 * stopped while a gateway keeps publishing to Mosquitto, then started again on its data. The
 * collector holds its acknowledgements (one unacknowledged message at most: memory stays bounded),
 * the broker keeps the rest, and once the store is back every point is there.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exportSeries,
  type Peer,
  startMosquittoBroker,
  startVictoriaMetrics,
} from '../../bench/collector-peers.js';
import { type RunningCollector, startCollector } from '../../cloud/collector.js';
import { buildCollectorConfig } from '../../cloud/config.js';
import { topicFor } from '../../gateway/schema/index.js';
import { metric } from '../helpers/prometheus.js';
import { eventually, waitUntil } from '../helpers/wait.js';
import { GATEWAY, numberedBatch } from './fixtures.js';

const OUTAGE_MS = 60_000;
const POINTS_PER_BATCH = 50;
/** About 50 batches a second (2,500 points/s): the outage leaves some 3,000 messages waiting in the broker. */
const PUBLISH_PAUSE_MS = 20;
const WATCH_PERIOD_MS = 200;

describe('store down under load', () => {
  let broker: Peer;
  let victoria: Peer & { dir: string };
  let collector: RunningCollector;
  let catalogDir: string;

  beforeAll(async () => {
    broker = await startMosquittoBroker();
    catalogDir = mkdtempSync(join(tmpdir(), 'jjj-outage-'));
    // Given a directory, VictoriaMetrics keeps its data across the stop and start below.
    victoria = await startVictoriaMetrics({ dir: mkdtempSync(join(tmpdir(), 'jjj-outage-vm-')) });
    collector = await startCollector(
      buildCollectorConfig({
        mqtt: { url: broker.url },
        store: {
          type: 'influxdb',
          url: victoria.url,
          org: 'jjj',
          bucket: 'telemetry',
          catalogPath: join(catalogDir, 'catalog.db'),
          timeoutMs: 1000,
        },
        ingest: { retryMinMs: 50, retryMaxMs: 500 },
        http: { port: 0 },
        auth: { anonymous: 'viewer' },
      }),
      { logger: pino({ level: 'silent' }) },
    );
  }, 60_000);

  afterAll(async () => {
    await collector?.close();
    await victoria?.stop();
    rmSync(victoria?.dir ?? '', { recursive: true, force: true });
    await broker?.stop();
    rmSync(catalogDir, { recursive: true, force: true });
  });

  it('loses nothing and holds at most one message per connection', async () => {
    const publisher = await connectAsync(broker.url);
    const topic = topicFor({ region: 'BJ', site: 'bj-etown-cnc', gateway: GATEWAY, kind: 'telemetry' });
    let seq = 0;
    let publishing = true;
    const publishLoop = (async () => {
      while (publishing) {
        const batch = numberedBatch(seq, POINTS_PER_BATCH);
        seq++;
        await publisher.publishAsync(topic, JSON.stringify(batch), { qos: 1 });
        await new Promise((resolve) => setTimeout(resolve, PUBLISH_PAUSE_MS));
      }
    })();

    let highestQueue = 0;
    let failures = 0;
    let stored = 0;
    const watch = async () => {
      const text = await (await fetch(`${collector.httpUrl}/metrics`)).text();
      highestQueue = Math.max(highestQueue, metric(text, 'jjj_collector_queue_depth'));
      failures = metric(text, 'jjj_collector_store_write_failures_total');
      stored = metric(text, 'jjj_collector_points_stored_total');
    };

    await eventually(async () => {
      await watch();
      expect(seq).toBeGreaterThan(20);
    });
    await victoria.stop();
    // The outage's length is the scenario; the queue depth is sampled all along it.
    const outageEnds = Date.now() + OUTAGE_MS;
    while (Date.now() < outageEnds) {
      await watch();
      await new Promise((resolve) => setTimeout(resolve, WATCH_PERIOD_MS));
    }
    await watch();
    const storedBeforeRestart = stored;
    victoria = await startVictoriaMetrics({ dir: victoria.dir, port: victoria.port });
    // The gateway keeps publishing until the collector stores again.
    await waitUntil(
      'the collector stores again',
      async () => {
        await watch();
        return stored > storedBeforeRestart;
      },
      60_000,
    );
    publishing = false;
    await publishLoop;
    await publisher.endAsync();

    expect(failures).toBeGreaterThan(0);
    const total = seq * POINTS_PER_BATCH;
    await eventually(async () => {
      await watch();
      const series = await exportSeries(victoria.url, '{__name__="jjj_value"}');
      expect(series.reduce((sum, s) => sum + s.values.length, 0)).toBe(total);
    }, 60_000);
    expect(highestQueue).toBeLessThanOrEqual(1);
  }, 240_000);
});
