/**
 * What `jjj-gateway validate` refuses that it let through before issue 11: a URL port above 65535,
 * a point whose min is above its max, TLS files that are not PEM, a YAML alias bomb. Each exits 2
 * with the setting's path and the reason; a good config with real PEM files still passes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../../gateway/cli.js';
import { aliasBombYaml } from '../helpers/alias-bomb.js';
import { capturedIo } from '../helpers/captured-io.js';
import { createPki } from '../helpers/pki.js';
import { counterGatewayConfig } from './delivery-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'jjj-gateway-checks-'));
const pki = createPki();
pki.makeCa('ca');
pki.makeSigned('gateway', 'ca');
writeFileSync(join(dir, 'not-pem.txt'), 'this is a note, not a certificate\n');
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  pki.remove();
});

const base = () =>
  counterGatewayConfig({
    gatewayId: 'gw',
    mqttUrl: 'mqtts://127.0.0.1:8883',
    devicePort: 502,
    stateDir: 'state',
  });

async function validate(
  name: string,
  text: string,
): Promise<{ code: number; stderr: string; stdout: string }> {
  const file = join(dir, name);
  writeFileSync(file, text);
  const { io, out } = capturedIo();
  const code = await runCli(['validate', '--config', file], io);
  return { code, ...out };
}

describe('jjj-gateway validate: the checks of issue 11', () => {
  it('passes a config with a real CA and client certificate', async () => {
    const config = {
      ...base(),
      mqtt: {
        url: 'mqtts://127.0.0.1:8883',
        tls: { ca: pki.file('ca.pem'), cert: pki.file('gateway.pem'), key: pki.file('gateway.key') },
      },
    };
    const result = await validate('good.yaml', stringify(config));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('refuses a broker URL port above 65535, without repeating the password', async () => {
    const config = { ...base(), mqtt: { url: 'mqtt://gw:hunter2@127.0.0.1:70000' } };
    const { code, stderr } = await validate('port.yaml', stringify(config));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^ {2}mqtt\.url: port 70000 is above 65535$/m);
    expect(stderr).not.toContain('hunter2');
  });

  it('refuses a point whose min is above its max, naming the point', async () => {
    const config = base();
    Object.assign(config.devices[0]?.points[1] as object, { min: 100, max: 10 });
    const { code, stderr } = await validate('range.yaml', stringify(config));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^ {2}devices\[0\]\.points\[1\]\.min: min 100 is above max 10$/m);
  });

  it('refuses a CA, certificate or key file that is not PEM, naming the setting and the file', async () => {
    const notPem = join(dir, 'not-pem.txt');
    const config = {
      ...base(),
      // The key file is a certificate and the certificate a key: swapped by hand, a common slip.
      mqtt: {
        url: 'mqtts://127.0.0.1:8883',
        tls: { ca: notPem, cert: pki.file('gateway.key'), key: pki.file('gateway.pem') },
      },
    };
    const { code, stderr } = await validate('pem.yaml', stringify(config));
    expect(code).toBe(2);
    expect(stderr).toContain(
      `  mqtt.tls.ca: ${notPem} is not a PEM certificate (no -----BEGIN CERTIFICATE----- block)`,
    );
    expect(stderr).toContain(`  mqtt.tls.cert: ${pki.file('gateway.key')} is not a PEM certificate`);
    expect(stderr).toContain(`  mqtt.tls.key: ${pki.file('gateway.pem')} is not a PEM private key`);
  });

  it('refuses a YAML alias bomb before expanding it', async () => {
    const started = performance.now();
    const { code, stderr } = await validate('bomb.yaml', aliasBombYaml());
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /^ {2}\(yaml\): Excessive alias count .* \(at most 100 alias expansions are allowed\)$/m,
    );
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
