/**
 * `kill -9` of the gateway process (the built CLI) while it replays a backlog: after a restart on
 * the same state directory, every reading is in the store once, none missing.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startMosquitto } from '../helpers/mosquitto.js';
import { type Spawned, spawnNode } from '../helpers/spawn.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import {
  COUNTER_POINTS,
  counterGatewayConfig,
  expectCounting,
  startCounterDevice,
  startTestCollector,
  storedSeries,
  tempDir,
  waitUntil,
} from './delivery-fixtures.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function runGateway(configFile: string): Spawned {
  const gateway = spawnNode('dist/gateway/cli.js', ['run', '--config', configFile, '--log-level', 'info']);
  cleanups.push(async () => {
    if (gateway.child.exitCode === null && gateway.child.signalCode === null) {
      gateway.child.kill('SIGKILL');
      await gateway.exited;
    }
  });
  return gateway;
}

describe('gateway kill -9 during a backlog replay', () => {
  it('loses and duplicates nothing in the store after a restart', async () => {
    const dir = tempDir('jjj-kill-');
    cleanups.push(() => dir.remove());
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const collector = await startTestCollector(broker.url, dir.path);
    cleanups.push(() => collector.close());
    const device = await startCounterDevice();
    cleanups.push(() => device.close());
    const proxy = await startTcpProxy(broker.port);
    cleanups.push(() => proxy.close());
    proxy.cut();

    const configFile = join(dir.path, 'gateway.yaml');
    const config = counterGatewayConfig({
      gatewayId: 'gw-kill',
      mqttUrl: proxy.url(),
      devicePort: device.port,
      stateDir: 'state',
      // One backlog batch per publish interval: a replay slow enough to be interrupted.
      delivery: { replaySpeedup: 1 },
    });
    writeFileSync(configFile, stringify(config));

    const first = runGateway(configFile);
    await waitUntil(() => /device connected/.test(first.stderr()), 'the gateway reading the device');
    // About 30 batches of backlog while the broker is unreachable.
    await new Promise((r) => setTimeout(r, 3000));
    proxy.restore();
    await waitUntil(
      async () => (await storedSeries(collector, 'count-a')).length >= 10,
      'part of the replay stored',
    );
    // No new readings from here, so every reading taken is in the outbox or the store.
    device.freeze(true);
    await new Promise((r) => setTimeout(r, 300));
    first.child.kill('SIGKILL');
    await first.exited;
    const storedAtKill = (await storedSeries(collector, 'count-a')).length;

    const second = runGateway(configFile);
    await waitUntil(
      () => /outbox holds a backlog from before/.test(second.stderr()),
      'the backlog found again',
    );
    await waitUntil(() => /backlog replayed/.test(second.stderr()), 'the backlog replayed', 30_000);
    device.freeze(false);
    await waitUntil(
      async () => (await storedSeries(collector, 'count-a')).length >= storedAtKill + 40,
      'live readings after the restart',
    );
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(second.stderr()).toMatch(/"outbox":\{"batches":0,/);

    const all = async () => Promise.all(COUNTER_POINTS.map((point) => storedSeries(collector, point)));
    await new Promise((r) => setTimeout(r, 300));
    for (const values of await all()) {
      expect(expectCounting(values), values.join(',')).toBe(true);
    }
  }, 90_000);
});
