/** The generator's pure parts: the `$7$` hash, the rules of one gateway, and what it refuses. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BrokerAuthError,
  emqxAclFile,
  fleetIdentities,
  mosquittoAclFile,
  mosquittoPasswordFile,
  mosquittoPasswordLine,
} from '../../gateway/broker-auth.js';
import { runCli } from '../../gateway/cli.js';
import { GatewayConfig } from '../../gateway/config.js';
import { capturedIo } from '../helpers/captured-io.js';

function gatewayInput(id: string) {
  return {
    gateway: { id, region: 'BJ', project: 'jjj-dp-01', site: 'bj-site', siteName: { zh: '站', en: 'Site' } },
    devices: [
      {
        protocol: 'modbus',
        id: 'plc',
        line: 'line-1',
        host: '127.0.0.1',
        points: [{ name: 'speed', table: 'holding', address: 0, type: 'uint16' }],
      },
    ],
  };
}

function gateway(id: string, mqtt: object = { password: `${id}-secret` }) {
  return GatewayConfig.parse({ ...gatewayInput(id), mqtt });
}

const collector = { username: 'jjj-collector', password: 'collector-secret' };

describe('broker-auth generator', () => {
  it('hashes as mosquitto_passwd 2.0.11 does ($7$, PBKDF2-SHA512, 101 iterations)', () => {
    // Written by `mosquitto_passwd -b passwd alice secret` (Mosquitto 2.0.11).
    const salt = Buffer.from('Gccz4IZF0l/lojtd', 'base64');
    expect(mosquittoPasswordLine('alice', 'secret', salt)).toBe(
      'alice:$7$101$Gccz4IZF0l/lojtd$wbBOXJyeR/HcIR/oBj425IbY/XZKQFDU6UBxAQa10DyBc7wweb9Mzi5zC6OgPc/PYy+0aErfycIMlh5evugU7Q==',
    );
    expect(mosquittoPasswordLine('alice', 'secret')).not.toBe(mosquittoPasswordLine('alice', 'secret'));
  });

  it("gives a JSON gateway its own four topics and its command, and the collector the fleet's commands", () => {
    const identities = fleetIdentities([{ source: 'a.yaml', config: gateway('gw-a') }], collector);
    expect(mosquittoAclFile(identities)).toContain(
      [
        'user gw-a',
        'topic write jjj/v1/BJ/bj-site/gw-a/telemetry',
        'topic write jjj/v1/BJ/bj-site/gw-a/metadata',
        'topic write jjj/v1/BJ/bj-site/gw-a/status',
        'topic write jjj/v1/BJ/bj-site/gw-a/command-ack',
        'topic read jjj/v1/BJ/bj-site/gw-a/command',
        '',
        '# the collector (cloud): reads everything, publishes only commands',
        'user jjj-collector',
        'topic write jjj/v1/BJ/bj-site/gw-a/command',
        'topic read jjj/v1/#',
        'topic read spBv1.0/#',
      ].join('\n'),
    );
    expect(emqxAclFile(identities)).toContain(
      '{allow, {username, "jjj-collector"}, subscribe, ["jjj/v1/#", "spBv1.0/#"]}.\n\n%% Nobody else, nothing else.\n{deny, all}.\n',
    );
    const salt = () => Buffer.alloc(12);
    expect(mosquittoPasswordFile(identities, salt)).toBe(
      `${mosquittoPasswordLine('gw-a', 'gw-a-secret', salt())}\n${mosquittoPasswordLine('jjj-collector', 'collector-secret', salt())}\n`,
    );
  });

  it('gives a Sparkplug gateway its edge node (group = site) and its host STATE; the collector its NCMD/DCMD and STATE', () => {
    const config = gateway('gw-s', {
      username: 'spark',
      password: 'x',
      format: 'sparkplug',
      sparkplug: { primaryHostId: 'cloud-host' },
    });
    const [node, cloud] = fleetIdentities([{ source: 's.yaml', config }], collector);
    expect(node?.username).toBe('spark');
    expect(node?.publish.slice(4)).toEqual([
      'spBv1.0/bj-site/NBIRTH/gw-s',
      'spBv1.0/bj-site/NDEATH/gw-s',
      'spBv1.0/bj-site/NDATA/gw-s',
      'spBv1.0/bj-site/DBIRTH/gw-s/+',
      'spBv1.0/bj-site/DDATA/gw-s/+',
      'spBv1.0/bj-site/DDEATH/gw-s/+',
    ]);
    expect(node?.subscribe).toEqual([
      'jjj/v1/BJ/bj-site/gw-s/command',
      'spBv1.0/bj-site/NCMD/gw-s',
      'spBv1.0/bj-site/DCMD/gw-s/+',
      'spBv1.0/STATE/cloud-host',
    ]);
    expect(cloud?.publish).toEqual([
      'jjj/v1/BJ/bj-site/gw-s/command',
      'spBv1.0/bj-site/NCMD/gw-s',
      'spBv1.0/bj-site/DCMD/gw-s/+',
      'spBv1.0/STATE/cloud-host',
    ]);
  });

  it('writes no password line for a gateway with a client certificate: its identity is its id (the CN)', () => {
    const config = gateway('gw-c', {
      username: 'ignored',
      password: 'ignored',
      tls: { cert: 'c.pem', key: 'k.pem' },
    });
    const identities = fleetIdentities([{ source: 'c.yaml', config }], collector);
    expect(identities[0]).toMatchObject({ username: 'gw-c' });
    expect(identities[0]?.password).toBeUndefined();
    expect(mosquittoPasswordFile(identities)).not.toMatch(/^gw-c:/m);
    expect(mosquittoAclFile(identities)).toContain('user gw-c\n');
  });

  it('refuses a gateway without a credential, shared usernames or ids, and a username a password file cannot hold', () => {
    const refusal = (
      configs: Array<{ source: string; config: GatewayConfig }>,
      user = collector.username,
    ) => {
      try {
        fleetIdentities(configs, { username: user, password: 'p' });
      } catch (error) {
        expect(error).toBeInstanceOf(BrokerAuthError);
        return (error as BrokerAuthError).problems;
      }
      return [];
    };
    expect(refusal([{ source: 'a.yaml', config: gateway('gw-a', {}) }])).toEqual([
      'a.yaml: gateway gw-a has no credential: set mqtt.password or a client certificate (mqtt.tls.cert)',
    ]);
    expect(
      refusal([
        { source: 'a.yaml', config: gateway('gw-a') },
        { source: 'b.yaml', config: gateway('gw-a') },
      ]),
    ).toEqual([
      'b.yaml: gateway id "gw-a" is also the id in a.yaml',
      'b.yaml: username "gw-a" is already a.yaml\'s',
    ]);
    expect(
      refusal([{ source: 'a.yaml', config: gateway('gw-a', { username: 'jjj-collector', password: 'p' }) }]),
    ).toEqual(['a.yaml: username "jjj-collector" is already the collector\'s']);
    expect(
      refusal([{ source: 'a.yaml', config: gateway('gw-a', { username: 'evil:user', password: 'p' }) }]),
    ).toEqual([
      'a.yaml: mqtt.username "evil:user" is not one a password file can hold (letters, digits, . _ @ -)',
    ]);
  });

  it('the command takes the collector password from the environment only, writes the hashes 0600, prints no password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jjj-broker-auth-'));
    try {
      const file = join(dir, 'gw-a.yaml');
      writeFileSync(file, JSON.stringify({ ...gatewayInput('gw-a'), mqtt: { password: 'gw-a-secret' } }));
      const all = ({ out }: ReturnType<typeof capturedIo>) => out.stdout + out.stderr;
      const out = join(dir, 'auth');
      const noPassword = capturedIo();
      expect(await runCli(['broker-auth', '--out', out, file], noPassword.io)).toBe(2);
      expect(all(noPassword)).toContain('set JJJ_COLLECTOR_MQTT_PASSWORD to the collector');
      const noOut = capturedIo();
      expect(await runCli(['broker-auth', file], noOut.io)).toBe(2);
      expect(all(noOut)).toContain('broker-auth needs --out DIR');
      const good = capturedIo({ env: { JJJ_COLLECTOR_MQTT_PASSWORD: 'c-secret' } });
      expect(await runCli(['broker-auth', '--out', out, file], good.io)).toBe(0);
      expect(all(good)).toMatch(/^wrote .*passwd, .*acl, .*emqx-acl.conf for 2 identities/);
      expect(all(good)).not.toMatch(/gw-a-secret|c-secret/);
      expect(statSync(join(out, 'passwd')).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(out, 'passwd'), 'utf8')).toMatch(
        /^gw-a:\$7\$101\$.+\njjj-collector:\$7\$101\$.+\n$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
