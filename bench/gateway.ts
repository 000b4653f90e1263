/**
 * `npm run bench:gateway`: the whole gateway measured as a user runs it (issue 15). A real Mosquitto,
 * Modbus TCP simulators in a child process, and the real `jjj-gateway run --config FILE` process with
 * its defaults (disk outbox in a temporary state dir, JSON contract, QoS 1). A subscriber in this
 * process counts the points delivered and checks every value against what the simulator serves.
 * Then the adapter alone (`bench/modbus.js`, a counting sink) on the same machine, for the ratio.
 *
 * It prints figures, it asserts nothing. Environment: BENCH_DEVICES (200), BENCH_POINTS (50),
 * BENCH_SECONDS (40 measured, after 5 of warm-up), BENCH_ADAPTER=0 skips the adapter-only run,
 * BENCH_SOAK=1 measures for 10 minutes (see gateway-heap.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connectAsync } from 'mqtt';
import { cpuSecondsOf, sleep } from './collector-load.js';
import { startMosquittoBroker } from './collector-peers.js';
import { profileIn, summariseCpuProfile } from './cpu-profile.js';
import { GatewayHeap, metricsConfig, rssSampleMs, soak, soakSeconds } from './gateway-heap.js';

const deviceCount = Number(process.env.BENCH_DEVICES ?? 200);
const pointsPerDevice = Number(process.env.BENCH_POINTS ?? 50);
const measuredSeconds = soak ? soakSeconds : Number(process.env.BENCH_SECONDS ?? 40);
const warmUpSeconds = 5;
const rssEveryMs = rssSampleMs;
const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'gateway', 'cli.js');
const startedAt = performance.now();

function progress(message: string): void {
  console.log(`[${((performance.now() - startedAt) / 1000).toFixed(1).padStart(6)} s] ${message}`);
}

/** The value the identity simulator serves for point `i` of device `d` (register i holds it). */
const expected = (device: number, point: number) => (device * pointsPerDevice + point) & 0xffff;

async function startSimulators(): Promise<{ ports: number[]; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [join(here, 'modbus-simulators.js'), String(deviceCount), String(pointsPerDevice), 'identity'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const ready = await new Promise<string>((resolve) => lines.once('line', resolve));
  const { ports } = JSON.parse(ready.replace(/^READY /, '')) as { ports: number[] };
  return {
    ports,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin?.end();
      await exited;
    },
  };
}

function writeConfig(dir: string, brokerUrl: string, ports: number[]): string {
  const config = {
    gateway: {
      id: 'gw-bench',
      region: 'BJ',
      project: 'bench',
      site: 'bench',
      siteName: { zh: '基准', en: 'Bench' },
      stateDir: join(dir, 'state'),
    },
    mqtt: { url: brokerUrl },
    ...metricsConfig,
    devices: ports.map((port, d) => ({
      protocol: 'modbus',
      id: `meter-${d}`,
      line: 'bench',
      host: '127.0.0.1',
      port,
      unitId: 1,
      pollIntervalMs: 1000,
      timeoutMs: 1000,
      points: Array.from({ length: pointsPerDevice }, (_, i) => ({
        name: `p${i}`,
        table: 'holding',
        address: i,
        type: 'uint16',
      })),
    })),
  };
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, JSON.stringify(config, null, 1)); // JSON is YAML
  return file;
}

/** The flags of cli.js's shebang: the way `jjj-gateway` (npx, the release's bin, the image) starts it. */
function shebangFlags(): string[] {
  const first = readFileSync(cli, 'utf8').split('\n', 1)[0] ?? '';
  return first
    .replace(/^#!.*?\bnode\b/, '')
    .trim()
    .split(/\s+/)
    .filter(Boolean);
}

interface Point {
  equipment: string;
  point: string;
  value: unknown;
  ts: number;
  quality: string;
}

class Subscriber {
  measuring = false;
  points = 0;
  payloadBytes = 0;
  batches = 0;
  wrong = 0;
  notGood = 0;
  pointsAll = 0;
  latencies: number[] = [];

  receive(payload: Buffer): void {
    const now = Date.now();
    const batch = JSON.parse(payload.toString()) as { schema?: string; points?: Point[] };
    if (batch.schema !== 'jjj.telemetry/1' || !batch.points) return;
    this.pointsAll += batch.points.length;
    for (const p of batch.points) {
      // "meter-<d>" / "p<i>": slicing the known prefixes is cheaper than a regular expression.
      if (p.value !== expected(Number(p.equipment.slice(6)), Number(p.point.slice(1)))) this.wrong++;
      if (p.quality !== 'good') this.notGood++;
    }
    if (!this.measuring) return;
    this.batches++;
    this.points += batch.points.length;
    this.payloadBytes += payload.length;
    for (const p of batch.points) this.latencies.push(now - p.ts);
  }
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function rssMbOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1]) / 1024;
}

/** The adapter alone, as `npm run bench:modbus` measures it (its 50 points are of mixed types). */
async function adapterOnly(seconds: number): Promise<string[]> {
  const child = spawn(
    process.execPath,
    [join(here, 'modbus.js'), '--devices', String(deviceCount), '--seconds', String(seconds)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: string[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => lines.push(line));
  await new Promise((resolve) => child.once('exit', resolve));
  return lines
    .filter((line) => /points\/s|CPU µs|gateway RSS/.test(line))
    .map((line) => line.replace(/ \(target[^)]*\)/, ''));
}

const dir = mkdtempSync(join(tmpdir(), 'bench-gateway-'));
const broker = await startMosquittoBroker();
progress(`mosquitto on ${broker.url}`);
const simulators = await startSimulators();
progress(`${deviceCount} Modbus TCP simulators (${pointsPerDevice} registers each) in a child process`);
const configFile = writeConfig(dir, broker.url, simulators.ports);

const subscriber = new Subscriber();
const client = await connectAsync(broker.url, { clientId: 'bench-gateway-subscriber' });
await client.subscribeAsync('#', { qos: 1 });
client.on('message', (_topic, payload) => subscriber.receive(payload));

const profileDir = join(dir, 'profile');
const flags = [
  ...shebangFlags(),
  ...(process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
];
const log = openSync(join(dir, 'gateway.log'), 'w');
const gateway: ChildProcess = spawn(process.execPath, [...flags, cli, 'run', '--config', configFile], {
  stdio: ['ignore', 'ignore', log],
});
const pid = gateway.pid as number;
let exited = false;
gateway.once('exit', () => {
  exited = true;
});
progress(`gateway: node ${[...flags, 'dist/gateway/cli.js'].join(' ')} run --config FILE (pid ${pid})`);
const heap = await GatewayHeap.fromLog(join(dir, 'gateway.log'), measuredSeconds);

const rss: string[] = [];
const gatewayStarted = performance.now();
const rssTimer = setInterval(() => {
  if (!exited)
    rss.push(`${((performance.now() - gatewayStarted) / 1000).toFixed(0)} s ${rssMbOf(pid).toFixed(0)}`);
}, rssEveryMs);

await sleep(warmUpSeconds * 1000);
if (exited) throw new Error(`the gateway exited during warm-up; see ${join(dir, 'gateway.log')}`);
progress(`warm-up done (${subscriber.pointsAll} points received); measuring ${measuredSeconds} s`);
const cpuBefore = cpuSecondsOf(pid);
subscriber.measuring = true;
const measureStarted = performance.now();
await heap.tick(0);
for (let s = 10; s < measuredSeconds; s += 10) {
  await sleep(measureStarted + s * 1000 - performance.now());
  progress(`  ${s} s: ${subscriber.points} points delivered`);
  await heap.tick(s);
}
await sleep(measureStarted + measuredSeconds * 1000 - performance.now());
subscriber.measuring = false;
const elapsedS = (performance.now() - measureStarted) / 1000;
const cpuS = cpuSecondsOf(pid) - cpuBefore;
const rssEnd = rssMbOf(pid);
await heap.finish(elapsedS);
clearInterval(rssTimer);

const stopped = new Promise((resolve) => gateway.once('exit', resolve));
gateway.kill('SIGTERM');
await stopped;
await client.endAsync();
progress('gateway stopped');

let adapterLines: string[] = [];
if (process.env.BENCH_ADAPTER !== '0') {
  progress(`adapter alone (bench/modbus.js, ${Math.min(measuredSeconds, 15)} s measured)`);
  adapterLines = await adapterOnly(Math.min(measuredSeconds, 15));
}
await simulators.stop();
await broker.stop();

const sorted = subscriber.latencies.sort((a, b) => a - b);
const configured = deviceCount * pointsPerDevice;
console.log(
  `\ngateway process: ${deviceCount} devices × ${pointsPerDevice} uint16 points at 1 s, ${elapsedS.toFixed(1)} s measured after ${warmUpSeconds} s of warm-up`,
);
console.log(
  `  points delivered/s       ${(subscriber.points / elapsedS).toFixed(0)} (configured ${configured})`,
);
console.log(`  CPU µs per point         ${((cpuS * 1e6) / subscriber.points).toFixed(2)}`);
console.log(`  CPU                      ${((cpuS / elapsedS) * 100).toFixed(1)} % of one core`);
console.log(`  RSS MB since start       ${rss.join(', ')}; at the end ${rssEnd.toFixed(0)}`);
for (const line of heap.lines()) console.log(line);
console.log(
  `  latency read → received  p50 ${percentile(sorted, 0.5)} ms, p99 ${percentile(sorted, 0.99)} ms, max ${sorted.at(-1)} ms`,
);
console.log(
  `  bytes per point          ${(subscriber.payloadBytes / subscriber.points).toFixed(1)} (payload; ${(subscriber.points / subscriber.batches).toFixed(0)} points per batch)`,
);
console.log(
  `  checked                  ${subscriber.pointsAll} points, ${subscriber.wrong} wrong values, ${subscriber.notGood} not good`,
);
if (adapterLines.length > 0) {
  console.log(
    'adapter alone (bench/modbus.js: its own simulators, mixed types, a counting sink in place of MQTT):',
  );
  for (const line of adapterLines) console.log(line);
  const figure = (pattern: RegExp) =>
    Number(adapterLines.find((line) => pattern.test(line))?.match(/([\d.]+) *(MB)?$/)?.[1]);
  const gatewayCpu = (cpuS * 1e6) / subscriber.points;
  console.log(
    `whole process / adapter alone: CPU per point ×${(gatewayCpu / figure(/CPU µs/)).toFixed(2)}, RSS at the end ×${(rssEnd / figure(/RSS/)).toFixed(2)}`,
  );
}
const profile = process.env.BENCH_PROFILE === '1' ? profileIn(profileDir) : undefined;
if (profile) {
  console.log('where the gateway process spent its CPU (--cpu-prof, whole run incl. start-up):');
  for (const { stage, ms, share } of summariseCpuProfile(profile)) {
    console.log(`  ${stage.padEnd(40)} ${(share * 100).toFixed(1).padStart(5)} %  (${ms.toFixed(0)} ms)`);
  }
  const kept = join(tmpdir(), `bench-gateway-${pid}.cpuprofile`);
  copyFileSync(profile, kept);
  console.log(`  the profile: ${kept} (open it in Chrome DevTools, Performance tab)`);
}
rmSync(dir, { recursive: true, force: true });
progress('done');
