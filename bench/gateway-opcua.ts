/**
 * The OPC UA workload of `npm run bench:gateway`: one OPC UA server in a child process
 * (`opcua-server.js`) with DEVICES × POINTS Double variables, each changing once a second (the changes
 * spread evenly over the second), and DEVICES gateway devices of POINTS points each on it, every
 * option left at its default (subscription, publishing interval 1 s, sampling interval 0).
 *
 * Variable i holds tick × N + i at its tick-th change, and point "v<i>" reads variable i: a value is
 * right when it is i modulo N, a point's ticks must rise (else the sample is stale: delivered twice or
 * out of order), and a tick more than one above the last means changes were missed. The adapter-alone
 * figure is `bench/opcua.js` on the same number of variables (one device, a counting sink).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freeLoopbackPort } from './collector-peers.js';
import {
  type AdapterFigures,
  type CheckOutcome,
  type DeliveredSample,
  outputOf,
  type Workload,
} from './gateway-workload.js';

async function startServer(benchDir: string, variables: number, pkiDir: string) {
  const port = await freeLoopbackPort();
  const child: ChildProcess = spawn(
    process.execPath,
    [join(benchDir, 'opcua-server.js'), String(port), String(variables), pkiDir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the OPC UA server exited with ${String(code)}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      const ready = /ready (\S+)/.exec(chunk.toString());
      if (ready?.[1]) resolve(ready[1]);
    });
  });
  child.removeAllListeners('exit');
  return { child, endpoint };
}

export async function startOpcuaWorkload(
  benchDir: string,
  workDir: string,
  deviceCount: number,
  pointsPerDevice: number,
  nodeFlags: readonly string[],
): Promise<Workload> {
  const variables = deviceCount * pointsPerDevice;
  const server = await startServer(benchDir, variables, join(workDir, 'opcua-server-pki'));
  /** The tick last delivered per variable; -1 before the first. */
  const lastTick = new Float64Array(variables).fill(-1);
  const check = (sample: DeliveredSample): CheckOutcome => {
    const index = Number(sample.point.slice(1));
    const value = sample.value;
    if (typeof value !== 'number' || !(index < variables) || value % variables !== index) return 'wrong';
    const tick = (value - index) / variables;
    const last = lastTick[index] as number;
    if (tick <= last) return 'stale';
    lastTick[index] = tick;
    return last >= 0 && tick > last + 1 ? 'missed' : 'ok';
  };
  return {
    description:
      `${variables} OPC UA monitored items changing every second (${deviceCount} device(s) × ` +
      `${pointsPerDevice} on one server, defaults: subscription, publishing interval 1 s)`,
    pointsPerSecond: variables,
    devices: Array.from({ length: deviceCount }, (_, d) => ({
      protocol: 'opcua',
      id: `opc-${d}`,
      line: 'bench',
      endpoint: server.endpoint,
      points: Array.from({ length: pointsPerDevice }, (_, i) => {
        const index = d * pointsPerDevice + i;
        return { name: `v${index}`, nodeId: `ns=1;s=v${index}` };
      }),
    })),
    check,
    async stop() {
      let output = '';
      server.child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const exited = new Promise((resolve) => server.child.once('exit', resolve));
      server.child.kill('SIGTERM');
      await exited;
      const twice = /changed twice in one catch-up (\d+)/.exec(output)?.[1];
      if (twice !== undefined && twice !== '0')
        return `the OPC UA server's change timer ran a second or more late: ${twice} changes made twice in one turn (a client may only see the last)`;
      return undefined;
    },
    async adapterAlone(seconds: number): Promise<AdapterFigures> {
      const output = await outputOf(join(benchDir, 'opcua.js'), [], {
        BENCH_VARIABLES: String(variables),
        BENCH_SECONDS: String(seconds),
        BENCH_BASELINE: '0',
        BENCH_NODE_FLAGS: nodeFlags.join(' '),
      });
      const line = output.find((text) => text.startsWith('OPC UA adapter')) ?? '';
      return {
        cpuMicrosPerPoint: Number(/([\d.]+) µs CPU/.exec(line)?.[1]),
        rssMb: Number(/RSS (\d+) MB/.exec(line)?.[1]),
        lines: [`  ${line.replace(/\s+/g, ' ')}`],
      };
    },
  };
}
