/**
 * The Modbus workload of `npm run bench:gateway`: DEVICES Modbus TCP simulators × POINTS holding
 * registers in a child process (`modbus-simulators.js … identity`), polled at 1 s. Register i of device
 * d holds (d × POINTS + i) mod 65,536 and never changes, so every delivered value is checked from the
 * point's identity alone. The adapter-alone figure is `bench/modbus.js` (its own simulators, 50 points
 * of mixed types per device, a counting sink in place of the gateway's MQTT path).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type AdapterFigures, type DeliveredSample, outputOf, type Workload } from './gateway-workload.js';

export async function startModbusWorkload(
  benchDir: string,
  deviceCount: number,
  pointsPerDevice: number,
): Promise<Workload> {
  const child = spawn(
    process.execPath,
    [join(benchDir, 'modbus-simulators.js'), String(deviceCount), String(pointsPerDevice), 'identity'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const ready = await new Promise<string>((resolve) => lines.once('line', resolve));
  const { ports } = JSON.parse(ready.replace(/^READY /, '')) as { ports: number[] };
  const expected = (device: number, point: number) => (device * pointsPerDevice + point) & 0xffff;
  return {
    description: `${deviceCount} Modbus TCP devices × ${pointsPerDevice} uint16 points at 1 s`,
    pointsPerSecond: deviceCount * pointsPerDevice,
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
    // "meter-<d>" / "p<i>": slicing the known prefixes is cheaper than a regular expression.
    check: (sample: DeliveredSample) =>
      sample.value === expected(Number(sample.equipment.slice(6)), Number(sample.point.slice(1)))
        ? 'ok'
        : 'wrong',
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin?.end();
      await exited;
      return undefined;
    },
    async adapterAlone(seconds: number): Promise<AdapterFigures> {
      const output = await outputOf(join(benchDir, 'modbus.js'), [
        '--devices',
        String(deviceCount),
        '--seconds',
        String(seconds),
      ]);
      const figures = output.filter((line) => /points\/s|CPU µs|gateway RSS/.test(line));
      const figure = (pattern: RegExp) =>
        Number(
          figures.find((line) => pattern.test(line))?.match(/([\d.]+)(?: MB)?(?: \(target[^)]*\))?$/)?.[1],
        );
      return {
        cpuMicrosPerPoint: figure(/CPU µs/),
        rssMb: figure(/RSS/),
        lines: figures.map((line) => line.replace(/ \(target[^)]*\)/, '')),
      };
    },
  };
}
