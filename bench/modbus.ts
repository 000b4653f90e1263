/**
 * `npm run bench:modbus`: 200 Modbus TCP devices × 50 points polled at 1 s by the real adapter
 * (ModbusDeviceAdapter, one per device, a counting sink in place of the gateway's MQTT path), with
 * the simulators in a child process so the CPU figures are the gateway side's alone. Then 10,000
 * exception responses through one adapter, to show the heap does not grow with them.
 *
 * Options: --devices N (200), --seconds S (15 measured, after 3 of warm-up).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { Reading, SouthboundSink } from '../adapters/contract.js';
import { ModbusDeviceAdapter } from '../adapters/modbus/adapter.js';
import { deviceSchema, type ModbusDevice } from '../adapters/modbus/config.js';
import { registerCount } from '../adapters/modbus/decode.js';
import { defaultPlanOptions, planReads, protocolLimits } from '../adapters/modbus/planner.js';
import { tuneHeap } from '../gateway/v8-heap.js';

const { values } = parseArgs({
  options: { devices: { type: 'string', default: '200' }, seconds: { type: 'string', default: '15' } },
});
const deviceCount = Number(values.devices);
const measuredSeconds = Number(values.seconds);
const warmUpSeconds = 3;
const pointsPerDevice = 50;
const simulatorRegisters = 100;

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
// The heap sizing `jjj-gateway` applies to itself, so the RSS is the gateway's adapter's.
tuneHeap();

/** 50 points of mixed types over 70 contiguous holding registers, some scaled, like a power meter. */
function pointsOf(): Record<string, unknown>[] {
  const types = ['uint16', 'int16', 'float32', 'uint32', 'int32'] as const;
  const points: Record<string, unknown>[] = [];
  let address = 0;
  for (let i = 0; i < pointsPerDevice; i++) {
    const type = types[i % types.length] ?? 'uint16';
    points.push({ name: `p${i}`, table: 'holding', address, type, ...(i % 4 === 0 ? { scale: 0.1 } : {}) });
    address += registerCount(type);
  }
  return points;
}

function deviceOf(index: number, port: number, overrides: Record<string, unknown> = {}): ModbusDevice {
  return deviceSchema.parse({
    protocol: 'modbus',
    id: `meter-${index}`,
    line: 'bench',
    host: '127.0.0.1',
    port,
    unitId: 1,
    pollIntervalMs: 1000,
    timeoutMs: 1000,
    points: pointsOf(),
    ...overrides,
  });
}

/** Fewest reads that can cover the points' registers, whatever the planner: their span, 125 at a time. */
function lowerBound(device: ModbusDevice): number {
  const first = Math.min(...device.points.map((p) => p.address));
  const last = Math.max(...device.points.map((p) => p.address + registerCount(p.type, p.length)));
  return Math.ceil((last - first) / protocolLimits.holding);
}

class CountingSink implements SouthboundSink {
  points = 0;
  batches = 0;
  bad = 0;
  exceptions = 0;
  disconnected = 0;
  readings(_deviceId: string, readings: readonly Reading[]): void {
    this.batches++;
    this.points += readings.length;
    for (const reading of readings) {
      if (reading.quality === 'good') continue;
      this.bad++;
      if (reading.status?.source === 'modbus') this.exceptions++;
    }
  }
  deviceState(_deviceId: string, state: string): void {
    if (state === 'disconnected') this.disconnected++;
  }
}

interface Simulators {
  child: ChildProcess;
  ports: number[];
  requests(): Promise<number>;
  stop(): Promise<void>;
}

async function startSimulators(count: number): Promise<Simulators> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'modbus-simulators.js');
  const child = spawn(process.execPath, [script, String(count), String(simulatorRegisters)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: Interface = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const waiters: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiters.shift()?.(line));
  const nextLine = () => new Promise<string>((resolve) => waiters.push(resolve));
  const ready = await nextLine();
  const { ports } = JSON.parse(ready.replace(/^READY /, '')) as { ports: number[] };
  return {
    child,
    ports,
    async requests() {
      const answer = nextLine();
      child.stdin?.write('count\n');
      return Number((await answer).replace(/^COUNT /, ''));
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin?.end();
      await exited;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const logger = pino({ level: 'silent' });

async function pollingCase(simulators: Simulators): Promise<void> {
  const sink = new CountingSink();
  const devices = simulators.ports.map((port, index) => deviceOf(index, port));
  const adapters = devices.map(
    (device) => new ModbusDeviceAdapter(device, { sink, logger, stateDir: '/tmp', metrics: new Registry() }),
  );
  const planned = devices.reduce((sum, device) => sum + planFor(device), 0);
  const bound = devices.reduce((sum, device) => sum + lowerBound(device), 0);
  const startedAt = performance.now();
  await Promise.all(adapters.map((adapter) => adapter.start()));
  // Every device polls on the same 1 s grid: a window from mid-interval to mid-interval holds
  // exactly `measuredSeconds` scans of each.
  await sleep(startedAt + warmUpSeconds * 1000 + 500 - performance.now());

  const requestsBefore = await simulators.requests();
  const readingsBefore = sink.points;
  const batchesBefore = sink.batches;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await sleep(measuredSeconds * 1000);
  const elapsedS = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const requests = (await simulators.requests()) - requestsBefore;
  const points = sink.points - readingsBefore;
  const scans = sink.batches - batchesBefore;
  const rssMb = process.memoryUsage().rss / 2 ** 20;
  await Promise.all(adapters.map((adapter) => adapter.stop()));

  const cpuMicros = cpu.user + cpu.system;
  const expectedPerSecond = deviceCount * pointsPerDevice;
  console.log(
    `polling: ${deviceCount} devices × ${pointsPerDevice} points at 1 s, ${elapsedS.toFixed(1)} s measured`,
  );
  console.log(
    `  points/s                 ${(points / elapsedS).toFixed(0)} (configured ${expectedPerSecond})`,
  );
  console.log(`  gateway CPU µs per point ${(cpuMicros / points).toFixed(2)} (target ≤ 20)`);
  console.log(`  gateway CPU              ${((cpuMicros / 1e6 / elapsedS) * 100).toFixed(1)} % of one core`);
  console.log(`  gateway RSS              ${rssMb.toFixed(0)} MB (target ≤ 150)`);
  console.log(
    `  requests per scan        ${(requests / scans).toFixed(3)} per device; planner ${(planned / deviceCount).toFixed(3)}, lower bound ${(bound / deviceCount).toFixed(3)}`,
  );
  console.log(`  bad readings             ${sink.bad}, disconnections ${sink.disconnected}`);
}

function planFor(device: ModbusDevice): number {
  const items = device.points.map((p) => ({
    table: p.table,
    address: p.address,
    length: registerCount(p.type, p.length),
  }));
  return planReads(items, { ...defaultPlanOptions, maxGap: device.maxGap }).length;
}

/**
 * 10 devices of 25 points, each at an address the device rejects, so 25 requests per 10 ms poll
 * per device, every one answered with an exception: heap after GC
 * once 5,000 exceptions are in (warm), then after 10,000 and 20,000 more. Flat = no growth per exception.
 */
async function exceptionCase(simulators: Simulators): Promise<void> {
  const sink = new CountingSink();
  const points = Array.from({ length: 25 }, (_, i) => ({
    name: `missing-${i}`,
    table: 'holding',
    address: simulatorRegisters + i * 2,
    type: 'uint16',
  }));
  const adapters = simulators.ports.slice(0, 10).map((port, index) => {
    const device = deviceOf(index, port, { id: `rejecting-${index}`, pollIntervalMs: 10, maxGap: 0, points });
    return new ModbusDeviceAdapter(device, { sink, logger, stateDir: '/tmp', metrics: new Registry() });
  });
  await Promise.all(adapters.map((adapter) => adapter.start()));
  const heapAfter = async (exceptions: number) => {
    while (sink.exceptions < exceptions) await sleep(20);
    collectGarbage();
    return process.memoryUsage().heapUsed;
  };
  const warm = await heapAfter(5000);
  const after10k = await heapAfter(15_000);
  const after20k = await heapAfter(25_000);
  await Promise.all(adapters.map((adapter) => adapter.stop()));
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MB`;
  const kib = (bytes: number) => `${bytes >= 0 ? '+' : ''}${(bytes / 1024).toFixed(0)} KiB`;
  console.log(
    `exceptions: IllegalDataAddress responses through ${adapters.length} adapters, heap used after GC`,
  );
  console.log(`  after 5,000 (warm)       ${mb(warm)}`);
  console.log(`  after 10,000 more        ${mb(after10k)} (${kib(after10k - warm)})`);
  console.log(
    `  after 20,000 more        ${mb(after20k)} (${kib(after20k - warm)}; second 10,000: ${kib(after20k - after10k)})`,
  );
}

const simulators = await startSimulators(deviceCount);
try {
  await pollingCase(simulators);
  await exceptionCase(simulators);
} finally {
  await simulators.stop();
}
