import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { PointRecord, StatusMessage } from '../../gateway/schema/index.js';
import { sites } from '../../seeds/catalogue.js';
import { gatewayConfigFor } from '../../seeds/gateway-config.js';
import { type SiteSimulators, startSiteSimulators } from '../../seeds/site-simulators.js';
import { jsonSchemaValidator } from '../helpers/json-schema.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { recordMqtt } from '../helpers/mqtt-recorder.js';
import { freePort } from '../helpers/ports.js';
import { spawnNode } from '../helpers/spawn.js';

const CLI = 'dist/gateway/cli.js';
const site = sites[0] as (typeof sites)[number];
const dir = mkdtempSync(join(tmpdir(), 'jjj-gateway-cli-'));
let simulators: SiteSimulators;
let broker: Mosquitto;

function writeConfig(name: string, config: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof config === 'string' ? config : stringify(config));
  return file;
}

function siteConfig(mqttUrl = 'mqtt://127.0.0.1:1883') {
  const config = gatewayConfigFor(site, {
    opcuaEndpoint: simulators.opcuaEndpoint,
    modbusHost: simulators.modbus.host,
    modbusPort: simulators.modbus.port,
    mqttUrl,
  });
  // The whole suite loads two cores: give loopback devices time to answer rather than time out.
  for (const device of config.devices) if (device.protocol === 'modbus') device.timeoutMs = 5000;
  return config;
}

beforeAll(async () => {
  simulators = await startSiteSimulators(site, { opcuaPort: await freePort(), modbusPort: await freePort() });
  broker = await startMosquitto();
});

afterAll(async () => {
  await simulators?.stop();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('jjj-gateway validate', () => {
  it('accepts a valid config and says what it holds', async () => {
    const run = spawnNode(CLI, ['validate', '--config', writeConfig('valid.yaml', siteConfig())]);
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toMatch(/valid \(gateway gw-bj-etown-cnc, \d+ devices, \d+ points\)/);
  });

  it('exits 2 naming each bad path and its reason, with no stack trace', async () => {
    const broken = siteConfig();
    const devices = broken.devices as unknown as Array<
      Record<string, unknown> & { points: Array<Record<string, unknown>> }
    >;
    (broken.gateway as Record<string, unknown>).region = 'SH';
    const modbus = devices.find((d) => d.protocol === 'modbus');
    if (!modbus?.points[0]) throw new Error('seed site 0 has a Modbus device with points');
    modbus.points[0].type = 'float33';
    devices.push({ ...modbus, protocol: 'profinet' });
    const run = spawnNode(CLI, ['validate', '--config', writeConfig('broken.yaml', broken)]);
    expect(await run.exited).toBe(2);
    const modbusIndex = devices.indexOf(modbus);
    expect(run.stderr()).toContain('invalid configuration');
    expect(run.stderr()).toMatch(/gateway\.region: .*BJ/);
    expect(run.stderr()).toContain(`devices[${modbusIndex}].points[0].type:`);
    expect(run.stderr()).toMatch(
      new RegExp(`devices\\[${devices.length - 1}\\]\\.protocol: expected one of modbus, opcua`),
    );
    expect(run.stderr()).not.toMatch(/\n\s+at /);
  });

  it('exits 2 on YAML that does not parse, and on a missing file', async () => {
    const yaml = spawnNode(CLI, ['validate', '--config', writeConfig('bad.yaml', 'gateway: [unclosed\n')]);
    expect(await yaml.exited).toBe(2);
    expect(yaml.stderr()).toMatch(/\(yaml\) line \d+/);
    const missing = spawnNode(CLI, ['validate', '--config', join(dir, 'nope.yaml')]);
    expect(await missing.exited).toBe(2);
    expect(missing.stderr()).toContain('cannot read');
  });

  it('explains its usage', async () => {
    const help = spawnNode(CLI, ['--help']);
    expect(await help.exited).toBe(0);
    expect(help.stdout()).toContain('jjj-gateway <command> --config FILE');
    const wrong = spawnNode(CLI, ['launch', '--config', 'x.yaml']);
    expect(await wrong.exited).toBe(2);
    expect(wrong.stderr()).toContain('unknown command "launch"');
  });
});

describe('jjj-gateway test', () => {
  it('prints one JSON line per configured point, valid against the committed JSON Schema, and exits 0', async () => {
    const config = siteConfig();
    const run = spawnNode(CLI, ['test', '--config', writeConfig('test.yaml', config)]);
    expect(await run.exited, run.stderr()).toBe(0);
    const records = run
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as PointRecord);
    const configured = (config.devices as Array<{ points: unknown[] }>).reduce(
      (n, d) => n + d.points.length,
      0,
    );
    expect(records).toHaveLength(configured);
    const validate = jsonSchemaValidator();
    for (const record of records) {
      expect(validate(record)).toEqual([]);
      expect(record).toMatchObject({
        schema: 'jjj.point/1',
        region: 'BJ',
        site: 'bj-etown-cnc',
        quality: 'good',
      });
    }
    const protocols = new Set(records.map((r) => r.equipment));
    expect(protocols.has('cnc-01')).toBe(true);
    expect(protocols.has('meter-main')).toBe(true);
  });

  it('exits 1 and prints bad-quality points with a null value when a device cannot be reached', async () => {
    const config = siteConfig();
    const devices = config.devices as unknown as Array<Record<string, unknown>>;
    const modbus = devices.find((d) => d.protocol === 'modbus') as Record<string, unknown>;
    modbus.port = await freePort();
    modbus.timeoutMs = 300;
    const run = spawnNode(CLI, [
      'test',
      '--config',
      writeConfig('unreachable.yaml', { ...config, devices: [modbus] }),
    ]);
    expect(await run.exited).toBe(1);
    const records = run
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as PointRecord);
    expect(records.length).toBe((modbus.points as unknown[]).length);
    for (const record of records) {
      expect(record.quality).toBe('bad');
      expect(record.value).toBeNull();
      expect(record.status?.source).toBe('gateway');
    }
  });
});

describe('jjj-gateway run', () => {
  it('publishes online status, metadata and telemetry, then offline on SIGTERM', async () => {
    const recorder = await recordMqtt(broker.url, 'jjj/v1/BJ/bj-etown-cnc/#');
    try {
      const config = {
        ...siteConfig(broker.url),
        gateway: { ...siteConfig().gateway, stateDir: join(dir, 'state-a') },
      };
      const run = spawnNode(CLI, ['run', '--config', writeConfig('run.yaml', config)]);
      await recorder.waitFor(
        (m) => m.filter((x) => x.topic.endsWith('/telemetry')).length >= 2,
        'two batches',
        30_000,
      );
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      await recorder.waitFor(
        (m) => m.some((x) => x.topic.endsWith('/status') && (x.json as StatusMessage).state === 'offline'),
        'offline status',
      );
      const statuses = recorder.messages
        .filter((m) => m.topic.endsWith('/status'))
        .map((m) => (m.json as StatusMessage).state);
      expect(statuses).toEqual(['online', 'offline']);
      expect(recorder.messages.some((m) => m.topic.endsWith('/metadata'))).toBe(true);
    } finally {
      await recorder.close();
    }
  });

  it('leaves a retained offline status through the Last Will when killed, and counts boots', async () => {
    const stateDir = join(dir, 'state-b');
    const config = { ...siteConfig(broker.url), gateway: { ...siteConfig().gateway, stateDir } };
    const file = writeConfig('kill.yaml', config);
    const boots: number[] = [];
    for (let i = 0; i < 2; i++) {
      const recorder = await recordMqtt(broker.url, 'jjj/v1/BJ/bj-etown-cnc/gw-bj-etown-cnc/#');
      try {
        const run = spawnNode(CLI, ['run', '--config', file]);
        await recorder.waitFor((m) => m.some((x) => x.topic.endsWith('/telemetry')), 'a batch', 30_000);
        run.child.kill('SIGKILL');
        await run.exited;
        await recorder.waitFor(
          (m) =>
            m.some(
              (x) =>
                x.topic.endsWith('/status') && !x.retain && (x.json as StatusMessage).state === 'offline',
            ),
          'the Last Will',
          30_000,
        );
        const online = recorder.messages.find(
          (m) => m.topic.endsWith('/status') && (m.json as StatusMessage).state === 'online',
        );
        boots.push((online?.json as StatusMessage | undefined)?.gateway.boot ?? -1);
      } finally {
        await recorder.close();
      }
    }
    expect(boots[1]).toBe((boots[0] as number) + 1);
  });
});
