/**
 * Credentials never reach a log line, and each insecure transport setting is said once at start:
 * a real gateway and a real collector (the built CLIs) run with passwords in their broker URLs
 * (and an InfluxDB token, an OPC UA password) through a connection, a broker outage and a
 * reconnect attempt; every line of their output is searched for the secrets.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/ports.js';
import { spawnNode } from '../helpers/spawn.js';
import { eventually } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'jjj-transport-logs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Log messages (`msg`) of the JSON lines, for counting the warnings. */
const messagesOf = (output: string) =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg: string; level: number });

function expectEachOnce(output: string, patterns: RegExp[]): void {
  const warnings = messagesOf(output).filter((entry) => entry.level === 40);
  for (const pattern of patterns) {
    expect(
      warnings.filter((entry) => pattern.test(entry.msg)),
      String(pattern),
    ).toHaveLength(1);
  }
}

/** Runs until connected, then through a broker outage, and stops it; returns everything it printed. */
async function throughAnOutage(
  broker: Mosquitto,
  script: string,
  args: string[],
  connected: RegExp,
): Promise<string> {
  const program = spawnNode(script, args);
  await eventually(() => expect(program.stderr()).toMatch(connected), 20_000);
  await broker.stop();
  await eventually(
    () => expect(program.stderr()).toMatch(/connection lost|disconnected from broker/),
    10_000,
  );
  // A reconnect attempt or two against the stopped broker.
  await new Promise((wait) => setTimeout(wait, 1500));
  program.child.kill('SIGTERM');
  await program.exited;
  return program.stdout() + program.stderr();
}

describe('secrets in URLs stay out of the logs; insecure settings warn once', () => {
  it('gateway: MQTT URL password, rejectUnauthorized false, an OPC UA password over security None', async () => {
    const broker = await startMosquitto();
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      stringify({
        gateway: {
          id: 'gw-logs',
          region: 'BJ',
          project: 'jjj-dp-01',
          site: 'bj-logs',
          siteName: { zh: '日志', en: 'Logs' },
          stateDir: join(dir, 'gw-state'),
        },
        mqtt: {
          url: `mqtt://gw-logs:gw-secret-4711@127.0.0.1:${broker.port}`,
          tls: { rejectUnauthorized: false },
          reconnect: { minMs: 200, maxMs: 400 },
        },
        log: { level: 'info' },
        devices: [
          {
            protocol: 'opcua',
            id: 'cnc-01',
            line: 'machining',
            endpoint: `opc.tcp://127.0.0.1:${await freePort()}`,
            security: {
              mode: 'None',
              policy: 'None',
              user: { type: 'username', username: 'operator', password: 'opc-secret-0815' },
            },
            points: [{ name: 'state', nodeId: 'ns=1;s=cnc-01.state' }],
          },
        ],
      }),
    );
    const output = await throughAnOutage(
      broker,
      'dist/gateway/cli.js',
      ['run', '--config', file],
      /connected to broker/,
    );
    expect(output).toContain('mqtt://gw-logs:***@127.0.0.1');
    expect(output).not.toContain('gw-secret-4711');
    expect(output).not.toContain('opc-secret-0815');
    expectEachOnce(output, [
      /^mqtt\.tls\.rejectUnauthorized is false: /,
      /^mqtt: a password or token goes unencrypted over mqtt:\/\//,
      /^security: user operator logs in to opc\.tcp:\/\/127\.0\.0\.1:\d+ over security mode None/,
    ]);
  }, 60_000);

  it('collector: MQTT URL password, rejectUnauthorized false, an InfluxDB token over http to another host', async () => {
    const broker = await startMosquitto();
    const file = join(dir, 'collector.yaml');
    writeFileSync(
      file,
      stringify({
        mqtt: {
          url: `mqtt://collector:col-secret-1234@127.0.0.1:${broker.port}`,
          tls: { rejectUnauthorized: false },
        },
        // TEST-NET-1: never reached; the warning is about the setting, at start.
        store: {
          type: 'influxdb',
          url: 'http://192.0.2.10:8086',
          org: 'jjj',
          bucket: 'telemetry',
          token: 'influx-token-5678',
          catalogPath: join(dir, 'catalog.db'),
        },
        http: { port: 0 },
        log: { level: 'info' },
      }),
    );
    const output = await throughAnOutage(
      broker,
      'dist/cloud/cli.js',
      ['run', '--config', file],
      /collector started/,
    );
    expect(output).toContain('mqtt://collector:***@127.0.0.1');
    expect(output).not.toContain('col-secret-1234');
    expect(output).not.toContain('influx-token-5678');
    expectEachOnce(output, [
      /^mqtt\.tls\.rejectUnauthorized is false: /,
      /^mqtt: a password or token goes unencrypted over mqtt:\/\//,
      /^store: a password or token goes unencrypted over http:\/\/ to 192\.0\.2\.10:8086/,
    ]);
  }, 60_000);
});
