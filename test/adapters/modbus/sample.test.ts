/** The deployer-facing sample: it must validate, match the seed register maps, and be what the README shows. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ModbusDevice } from '../../../adapters/modbus/config.js';
import { loadGatewayConfig } from '../../../gateway/config.js';
import { registerMaps } from '../../../seeds/device-maps.js';

const folder = join(dirname(fileURLToPath(import.meta.url)), '../../../adapters/modbus');
const samplePath = join(folder, 'sample.yaml');

describe('adapters/modbus/sample.yaml', () => {
  const config = loadGatewayConfig(samplePath);
  const devices = config.devices.filter((d): d is ModbusDevice => d.protocol === 'modbus');

  it('is a valid gateway config for seed site 0 reading units 1 and 2', () => {
    expect(config.gateway).toMatchObject({ region: 'BJ', project: 'jjj-dp-01', site: 'bj-etown-cnc' });
    expect(devices.map((d) => [d.id, d.host, d.port, d.unitId])).toEqual([
      ['meter-main', '127.0.0.1', 5021, 1],
      ['water-main', '127.0.0.1', 5021, 2],
    ]);
  });

  it('reads the fixed register maps of the seed energy and water meters', () => {
    const asMap = (
      points: readonly {
        name: string;
        table: string;
        address: number;
        type: string;
        scale: number;
        unit?: string;
      }[],
    ) =>
      points.map(({ name, table, address, type, scale, unit }) => ({
        name,
        table,
        address,
        type,
        scale,
        unit,
      }));
    expect(asMap(devices[0]?.points ?? [])).toEqual(asMap(registerMaps['energy-meter']));
    expect(asMap(devices[1]?.points ?? [])).toEqual(asMap(registerMaps['water-meter']));
  });

  it('is embedded unchanged in the README', () => {
    const sample = readFileSync(samplePath, 'utf8');
    const readme = readFileSync(join(folder, 'README.md'), 'utf8');
    expect(readme).toContain(`\`\`\`yaml\n${sample}\`\`\`\n`);
  });
});
