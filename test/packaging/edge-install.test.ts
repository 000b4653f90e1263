// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the site config reads `${NAME}` from the unit's environment.
/**
 * The edge release end to end, as an edge box gets it: `packaging/release-edge.sh` makes the artefact
 * from the built dist/ (no registry), `install.sh --root` installs it into a scratch root from a network
 * namespace with no network and with `npm`/`npx`/`node` on PATH that fail when called, `systemd-analyze
 * verify` accepts the installed unit, and the unit's ExecStart (paths mapped into the scratch root, the
 * environment systemd would give it) runs the gateway against a seed site's simulators and Mosquitto.
 * Then an upgrade to a second version keeps the config, the outbox and the boot counter.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { TelemetryBatch } from '../../gateway/schema/index.js';
import { sites } from '../../seeds/catalogue.js';
import { gatewayConfigFor } from '../../seeds/gateway-config.js';
import { type SiteSimulators, startSiteSimulators } from '../../seeds/site-simulators.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { recordMqtt } from '../helpers/mqtt-recorder.js';
import { freePort } from '../helpers/ports.js';
import { repoRoot } from '../helpers/spawn.js';
import { waitUntil } from '../helpers/wait.js';

const run = promisify(execFile);
// A seed site no other test runs a gateway for: a gateway of another test that outlives its broker
// and reconnects to a port this test's broker got next cannot pass for this one.
const site = sites.at(-1) as (typeof sites)[number];
const VERSION_1 = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string })
  .version;
const VERSION_2 = '0.1.1-test';
/** What systemd gives a system service as PATH. */
const SYSTEMD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const work = mkdtempSync(join(tmpdir(), 'jjj-edge-install-'));
const root = join(work, 'root');
const unpacked = join(work, 'unpacked');
/** `npm`, `npx` and `node` that only record that they were called: the install and the service use none. */
const trapBin = join(work, 'trap-bin');
const trapLog = join(work, 'trap.log');
const state = join(root, 'var/lib/jjj-gateway');
let artefact1: string;
let simulators: SiteSimulators;
let broker: Mosquitto;
let brokerPort: number;

/** The installed unit as systemd reads it: each key of a section, every value it was given. */
function parseUnit(text: string): Map<string, string[]> {
  const entries = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1] as string;
      continue;
    }
    const equals = line.indexOf('=');
    const key = `${section}.${line.slice(0, equals)}`;
    entries.set(key, [...(entries.get(key) ?? []), line.slice(equals + 1)]);
  }
  return entries;
}

function unitValue(unit: Map<string, string[]>, key: string): string {
  const values = unit.get(key);
  if (values?.length !== 1) throw new Error(`the unit has ${values?.length ?? 0} values of ${key}`);
  return values[0] as string;
}

/** Where an absolute path of the unit lies in the scratch root. */
const inRoot = (path: string) => join(root, path);

/** The environment systemd gives the unit's ExecStart: its Environment=, EnvironmentFile= and StateDirectory=. */
function serviceEnvironment(unit: Map<string, string[]>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: `${trapBin}:${SYSTEMD_PATH}`,
    HOME: inRoot('/var/lib/jjj-gateway'),
    STATE_DIRECTORY: inRoot(`/var/lib/${unitValue(unit, 'Service.StateDirectory')}`),
  };
  for (const assignment of unit.get('Service.Environment') ?? []) {
    const [name, value] = assignment.split('=', 2) as [string, string];
    env[name] = value;
  }
  const envFile = inRoot(unitValue(unit, 'Service.EnvironmentFile').replace(/^-/, ''));
  for (const line of readFileSync(envFile, 'utf8').split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) env[match[1] as string] = match[2];
  }
  return env;
}

interface Service {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** Starts the installed unit's ExecStart command line with paths mapped into the scratch root. */
function startService(): Service {
  const unit = parseUnit(readFileSync(inRoot('/etc/systemd/system/jjj-gateway.service'), 'utf8'));
  const [command, ...args] = unitValue(unit, 'Service.ExecStart')
    .split(/\s+/)
    .map((word) => (word.startsWith('/') ? inRoot(word) : word));
  const child = spawn(command as string, args, {
    env: serviceEnvironment(unit),
    cwd: '/',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, exited, stderr: () => stderr };
}

async function install(releaseDir: string, config: string, envFile: string) {
  return run(
    'unshare',
    ['--net', 'sh', join(releaseDir, 'install.sh'), '--root', root, '--config', config, '--env', envFile],
    { env: { PATH: `${trapBin}:${SYSTEMD_PATH}` } },
  );
}

function outboxRows(): number {
  const file = join(state, 'outbox/outbox.db');
  if (!existsSync(file)) return 0;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const telemetry = (messages: { topic: string; json: unknown }[]) =>
  messages.filter((m) => m.topic.endsWith('/telemetry')).map((m) => m.json as TelemetryBatch);

const siteConfigFile = join(work, 'gateway.yaml');
const envFile = join(work, 'gateway.env');

beforeAll(async () => {
  mkdirSync(trapBin);
  for (const tool of ['npm', 'npx', 'node']) {
    writeFileSync(join(trapBin, tool), `#!/bin/sh\necho "${tool} $*" >> '${trapLog}'\nexit 1\n`);
    chmodSync(join(trapBin, tool), 0o755);
  }
  // The scratch root's own account files, as a fresh Debian has them.
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\ndialout:x:20:\n');

  const { stdout } = await run(
    'sh',
    [join(repoRoot, 'packaging/release-edge.sh'), '--skip-build', '--out', join(work, 'release')],
    { cwd: repoRoot },
  );
  artefact1 = join(work, 'release', `jjj-gateway-${VERSION_1}-linux-${process.arch}.tar.gz`);
  expect(stdout).toContain(`${artefact1}: `);
  mkdirSync(unpacked);
  await run('tar', ['-C', unpacked, '-xzf', artefact1]);

  simulators = await startSiteSimulators(site, { opcuaPort: await freePort(), modbusPort: await freePort() });
  brokerPort = await freePort();
  broker = await startMosquitto([], brokerPort);
  const config = gatewayConfigFor(site, {
    opcuaEndpoint: simulators.opcuaEndpoint,
    modbusHost: simulators.modbus.host,
    modbusPort: simulators.modbus.port,
    mqttUrl: '${MQTT_URL}',
  });
  // Two loaded cores: give loopback devices time to answer rather than time out.
  for (const device of config.devices) if (device.protocol === 'modbus') device.timeoutMs = 5000;
  const withState = {
    ...config,
    gateway: { ...config.gateway, stateDir: '${STATE_DIRECTORY:-/var/lib/jjj-gateway}' },
  };
  writeFileSync(siteConfigFile, `# the site's own config, kept across upgrades\n${stringify(withState)}`);
  writeFileSync(envFile, `MQTT_URL=mqtt://127.0.0.1:${brokerPort}\n`);
}, 120_000);

afterAll(async () => {
  await simulators?.stop();
  await broker?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the edge release', () => {
  it('carries the gateway, its production packages without tools or the collector, Node.js and the install kit', () => {
    const release = join(unpacked, `jjj-gateway-${VERSION_1}-linux-${process.arch}`);
    for (const file of [
      'install.sh',
      'jjj-gateway.service',
      'README.md',
      'VERSION',
      'bin/jjj-gateway',
      'node/bin/node',
      'node/LICENSE',
      'dist/gateway/cli.js',
    ]) {
      expect(existsSync(join(release, file)), file).toBe(true);
    }
    const modules = join(release, 'node_modules');
    for (const needed of [
      'better-sqlite3/build/Release/better_sqlite3.node',
      'modbus-serial',
      'node-opcua-client',
      `@serialport/bindings-cpp/prebuilds/linux-${process.arch}`,
    ]) {
      expect(existsSync(join(modules, needed)), needed).toBe(true);
    }
    for (const notNeeded of [
      'vitest',
      'typescript',
      '@biomejs',
      'fastify',
      '@influxdata',
      'vue',
      'node-opcua-server',
      'better-sqlite3/deps',
    ]) {
      expect(existsSync(join(modules, notNeeded)), notNeeded).toBe(false);
    }
    expect(existsSync(join(release, 'dist/cloud'))).toBe(false);
  });
});

describe('install.sh --root, from a network namespace with no network', () => {
  it('installs the release, the user in dialout, the config, the 0600 environment file and the unit', async () => {
    const hostPasswd = readFileSync('/etc/passwd', 'utf8');
    await install(join(unpacked, `jjj-gateway-${VERSION_1}-linux-${process.arch}`), siteConfigFile, envFile);
    expect(existsSync(trapLog) ? readFileSync(trapLog, 'utf8') : '').toBe('');

    expect(await readlink(join(root, 'opt/jjj-gateway/current'))).toBe(VERSION_1);
    expect(readFileSync(join(root, 'opt/jjj-gateway', VERSION_1, 'VERSION'), 'utf8').trim()).toBe(VERSION_1);
    expect(await readlink(join(root, 'usr/local/bin/jjj-gateway'))).toBe(
      '/opt/jjj-gateway/current/bin/jjj-gateway',
    );
    expect(readFileSync(join(root, 'etc/jjj-gateway/gateway.yaml'), 'utf8')).toBe(
      readFileSync(siteConfigFile, 'utf8'),
    );
    expect(statSync(join(root, 'etc/jjj-gateway/gateway.env')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(root, 'etc/systemd/system/jjj-gateway.service'), 'utf8')).toBe(
      readFileSync(join(repoRoot, 'packaging/jjj-gateway.service'), 'utf8'),
    );

    const user = readFileSync(join(root, 'etc/passwd'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('jjj-gateway:'));
    expect(user).toHaveLength(1);
    const [, , uid, gid, , home, shell] = (user[0] as string).split(':');
    expect(Number(uid)).toBeLessThan(1000);
    expect(home).toBe('/var/lib/jjj-gateway');
    expect(shell).toMatch(/\/nologin$/);
    const groups = readFileSync(join(root, 'etc/group'), 'utf8').split('\n');
    expect(groups.find((l) => l.startsWith('jjj-gateway:'))).toBe(`jjj-gateway:x:${gid}:`);
    expect(groups.find((l) => l.startsWith('dialout:'))).toBe('dialout:x:20:jjj-gateway');
    expect(statSync(state).uid).toBe(Number(uid));
    expect(readFileSync('/etc/passwd', 'utf8')).toBe(hostPasswd);
  }, 60_000);

  it('writes a unit systemd-analyze verify accepts without a warning', async () => {
    // verify needs ExecStart's binary: a copy of the unit with its paths in the scratch root.
    const unitDir = mkdtempSync(join(work, 'verify-'));
    const unit = readFileSync(join(root, 'etc/systemd/system/jjj-gateway.service'), 'utf8')
      .replaceAll('/opt/jjj-gateway/', `${root}/opt/jjj-gateway/`)
      .replaceAll('/etc/jjj-gateway/', `${root}/etc/jjj-gateway/`);
    expect(unit).toContain(`ExecStart=${root}/opt/jjj-gateway/current/bin/jjj-gateway run`);
    writeFileSync(join(unitDir, 'jjj-gateway.service'), unit);
    const { stdout, stderr } = await run('systemd-analyze', ['verify', join(unitDir, 'jjj-gateway.service')]);
    expect(`${stdout}${stderr}`).toBe('');
  });

  it('ships an example config that validates with the example environment', async () => {
    const env = Object.fromEntries(
      readFileSync(join(root, 'etc/jjj-gateway/gateway.env.example'), 'utf8')
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => line.split('=', 2) as [string, string]),
    );
    const { stdout } = await run(
      inRoot('/opt/jjj-gateway/current/bin/jjj-gateway'),
      ['validate', '--config', inRoot('/etc/jjj-gateway/gateway.yaml.example')],
      { env: { PATH: `${trapBin}:${SYSTEMD_PATH}`, ...env } },
    );
    expect(stdout).toMatch(/valid \(gateway gw-bj-etown-cnc, 1 device, 1 point\)/);
  });
});

describe("the unit's ExecStart", () => {
  it('runs the bundled Node.js and sends the site to the broker; batches queue in the outbox while it is down', async () => {
    const recorder = await recordMqtt(broker.url, `jjj/v1/${site.region}/${site.id}/#`);
    const service = startService();
    try {
      await recorder.waitFor((m) => telemetry(m).length >= 2, 'two telemetry batches', 30_000);
      expect(telemetry(recorder.messages).every((batch) => batch.gateway.boot === 1)).toBe(true);
      expect(await readlink(`/proc/${service.child.pid}/exe`)).toBe(
        join(root, 'opt/jjj-gateway', VERSION_1, 'node/bin/node'),
      );
      await recorder.close();
      await broker.stop();
      await waitUntil('batches wait in the outbox', () => outboxRows() >= 2, 20_000);
    } finally {
      service.child.kill('SIGTERM');
    }
    expect(await service.exited, service.stderr()).toBe(0);
    expect(readFileSync(join(state, 'boot-counter'), 'utf8').trim()).toBe('1');
    expect(existsSync(trapLog) ? readFileSync(trapLog, 'utf8') : '').toBe('');
  }, 60_000);
});

describe('an upgrade', () => {
  it('switches current to the new version and keeps the config, the outbox and the boot counter', async () => {
    // The second version: the same build relabelled, as `release-edge.sh --version` would label it.
    const release2 = join(unpacked, `jjj-gateway-${VERSION_2}-linux-${process.arch}`);
    await run('cp', ['-al', join(unpacked, `jjj-gateway-${VERSION_1}-linux-${process.arch}`), release2]);
    for (const file of ['VERSION', 'package.json']) {
      const text = readFileSync(join(release2, file), 'utf8').replace(VERSION_1, VERSION_2);
      rmSync(join(release2, file));
      writeFileSync(join(release2, file), text);
    }
    const outboxBefore = { rows: outboxRows(), sha: sha256(join(state, 'outbox/outbox.db')) };
    expect(outboxBefore.rows).toBeGreaterThan(0);
    const otherConfig = join(work, 'other.yaml');
    writeFileSync(otherConfig, 'gateway: {}\n');

    const { stdout } = await install(release2, otherConfig, envFile);
    expect(stdout).toContain('kept the existing');

    expect(await readlink(join(root, 'opt/jjj-gateway/current'))).toBe(VERSION_2);
    expect(existsSync(join(root, 'opt/jjj-gateway', VERSION_1))).toBe(true);
    expect(readFileSync(join(root, 'etc/jjj-gateway/gateway.yaml'), 'utf8')).toBe(
      readFileSync(siteConfigFile, 'utf8'),
    );
    expect(sha256(join(state, 'outbox/outbox.db'))).toBe(outboxBefore.sha);
    expect(readFileSync(join(state, 'boot-counter'), 'utf8').trim()).toBe('1');
    const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8');
    expect(passwd.match(/^jjj-gateway:/gm)).toHaveLength(1);
    expect(readFileSync(join(root, 'etc/group'), 'utf8')).toContain('dialout:x:20:jjj-gateway\n');

    const version = await run(inRoot('/opt/jjj-gateway/current/bin/jjj-gateway'), ['--version'], {
      env: { PATH: `${trapBin}:${SYSTEMD_PATH}` },
    });
    expect(version.stdout.trim()).toBe(VERSION_2);
  }, 60_000);

  it('starts as boot 2 and delivers the batches boot 1 left in the outbox', async () => {
    broker = await startMosquitto([], brokerPort);
    const recorder = await recordMqtt(broker.url, `jjj/v1/${site.region}/${site.id}/#`);
    const service = startService();
    try {
      await recorder.waitFor(
        (m) =>
          telemetry(m).some((batch) => batch.gateway.boot === 2 && !batch.historical) &&
          telemetry(m).some((batch) => batch.gateway.boot === 1 && batch.historical),
        'live batches of boot 2 and replayed ones of boot 1',
        30_000,
      );
    } finally {
      service.child.kill('SIGTERM');
      await recorder.close();
    }
    expect(await service.exited, service.stderr()).toBe(0);
    expect(readFileSync(join(state, 'boot-counter'), 'utf8').trim()).toBe('2');
  }, 60_000);
});
