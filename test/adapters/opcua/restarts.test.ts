import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { OpcuaAdapter } from '../../../adapters/opcua/adapter.js';
import { deviceSchema } from '../../../adapters/opcua/config.js';
import { freePort } from '../../helpers/ports.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { waitUntil } from '../../helpers/wait.js';
import { startTestServer, type TestServer } from './opcua-test-server.js';

const RESTARTS = 20;
const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('server restarted during a run', () => {
  it(`resumes after each of ${RESTARTS} restarts, with one session and no duplicate or invented value`, {
    timeout: 170_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opcua-restarts-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const port = await freePort();
    let server: TestServer | undefined = await startTestServer(port, dir);
    cleanups.push(async () => server?.stop());
    const sink = new RecordingSink();
    const metrics = new Registry();
    const device = deviceSchema.parse({
      protocol: 'opcua',
      id: 'cnc-01',
      line: 'machining',
      endpoint: server.endpoint,
      publishingIntervalMs: 100,
      samplingIntervalMs: 50,
      points: [{ name: 'good-count', nodeId: 'ns=1;s=cnc-01.good-count' }],
    });
    const adapter = new OpcuaAdapter(
      device,
      { sink, logger, stateDir: join(dir, 'gateway'), metrics },
      {
        pkiDir: join(dir, 'gateway', 'opcua-pki'),
        reconnectDelayMs: { initial: 100, max: 300 },
        rebuildDelayMs: 300,
      },
    );
    cleanups.push(() => adapter.stop());
    await adapter.start();
    const written = new Set<number>([4217]);
    let count = 10_000;

    for (let restart = 0; restart <= RESTARTS; restart++) {
      if (restart > 0) {
        await server?.stop();
        server = undefined;
        await waitUntil(`disconnect ${restart} noticed`, () => sink.states.at(-1)?.state === 'disconnected');
        server = await startTestServer(port, dir);
      }
      const running: TestServer = server as TestServer;
      const value = ++count;
      await waitUntil(`data resumes after restart ${restart}`, () => {
        // A value set before the new subscription exists arrives as its initial value; set until it shows.
        written.add(value);
        running.setValue('cnc-01.good-count', value);
        return sink.of('good-count').some((reading) => reading.value === value);
      });
      expect(running.sessionCount()).toBe(1);
    }

    const readings = sink.of('good-count');
    const good = readings.filter((reading) => reading.quality === 'good');
    for (const reading of good) expect(written.has(reading.value as number)).toBe(true);
    const samples = good.map((reading) => `${reading.ts}|${reading.value}`);
    expect(new Set(samples).size).toBe(samples.length);
    // Each outage marks the point bad once, never a good value standing in for a missing one.
    const outages = readings.filter((reading) => reading.status?.name === 'NotConnected');
    expect(outages).toHaveLength(RESTARTS);
    // The outages are counted in the registry the gateway handed in.
    const counted = await metrics.getSingleMetric('jjj_opcua_device_outages_total')?.get();
    const labels = { device: 'cnc-01', endpoint: device.endpoint };
    expect(counted?.values).toEqual([{ labels, value: RESTARTS }]);
    expect(sink.states.map((s) => s.state)).toEqual([
      'connected',
      ...Array.from({ length: RESTARTS }, () => ['disconnected', 'connected']).flat(),
    ]);
  });
});
