/**
 * Real servers on loopback for the collector's benchmark and tests: Mosquitto, VictoriaMetrics
 * (InfluxDB v2 write API) and InfluxDB 1.x, each on a free port with its own temporary directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Peer {
  url: string;
  port: number;
  /** The server's process id, for CPU accounting. */
  pid: number;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
}

export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForTcp(
  port: number,
  child: ChildProcess,
  name: string,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${output()}`);
    const open = await new Promise<boolean>((answer) => {
      const socket = tcpConnect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        answer(true);
      });
      socket.once('error', () => answer(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port}: ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function startServer(
  name: string,
  command: string,
  args: (dir: string, port: number) => string[],
  options: {
    port?: number;
    dir?: string;
    keepDir?: boolean;
    prepare?: (dir: string, port: number) => void;
  } = {},
): Promise<Peer & { dir: string }> {
  const port = options.port ?? (await freeLoopbackPort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), `jjj-${name}-`));
  options.prepare?.(dir, port);
  const child = spawn(command, args(dir, port), { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (chunk) => {
    output = (output + String(chunk)).slice(-4000);
  });
  try {
    await waitForTcp(port, child, name, () => output);
  } catch (error) {
    child.kill('SIGKILL');
    if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `${name === 'mosquitto' ? 'mqtt' : 'http'}://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? 0,
    dir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function startMosquittoBroker(): Promise<Peer> {
  return startServer('mosquitto', '/usr/sbin/mosquitto', (dir) => ['-c', join(dir, 'mosquitto.conf')], {
    prepare: (dir, port) =>
      writeFileSync(
        join(dir, 'mosquitto.conf'),
        [
          `listener ${port} 127.0.0.1`,
          'allow_anonymous true',
          'persistence false',
          // A collector holding PUBACKs while its store is down must not make the broker drop messages.
          'max_queued_messages 0',
          'max_inflight_messages 0',
          '',
        ].join('\n'),
      ),
  });
}

/**
 * `dir` and `port` restart a stopped instance on its data. `dedupe` keeps one sample per series and
 * millisecond, as several collectors in front of VictoriaMetrics need (docs/scale-out.md).
 */
export function startVictoriaMetrics(
  options: { dir?: string; port?: number; dedupe?: boolean } = {},
): Promise<Peer & { dir: string }> {
  return startServer(
    'victoria-metrics',
    '/usr/bin/victoria-metrics',
    (dir, port) => [
      `-storageDataPath=${dir}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      '-loggerLevel=ERROR',
      '-retentionPeriod=100y',
      ...(options.dedupe ? ['-dedup.minScrapeInterval=1ms'] : []),
    ],
    { ...options, keepDir: options.dir !== undefined },
  );
}

/** influxd needs two ports (HTTP and RPC); another process may take one first, so it tries again. */
export async function startInfluxdb1(): Promise<Peer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startInfluxdb1Once();
    } catch (error) {
      if (attempt >= 3 || !String(error).includes('address already in use')) throw error;
    }
  }
}

function startInfluxdb1Once(): Promise<Peer> {
  return startServer('influxd', '/usr/bin/influxd', (dir) => ['run', '-config', join(dir, 'influxdb.conf')], {
    prepare: (dir, port) =>
      writeFileSync(
        join(dir, 'influxdb.conf'),
        [
          'reporting-disabled = true',
          // The RPC port must be free too: one above the HTTP port is picked and checked by the caller's retry.
          `bind-address = "127.0.0.1:${port + 1}"`,
          '[meta]',
          `  dir = "${join(dir, 'meta')}"`,
          '[data]',
          `  dir = "${join(dir, 'data')}"`,
          `  wal-dir = "${join(dir, 'wal')}"`,
          '  query-log-enabled = false',
          '[http]',
          `  bind-address = "127.0.0.1:${port}"`,
          '  log-enabled = false',
          '[monitor]',
          '  store-enabled = false',
          '',
        ].join('\n'),
      ),
  });
}

/** VictoriaMetrics makes recent writes searchable on demand. */
export async function forceFlush(victoriaMetricsUrl: string): Promise<void> {
  const response = await fetch(`${victoriaMetricsUrl}/internal/force_flush`);
  if (!response.ok) throw new Error(`force_flush: HTTP ${response.status}`);
}

export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

/** Every series matching `match`, via VictoriaMetrics' export API (JSON lines). */
export async function exportSeries(victoriaMetricsUrl: string, match: string): Promise<ExportedSeries[]> {
  await forceFlush(victoriaMetricsUrl);
  const params = new URLSearchParams({ 'match[]': match, start: '0', end: String(Date.now() + 86_400_000) });
  const response = await fetch(`${victoriaMetricsUrl}/api/v1/export?${params}`);
  if (!response.ok) throw new Error(`export: HTTP ${response.status}: ${await response.text()}`);
  return (await response.text())
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ExportedSeries);
}
