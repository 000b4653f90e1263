/**
 * `jjj-gateway test` (the built CLI, dist/gateway/cli.js) on adapters/modbus/sample.yaml against the
 * seed Modbus simulator of the site the sample reads, on a free port: it prints every decoded point.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findSite } from '../../../seeds/catalogue.js';
import { SiteModel } from '../../../seeds/signals.js';
import { startModbusSimulator } from '../../../seeds/simulators/modbus-simulator.js';
import { freePort } from '../../helpers/ports.js';
import { repoRoot, spawnNode } from '../../helpers/spawn.js';

const folder = mkdtempSync(join(tmpdir(), 'modbus-cli-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('jjj-gateway test --config adapters/modbus/sample.yaml', () => {
  it('prints the decoded value of every point, all good, and exits 0', async () => {
    const site = findSite('bj-etown-cnc');
    if (!site) throw new Error('seed site bj-etown-cnc is missing');
    const model = new SiteModel(site, { startMs: Date.now() });
    const port = await freePort();
    const simulator = await startModbusSimulator(site, { port, model });
    try {
      const sample = readFileSync(join(repoRoot, 'adapters/modbus/sample.yaml'), 'utf8');
      const rewritten = sample.replaceAll('port: 5021', `port: ${port}`);
      expect(rewritten).not.toBe(sample);
      const config = join(folder, 'sample.yaml');
      writeFileSync(config, rewritten);

      const run = spawnNode('dist/gateway/cli.js', ['test', '--config', config]);
      expect(await run.exited, run.stderr()).toBe(0);
      const records = run
        .stdout()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { point: string; value: unknown; quality: string });
      const expected = { ...model.modbusValues(1), ...model.modbusValues(2) };
      expect(records).toHaveLength(Object.keys(expected).length);
      for (const record of records) {
        expect(record.quality, record.point).toBe('good');
        const name = record.point.split('/').at(-1) ?? '';
        // Registers hold the model's value at the map's resolution (0.001 at the finest).
        expect(record.value, name).toBeCloseTo(expected[name] as number, 0);
      }
    } finally {
      await simulator.stop();
    }
  });
});

describe('jjj-gateway validate on a Modbus config', () => {
  it('warns of a 40001-style address without failing, and counts one device in the singular', async () => {
    const sample = readFileSync(join(repoRoot, 'adapters/modbus/sample.yaml'), 'utf8');
    // The sample's first device alone, its first point at the manual's 40001 instead of address 0.
    const oneDevice = sample
      .slice(0, sample.indexOf('  # Main water meter'))
      .replace('address: 0\n', 'address: 40001\n');
    expect(oneDevice).toContain('address: 40001');
    const config = join(folder, 'one-device.yaml');
    writeFileSync(config, oneDevice);

    const run = spawnNode('dist/gateway/cli.js', ['validate', '--config', config]);
    expect(await run.exited, run.stderr()).toBe(0);
    expect(run.stdout()).toBe(`${config}: valid (gateway gw-bj-etown-cnc-01, 1 device, 5 points)\n`);
    expect(run.stderr()).toBe(
      'jjj-gateway: warning: devices[0].points[0].address: 40001 looks like a 4xxxx register reference: did you mean address 0 of the holding table? addresses are 0-based protocol addresses; keep 40001 only if the manual gives it as the protocol address\n',
    );
  });
});
