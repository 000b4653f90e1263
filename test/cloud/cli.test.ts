import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../cloud/cli.js';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../cloud/embedded-broker.js';
import { capturedIo } from '../helpers/captured-io.js';
import { spawnNode } from '../helpers/spawn.js';
import { eventually } from '../helpers/wait.js';

const BROKEN = ['mqtt:', '  url: http://nowhere', 'http:', '  port: -1', 'store:', '  kind: sqlite', ''].join(
  '\n',
);

describe('jjj-collector CLI', () => {
  let dir: string;
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jjj-collector-cli-'));
    writeFileSync(join(dir, 'broken.yaml'), BROKEN);
    broker = await startEmbeddedBroker();
    writeFileSync(
      join(dir, 'good.yaml'),
      `mqtt: { url: "${broker.url}" }\nstore: { path: data/collector.db }\nhttp: { port: 0 }\nlog: { level: info }\n`,
    );
  });
  afterAll(async () => {
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('validate: accepts a good config', async () => {
    const { io, out } = capturedIo();
    expect(await runCli(['validate', '--config', join(dir, 'good.yaml')], io)).toBe(0);
    expect(out.stdout).toBe(`${join(dir, 'good.yaml')}: ok\n`);
  });

  it('validate: exits 2 listing each problem as path: reason', async () => {
    const { io, out } = capturedIo();
    expect(await runCli(['validate', '-c', join(dir, 'broken.yaml')], io)).toBe(2);
    const lines = out.stderr.trim().split('\n');
    expect(lines[0]).toBe(`${join(dir, 'broken.yaml')}: invalid configuration`);
    expect(lines.slice(1).map((l) => l.trim().split(':')[0])).toEqual(
      expect.arrayContaining(['mqtt.url', 'http.port', 'store']),
    );
  });

  it('exits 2 with the usage on a missing command or --config, and prints help on --help', async () => {
    const missing = capturedIo();
    expect(await runCli(['validate'], missing.io)).toBe(2);
    expect(missing.out.stderr).toMatch(/^missing --config FILE\n\nUsage:/);
    const unknown = capturedIo();
    expect(await runCli(['serve', '--config', 'x'], unknown.io)).toBe(2);
    const badOption = capturedIo();
    expect(await runCli(['run', '--port', '1'], badOption.io)).toBe(2);
    expect(badOption.out.stderr).toMatch(/--port/);
    const help = capturedIo();
    expect(await runCli(['--help'], help.io)).toBe(0);
    expect(help.out.stdout).toMatch(/jjj-collector run --config FILE/);
  });

  it('users add takes the password from stdin or the environment, never an argument, and refuses a short one', async () => {
    const config = join(dir, 'good.yaml');
    const noPassword = capturedIo();
    expect(await runCli(['users', 'add', 'ada', '--role', 'admin', '-c', config], noPassword.io)).toBe(2);
    expect(noPassword.out.stderr).toMatch(/--password-stdin\) or \$JJJ_COLLECTOR_PASSWORD/);
    const asArgument = capturedIo();
    expect(
      await runCli(
        ['users', 'add', 'ada', '--role', 'admin', '--password', 'x', '-c', config],
        asArgument.io,
      ),
    ).toBe(2);
    const short = capturedIo({ env: { JJJ_COLLECTOR_PASSWORD: 'short' } });
    expect(await runCli(['users', 'add', 'ada', '--role', 'admin', '-c', config], short.io)).toBe(2);
    expect(short.out.stderr).toBe('a password needs at least 12 characters\n');
    const fromStdin = capturedIo();
    const io = { ...fromStdin.io, stdin: Readable.from(['a-long-enough-password\n']) };
    expect(
      await runCli(['users', 'add', 'ada', '--role', 'admin', '--password-stdin', '-c', config], io),
    ).toBe(0);
    const list = capturedIo();
    expect(await runCli(['users', 'list', '-c', config], list.io)).toBe(0);
    expect(list.out.stdout).toBe('ada\tadmin\n');
    const last = capturedIo();
    expect(await runCli(['users', 'remove', 'ada', '-c', config], last.io)).toBe(2);
    expect(last.out.stderr).toBe('"ada" is the last admin\n');
  });

  it('keeps the users of an InfluxDB-backed collector in its catalog file', async () => {
    const config = join(dir, 'influx.yaml');
    writeFileSync(
      config,
      'store: { type: influxdb, url: "http://127.0.0.1:1", org: o, bucket: b, catalogPath: influx-catalog.db }\n',
    );
    const add = capturedIo({ env: { JJJ_COLLECTOR_PASSWORD: 'a-long-enough-password' } });
    expect(await runCli(['users', 'add', 'ivy', '--role', 'viewer', '-c', config], add.io)).toBe(0);
    const db = new Database(join(dir, 'influx-catalog.db'), { readonly: true });
    expect(db.prepare('SELECT name, role FROM users').all()).toEqual([{ name: 'ivy', role: 'viewer' }]);
    db.close();
  });

  it('keygen writes a key pair, prints the gateway block, and never overwrites a key', async () => {
    const out = join(dir, 'keys');
    const first = capturedIo();
    expect(await runCli(['keygen', '--out', out, '--key-id', 'plant-cloud'], first.io)).toBe(0);
    expect(first.out.stdout).toMatch(
      /commands:\n {2}trustedKeys:\n {4}- id: plant-cloud\n {6}publicKey: \|\n {8}-----BEGIN PUBLIC KEY-----\n {8}\S+\n {8}-----END PUBLIC KEY-----\n$/,
    );
    const again = capturedIo();
    expect(await runCli(['keygen', '--out', out], again.io)).toBe(1);
    expect(again.out.stderr).toMatch(/EEXIST.*never overwritten/);
  });

  it('run: serves until told to stop, then closes', async () => {
    let stop: (signal: string) => void = () => {};
    const { io, out } = capturedIo({ stop: new Promise((resolveStop) => (stop = resolveStop)) });
    const exit = runCli(['run', '--config', join(dir, 'good.yaml')], io);
    const started = await eventually(() => {
      const line = out.stderr.split('\n').find((l) => l.includes('collector started'));
      if (!line) throw new Error('not started yet');
      return JSON.parse(line) as { httpUrl: string; store: string };
    });
    expect(started.store).toBe(join(dir, 'data/collector.db'));
    await eventually(async () => expect((await fetch(`${started.httpUrl}/api/v1/health`)).status).toBe(200));
    stop('SIGTERM');
    expect(await exit).toBe(0);
    expect(out.stderr).toMatch(/collector stopped/);
  });

  describe('as a process (the built dist/cloud/cli.js)', () => {
    const runProcess = (args: string[], env: NodeJS.ProcessEnv = {}) => {
      const run = spawnNode('dist/cloud/cli.js', args, env);
      return {
        child: run.child,
        output: {
          get stdout() {
            return run.stdout();
          },
          get stderr() {
            return run.stderr();
          },
        },
        exited: run.exited,
      };
    };

    it('validate on a broken config exits 2 naming the path, without a stack trace', async () => {
      const { output, exited } = runProcess(['validate', '--config', join(dir, 'broken.yaml')]);
      expect(await exited).toBe(2);
      expect(output.stderr).toMatch(/^ {2}mqtt\.url: expected an mqtt:\/\//m);
      expect(output.stderr).toMatch(/^ {2}http\.port: /m);
      expect(output.stderr).not.toMatch(/\n\s+at /);
    });

    it('run stops cleanly on SIGTERM, with PORT choosing the HTTP port', async () => {
      const { freePort } = await import('../helpers/ports.js');
      const port = await freePort();
      const { child, output, exited } = runProcess(['run', '--config', join(dir, 'good.yaml')], {
        PORT: String(port),
      });
      let running: ChildProcess | undefined = child;
      try {
        await eventually(async () =>
          expect((await fetch(`http://127.0.0.1:${port}/api/v1/health`)).status).toBe(200),
        );
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
        running = undefined;
        expect(output.stderr).toMatch(/"signal":"SIGTERM"/);
      } finally {
        running?.kill('SIGKILL');
      }
    });
  });
});
