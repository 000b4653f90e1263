/** Starts a real Mosquitto broker (Debian package) on a free loopback port for one test file. */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { waitUntil } from './wait.js';

export interface Mosquitto {
  port: number;
  url: string;
  /** What the broker has logged so far (connections name their client id and username). */
  log(): string;
  stop(): Promise<void>;
}

const MOSQUITTO = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';

/**
 * `port` is for tests that must start the broker where a client already tries to connect. The broker
 * lets anonymous clients in unless `extraConfig` has its own `allow_anonymous` line.
 */
export async function startMosquitto(extraConfig: string[] = [], port?: number): Promise<Mosquitto> {
  port ??= await freePort();
  const anonymous = extraConfig.some((line) => line.startsWith('allow_anonymous'))
    ? []
    : ['allow_anonymous true'];
  return startMosquittoWithConfig(
    [`listener ${port} 127.0.0.1`, ...anonymous, 'persistence false', ...extraConfig],
    port,
  );
}

/** Starts Mosquitto with exactly these config lines; resolves once `port` (one of its listeners) accepts. */
export async function startMosquittoWithConfig(config: string[], port: number): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'jjj-mosquitto-'));
  const configFile = join(dir, 'mosquitto.conf');
  writeFileSync(configFile, [...config, ''].join('\n'));
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  await waitForPort(port, () => (child.exitCode !== null ? `mosquitto exited: ${stderr}` : undefined));
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    log: () => stderr,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Mosquitto started as root drops to the `mosquitto` user before it reads its password and ACL files,
 * as it does in production: give it `files` (and let it through `dirs`), as an operator must.
 */
export function readableByBroker(dirs: string[], files: string[]): void {
  if (process.getuid?.() !== 0) return;
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((line) => line.startsWith('mosquitto:'));
  if (!entry) return;
  const [, , uid, gid] = entry.split(':').map(Number) as [number, number, number, number];
  for (const dir of dirs) chmodSync(dir, 0o711);
  for (const file of files) chownSync(file, uid, gid);
}

/** Resolves when something accepts TCP connections on the port; rejects after 10 s or when `failed` says why. */
export function waitForPort(port: number, failed: () => string | undefined = () => undefined): Promise<void> {
  return waitUntil(
    `something listens on 127.0.0.1:${port}`,
    async () => {
      const reason = failed();
      if (reason) throw new Error(reason);
      return new Promise<boolean>((answer) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          answer(true);
        });
        socket.once('error', () => answer(false));
      });
    },
    10_000,
  );
}
