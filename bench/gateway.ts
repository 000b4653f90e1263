/**
 * `npm run bench:gateway`: the whole gateway measured as a user runs it (issue 15). A real Mosquitto,
 * device simulators in a child process (the workload), and the real `jjj-gateway run --config FILE`
 * process with its defaults (disk outbox in a temporary state dir, QoS 1) started with the flags of
 * its `#!` line. A subscriber in this process decodes every payload, counts the points delivered and
 * checks every value against what the simulator served. Then the adapter alone (its own bench, a
 * counting sink) on the same machine, for the ratio.
 *
 * It prints figures, it asserts nothing. Environment:
 *   BENCH_WORKLOAD   modbus (default): BENCH_DEVICES (200) × BENCH_POINTS (50) Modbus TCP devices at 1 s;
 *                    opcua: BENCH_DEVICES (1) × BENCH_POINTS (10,000) OPC UA items changing every second
 *   BENCH_CONTRACT   jjj (default): the gateway's JSON contract, whichever version and compression it
 *                    publishes; sparkplug: `mqtt.format: sparkplug`, DDATA decoded by the Sparkplug codec
 *   BENCH_SECONDS    measured seconds (40), after the first full round of points and 5 s of warm-up
 *   BENCH_NODE_FLAGS Node.js flags for the gateway in place of its `#!` line's (e.g. "" for none)
 *   BENCH_PUBLISH    JSON merged into the config's `publish:` section, e.g. '{"compression":"zlib"}'
 *   BENCH_ADAPTER=0  skips the adapter-alone run;  BENCH_PROFILE=1 charges the gateway's CPU to stages
 *   BENCH_SOAK=1     measures for 10 minutes (see gateway-heap.ts)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync, type IPublishPacket, type Packet } from 'mqtt';
import { z } from 'zod';
import { cpuSecondsOf, sleep } from './collector-load.js';
import { startMosquittoBroker } from './collector-peers.js';
import { profileIn, summariseCpuProfile } from './cpu-profile.js';
import { gatewayShebangFlags } from './gateway-flags.js';
import { GatewayHeap, metricsConfig, rssSampleMs, soak, soakSeconds } from './gateway-heap.js';
import { startModbusWorkload } from './gateway-modbus.js';
import { startOpcuaWorkload } from './gateway-opcua.js';
import { Contract, packetBytes, WireDecoder } from './gateway-wire.js';
import {
  type AdapterFigures,
  type CheckOutcome,
  type DeliveredSample,
  memoryMbOf,
  type Workload,
} from './gateway-workload.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'gateway', 'cli.js');

const Settings = z.object({
  BENCH_WORKLOAD: z.enum(['modbus', 'opcua']).default('modbus'),
  BENCH_CONTRACT: Contract.default('jjj'),
  BENCH_DEVICES: z.coerce.number().int().positive().optional(),
  BENCH_POINTS: z.coerce.number().int().positive().optional(),
  BENCH_SECONDS: z.coerce.number().positive().default(40),
  BENCH_NODE_FLAGS: z.string().optional(),
  BENCH_PUBLISH: z
    .string()
    .transform((text) => z.record(z.string(), z.unknown()).parse(JSON.parse(text)))
    .optional(),
  BENCH_ADAPTER: z.enum(['0', '1']).default('1'),
  BENCH_PROFILE: z.enum(['0', '1']).default('0'),
});
const settings = Settings.parse(process.env);
const defaults =
  settings.BENCH_WORKLOAD === 'modbus' ? { devices: 200, points: 50 } : { devices: 1, points: 10_000 };
const deviceCount = settings.BENCH_DEVICES ?? defaults.devices;
const pointsPerDevice = settings.BENCH_POINTS ?? defaults.points;
const measuredSeconds = soak ? soakSeconds : settings.BENCH_SECONDS;
const warmUpSeconds = 5;
/** Longest wait for the first full round of points (an OPC UA start creates its PKI and items first). */
const firstRoundTimeoutS = 120;
const rssEveryMs = rssSampleMs;
const profiling = settings.BENCH_PROFILE === '1';
const startedAt = performance.now();

function progress(message: string): void {
  console.log(`[${((performance.now() - startedAt) / 1000).toFixed(1).padStart(6)} s] ${message}`);
}

function writeConfig(dir: string, brokerUrl: string, workload: Workload): string {
  const config = {
    gateway: {
      id: 'gw-bench',
      region: 'BJ',
      project: 'bench',
      site: 'bench',
      siteName: { zh: '基准', en: 'Bench' },
      stateDir: join(dir, 'state'),
    },
    mqtt: { url: brokerUrl, ...(settings.BENCH_CONTRACT === 'sparkplug' && { format: 'sparkplug' }) },
    ...(settings.BENCH_PUBLISH && { publish: settings.BENCH_PUBLISH }),
    ...metricsConfig,
    devices: workload.devices,
  };
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, JSON.stringify(config, null, 1)); // JSON is YAML
  return file;
}

/** Counts and checks what reaches the broker's subscriber; latency and bytes only while measuring. */
class Subscriber {
  measuring = false;
  points = 0;
  payloadBytes = 0;
  packetBytes = 0;
  /** What the outbox would hold of these batches during an outage (jjj contract). */
  outboxBytes = 0;
  messages = 0;
  /** Since the start, measuring or not. */
  pointsAll = 0;
  goodAll = 0;
  notGood = 0;
  readonly outcomes: Record<CheckOutcome, number> = { ok: 0, wrong: 0, stale: 0, missed: 0 };
  readonly latencies: number[] = [];
  readonly decoder: WireDecoder;

  constructor(
    contract: Contract,
    private readonly check: (sample: DeliveredSample) => CheckOutcome,
  ) {
    this.decoder = new WireDecoder(contract);
  }

  receive(packet: IPublishPacket & { length: number }): void {
    const now = Date.now();
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const samples = this.decoder.decode(packet.topic, payload);
    if (!samples || samples.length === 0) return;
    this.pointsAll += samples.length;
    for (const sample of samples) {
      // A bad sample (e.g. NotConnected before a device answers) has no value to check.
      if (sample.quality !== 'good') this.notGood++;
      else {
        this.goodAll++;
        this.outcomes[this.check(sample)]++;
      }
    }
    if (!this.measuring) return;
    this.messages++;
    this.points += samples.length;
    this.payloadBytes += payload.length;
    this.packetBytes += packetBytes(packet.length);
    this.outboxBytes += this.decoder.outboxRecordBytes(payload);
    for (const sample of samples) this.latencies.push(now - sample.ts);
  }
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** What the report prints: the gateway process, then the adapter alone. */
interface Figures {
  workload: Workload;
  nodeFlags: readonly string[];
  elapsedS: number;
  cpuS: number;
  rss: string[];
  rssEnd: number;
  rssPeak: number;
  heapLines: string[];
  subscriber: Subscriber;
  simulatorNote?: string | undefined;
  adapter?: AdapterFigures | undefined;
  profile?: string;
}

function report(f: Figures): void {
  const { subscriber: s, workload } = f;
  const sorted = s.latencies.sort((a, b) => a - b);
  const gatewayCpu = (f.cpuS * 1e6) / s.points;
  const contract = [...s.decoder.formats].map(([format, count]) => `${format} ×${count}`).join(', ');
  console.log(
    `\ngateway process: ${workload.description}, ${f.elapsedS.toFixed(1)} s measured after warm-up; ` +
      `Node.js flags: ${f.nodeFlags.join(' ') || '(none)'}`,
  );
  console.log(
    `  points delivered/s       ${(s.points / f.elapsedS).toFixed(0)} (configured ${workload.pointsPerSecond})`,
  );
  console.log(`  CPU µs per point         ${gatewayCpu.toFixed(2)}`);
  console.log(`  CPU                      ${((f.cpuS / f.elapsedS) * 100).toFixed(1)} % of one core`);
  console.log(
    `  RSS MB since start       ${f.rss.join(', ')}; at the end ${f.rssEnd.toFixed(0)}, peak ${f.rssPeak.toFixed(0)}`,
  );
  for (const line of f.heapLines) console.log(line);
  console.log(
    `  latency read → received  p50 ${percentile(sorted, 0.5)} ms, p99 ${percentile(sorted, 0.99)} ms, max ${sorted.at(-1)} ms`,
  );
  console.log(
    `  bytes per point          ${(s.payloadBytes / s.points).toFixed(1)} payload, ${(s.packetBytes / s.points).toFixed(1)} ` +
      `MQTT packet (${(s.points / s.messages).toFixed(0)} points per message)`,
  );
  if (s.outboxBytes > 0) {
    const perPoint = s.outboxBytes / s.points;
    console.log(
      `  outbox bytes per point   ${perPoint.toFixed(1)} (a deflated record); an outage at 1,000 points/s fills ` +
        `${((perPoint * 1000 * 86_400) / 2 ** 30).toFixed(2)} GiB a day`,
    );
  }
  console.log(`  wire format              ${contract || '(nothing received)'}`);
  const { ok, wrong, stale, missed } = s.outcomes;
  console.log(
    `  checked                  ${s.pointsAll} points: ${ok} right, ${wrong} wrong values, ${stale} stale, ` +
      `${missed} after missed changes, ${s.notGood} not good, ${s.decoder.invalid} invalid payloads or metrics`,
  );
  if (f.simulatorNote) console.log(`  simulator side           ${f.simulatorNote}`);
  if (f.adapter) {
    console.log('adapter alone (its own bench and simulators, a counting sink in place of the MQTT path):');
    for (const line of f.adapter.lines) console.log(line);
    console.log(
      `whole process / adapter alone: CPU per point ×${(gatewayCpu / f.adapter.cpuMicrosPerPoint).toFixed(2)}, ` +
        `RSS at the end ×${(f.rssEnd / f.adapter.rssMb).toFixed(2)}`,
    );
  }
  if (f.profile) {
    console.log('where the gateway process spent its CPU (--cpu-prof, whole run incl. start-up):');
    for (const { stage, ms, share } of summariseCpuProfile(f.profile)) {
      console.log(`  ${stage.padEnd(40)} ${(share * 100).toFixed(1).padStart(5)} %  (${ms.toFixed(0)} ms)`);
    }
  }
}

const dir = mkdtempSync(join(tmpdir(), 'bench-gateway-'));
const nodeFlags = settings.BENCH_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? gatewayShebangFlags();
const broker = await startMosquittoBroker();
progress(`mosquitto on ${broker.url}`);
const workload =
  settings.BENCH_WORKLOAD === 'modbus'
    ? await startModbusWorkload(here, deviceCount, pointsPerDevice)
    : await startOpcuaWorkload(here, dir, deviceCount, pointsPerDevice, nodeFlags);
progress(`simulators in a child process: ${workload.description}`);
const configFile = writeConfig(dir, broker.url, workload);

const subscriber = new Subscriber(settings.BENCH_CONTRACT, (sample) => workload.check(sample));
const client = await connectAsync(broker.url, { clientId: 'bench-gateway-subscriber' });
await client.subscribeAsync('#', { qos: 1 });
// The packet, not the 'message' event: its length gives the bytes on the wire.
client.on('packetreceive', (packet: Packet) => {
  if (packet.cmd === 'publish') subscriber.receive(packet as IPublishPacket & { length: number });
});

const profileDir = join(dir, 'profile');
const flags = [...nodeFlags, ...(profiling ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
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
    rss.push(
      `${((performance.now() - gatewayStarted) / 1000).toFixed(0)} s ${memoryMbOf(pid, 'VmRSS').toFixed(0)}`,
    );
}, rssEveryMs);

const firstRoundBy = performance.now() + firstRoundTimeoutS * 1000;
while (subscriber.goodAll < workload.pointsPerSecond && !exited && performance.now() < firstRoundBy) {
  await sleep(200);
}
if (exited) throw new Error(`the gateway exited; see ${join(dir, 'gateway.log')}`);
if (subscriber.goodAll < workload.pointsPerSecond) {
  throw new Error(`no full round of points within ${firstRoundTimeoutS} s; see ${join(dir, 'gateway.log')}`);
}
progress(`first round of points in; warming up ${warmUpSeconds} s`);
await sleep(warmUpSeconds * 1000);
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
const rssEnd = memoryMbOf(pid, 'VmRSS');
const rssPeak = memoryMbOf(pid, 'VmHWM');
await heap.finish(elapsedS);
clearInterval(rssTimer);

const stopped = new Promise((resolve) => gateway.once('exit', resolve));
gateway.kill('SIGTERM');
await stopped;
await client.endAsync();
progress('gateway stopped');
const simulatorNote = await workload.stop();

let adapter: AdapterFigures | undefined;
if (settings.BENCH_ADAPTER === '1') {
  const seconds = Math.min(measuredSeconds, 15);
  progress(`adapter alone (${seconds} s measured)`);
  adapter = await workload.adapterAlone(seconds);
}
await broker.stop();

const profile = profiling ? profileIn(profileDir) : undefined;
report({
  workload,
  nodeFlags,
  elapsedS,
  cpuS,
  rss,
  rssEnd,
  rssPeak,
  heapLines: heap.lines(),
  subscriber,
  simulatorNote,
  adapter,
  profile,
});
if (profile) {
  const kept = join(tmpdir(), `bench-gateway-${pid}.cpuprofile`);
  copyFileSync(profile, kept);
  console.log(`  the profile: ${kept} (open it in Chrome DevTools, Performance tab)`);
}
rmSync(dir, { recursive: true, force: true });
progress('done');
