/**
 * `npm run bench:opcua`: one OPC UA server (separate process) with 10,000 variables changing every
 * second; the gateway's OPC UA adapter monitors all of them (publishing interval 1 s) and hands each
 * publish to a sink. Prints gateway CPU µs per notification, RSS, and the latency from the server's
 * value change (its source timestamp) to the hand-off to the sink, p50/p99. The baseline, measured in
 * the same run, is a bare node-opcua subscription on the same items doing nothing with the
 * notifications: the ratio is what the adapter adds on top of node-opcua. Both runs get the Node.js flags
 * that `jjj-gateway` runs with (its shebang line); BENCH_NODE_FLAGS replaces them, e.g. with "" for none.
 * BENCH_VARIABLES (10,000), BENCH_SECONDS (20 measured), BENCH_BASELINE=0 skips the baseline.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import {
  AttributeIds,
  DataChangeNotification,
  type NotificationMessage,
  OPCUAClient,
  TimestampsToReturn,
} from 'node-opcua-client';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { Reading, SouthboundSink } from '../adapters/contract.js';
import { OpcuaAdapter } from '../adapters/opcua/adapter.js';
import { deviceSchema } from '../adapters/opcua/config.js';
import { gatewayShebangFlags } from './gateway-flags.js';

const VARIABLES = Number(process.env.BENCH_VARIABLES ?? 10_000);
const WARM_UP_MS = 8_000;
const MEASURE_MS = Number(process.env.BENCH_SECONDS ?? 20) * 1000;
const PUBLISHING_INTERVAL_MS = 1000;
const NODE_FLAGS = process.env.BENCH_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? gatewayShebangFlags();
/** BENCH_BASELINE=0 runs the adapter alone, without the bare node-opcua client (bench:gateway does). */
const WITH_BASELINE = process.env.BENCH_BASELINE !== '0';

interface Figures {
  notifications: number;
  cpuMicrosPerNotification: number;
  rssMb: number;
  latencies: number[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function startServer(port: number, pkiDir: string): Promise<{ child: ChildProcess; endpoint: string }> {
  const script = fileURLToPath(new URL('./opcua-server.js', import.meta.url));
  const child = spawn(process.execPath, [script, String(port), String(VARIABLES), pkiDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      const ready = /ready (\S+)/.exec(chunk.toString());
      if (ready?.[1]) resolve(ready[1]);
    });
  });
  return { child, endpoint };
}

/**
 * Latencies in one array allocated up front: a growing number[] would add its copies (megabytes of
 * large objects) to the RSS being measured, which is the client's, not the bench's.
 */
class LatencyRecorder {
  private readonly values = new Int32Array((VARIABLES * (WARM_UP_MS + MEASURE_MS + 10_000)) / 1000);
  private count = 0;

  record(ms: number): void {
    if (this.count === this.values.length) throw new Error('more notifications than the bench allows for');
    this.values[this.count++] = ms;
  }

  reset(): void {
    this.count = 0;
  }

  toArray(): number[] {
    return Array.from(this.values.subarray(0, this.count));
  }
}

/** Samples CPU, RSS and latencies over the measurement window, after a warm-up. */
async function measure(count: () => number, latencies: LatencyRecorder): Promise<Figures> {
  await sleep(WARM_UP_MS);
  latencies.reset();
  const startCount = count();
  const startCpu = process.cpuUsage();
  let rss = process.memoryUsage().rss;
  const rssSampler = setInterval(() => {
    rss = Math.max(rss, process.memoryUsage().rss);
  }, 250);
  await sleep(MEASURE_MS);
  clearInterval(rssSampler);
  const cpu = process.cpuUsage(startCpu);
  const notifications = count() - startCount;
  return {
    notifications,
    cpuMicrosPerNotification: (cpu.user + cpu.system) / Math.max(1, notifications),
    rssMb: rss / 2 ** 20,
    latencies: latencies.toArray(),
  };
}

async function baseline(endpoint: string, pkiDir: string): Promise<Figures> {
  const certificateManager = new OPCUACertificateManager({ rootFolder: pkiDir });
  const client = OPCUAClient.create({
    endpointMustExist: false,
    clientCertificateManager: certificateManager,
    connectionStrategy: { maxRetry: 0 },
  });
  await client.connect(endpoint);
  const session = await client.createSession();
  const subscription = await session.createSubscription2({
    requestedPublishingInterval: PUBLISHING_INTERVAL_MS,
    requestedMaxKeepAliveCount: 10,
    requestedLifetimeCount: 60,
    maxNotificationsPerPublish: 0,
    publishingEnabled: true,
  });
  let notifications = 0;
  const latencies = new LatencyRecorder();
  subscription.on('received_notifications', (message: NotificationMessage) => {
    const now = Date.now();
    for (const data of message.notificationData ?? []) {
      if (!(data instanceof DataChangeNotification)) continue;
      for (const change of data.monitoredItems ?? []) {
        notifications++;
        latencies.record(now - (change.value.sourceTimestamp?.getTime() ?? now));
      }
    }
  });
  for (let start = 0; start < VARIABLES; start += 1000) {
    const ids = Array.from({ length: Math.min(1000, VARIABLES - start) }, (_, i) => `ns=1;s=v${start + i}`);
    await subscription.monitorItems(
      ids.map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value })),
      { samplingInterval: 0, queueSize: 10, discardOldest: true },
      TimestampsToReturn.Both,
    );
  }
  const figures = await measure(() => notifications, latencies);
  await session.close(true);
  await client.disconnect();
  await certificateManager.dispose();
  return figures;
}

async function adapterRun(endpoint: string, stateDir: string): Promise<Figures> {
  let notifications = 0;
  const latencies = new LatencyRecorder();
  const sink: SouthboundSink = {
    readings(_device: string, readings: readonly Reading[]) {
      const now = Date.now();
      notifications += readings.length;
      for (const reading of readings) latencies.record(now - reading.ts);
    },
    deviceState: () => undefined,
  };
  const device = deviceSchema.parse({
    protocol: 'opcua',
    id: 'bench',
    line: 'bench',
    endpoint,
    publishingIntervalMs: PUBLISHING_INTERVAL_MS,
    points: Array.from({ length: VARIABLES }, (_, i) => ({ name: `v${i}`, nodeId: `ns=1;s=v${i}` })),
  });
  const adapter = new OpcuaAdapter(
    device,
    { sink, logger: pino({ level: 'warn' }), stateDir, metrics: new Registry() },
    { pkiDir: join(stateDir, 'opcua-pki') },
  );
  await adapter.start();
  const figures = await measure(() => notifications, latencies);
  await adapter.stop();
  return figures;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function report(label: string, figures: Figures): void {
  const sorted = [...figures.latencies].sort((a, b) => a - b);
  process.stdout.write(
    `${label.padEnd(26)} ${String(figures.notifications).padStart(8)} notifications  ` +
      `${figures.cpuMicrosPerNotification.toFixed(1).padStart(6)} µs CPU/notification  ` +
      `RSS ${figures.rssMb.toFixed(0)} MB  latency p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms ` +
      `(p99 − p50 ${percentile(sorted, 99) - percentile(sorted, 50)} ms)\n`,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Each run is its own process, so RSS is that run's alone: `opcua.js --run adapter|baseline ENDPOINT DIR`. */
async function runInChild(kind: 'adapter' | 'baseline', endpoint: string, dir: string): Promise<Figures> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...NODE_FLAGS, script, '--run', kind, endpoint, dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  const line = output.split('\n').find((text) => text.startsWith('{'));
  if (code !== 0 || !line) throw new Error(`${kind} run failed (exit ${code})`);
  return JSON.parse(line) as Figures;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'jjj-bench-opcua-'));
  const { child: server, endpoint } = await startServer(await freePort(), join(dir, 'server'));
  try {
    process.stdout.write(
      `OPC UA bench: ${VARIABLES} variables changing every second, publishing interval ${PUBLISHING_INTERVAL_MS} ms, ` +
        `${MEASURE_MS / 1000} s measured after ${WARM_UP_MS / 1000} s warm-up, each client in its own process;\n` +
        'latency = server source timestamp of the change → hand-off to the sink (same clock); the changes are\n' +
        'spread evenly over each second, so it includes the wait for the next publish (0 – 1 interval) in every run;\n' +
        `both clients run with the Node.js flags ${NODE_FLAGS.length > 0 ? NODE_FLAGS.join(' ') : '(none)'}` +
        `${process.env.BENCH_NODE_FLAGS === undefined ? ', as jjj-gateway does' : ' (BENCH_NODE_FLAGS)'}\n`,
    );
    const bare = WITH_BASELINE ? await runInChild('baseline', endpoint, join(dir, 'baseline')) : undefined;
    if (bare) report('baseline (bare node-opcua)', bare);
    const adapter = await runInChild('adapter', endpoint, join(dir, 'gateway'));
    report('OPC UA adapter', adapter);
    if (bare)
      process.stdout.write(
        `adapter / baseline CPU per notification: ${(adapter.cpuMicrosPerNotification / bare.cpuMicrosPerNotification).toFixed(2)}×  ` +
          `(targets: ≤ 30 µs/notification, RSS ≤ 150 MB, p99 ≤ ${PUBLISHING_INTERVAL_MS + 100} ms)\n`,
      );
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

const [flag, kind, endpointArg, dirArg] = process.argv.slice(2);
if (flag === '--run' && endpointArg && dirArg) {
  const figures =
    kind === 'adapter' ? await adapterRun(endpointArg, dirArg) : await baseline(endpointArg, dirArg);
  process.stdout.write(`${JSON.stringify(figures)}\n`);
} else {
  await main();
}
