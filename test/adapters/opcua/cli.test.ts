import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findSite } from '../../../seeds/catalogue.js';
import { SiteModel } from '../../../seeds/signals.js';
import { type OpcuaSimulator, startOpcuaSimulator } from '../../../seeds/simulators/opcua-simulator.js';
import { freePort } from '../../helpers/ports.js';
import { spawnNode } from '../../helpers/spawn.js';

const CLI = 'dist/gateway/cli.js';
let dir: string;
let simulator: OpcuaSimulator;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opcua-cli-'));
  const site = findSite('bj-etown-cnc');
  if (!site) throw new Error('seed site bj-etown-cnc missing');
  simulator = await startOpcuaSimulator(site, {
    port: await freePort(),
    model: new SiteModel(site, { startMs: Date.now() }),
  });
});

afterAll(async () => {
  await simulator?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const spawned = spawnNode(CLI, args);
  const code = await spawned.exited;
  return { code, stdout: spawned.stdout(), stderr: spawned.stderr() };
}

describe('jjj-gateway discover opcua', () => {
  it('writes a config of the seed server that validate accepts and test reads with good quality', {
    timeout: 90_000,
  }, async () => {
    const discovered = await run(['discover', 'opcua', simulator.endpoint, '--depth', '4']);
    expect(discovered.code).toBe(0);
    const config = parse(discovered.stdout) as {
      devices: { id: string; line: string; points: Record<string, unknown>[] }[];
    };
    const cnc = config.devices.find((device) => device.id === 'cnc-01');
    expect(cnc?.line).toBe('machining');
    expect(cnc?.points).toContainEqual({
      name: 'spindle-speed',
      nodeId: 'ns=1;s=cnc-01.spindle-speed',
      browsePath: '/machining/cnc-01/spindle-speed',
      dataType: 'float64',
      description: 'spindle speed',
    });
    const file = join(dir, 'discovered.yaml');
    await writeFile(file, discovered.stdout);

    const validated = await run(['validate', '--config', file]);
    expect(validated.stderr).toBe('');
    const points = config.devices.flatMap((device) => device.points);
    expect(validated.stdout).toContain(
      `valid (gateway gw-discovered, ${config.devices.length} devices, ${points.length} points)`,
    );

    const tested = await run(['test', '--config', file, '--log-level', 'error']);
    const records = tested.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { quality: string });
    expect(records).toHaveLength(points.length);
    expect(records.filter((record) => record.quality !== 'good')).toEqual([]);
    expect(tested.code).toBe(0);
  });

  it('refuses a usage error with exit code 2', async () => {
    const result = await run(['discover', 'modbus', 'tcp://127.0.0.1:502']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('usage: discover opcua');
  });
});

describe('jjj-gateway certificates', () => {
  it('lists an empty trust list of a new gateway and refuses an unknown fingerprint', {
    timeout: 60_000,
  }, async () => {
    const file = join(dir, 'gateway.yaml');
    await writeFile(
      file,
      [
        'gateway: { id: gw-1, region: BJ, project: jjj-dp-01, site: bj-etown-cnc, siteName: { zh: 车间, en: Workshop } }',
        'mqtt: { url: "mqtt://127.0.0.1:1883" }',
        'devices:',
        '  - { protocol: opcua, id: cnc-01, line: machining, endpoint: "opc.tcp://127.0.0.1:4841", points: [{ name: speed, nodeId: "ns=1;s=cnc-01.spindle-speed" }] }',
      ].join('\n'),
    );
    const listed = await run(['certificates', '--config', file, 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^no server certificates in .*var\/gw-1\/opcua-pki yet\n$/);

    const trusted = await run(['certificates', '--config', file, 'trust', 'deadbeefdeadbeef']);
    expect(trusted.code).toBe(1);
    expect(trusted.stderr).toContain(
      '[OPCUA_UNKNOWN_CERTIFICATE] no certificate with fingerprint deadbeefdeadbeef',
    );
  });
});
