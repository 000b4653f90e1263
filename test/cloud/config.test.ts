import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCollectorConfig, loadCollectorConfig } from '../../cloud/config.js';
import { ConfigError } from '../../gateway/common/errors.js';
import { ALL_GATEWAYS_FILTER } from '../../gateway/schema/index.js';

describe('collector config', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jjj-collector-config-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (text: string) => {
    const file = join(dir, 'collector.yaml');
    writeFileSync(file, text);
    return file;
  };

  const problemsOf = (load: () => unknown): string[] => {
    try {
      load();
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it('fills every default and resolves the store path against the config file', () => {
    const config = loadCollectorConfig(write('{}\n'), {});
    expect(config).toEqual({
      mqtt: {
        url: 'mqtt://127.0.0.1:1883',
        topic: ALL_GATEWAYS_FILTER,
        connections: 1,
        sparkplug: true,
        persistentSession: false,
        connectTimeoutMs: 30_000,
      },
      store: { type: 'sqlite', path: join(dir, 'var/collector.db') },
      ingest: {
        maxMessageBytes: 4 * 1024 * 1024,
        retryMinMs: 200,
        retryMaxMs: 10_000,
        maxFutureSkewMs: 5 * 60_000,
        maxBootStep: 1000,
        maxFirstBoot: 1_000_000,
        maxSeqGap: 10_000,
        maxBatchesPerSecond: 100,
        sites: {},
        claimUnlistedSites: true,
      },
      sparkplug: {
        nodes: [],
        unmapped: 'dead-letter',
        rebirthBackoffMs: 60_000,
        rebirthBackoffMaxMs: 3_600_000,
        reorderTimeoutMs: 5_000,
      },
      http: { host: '127.0.0.1', port: 8080 },
      api: {
        limits: {
          maxSamplesPerQuery: 5_000_000,
          maxRawSamplesPerQuery: 500_000,
          maxSites: 200,
          maxBuckets: 100_000,
          queryTimeoutMs: 10_000,
          readWorkers: 2,
          maxQueuedQueries: 16,
          maxEventClients: 50,
        },
        staleAfterMs: 30_000,
      },
      kpi: {
        timeZone: 'Asia/Shanghai',
        calendars: {},
        sites: {},
        rollups: {
          intervalMs: 10_000,
          graceMs: 60_000,
          lookbackMs: 3_600_000,
          maxChunkMs: 21_600_000,
          minuteRetentionDays: 35,
        },
      },
      network: {
        targets: [
          { year: 2020, projects: 10 },
          { year: 2025, projects: 20 },
        ],
        projects: {},
        sites: {},
      },
      log: { level: 'info' },
      auth: {
        anonymous: 'none',
        sessionTtlMs: 8 * 60 * 60 * 1000,
        secureCookie: false,
        maxLoginFailures: 5,
        loginLockoutMs: 60_000,
      },
      commands: { keyId: 'cloud', lifetimeMs: 30_000, ackTimeoutMs: 10_000 },
    });
  });

  it('resolves the command signing key against the config file', () => {
    const file = write('commands: { signingKeyFile: keys/signing.pem }\n');
    expect(loadCollectorConfig(file, {}).commands.signingKeyFile).toBe(join(dir, 'keys/signing.pem'));
  });

  it('keeps :memory: and absolute store paths, and lets PORT override http.port', () => {
    const file = write('store: { path: ":memory:" }\nhttp: { port: 9000 }\n');
    expect(loadCollectorConfig(file, { PORT: '9100' }).http.port).toBe(9100);
    expect(loadCollectorConfig(file, {}).store).toMatchObject({ type: 'sqlite', path: ':memory:' });
    expect(buildCollectorConfig({ store: { path: '/srv/c.db' } }).store).toMatchObject({ path: '/srv/c.db' });
  });

  it('names the path and the reason of every problem', () => {
    const file = write(
      [
        'mqtt:',
        '  url: http://broker',
        '  topc: x',
        'store:',
        '  type: timescale',
        'http:',
        '  port: 70000',
        '',
      ].join('\n'),
    );
    const problems = problemsOf(() => loadCollectorConfig(file, {}));
    expect(problems).toHaveLength(4);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^mqtt\.url: expected an mqtt:\/\//),
        expect.stringMatching(/^mqtt: .*topc/),
        expect.stringMatching(/^store\.type: /),
        expect.stringMatching(/^http\.port: /),
      ]),
    );
  });

  it('takes a Sparkplug host id only with Sparkplug ingest, and only as one topic level', () => {
    expect(buildCollectorConfig({ sparkplug: { hostId: 'Ignition-SCADA_1' } }).sparkplug.hostId).toBe(
      'Ignition-SCADA_1',
    );
    expect(problemsOf(() => buildCollectorConfig({ sparkplug: { hostId: 'a/b' } }))).toEqual([
      expect.stringMatching(/^sparkplug\.hostId: expected letters, digits/),
    ]);
    expect(
      problemsOf(() => buildCollectorConfig({ mqtt: { sparkplug: false }, sparkplug: { hostId: 'scada' } })),
    ).toEqual([
      'sparkplug.hostId: a Sparkplug host must ingest Sparkplug: set mqtt.sparkplug to true, or remove the hostId',
    ]);
  });

  it('rejects a PORT that is not a port number', () => {
    expect(problemsOf(() => loadCollectorConfig(write('{}\n'), { PORT: 'eighty' }))).toEqual([
      'PORT (environment): expected a port number 0-65535, got "eighty"',
    ]);
  });

  it('reports YAML syntax errors and unreadable files', () => {
    expect(problemsOf(() => loadCollectorConfig(write('mqtt: [\n'), {}))[0]).toMatch(/^\(yaml\) line/);
    expect(problemsOf(() => loadCollectorConfig(join(dir, 'missing.yaml'), {}))[0]).toMatch(
      /^\(file\): cannot read/,
    );
  });

  it('builds a config in code and validates it the same way', () => {
    expect(buildCollectorConfig({ http: { port: 0 } }).http).toEqual({ host: '127.0.0.1', port: 0 });
    expect(problemsOf(() => buildCollectorConfig({ log: { level: 'loud' as never } }))[0]).toMatch(
      /^log\.level: /,
    );
  });
});

describe('cloud/collector.sample.yaml', () => {
  it('is valid and spells out exactly the defaults', () => {
    const sample = join(import.meta.dirname, '../../cloud/collector.sample.yaml');
    const config = loadCollectorConfig(sample, {});
    expect(config).toEqual(buildCollectorConfig({}, { baseDir: join(import.meta.dirname, '../../cloud') }));
  });
});
