import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpcuaAdapter } from '../../../adapters/opcua/adapter.js';
import { certificatesCommand } from '../../../adapters/opcua/certificates.js';
import { deviceSchema } from '../../../adapters/opcua/config.js';
import { gatewayPkiDir } from '../../../adapters/opcua/pki.js';
import { freePort } from '../../helpers/ports.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { waitUntil } from '../../helpers/wait.js';
import { startTestServer, TEST_USER, type TestServer } from './opcua-test-server.js';

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
let dir: string;
let server: TestServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opcua-security-'));
  server = await startTestServer(await freePort(), dir, { secure: true });
});

afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

function secureAdapter(sink: RecordingSink, password: string): OpcuaAdapter {
  const device = deviceSchema.parse({
    protocol: 'opcua',
    id: 'cnc-01',
    line: 'machining',
    endpoint: server.endpoint,
    security: {
      policy: 'Basic256Sha256',
      mode: 'SignAndEncrypt',
      user: { type: 'username', username: TEST_USER.username, password },
    },
    points: [{ name: 'spindle-speed', nodeId: 'ns=1;s=cnc-01.spindle-speed' }],
  });
  const stateDir = join(dir, 'gateway');
  return new OpcuaAdapter(
    device,
    { sink, logger, stateDir, metrics: new Registry() },
    { pkiDir: gatewayPkiDir(stateDir) },
  );
}

describe('Basic256Sha256 SignAndEncrypt with a username', () => {
  it('refuses an unknown server certificate with a clear message, then connects once it is trusted', {
    timeout: 60_000,
  }, async () => {
    const refusedSink = new RecordingSink();
    const refused = await secureAdapter(refusedSink, TEST_USER.password).scanOnce();
    expect(refused[0]).toMatchObject({ quality: 'bad', status: { name: 'NotConnected' } });
    expect(refusedSink.states).toEqual([
      {
        state: 'disconnected',
        detail: expect.stringMatching(/server certificate of .* is not trusted.*certificates/),
      },
    ]);

    const listed = await certificatesCommand(join(dir, 'gateway'), ['list']);
    expect(listed).toEqual([expect.stringMatching(/^rejected +[0-9a-f]{40} /)]);
    const fingerprint = /[0-9a-f]{40}/.exec(listed[0] ?? '')?.[0] ?? '';
    expect(await certificatesCommand(join(dir, 'gateway'), ['trust', fingerprint.slice(0, 12)])).toEqual([
      expect.stringContaining(`trusted ${fingerprint}`),
    ]);
    expect(await certificatesCommand(join(dir, 'gateway'), [])).toEqual([
      expect.stringMatching(new RegExp(`^trusted +${fingerprint}`)),
    ]);

    const sink = new RecordingSink();
    const readings = await secureAdapter(sink, TEST_USER.password).scanOnce();
    expect(readings[0]).toMatchObject({ point: 'spindle-speed', value: 1200.5, quality: 'good' });
    expect(sink.states).toEqual([]);

    const streaming = secureAdapter(sink, TEST_USER.password);
    try {
      await streaming.start();
      expect(sink.states.map((s) => s.state)).toEqual(['connected']);
      server.setValue('cnc-01.spindle-speed', 2345);
      await waitUntil('a change arrives over the secure subscription', () =>
        sink.of('spindle-speed').some((r) => r.value === 2345),
      );
      expect(server.sessionCount()).toBe(1);
    } finally {
      await streaming.stop();
    }
  });

  it('reports a wrong password as the reason', { timeout: 30_000 }, async () => {
    const sink = new RecordingSink();
    const readings = await secureAdapter(sink, 'wrong').scanOnce();
    expect(readings[0]).toMatchObject({ quality: 'bad' });
    expect(sink.states).toEqual([
      {
        state: 'disconnected',
        detail: expect.stringMatching(/BadUserAccessDenied|BadIdentityTokenRejected|identity/i),
      },
    ]);
  });
});
