/**
 * docker/Dockerfile replayed without an engine, step by step, in a clean temporary folder: the build
 * stage's COPY and RUN lines as written (npm offline, from this machine's cache; the apt-get line is
 * what this machine already has), then the runtime stage's copies from the build stage and its
 * `jjj-gateway` / `jjj-collector` links. The production programs then run through those links as
 * the stack runs them: the collector with docker/collector.yaml and its compose environment, a
 * gateway of a demo site, against a real Mosquitto, influxd 1.6.7 and the site's simulators.
 * Slow by nature: `npm ci` compiles better-sqlite3 (about 70 s on a 2-core machine).
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type Peer, startInfluxdb1 } from '../../bench/collector-peers.js';
import { gatewayConfigFor } from '../../seeds/gateway-config.js';
import { type SiteSimulators, startSiteSimulators } from '../../seeds/site-simulators.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/ports.js';
import { repoRoot } from '../helpers/spawn.js';
import { waitUntil } from '../helpers/wait.js';
import { readCompose, readStackFile } from './stack-files.js';
import {
  collectorEnvironment,
  createStackDatabase,
  feedingSites,
  influxQuery,
  writeStackCollectorConfig,
} from './stack-on-loopback.js';

interface Stage {
  workdir: string;
  /** Instructions after FROM, continuation lines joined. */
  steps: Array<{ instruction: string; args: string }>;
}

/** The Dockerfile's stages, in order. */
function stagesOf(dockerfile: string): Stage[] {
  const stages: Stage[] = [];
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n');
  for (const line of lines) {
    const match = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    // Comments and blank lines match no instruction.
    if (!match) continue;
    const [, instruction = '', args = ''] = match;
    if (instruction === 'FROM') stages.push({ workdir: '/', steps: [] });
    else if (instruction === 'WORKDIR') (stages.at(-1) as Stage).workdir = args;
    else stages.at(-1)?.steps.push({ instruction, args: args.replace(/\s+/g, ' ') });
  }
  return stages;
}

const scratch = mkdtempSync(join(tmpdir(), 'jjj-dockerfile-'));
const buildDir = join(scratch, 'build');
const runtimeDir = join(scratch, 'app');
const binDir = join(scratch, 'usr-local-bin');
const children: ChildProcess[] = [];
let influx: Peer;
let mosquitto: Mosquitto;
let simulators: SiteSimulators;
const [build, runtime] = stagesOf(readStackFile('Dockerfile')) as [Stage, Stage];

/** The environment the image gives its programs: NODE_ENV from the runtime stage, PATH with the links. */
function imageEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: `${binDir}:${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: scratch,
  };
  for (const { instruction, args } of runtime.steps) {
    const [name, value] = args.split('=');
    if (instruction === 'ENV' && name && value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

function startProgram(command: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(join(binDir, command), args, {
    cwd: runtimeDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  children.push(child);
  return { child, output: () => output };
}

const stopProgram = async (child: ChildProcess) => {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  child.kill('SIGTERM');
  return exited;
};

beforeAll(async () => {
  [influx, mosquitto] = await Promise.all([startInfluxdb1(), startMosquitto()]);
}, 60_000);

afterAll(async () => {
  for (const child of children) await stopProgram(child);
  await simulators?.stop();
  await Promise.all([influx?.stop(), mosquitto?.stop()]);
  rmSync(scratch, { recursive: true, force: true });
});

describe('docker/Dockerfile replayed without an engine', () => {
  it('builds: every COPY and RUN of the build stage, npm from the offline cache', () => {
    expect(build.workdir).toBe('/app');
    mkdirSync(buildDir, { recursive: true });
    for (const { instruction, args } of build.steps) {
      if (instruction === 'COPY') {
        const parts = args.split(' ');
        const destination = join(buildDir, parts.at(-1) as string);
        for (const source of parts.slice(0, -1)) {
          const target = destination.endsWith('/') ? join(destination, source) : destination;
          cpSync(join(repoRoot, source), target, { recursive: true });
        }
      } else if (instruction === 'RUN') {
        if (args.startsWith('apt-get')) {
          // The build tools it installs are what this machine must have for the native modules.
          for (const tool of ['python3', 'make', 'g++']) execFileSync('sh', ['-c', `command -v ${tool}`]);
          continue;
        }
        execFileSync('sh', ['-c', args], {
          cwd: buildDir,
          env: { ...process.env, npm_config_offline: 'true' },
          stdio: 'pipe',
        });
      } else {
        throw new Error(`the replay does not know ${instruction} ${args}`);
      }
    }
    expect(existsSync(join(buildDir, 'dist/cloud/cli.js'))).toBe(true);
    expect(existsSync(join(buildDir, 'dist/console/index.html'))).toBe(true);
    // npm prune --omit=dev left the production dependencies only.
    expect(existsSync(join(buildDir, 'node_modules/better-sqlite3'))).toBe(true);
    expect(existsSync(join(buildDir, 'node_modules/vitest'))).toBe(false);
    expect(existsSync(join(buildDir, 'node_modules/vite'))).toBe(false);
  }, 300_000);

  it("assembles the runtime stage: the build stage's copies and the two program links", async () => {
    expect(runtime.workdir).toBe('/app');
    mkdirSync(binDir, { recursive: true });
    const atApp = (path: string) => path.replace(/^\/app\/?/, `${runtimeDir}/`);
    for (const { instruction, args } of runtime.steps) {
      if (instruction === 'COPY') {
        const [from, source = '', destination = ''] = args.split(' ');
        expect(from).toBe('--from=build');
        const target = destination.endsWith('/')
          ? join(runtimeDir, destination, basename(source))
          : join(runtimeDir, destination);
        cpSync(source.replace(/^\/app/, buildDir), target, { recursive: true });
      } else if (instruction === 'RUN') {
        // Links into /usr/local/bin and the /data owner are the image's: replayed into the scratch folder.
        for (const link of args.matchAll(/ln -s (\S+) \/usr\/local\/bin\/(\S+)/g)) {
          symlinkSync(atApp(link[1] as string), join(binDir, link[2] as string));
        }
        const chmod = /chmod \+x ((?:\S+\.js ?)+)/.exec(args);
        execFileSync('chmod', ['+x', ...(chmod?.[1]?.trim().split(' ') ?? [])], { cwd: runtimeDir });
      }
    }
    expect(readFileSync(join(runtimeDir, 'package.json'), 'utf8')).toContain('"name": "jjj-iiot"');
    // The image's default command, through its link.
    const cmd = runtime.steps.find((step) => step.instruction === 'CMD');
    const [program = '', ...programArgs] = JSON.parse(cmd?.args ?? '[]') as string[];
    const { stdout } = await promisify(execFile)(join(binDir, program), programArgs, {
      env: imageEnvironment({}),
      cwd: runtimeDir,
    });
    expect(stdout).toContain('jjj-gateway');
  });

  it("runs the collector with the stack's config and a gateway, their data reaching InfluxDB", async () => {
    const database = await createStackDatabase(influx.url);
    const stateDir = join(scratch, 'data');
    mkdirSync(stateDir);
    const collectorConfig = writeStackCollectorConfig(stateDir, {
      mqttUrl: mosquitto.url,
      influxUrl: influx.url,
    });
    const port = await freePort();
    const collector = startProgram(
      'jjj-collector',
      ['run', '--config', collectorConfig],
      imageEnvironment(collectorEnvironment('collector-1', port)),
    );

    const [site] = feedingSites;
    if (!site) throw new Error('no demo site');
    simulators = await startSiteSimulators(site, {
      opcuaPort: await freePort(),
      modbusPort: await freePort(),
    });
    const gatewayConfig = join(stateDir, 'gateway.yaml');
    const raw = gatewayConfigFor(site, {
      opcuaEndpoint: simulators.opcuaEndpoint,
      modbusHost: simulators.modbus.host,
      modbusPort: simulators.modbus.port,
      mqttUrl: mosquitto.url,
    });
    writeFileSync(
      gatewayConfig,
      stringify({ ...raw, gateway: { ...raw.gateway, stateDir: join(stateDir, 'gateway') } }),
    );
    const gateway = startProgram('jjj-gateway', ['run', '--config', gatewayConfig], imageEnvironment({}));

    // The compose health check, as the container runs it, on this collector's port.
    const [, ...probe] = readCompose().services['collector-1']?.healthcheck.test.slice(1) ?? [];
    await waitUntil(
      () => `the collector's health check passes\n${collector.output()}`,
      async () => {
        const args = probe.map((arg) => arg.replace('127.0.0.1:8080', `127.0.0.1:${port}`));
        return promisify(execFile)(process.execPath, args).then(
          () => true,
          () => false,
        );
      },
      30_000,
    );
    await waitUntil(
      () =>
        `samples of ${site.id} in InfluxDB\ncollector:\n${collector.output()}\ngateway:\n${gateway.output()}`,
      async () =>
        (
          await influxQuery(
            influx.url,
            database,
            `SELECT count("quality") FROM "jjj" WHERE "site" = '${site.id}'`,
          )
        ).length > 0,
      60_000,
    );
    expect(await stopProgram(gateway.child)).toBe(0);
    expect(await stopProgram(collector.child)).toBe(0);
  }, 120_000);
});
