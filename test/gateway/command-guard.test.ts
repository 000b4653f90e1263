/**
 * The command guard's decisions (pure logic on a clock the test sets, with the real SQLite replay
 * cache in a temporary folder), the refusal throttle, and the `commands` block of the gateway config.
 * The same attacks are tested end to end against Mosquitto and a Modbus PLC in commands-e2e.test.ts.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandGuard, RefusalThrottle } from '../../gateway/command-guard.js';
import { ReplayCache } from '../../gateway/command-replay-cache.js';
import { ConfigError } from '../../gateway/common/errors.js';
import { parseGatewayConfig } from '../../gateway/config.js';
import { signCommand } from '../../gateway/schema/command-signature.js';
import type { UnsignedCommand } from '../../gateway/schema/commands.js';
import { counterGatewayConfig, tempDir } from './delivery-fixtures.js';

const keys = generateKeyPairSync('ed25519');
const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const T0 = 1_764_000_000_000;
const self = { region: 'BJ', site: 'bj-site', gateway: 'gw' } as const;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function setup(commands: Record<string, unknown> = {}) {
  const dir = tempDir('jjj-guard-');
  const clock = { now: T0 };
  const config = parseGatewayConfig(
    {
      ...counterGatewayConfig({
        gatewayId: 'gw',
        mqttUrl: 'mqtt://127.0.0.1:1883',
        devicePort: 502,
        stateDir: dir.path,
      }),
      commands: { trustedKeys: [{ id: 'cloud-1', publicKey: publicPem }], ...commands },
    },
    'test.yaml',
    dir.path,
  );
  const open = () => new ReplayCache(dir.path);
  let replay = open();
  const guard = () => new CommandGuard({ config, self, replay, now: () => clock.now });
  cleanups.push(() => dir.remove());
  cleanups.push(() => replay.close());
  return {
    clock,
    guard: guard(),
    /** A new guard on a reopened replay cache: what a restarted gateway has. */
    restart() {
      replay.close();
      replay = open();
      return guard();
    },
  };
}

function command(id: string, extra: Partial<UnsignedCommand> = {}) {
  return signCommand(
    {
      schema: 'jjj.command/2',
      id,
      target: { ...self },
      ts: T0,
      expiresTs: T0 + 30_000,
      by: 'op',
      writes: [{ line: 'l', equipment: 'e', point: 'p', value: 1 }],
      ...extra,
    },
    'cloud-1',
    keys.privateKey,
  );
}

describe('CommandGuard', () => {
  it('admits a fresh command signed by a trusted key, once, also across a restart, until its expiry and skew pass', () => {
    const { guard, clock, restart } = setup();
    expect(guard.admitJson(command('a'))).toEqual({ ok: true, signer: 'cloud-1' });
    expect(guard.admitJson(command('a'))).toMatchObject({ ok: false, code: 'replayed' });
    expect(restart().admitJson(command('a'))).toMatchObject({ ok: false, code: 'replayed' });
    // The id is forgotten only once the command could no longer pass the freshness check.
    clock.now = T0 + 30_000 + 30_001;
    expect(restart().admitJson(command('a'))).toMatchObject({ ok: false, code: 'expired' });
  });

  it('checks the target and freshness before the signature (a cheap refusal)', () => {
    const { guard } = setup();
    const forged = command('f', { target: { ...self, gateway: 'gw-2' } });
    forged.signature.value = `${'A'.repeat(86)}==`;
    expect(guard.admitJson(forged)).toMatchObject({ ok: false, code: 'wrong-target' });
    const stale = command('s', { ts: 0, expiresTs: 1 });
    stale.signature.value = `${'A'.repeat(86)}==`;
    expect(guard.admitJson(stale)).toMatchObject({ ok: false, code: 'expired' });
  });

  it('accepts clocks within the skew allowance and refuses beyond it', () => {
    const { guard, clock } = setup({ clockSkewMs: 5000 });
    clock.now = T0 - 5000;
    expect(guard.admitJson(command('ahead-in-skew')).ok).toBe(true);
    clock.now = T0 - 5001;
    expect(guard.admitJson(command('ahead'))).toMatchObject({ ok: false, code: 'not-yet-valid' });
    clock.now = T0 + 35_000;
    expect(guard.admitJson(command('late-in-skew')).ok).toBe(true);
    clock.now = T0 + 35_001;
    expect(guard.admitJson(command('late'))).toMatchObject({ ok: false, code: 'expired' });
    expect(guard.admitJson(command('backwards', { expiresTs: T0 - 1 }))).toMatchObject({
      ok: false,
      code: 'lifetime-too-long',
    });
  });

  it('refuses everything when no key is trusted', () => {
    const { guard } = setup({ trustedKeys: [] });
    expect(guard.admitJson(command('x'))).toMatchObject({ ok: false, code: 'no-trusted-keys' });
  });

  it('counts only admitted commands against the rate, which slides over a minute', () => {
    const { guard, clock } = setup({ ratePerMinute: 2 });
    const forged = command('forged');
    forged.signature.value = `${'A'.repeat(86)}==`;
    for (let i = 0; i < 5; i++) expect(guard.admitJson(forged)).toMatchObject({ code: 'bad-signature' });
    expect(guard.admitJson(command('1')).ok).toBe(true);
    expect(guard.admitJson(command('2')).ok).toBe(true);
    expect(guard.admitJson(command('3'))).toMatchObject({ ok: false, code: 'rate-limited' });
    clock.now = T0 + 60_001;
    expect(guard.admitJson(command('4', { ts: clock.now, expiresTs: clock.now + 1000 })).ok).toBe(true);
  });

  it('refuses Sparkplug DCMD writes unless the option is on, then applies the rate and the number of writes', () => {
    expect(setup().guard.admitSparkplug(1)).toMatchObject({ ok: false, code: 'sparkplug-disabled' });
    const { guard } = setup({ acceptSparkplugCommands: true, maxWritesPerCommand: 2, ratePerMinute: 1 });
    expect(guard.admitSparkplug(3)).toMatchObject({ ok: false, code: 'too-many-writes' });
    expect(guard.admitSparkplug(2)).toEqual({ ok: true, signer: 'sparkplug-dcmd' });
    expect(guard.admitSparkplug(1)).toMatchObject({ ok: false, code: 'rate-limited' });
  });
});

describe('RefusalThrottle', () => {
  it('lets a burst of twice the rate through, then counts the rest and reports the count once', () => {
    const clock = { now: 0 };
    const reports: number[] = [];
    const throttle = new RefusalThrottle(
      10,
      (count) => reports.push(count),
      () => clock.now,
    );
    const allowed = Array.from({ length: 100 }, () => throttle.allow()).filter(Boolean).length;
    expect(allowed).toBe(20);
    clock.now = 500;
    expect(Array.from({ length: 10 }, () => throttle.allow()).filter(Boolean).length).toBe(5);
    throttle.close();
    expect(reports).toEqual([85]);
  });
});

describe('gateway config: commands', () => {
  function problems(commands: unknown): string[] {
    try {
      parseGatewayConfig(
        {
          ...counterGatewayConfig({
            gatewayId: 'gw',
            mqttUrl: 'mqtt://127.0.0.1:1883',
            devicePort: 502,
            stateDir: 's',
          }),
          commands,
        },
        'test.yaml',
        '/srv/gw',
      );
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  }

  it('defaults to least privilege: no trusted key, no DCMD, a short lifetime and a rate limit', () => {
    const config = parseGatewayConfig(
      counterGatewayConfig({
        gatewayId: 'gw',
        mqttUrl: 'mqtt://127.0.0.1:1883',
        devicePort: 502,
        stateDir: 's',
      }),
      'test.yaml',
      '/srv/gw',
    );
    expect(config.commandKeys.size).toBe(0);
    expect(config.commands).toMatchObject({
      trustedKeys: [],
      acceptSparkplugCommands: false,
      maxLifetimeMs: 60_000,
      clockSkewMs: 30_000,
      ratePerMinute: 60,
      maxWritesPerCommand: 100,
    });
  });

  it('reads a key file relative to the config file, and names the path and reason of a bad one', () => {
    const dir = tempDir('jjj-keys-');
    cleanups.push(() => dir.remove());
    writeFileSync(join(dir.path, 'cloud.pem'), publicPem);
    writeFileSync(join(dir.path, 'bad.pem'), 'not a key');
    const config = parseGatewayConfig(
      {
        ...counterGatewayConfig({
          gatewayId: 'gw',
          mqttUrl: 'mqtt://127.0.0.1:1883',
          devicePort: 502,
          stateDir: 's',
        }),
        commands: { trustedKeys: [{ id: 'cloud-1', publicKeyFile: 'cloud.pem' }] },
      },
      'test.yaml',
      dir.path,
    );
    expect([...config.commandKeys.keys()]).toEqual(['cloud-1']);
    expect(problems({ trustedKeys: [{ id: 'k', publicKeyFile: '/nowhere/k.pem' }] })).toEqual([
      'commands.trustedKeys[0].publicKeyFile: /nowhere/k.pem: no such file',
    ]);
    expect(problems({ trustedKeys: [{ id: 'k', publicKeyFile: join(dir.path, 'bad.pem') }] })[0]).toMatch(
      new RegExp(`^commands\\.trustedKeys\\[0\\]\\.publicKeyFile: ${dir.path}/bad\\.pem: .+`),
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    expect(problems({ trustedKeys: [{ id: 'k', publicKey: ec.toString() }] })).toEqual([
      'commands.trustedKeys[0].publicKey: expected an Ed25519 public key, got ec',
    ]);
    expect(problems({ trustedKeys: [{ id: 'k' }] })).toEqual([
      'commands.trustedKeys[0]: expected exactly one of publicKey and publicKeyFile',
    ]);
  });
});
