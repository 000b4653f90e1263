/**
 * A subscription must not go stale after hours: node-opcua renews the secure channel's security token at
 * 75 % of its lifetime, and the subscription's keep-alives keep a session without changes alive. The first
 * test server grants tokens of only TOKEN_LIFETIME_MS (node-opcua's floor is 2.5 s), so hours of renewals
 * happen in seconds; the server counts the tokens, sessions, subscriptions and keep-alives it handed out.
 * The keep-alive test runs against a server with the default token lifetime: see its beforeAll.
 */
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

const TOKEN_LIFETIME_MS = 5000;
const RENEWALS = 4;
const PUBLISHING_INTERVAL_MS = 100;

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
let dir: string;
let gatewayDir: string;
let server: TestServer;
const adapters: OpcuaAdapter[] = [];

function secureAdapter(sink: RecordingSink): OpcuaAdapter {
  const device = deviceSchema.parse({
    protocol: 'opcua',
    id: 'cnc-01',
    line: 'machining',
    endpoint: server.endpoint,
    publishingIntervalMs: PUBLISHING_INTERVAL_MS,
    security: {
      policy: 'Basic256Sha256',
      mode: 'SignAndEncrypt',
      user: { type: 'username', ...TEST_USER },
    },
    points: [{ name: 'spindle-speed', nodeId: 'ns=1;s=cnc-01.spindle-speed' }],
  });
  const adapter = new OpcuaAdapter(
    device,
    { sink, logger, stateDir: gatewayDir, metrics: new Registry() },
    { pkiDir: gatewayPkiDir(gatewayDir) },
  );
  adapters.push(adapter);
  return adapter;
}

/** The one SignAndEncrypt channel the adapter holds (the certificate fetch before it runs unsecured). */
function secureChannels() {
  return server.channels().filter((channel) => channel.securityMode === 'SignAndEncrypt');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opcua-token-renewal-'));
  gatewayDir = join(dir, 'gateway');
  server = await startTestServer(await freePort(), dir, {
    secure: true,
    maxSecureTokenLifetimeMs: TOKEN_LIFETIME_MS,
  });
  // Trust the server the operator's way: refused first, then `certificates trust FINGERPRINT`.
  await secureAdapter(new RecordingSink()).scanOnce();
  const fingerprint = /^rejected +([0-9a-f]{40})/.exec(
    (await certificatesCommand(gatewayDir, ['list']))[0] ?? '',
  );
  if (!fingerprint?.[1]) throw new Error('the server certificate was not rejected first');
  await certificatesCommand(gatewayDir, ['trust', fingerprint[1]]);
});

afterAll(async () => {
  for (const adapter of adapters) await adapter.stop();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a Basic256Sha256 SignAndEncrypt subscription over time', () => {
  it(`keeps delivering across ${RENEWALS} security token renewals on one channel and one session`, {
    timeout: 60_000,
  }, async () => {
    const before = server.counters();
    const sink = new RecordingSink();
    const adapter = secureAdapter(sink);
    // A machine that keeps running: a new spindle speed every 50 ms, so every publish carries data.
    let tick = 0;
    const machine = setInterval(() => server.setValue('cnc-01.spindle-speed', 10_000 + ++tick), 50);
    try {
      await adapter.start();
      expect(sink.states).toEqual([{ state: 'connected', detail: undefined }]);
      // One channel; under load a first renewal may already have happened, so its tokens are not counted here.
      expect(secureChannels()).toEqual([expect.objectContaining({ open: true })]);

      for (let renewal = 1; renewal <= RENEWALS; renewal++) {
        await waitUntil(
          `security token renewal ${renewal}`,
          () => (secureChannels()[0]?.tokens ?? 0) > renewal,
          40_000,
        );
        const setAfterRenewal = 10_000 + tick + 1;
        await waitUntil(`a value set after renewal ${renewal} arrives`, () =>
          sink.of('spindle-speed').some((reading) => Number(reading.value) >= setAfterRenewal),
        );
      }

      // Renewed in place: the same channel, session and subscription throughout, never reported down,
      // and the values arrived in order, all good.
      expect(secureChannels()).toEqual([expect.objectContaining({ open: true })]);
      expect(secureChannels()[0]?.tokens).toBeGreaterThan(RENEWALS);
      const after = server.counters();
      expect(after.sessionsCreated - before.sessionsCreated).toBe(1);
      expect(after.subscriptionsCreated - before.subscriptionsCreated).toBe(1);
      expect(server.sessionCount()).toBe(1);
      expect(sink.states).toEqual([{ state: 'connected', detail: undefined }]);
      const values = sink.of('spindle-speed').map((reading) => Number(reading.value));
      expect(sink.of('spindle-speed').every((reading) => reading.quality === 'good')).toBe(true);
      expect(values).toEqual([...values].sort((a, b) => a - b));
    } finally {
      clearInterval(machine);
      await adapter.stop();
    }
    await waitUntil('the session is closed on the server', () => server.sessionCount() === 0);
  });
});

describe('a Basic256Sha256 SignAndEncrypt subscription without changes', () => {
  beforeAll(async () => {
    // node-opcua's server (2.182.2) answers a Publish held past its token's expiry with the newest
    // token's keys but the old token id, which its client cannot read. A quiet subscription holds each of
    // its 5 Publish requests for 5 keep-alive periods, so this part runs with node-opcua's default token
    // lifetime (10 min): same PKI folder, so the same, already trusted, server certificate.
    await server.stop();
    server = await startTestServer(await freePort(), dir, { secure: true });
  });

  it('stays alive on keep-alives longer than the silence limit, then delivers the next change', {
    timeout: 60_000,
  }, async () => {
    const sink = new RecordingSink();
    const adapter = secureAdapter(sink);
    try {
      await adapter.start();
      server.setValue('cnc-01.spindle-speed', 7100.5);
      await waitUntil('the first value arrives', () =>
        sink.of('spindle-speed').some((reading) => reading.value === 7100.5),
      );
      const before = server.counters();
      const batchesBefore = sink.batches.length;

      // Six keep-alive periods (each publishingInterval × maxKeepAliveCount) without a change: longer than
      // one period, and longer than the adapter's own silence limit (two periods + 2 s) if keep-alives
      // did not count as signs of life.
      await waitUntil(
        'six keep-alives without a change',
        () => server.counters().keepAlives >= before.keepAlives + 6,
      );
      expect(sink.batches.length).toBe(batchesBefore);

      server.setValue('cnc-01.spindle-speed', 7200.5);
      await waitUntil('the change after the silence arrives', () =>
        sink.of('spindle-speed').some((reading) => reading.value === 7200.5 && reading.quality === 'good'),
      );
      const after = server.counters();
      expect(after.subscriptionsCreated).toBe(before.subscriptionsCreated);
      expect(after.sessionsCreated).toBe(before.sessionsCreated);
      expect(server.sessionCount()).toBe(1);
      expect(sink.states).toEqual([{ state: 'connected', detail: undefined }]);
    } finally {
      await adapter.stop();
    }
  });
});
