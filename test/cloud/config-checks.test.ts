/**
 * What `jjj-collector validate` refuses that it let through before issue 11: URL ports above 65535
 * (broker, InfluxDB), topic filters a broker refuses (the collector then ran "healthy" ingesting
 * nothing), TLS files that are not PEM, a YAML alias bomb. Each exits 2 with the path and the reason.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../../cloud/cli.js';
import { aliasBombYaml } from '../helpers/alias-bomb.js';
import { capturedIo } from '../helpers/captured-io.js';
import { createPki } from '../helpers/pki.js';

const dir = mkdtempSync(join(tmpdir(), 'jjj-collector-checks-'));
const pki = createPki();
pki.makeCa('ca');
pki.makeSigned('collector', 'ca');
const notPem = join(dir, 'not-pem.txt');
writeFileSync(notPem, 'MIIB... pasted without its BEGIN line\n');
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  pki.remove();
});

async function validate(config: unknown): Promise<{ code: number; stderr: string }> {
  const file = join(dir, `config-${Math.random().toString(16).slice(2)}.yaml`);
  writeFileSync(file, typeof config === 'string' ? config : stringify(config));
  const { io, out } = capturedIo();
  return { code: await runCli(['validate', '--config', file], io), stderr: out.stderr };
}

const influx = (extra: object) => ({
  type: 'influxdb',
  apiVersion: 1,
  database: 'jjj',
  url: 'https://influx.plant:8086',
  ...extra,
});

describe('jjj-collector validate: the checks of issue 11', () => {
  it('passes TLS with real PEM files for the broker and InfluxDB, and valid topic filters', async () => {
    const tls = { ca: pki.file('ca.pem'), cert: pki.file('collector.pem'), key: pki.file('collector.key') };
    for (const topic of ['jjj/v1/+/+/+/telemetry', 'jjj/#', '#', '$share/g/jjj/v1/#']) {
      const result = await validate({
        mqtt: { url: 'mqtts://broker:8883', topic, tls },
        store: influx({ tls }),
      });
      expect(result, topic).toEqual({ code: 0, stderr: '' });
    }
  });

  it('refuses a port above 65535 in the broker and the InfluxDB URL', async () => {
    const { code, stderr } = await validate({
      mqtt: { url: 'mqtts://collector:s3cret@broker:65536' },
      store: influx({ url: 'https://influx.plant:99999' }),
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^ {2}mqtt\.url: port 65536 is above 65535$/m);
    expect(stderr).toMatch(/^ {2}store\.url: port 99999 is above 65535$/m);
    expect(stderr).not.toContain('s3cret');
  });

  it.each([
    ['jjj/#/telemetry', '"#" must be a whole level and the last one'],
    ['jjj/v1/BJ#', '"#" must be a whole level and the last one'],
    ['jjj/v1/+BJ/#', '"+" must be a whole level (a/+/b, not a/b+/c)'],
    ['', 'a topic filter must not be empty'],
    ['$share/', '$share/ needs a group name without wildcards: $share/<group>/<filter>'],
    ['$share//jjj/#', '$share/ needs a group name without wildcards: $share/<group>/<filter>'],
    ['$share/g', '$share/<group>/ needs a filter after the group'],
  ])('refuses the topic filter %j', async (topic, reason) => {
    const { code, stderr } = await validate({ mqtt: { topic } });
    expect(code).toBe(2);
    expect(stderr).toContain(`  mqtt.topic: ${reason}\n`);
  });

  it('refuses CA and certificate files that are not PEM, for the broker and for InfluxDB', async () => {
    const { code, stderr } = await validate({
      mqtt: { url: 'mqtts://broker:8883', tls: { ca: notPem } },
      store: influx({ tls: { ca: pki.file('ca.pem'), cert: notPem, key: pki.file('collector.key') } }),
    });
    expect(code).toBe(2);
    expect(stderr).toContain(
      `  mqtt.tls.ca: ${notPem} is not a PEM certificate (no -----BEGIN CERTIFICATE----- block)\n`,
    );
    expect(stderr).toContain(
      `  store.tls.cert: ${notPem} is not a PEM certificate (no -----BEGIN CERTIFICATE----- block)\n`,
    );
  });

  it('refuses a YAML alias bomb', async () => {
    const { code, stderr } = await validate(aliasBombYaml());
    expect(code).toBe(2);
    expect(stderr).toMatch(/^ {2}\(yaml\): Excessive alias count/m);
  });
});
