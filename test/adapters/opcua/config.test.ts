import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceSchema } from '../../../adapters/opcua/config.js';
import { opcuaAdapter } from '../../../adapters/opcua/index.js';
import { ConfigError } from '../../../gateway/common/errors.js';
import { loadGatewayConfig } from '../../../gateway/config.js';

const entry = {
  protocol: 'opcua',
  id: 'cnc-01',
  line: 'machining',
  endpoint: 'opc.tcp://127.0.0.1:4841',
  points: [{ name: 'spindle-speed', nodeId: 'ns=1;s=cnc-01.spindle-speed', unit: 'RPM' }],
};

function messagesFor(raw: unknown): string[] {
  const result = deviceSchema.safeParse(raw);
  return result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('deviceSchema', () => {
  it('accepts the documented entry and fills the defaults', () => {
    expect(deviceSchema.parse(entry)).toEqual({
      ...entry,
      mode: 'subscription',
      publishingIntervalMs: 1000,
      samplingIntervalMs: 0,
      queueSize: 10,
      discardOldest: true,
      pollIntervalMs: 1000,
      timestamp: 'source',
    });
  });

  it.each([
    'ns=1;s=cnc-01.spindle-speed',
    'ns=2;i=1001',
    'i=2258',
    's=plain',
    'g=72962b91-fa75-4ae6-8d28-b404dc7daf63',
    'ns=3;b=M/RbKBsRVkePCePcx24oRA==',
  ])('accepts the node id %s', (nodeId) => {
    expect(messagesFor({ ...entry, points: [{ name: 'p', nodeId }] })).toEqual([]);
  });

  it.each(['cnc-01.spindle-speed', 'ns=1;x=1', 'ns=1;i=abc', 'ns=70000;i=1', 'i=4294967296', 'g=not-a-guid'])(
    'rejects the node id %s with the expected forms',
    (nodeId) => {
      expect(messagesFor({ ...entry, points: [{ name: 'p', nodeId }] })).toEqual([
        expect.stringMatching(
          /^points\.0\.nodeId: (expected an OPC UA node id|namespace index|numeric identifier)/,
        ),
      ]);
    },
  );

  it.each(['http://127.0.0.1:4841', '127.0.0.1:4841', 'opc.tcp://', 'opc.tcp://host name:4841'])(
    'rejects the endpoint %s',
    (endpoint) => {
      expect(messagesFor({ ...entry, endpoint })).toEqual([
        'endpoint: expected an opc.tcp:// endpoint URL such as opc.tcp://127.0.0.1:4841',
      ]);
    },
  );

  it('accepts endpoints with a host name, an IPv6 address or a path', () => {
    for (const endpoint of [
      'opc.tcp://plc-7.local:4840',
      'opc.tcp://[::1]:4840',
      'opc.tcp://srv:4840/UA/Server',
    ]) {
      expect(messagesFor({ ...entry, endpoint })).toEqual([]);
    }
  });

  it('accepts a secure endpoint with a user identity and fills its defaults', () => {
    const security = {
      policy: 'Basic256Sha256',
      mode: 'SignAndEncrypt',
      user: { type: 'username', username: 'op', passwordEnv: 'OPC_PW' },
    };
    expect(deviceSchema.parse({ ...entry, security }).security).toEqual(security);
    expect(deviceSchema.parse({ ...entry, security: {} }).security).toEqual({
      policy: 'None',
      mode: 'None',
      user: { type: 'anonymous' },
    });
  });

  it.each([
    [{ policy: 'Basic256Sha256' }, 'security.mode: policy None goes with mode None'],
    [{ policy: 'None', mode: 'Sign' }, 'security.mode: policy None goes with mode None'],
    [{ user: { type: 'username', username: 'op' } }, 'security.user: a username identity needs exactly one'],
    [{ policy: 'Basic128Rsa15', mode: 'Sign' }, 'security.policy: Invalid option'],
  ])('rejects the security block %j', (security, message) => {
    expect(messagesFor({ ...entry, security })).toEqual([expect.stringContaining(message)]);
  });

  it('accepts monitored-item options on the device and per point', () => {
    const device = deviceSchema.parse({
      ...entry,
      deadband: { type: 'percent', value: 2 },
      points: [
        { ...entry.points[0], queueSize: 1, discardOldest: false, deadband: { type: 'absolute', value: 5 } },
      ],
    });
    expect(device.points[0]).toMatchObject({
      queueSize: 1,
      discardOldest: false,
      deadband: { type: 'absolute', value: 5 },
    });
    expect(messagesFor({ ...entry, deadband: { type: 'relative', value: 1 } })).toEqual([
      expect.stringContaining('deadband.type'),
    ]);
  });

  it('rejects unknown keys', () => {
    expect(messagesFor({ ...entry, securityMode: 'None' })).toEqual([
      expect.stringContaining('securityMode'),
    ]);
  });
});

describe('addressOf', () => {
  it('gives the node id, and the data type only when declared', () => {
    const device = deviceSchema.parse({
      ...entry,
      points: [
        { name: 'speed', nodeId: 'ns=1;s=cnc-01.spindle-speed' },
        { name: 'total', nodeId: 'ns=1;s=cnc-01.total', dataType: 'uint64' },
      ],
    });
    const [speed, total] = device.points;
    if (!speed || !total) throw new Error('two points expected');
    expect(opcuaAdapter.addressOf(device, speed)).toEqual({ address: 'ns=1;s=cnc-01.spindle-speed' });
    expect(opcuaAdapter.addressOf(device, total)).toEqual({
      address: 'ns=1;s=cnc-01.total',
      dataType: 'uint64',
    });
  });
});

describe('in a gateway config', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opcua-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names the path and the reason of a bad node id', async () => {
    const file = join(dir, 'gateway.yaml');
    await writeFile(
      file,
      [
        'gateway: { id: gw-1, region: BJ, project: jjj-dp-01, site: bj-etown-cnc, siteName: { zh: 车间, en: Workshop } }',
        'devices:',
        '  - { protocol: opcua, id: cnc-01, line: machining, endpoint: "opc.tcp://127.0.0.1:4841",',
        '      points: [ { name: speed, nodeId: "cnc-01.speed" } ] }',
      ].join('\n'),
    );
    let thrown: unknown;
    try {
      loadGatewayConfig(file);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).problems).toEqual([
      expect.stringMatching(/^devices\[0\]\.points\[0\]\.nodeId: expected an OPC UA node id/),
    ]);
  });
});
