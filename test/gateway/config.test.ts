/** The delivery sections of the gateway config: defaults, sizes with units, TLS files, `path: reason` errors. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../gateway/common/errors.js';
import { DEFAULT_OUTBOX_BYTES, parseGatewayConfig } from '../../gateway/config.js';
import { counterGatewayConfig } from './delivery-fixtures.js';

const base = () =>
  counterGatewayConfig({
    gatewayId: 'gw',
    mqttUrl: 'mqtt://127.0.0.1:1883',
    devicePort: 502,
    stateDir: 'state',
  });

function problems(raw: unknown): string[] {
  try {
    parseGatewayConfig(raw, 'test.yaml', '/srv/gw');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('gateway config: mqtt, outbox and delivery', () => {
  it('defaults to a disk outbox under the state directory, safe fsync, MQTT 3.1.1 and a 20× replay', () => {
    const config = parseGatewayConfig(base(), 'test.yaml', '/srv/gw');
    expect(config.outboxDir).toBe('/srv/gw/state/outbox');
    expect(config.outbox).toEqual({ type: 'disk', maxBytes: DEFAULT_OUTBOX_BYTES, fsync: 'every-batch' });
    expect(config.mqtt.protocolVersion).toBe(4);
    expect(config.delivery.replaySpeedup).toBeGreaterThanOrEqual(10);
  });

  it('publishes compact, uncompressed batches 15 ms after their first reading; an old intervalMs stays valid', () => {
    const { publish } = parseGatewayConfig({ ...base(), publish: {} }, 'test.yaml', '/srv/gw');
    expect(publish).toEqual({
      lingerMs: 15,
      maxPoints: 5000,
      intervalMs: 1000,
      format: 'compact',
      compression: 'none',
    });
    // A config written for the 1 s publish tick.
    const old = parseGatewayConfig({ ...base(), publish: { intervalMs: 2000 } }, 'test.yaml', '/srv/gw');
    expect(old.publish).toMatchObject({ intervalMs: 2000, lingerMs: 15 });
    expect(problems({ ...base(), publish: { format: 'protobuf', compression: 'gzip' } })).toEqual([
      expect.stringMatching(/^publish\.format: /),
      expect.stringMatching(/^publish\.compression: /),
    ]);
  });

  it('reads sizes with units and resolves the outbox folder against the config file', () => {
    const config = parseGatewayConfig(
      { ...base(), outbox: { maxBytes: '512MiB', dir: 'spool' } },
      'test.yaml',
      '/srv/gw',
    );
    expect(config.outbox.maxBytes).toBe(512 * 2 ** 20);
    expect(config.outboxDir).toBe(join('/srv/gw', 'spool'));
  });

  it('names each mistake by its path', () => {
    const raw = {
      ...base(),
      mqtt: {
        url: 'mqtt://b',
        protocolVersion: 3,
        tls: { cert: 'gw.pem' },
        reconnect: { minMs: 5000, maxMs: 1000 },
      },
      outbox: { maxBytes: 'lots', fsync: 'sometimes' },
    };
    const found = problems(raw).join('\n');
    expect(found).toMatch(/^mqtt\.protocolVersion: expected 4 \(MQTT 3\.1\.1\) or 5/m);
    expect(found).toMatch(/^mqtt\.tls\.key: cert and key go together/m);
    expect(found).toMatch(/^mqtt\.reconnect\.maxMs: minMs must not exceed maxMs/m);
    expect(found).toMatch(/^outbox\.maxBytes: /m);
    expect(found).toMatch(/^outbox\.fsync: /m);
  });

  it('refuses TLS files it cannot read, naming the setting', () => {
    const raw = { ...base(), mqtt: { url: 'mqtts://b', tls: { ca: 'missing-ca.pem' } } };
    expect(problems(raw)).toEqual(['mqtt.tls.ca: cannot read /srv/gw/missing-ca.pem: ENOENT']);
  });
});
