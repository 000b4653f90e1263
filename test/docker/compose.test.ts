/**
 * docker/compose.yaml, the cloud stack, checked without a container engine: it parses; every image
 * (and the Dockerfile's base) is pinned to an exact version; every volume, bind mount and `${VAR}`
 * a service reads is defined; the collectors' config, loaded by the collector's own loader with the
 * stack's environment, points at the broker and InfluxDB services; health checks and non-root users
 * everywhere; the InfluxDB first-start script makes the DBRP mapping and the two users.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadCollectorConfig } from '../../cloud/config.js';
import {
  dockerDir,
  exampleEnvironment,
  readCompose,
  readStackFile,
  serviceEnvironment,
  variablesIn,
} from './stack-files.js';

const compose = readCompose();
const env = exampleEnvironment();
const { services } = compose;
const collectors = ['collector-1', 'collector-2'] as const;
/** An exact version (major.minor.patch), optionally with its digest. */
const PINNED = /^[a-z0-9./-]+:\d+\.\d+\.\d+(-[a-z0-9-]+)?(@sha256:[0-9a-f]{64})?$/;

const service = (name: string) => {
  const found = services[name];
  if (!found) throw new Error(`compose.yaml has no service ${name}`);
  return found;
};
const scratch = mkdtempSync(join(tmpdir(), 'jjj-docker-compose-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('docker/compose.yaml: the cloud stack', () => {
  it('has the broker, InfluxDB, two collectors and Grafana, each from a pinned image', () => {
    expect(Object.keys(services).sort()).toEqual([
      'collector-1',
      'collector-2',
      'grafana',
      'influxdb',
      'mosquitto',
    ]);
    for (const [name, { image }] of Object.entries(services)) expect(image, name).toMatch(PINNED);
    // The collectors' image is built here: its base images are what must be pinned.
    const bases = [...readStackFile('Dockerfile').matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases) expect(base).toMatch(PINNED);
    // Built here, tagged with the version it is built from.
    const { version } = JSON.parse(readFileSync(join(dockerDir, '../package.json'), 'utf8')) as {
      version: string;
    };
    for (const name of collectors) {
      expect(service(name).build?.dockerfile).toBe('docker/Dockerfile');
      expect(service(name).image).toBe(`jjj-iiot:${version}`);
    }
  });

  it('gives every service a health check and a user that is not root', () => {
    for (const [name, { user, healthcheck }] of Object.entries(services)) {
      expect(user, name).toMatch(/^[1-9]\d*(:\d+)?$/);
      expect(['CMD', 'CMD-SHELL'], name).toContain(healthcheck.test[0]);
    }
  });

  it('declares every named volume a service mounts, and every bind mount exists or is a per-installation secret', () => {
    const ignored = readStackFile('.gitignore');
    const declared = new Set(Object.keys(compose.volumes));
    const used = new Set<string>();
    for (const [name, { volumes }] of Object.entries(services)) {
      for (const volume of volumes) {
        const [source = ''] = volume.split(':');
        if (source.startsWith('./')) {
          const path = source.slice(2);
          // broker-auth/ and certs/ are written per installation (docker/README.md) and never committed.
          if (ignored.includes(`${path}/`)) continue;
          expect(() => statSync(join(dockerDir, path)), `${name}: ${volume}`).not.toThrow();
        } else {
          expect(declared, `${name}: ${volume}`).toContain(source);
          used.add(source);
        }
      }
    }
    expect([...declared].sort()).toEqual([...used].sort());
  });

  it('reads every secret from docker/.env, which .env.example lists with placeholders and git ignores', () => {
    const composeText = readStackFile('compose.yaml');
    const read = new Set([
      ...variablesIn(composeText),
      // What the containers' own files read: the collectors' config, Grafana's provisioning, the init script.
      ...variablesIn(readStackFile('collector.yaml')),
    ]);
    // Set per service in compose.yaml, not secrets.
    read.delete('JJJ_COLLECTOR_CLIENT_ID');
    read.delete('JJJ_INGEST_SPARKPLUG');
    expect([...read].sort()).toEqual(Object.keys(env).sort());
    for (const [name, value] of Object.entries(env)) {
      if (/PASSWORD|TOKEN/.test(name)) expect(value, name).toMatch(/^REPLACE-/);
    }
    expect(readStackFile('.gitignore').split('\n')).toContain('.env');
    // No default stands in for a secret: a missing one stops `docker compose up`.
    for (const match of composeText.matchAll(/\$\{([A-Z_]+)(:[?-])/g)) {
      if (/PASSWORD|TOKEN/.test(match[1] as string)) expect(match[2], match[1]).toBe(':?');
    }
    // The image is built from the sources only: nothing of docker/ (where .env lives) is copied in.
    for (const copy of readStackFile('Dockerfile').matchAll(/^COPY (?!--from)(\S+)/gm)) {
      expect(copy[1]).not.toMatch(/^(\.|docker)$/);
    }
  });

  it('hands each container the variables its files read', () => {
    const handed = (name: string) => new Set(Object.keys(service(name).environment));
    for (const name of collectors) {
      for (const variable of variablesIn(readStackFile('collector.yaml')))
        expect(handed(name), name).toContain(variable);
    }
    for (const variable of variablesIn(readStackFile('grafana/provisioning/datasources/influxdb.yaml'))) {
      expect(handed('grafana')).toContain(variable);
    }
    const init = readStackFile('influxdb-init/10-jjj-access.sh');
    for (const variable of variablesIn(init)) {
      // The image exports the bucket id itself after setup.
      if (variable !== 'DOCKER_INFLUXDB_INIT_BUCKET_ID') expect(handed('influxdb')).toContain(variable);
    }
  });

  it("points both collectors, through the collector's own config loader, at the broker and InfluxDB services", () => {
    const mosquittoListeners = [...readStackFile('mosquitto.conf').matchAll(/^listener (\d+)$/gm)].map(
      (m) => m[1],
    );
    const clientIds = new Set<string>();
    for (const name of collectors) {
      const collector = service(name);
      expect(collector.command).toEqual(['jjj-collector', 'run', '--config', '/config/collector.yaml']);
      expect(collector.volumes).toContain('./collector.yaml:/config/collector.yaml:ro');
      expect(collector.depends_on).toMatchObject({
        mosquitto: { condition: 'service_healthy' },
        influxdb: { condition: 'service_healthy' },
      });
      const config = loadCollectorConfig(
        join(dockerDir, 'collector.yaml'),
        serviceEnvironment(collector, env),
      );
      const broker = new URL(config.mqtt.url);
      expect(broker.hostname).toBe('mosquitto');
      expect(mosquittoListeners).toContain(broker.port);
      expect(config.mqtt).toMatchObject({
        shareGroup: 'collectors',
        persistentSession: true,
        password: env.JJJ_COLLECTOR_MQTT_PASSWORD,
      });
      expect(config.mqtt.connections).toBeGreaterThan(1);
      clientIds.add(config.mqtt.clientId as string);
      if (config.store.type !== 'influxdb') throw new Error(`${name}: the stack's store must be InfluxDB`);
      const influx = new URL(config.store.url);
      expect(`${influx.hostname}:${influx.port}`).toBe('influxdb:8086');
      expect(config.store).toMatchObject({
        apiVersion: 1,
        database: env.INFLUXDB_BUCKET,
        username: env.INFLUXDB_COLLECTOR_USER,
        password: env.INFLUXDB_COLLECTOR_PASSWORD,
      });
      // The catalog lives on the volume both collectors mount.
      expect(collector.volumes).toContain('collector-catalog:/data');
      expect(config.store.catalogPath.startsWith('/data/')).toBe(true);
      // The health check's Host header is one the collector serves.
      expect(config.auth.allowedHosts).toContain('127.0.0.1:8080');
      expect(config.auth.allowedHosts).toContain(env.JJJ_CONSOLE_HOST);
      expect(config.auth.metricsToken).toBe(env.JJJ_METRICS_TOKEN);
    }
    expect(clientIds.size).toBe(collectors.length);
  });

  it('gives Grafana the InfluxDB service in InfluxQL mode on the bucket, and provisions the dashboards folder it mounts', () => {
    const provisioning = parse(readStackFile('grafana/provisioning/datasources/influxdb.yaml')) as {
      datasources: Array<{
        uid: string;
        type: string;
        url: string;
        jsonData: { version: string; dbName: string };
      }>;
    };
    const [datasource] = provisioning.datasources;
    expect(datasource).toMatchObject({ uid: 'jjj-influxdb', type: 'influxdb', url: 'http://influxdb:8086' });
    expect(datasource?.jsonData.version).toBe('InfluxQL');
    // The database InfluxQL names is the bucket (the DBRP mapping of the first start).
    expect(variablesIn(datasource?.jsonData.dbName ?? '')).toEqual(new Set(['INFLUXDB_BUCKET']));
    const dashboards = parse(readStackFile('grafana/provisioning/dashboards/jjj-iiot.yaml')) as {
      providers: Array<{ options: { path: string } }>;
    };
    const path = dashboards.providers[0]?.options.path;
    expect(service('grafana').volumes).toContain(`./grafana/dashboards:${path}:ro`);
    expect(
      service('grafana').environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH?.startsWith(`${path}/`),
    ).toBe(true);
  });

  it('sets up InfluxDB on first start: the DBRP mapping and the v1 users, each with its own rights', () => {
    const script = join(dockerDir, 'influxdb-init/10-jjj-access.sh');
    // The image runs only executable *.sh files of /docker-entrypoint-initdb.d.
    expect(statSync(script).mode & 0o111).toBe(0o111);
    // A stand-in `influx` CLI records its arguments, one call per line.
    const bin = join(scratch, 'bin');
    const calls = join(scratch, 'influx-calls');
    execFileSync('mkdir', ['-p', bin]);
    writeFileSync(join(bin, 'influx'), `#!/bin/sh\necho "$*" >> "${calls}"\n`);
    chmodSync(join(bin, 'influx'), 0o755);
    const influxdb = serviceEnvironment(service('influxdb'), env);
    execFileSync(script, [], {
      env: { PATH: `${bin}:/usr/bin:/bin`, ...influxdb, DOCKER_INFLUXDB_INIT_BUCKET_ID: '0123456789abcdef' },
    });
    const bucket = '0123456789abcdef';
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual([
      `v1 dbrp create --db ${env.INFLUXDB_BUCKET} --rp autogen --bucket-id ${bucket} --default`,
      `v1 auth create --username ${env.INFLUXDB_COLLECTOR_USER} --password ${env.INFLUXDB_COLLECTOR_PASSWORD} --read-bucket ${bucket} --write-bucket ${bucket} --description jjj collectors: write samples and KPI rollups, read them back`,
      `v1 auth create --username ${env.INFLUXDB_GRAFANA_USER} --password ${env.INFLUXDB_GRAFANA_PASSWORD} --read-bucket ${bucket} --description Grafana: read only`,
    ]);
    // A variable missing from the environment stops the script before any call.
    rmSync(calls);
    const { INFLUXDB_GRAFANA_PASSWORD: _left, ...missing } = influxdb;
    expect(() =>
      execFileSync(script, [], {
        env: { PATH: `${bin}:/usr/bin:/bin`, ...missing, DOCKER_INFLUXDB_INIT_BUCKET_ID: bucket },
        stdio: 'pipe',
      }),
    ).toThrow(/INFLUXDB_GRAFANA_PASSWORD/);
    expect(() => statSync(calls)).toThrow();
  });
});
