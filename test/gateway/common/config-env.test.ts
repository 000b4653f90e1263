// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${NAME}` in plain strings is what is tested here.
/**
 * `${NAME}` in the YAML of both programs comes from the environment: one file serves every site and
 * no secret sits in it. A missing variable is a config error naming the path and the variable (exit
 * 2); a value never reaches the output, whether the config is refused or the program runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { expandEnvironment } from '../../../gateway/common/config-loading.js';
import { sites } from '../../../seeds/catalogue.js';
import { gatewayConfigFor } from '../../../seeds/gateway-config.js';
import { type Mosquitto, startMosquitto } from '../../helpers/mosquitto.js';
import { spawnNode } from '../../helpers/spawn.js';
import { waitUntil } from '../../helpers/wait.js';

const SECRET = 'Sup3r-s3cret-broker-pa55';

describe('expandEnvironment', () => {
  const env = { SITE: 'bj-etown-cnc', PORT: '1883', EMPTY: '', FLAG: 'true' };

  it('takes variables, defaults and escapes, and types a whole-value number or boolean', () => {
    const { value, problems } = expandEnvironment(
      {
        site: '${SITE}',
        url: 'mqtt://broker.example:${PORT}',
        port: '${PORT}',
        verbose: '${FLAG}',
        region: '${REGION:-BJ}',
        empty: '${EMPTY:-fallback}',
        literal: 'cost $${PRICE}',
        list: ['a-${SITE}', 7, null],
      },
      env,
    );
    expect(problems).toEqual([]);
    expect(value).toEqual({
      site: 'bj-etown-cnc',
      url: 'mqtt://broker.example:1883',
      port: 1883,
      verbose: true,
      region: 'BJ',
      empty: 'fallback',
      literal: 'cost ${PRICE}',
      list: ['a-bj-etown-cnc', 7, null],
    });
  });

  it('names the path and the variable of every missing or malformed reference, never a value', () => {
    const { problems } = expandEnvironment(
      {
        mqtt: { password: '${MQTT_PASSWORD}', url: 'mqtt://${HOST}:${PORT}' },
        x: ['${1BAD}'],
        y: '${EMPTY}',
      },
      env,
    );
    expect(problems).toEqual([
      'mqtt.password: environment variable MQTT_PASSWORD is not set',
      'mqtt.url: environment variable HOST is not set',
      'x[0]: "${1BAD}" is not a variable reference (${NAME} or ${NAME:-default})',
      'y: environment variable EMPTY is not set',
    ]);
    expect(problems.join('\n')).not.toContain('1883');
  });
});

describe('both programs take their config from the environment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jjj-config-env-'));
  let broker: Mosquitto;
  const site = sites[0] as (typeof sites)[number];

  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The seed site's gateway config with its broker, site and password as references. */
  function gatewayFile(): string {
    const config = gatewayConfigFor(site, {
      opcuaEndpoint: 'opc.tcp://127.0.0.1:1/',
      modbusHost: '127.0.0.1',
      modbusPort: 1,
      mqttUrl: 'placeholder',
    });
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      stringify({
        ...config,
        gateway: { ...config.gateway, id: 'gw-${SITE}', site: '${SITE}', stateDir: join(dir, 'state') },
        mqtt: { url: '${MQTT_URL}', username: 'gw', password: '${MQTT_PASSWORD}' },
        log: { level: 'debug' },
      }),
    );
    return file;
  }

  it('jjj-gateway: validate exits 2 naming a missing variable; run with it set never prints the value', async () => {
    const file = gatewayFile();
    const missing = spawnNode('dist/gateway/cli.js', ['validate', '--config', file], {
      SITE: site.id,
      MQTT_URL: broker.url,
    });
    expect(await missing.exited).toBe(2);
    expect(missing.stderr()).toContain('mqtt.password: environment variable MQTT_PASSWORD is not set');

    const env = { SITE: site.id, MQTT_URL: broker.url, MQTT_PASSWORD: SECRET };
    const valid = spawnNode('dist/gateway/cli.js', ['validate', '--config', file], env);
    expect(await valid.exited).toBe(0);
    expect(valid.stdout()).toContain(`gateway gw-${site.id}`);

    const run = spawnNode('dist/gateway/cli.js', ['run', '--config', file], env);
    await waitUntil(
      'the gateway connected to the broker',
      () => /connected to broker/.test(run.stdout() + run.stderr()),
      20_000,
    );
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const output = valid.stdout() + valid.stderr() + run.stdout() + run.stderr();
    expect(output).not.toContain(SECRET);
  }, 60_000);

  it('jjj-collector: validate exits 2 naming a missing variable; run with it set never prints the value', async () => {
    const file = join(dir, 'collector.yaml');
    writeFileSync(
      file,
      [
        // Block style: in a flow mapping ({ … }) a reference must be quoted, as any text with braces.
        'mqtt:',
        '  url: ${MQTT_URL}',
        '  username: collector',
        '  password: "${MQTT_PASSWORD}"',
        `store: { path: "${join(dir, 'collector.db')}" }`,
        'http:',
        '  port: ${HTTP_PORT:-0}',
        'log: { level: debug }',
        '',
      ].join('\n'),
    );
    const missing = spawnNode('dist/cloud/cli.js', ['validate', '--config', file], { MQTT_URL: broker.url });
    expect(await missing.exited).toBe(2);
    expect(missing.stderr()).toContain('mqtt.password: environment variable MQTT_PASSWORD is not set');

    const env = { MQTT_URL: broker.url, MQTT_PASSWORD: SECRET };
    const run = spawnNode('dist/cloud/cli.js', ['run', '--config', file], env);
    await waitUntil(
      'the collector listening',
      () => /collector started/.test(run.stdout() + run.stderr()),
      20_000,
    );
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.stdout() + run.stderr()).not.toContain(SECRET);
  }, 60_000);
});
