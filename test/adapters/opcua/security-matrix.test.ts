/**
 * Every signing security policy × mode the adapter offers, and X.509 user identities, against one real
 * node-opcua server on loopback that exposes all those endpoints. The gateway trusts the server once,
 * the way an operator does: the first connection is refused and lands in `rejected/`, then
 * `jjj-gateway certificates trust FINGERPRINT`.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageSecurityMode, OPCUACertificateManager, SecurityPolicy } from 'node-opcua';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpcuaAdapter } from '../../../adapters/opcua/adapter.js';
import { certificatesCommand } from '../../../adapters/opcua/certificates.js';
import { deviceSchema, type Security } from '../../../adapters/opcua/config.js';
import { gatewayPkiDir } from '../../../adapters/opcua/pki.js';
import { freePort } from '../../helpers/ports.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { waitUntil } from '../../helpers/wait.js';
import { startTestServer, TEST_USER, type TestServer } from './opcua-test-server.js';

type Policy = Exclude<Security['policy'], 'None'>;
type Mode = Exclude<Security['mode'], 'None'>;

const POLICIES: Policy[] = ['Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'];
const MODES: Mode[] = ['Sign', 'SignAndEncrypt'];
const POINT = { name: 'spindle-speed', nodeId: 'ns=1;s=cnc-01.spindle-speed' };

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
let dir: string;
let gatewayDir: string;
let server: TestServer;
const adapters: OpcuaAdapter[] = [];

function adapterFor(sink: RecordingSink, policy: Policy, mode: Mode, user: Security['user']): OpcuaAdapter {
  const device = deviceSchema.parse({
    protocol: 'opcua',
    id: 'cnc-01',
    line: 'machining',
    endpoint: server.endpoint,
    publishingIntervalMs: 100,
    security: { policy, mode, user },
    points: [POINT],
  });
  const adapter = new OpcuaAdapter(
    device,
    { sink, logger, stateDir: gatewayDir, metrics: new Registry() },
    { pkiDir: gatewayPkiDir(gatewayDir), reconnectDelayMs: { initial: 200, max: 1000 }, rebuildDelayMs: 500 },
  );
  adapters.push(adapter);
  return adapter;
}

const operator: Security['user'] = { type: 'username', ...TEST_USER };

/** A self-signed user certificate and its private key, made with node-opcua's own PKI code. */
async function userCertificate(name: string) {
  const folder = join(dir, `user-${name}`);
  const manager = new OPCUACertificateManager({ rootFolder: folder });
  await manager.initialize();
  const certificateFile = join(folder, 'own', 'certs', `${name}.pem`);
  await manager.createSelfSignedCertificate({
    applicationUri: `urn:jjj-iiot:user:${name}`,
    subject: `/CN=${name}/O=jjj-iiot`,
    dns: [],
    startDate: new Date(Date.now() - 86_400_000),
    validity: 30,
    outputFile: certificateFile,
  });
  const privateKeyFile = manager.privateKey;
  await manager.dispose();
  const der = new X509Certificate(await readFile(certificateFile)).raw;
  return { certificateFile, privateKeyFile, der };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opcua-security-matrix-'));
  gatewayDir = join(dir, 'gateway');
  server = await startTestServer(await freePort(), dir, {
    secure: true,
    securityPolicies: POLICIES.map((policy) => SecurityPolicy[policy]),
    securityModes: MODES.map((mode) => MessageSecurityMode[mode]),
  });

  // The trust step, once for every endpoint: they share the server's application certificate.
  const refusedSink = new RecordingSink();
  const refused = await adapterFor(refusedSink, 'Aes256_Sha256_RsaPss', 'Sign', operator).scanOnce();
  expect(refused[0]).toMatchObject({ quality: 'bad', status: { name: 'NotConnected' } });
  expect(refusedSink.states).toEqual([
    { state: 'disconnected', detail: expect.stringMatching(/server certificate of .* is not trusted/) },
  ]);
  const listed = await certificatesCommand(gatewayDir, ['list']);
  expect(listed).toEqual([expect.stringMatching(/^rejected +[0-9a-f]{40} /)]);
  const fingerprint = /[0-9a-f]{40}/.exec(listed[0] ?? '')?.[0] ?? '';
  expect(await certificatesCommand(gatewayDir, ['trust', fingerprint])).toEqual([
    expect.stringContaining(`trusted ${fingerprint}`),
  ]);
});

afterAll(async () => {
  for (const adapter of adapters) await adapter.stop();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('security policy × mode matrix with a username', () => {
  const combinations = POLICIES.flatMap((policy) => MODES.map((mode) => ({ policy, mode })));

  it.each(combinations.map((combination, index) => ({ ...combination, value: 3000.25 + index })))(
    '$policy $mode: connects, subscribes and delivers the value the server set',
    { timeout: 30_000 },
    async ({ policy, mode, value }) => {
      const sink = new RecordingSink();
      const adapter = adapterFor(sink, policy, mode, operator);
      try {
        await adapter.start();
        expect(sink.states).toEqual([{ state: 'connected', detail: undefined }]);
        // The server, not the adapter's config, tells which channel security the session runs over.
        expect(server.sessions()).toEqual([
          { securityPolicy: SecurityPolicy[policy], securityMode: mode, identity: 'username' },
        ]);

        server.setValue('cnc-01.spindle-speed', value);
        await waitUntil(`${value} arrives over ${policy} ${mode}`, () =>
          sink.of('spindle-speed').some((reading) => reading.value === value),
        );
        expect(sink.of('spindle-speed').find((reading) => reading.value === value)).toMatchObject({
          point: 'spindle-speed',
          value,
          quality: 'good',
        });
        expect(sink.states.map((s) => s.state)).toEqual(['connected']);
      } finally {
        await adapter.stop();
      }
      await waitUntil('the session is closed on the server', () => server.sessionCount() === 0);
    },
  );
});

describe('X.509 user identity', () => {
  it('connects, reads and subscribes with a user certificate the server trusts', {
    timeout: 30_000,
  }, async () => {
    const alice = await userCertificate('alice');
    await server.trustUserCertificate(alice.der);
    const user: Security['user'] = {
      type: 'certificate',
      certificateFile: alice.certificateFile,
      privateKeyFile: alice.privateKeyFile,
    };

    server.setValue('cnc-01.spindle-speed', 4321.5);
    for (const policy of POLICIES) {
      const sink = new RecordingSink();
      const readings = await adapterFor(sink, policy, 'SignAndEncrypt', user).scanOnce();
      expect(sink.states, policy).toEqual([]);
      expect(readings, policy).toEqual([
        expect.objectContaining({ point: 'spindle-speed', value: 4321.5, quality: 'good' }),
      ]);
    }

    const sink = new RecordingSink();
    const adapter = adapterFor(sink, 'Basic256Sha256', 'SignAndEncrypt', user);
    try {
      await adapter.start();
      expect(sink.states).toEqual([{ state: 'connected', detail: undefined }]);
      expect(server.sessions()).toEqual([
        {
          securityPolicy: SecurityPolicy.Basic256Sha256,
          securityMode: 'SignAndEncrypt',
          identity: 'certificate',
        },
      ]);
      server.setValue('cnc-01.spindle-speed', 5432.5);
      await waitUntil('a change arrives in the certificate-authenticated session', () =>
        sink.of('spindle-speed').some((reading) => reading.value === 5432.5 && reading.quality === 'good'),
      );
    } finally {
      await adapter.stop();
    }
  });

  it('refuses an untrusted user certificate, or one with the wrong key, and says why', {
    timeout: 30_000,
  }, async () => {
    const [mallory, bob] = await Promise.all([userCertificate('mallory'), userCertificate('bob')]);
    await server.trustUserCertificate(bob.der);
    const cases = [
      { name: 'untrusted', certificate: mallory.certificateFile, key: mallory.privateKeyFile },
      {
        name: "trusted, with another certificate's key",
        certificate: bob.certificateFile,
        key: mallory.privateKeyFile,
      },
    ];
    for (const { name, certificate, key } of cases) {
      const sink = new RecordingSink();
      const readings = await adapterFor(sink, 'Basic256Sha256', 'SignAndEncrypt', {
        type: 'certificate',
        certificateFile: certificate,
        privateKeyFile: key,
      }).scanOnce();
      expect(readings[0], name).toMatchObject({ quality: 'bad', status: { name: 'NotConnected' } });
      expect(sink.states, name).toEqual([
        {
          state: 'disconnected',
          detail: expect.stringMatching(
            new RegExp(
              `refused the user certificate ${certificate} \\(Bad\\w+.*\\); the server must trust it`,
            ),
          ),
        },
      ]);
    }
    expect(server.sessionCount()).toBe(0);
  });
});
