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
import { waitUntil } from '../helpers/wait.js';
import {
  COUNTER_POINTS,
  counterGatewayConfig,
  expectCounting,
  startCounterDevice,
  startTestCollector,
  storedSamples,
  storedSeries,
  tempDir,
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
      // One backlog batch per publish interval (a window of one): a replay slow enough to be interrupted.
      delivery: { replaySpeedup: 1, inFlightBatches: 1 },
    });
    writeFileSync(configFile, stringify(config));

    const first = runGateway(configFile);
    await waitUntil('the gateway reading the device', () => device.reads() > 0);
    // About 60 batches of backlog while the broker is unreachable (a batch per read: the 15 ms
    // linger is shorter than the 50 ms poll).
    await waitUntil('about 60 batches of backlog', () => device.reads() >= 60);
    proxy.restore();
    await waitUntil(
      'part of the replay stored',
      async () => (await storedSeries(collector, 'count-a')).length >= 10,
    );
    // No new readings from here. Once a failed read is stored, every good reading taken before it
    // left the gateway's memory for the outbox (batches are made in order): it is there or stored.
    device.freeze(true);
    await waitUntil('a failed read stored', async () =>
      (await Promise.all(COUNTER_POINTS.map((point) => storedSamples(collector, point)))).every((samples) =>
        samples.includes(null),
      ),
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const storedAtKill = (await storedSeries(collector, 'count-a')).length;

    const second = runGateway(configFile);
    await waitUntil('the backlog found again', () =>
      /outbox holds a backlog from before/.test(second.stderr()),
    );
    await waitUntil('the backlog replayed', () => /backlog replayed/.test(second.stderr()), 30_000);
    device.freeze(false);
    await waitUntil(
      'live readings after the restart',
      async () => (await storedSeries(collector, 'count-a')).length >= storedAtKill + 40,
    );
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(second.stderr()).toMatch(/"outbox":\{"batches":0,/);
    // The second run's last batch (seq one below the count it reports at stop) is stored last.
    const stopped = second
      .stderr()
      .split('\n')
      .find((line) => line.includes('"gateway stopped"'));
    const { seq: batches } = JSON.parse(stopped ?? '{}') as { seq: number };
    await waitUntil('the last batch stored', async () => {
      const gateways = (await (await fetch(`${collector.httpUrl}/api/v1/gateways`)).json()) as Array<{
        id: string;
        boot: number;
        lastSeq: number | null;
      }>;
      const summary = gateways.find((g) => g.id === 'gw-kill');
      return summary?.boot === 2 && summary.lastSeq === batches - 1;
    });

    const all = async () => Promise.all(COUNTER_POINTS.map((point) => storedSeries(collector, point)));
    for (const values of await all()) {
      expect(expectCounting(values), values.join(',')).toBe(true);
    }
  }, 90_000);
});
