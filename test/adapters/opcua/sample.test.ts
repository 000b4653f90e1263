import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../../gateway/config.js';

const folder = fileURLToPath(new URL('../../../adapters/opcua/', import.meta.url));

describe('adapters/opcua/sample.yaml', () => {
  it('is a valid gateway config reading cnc-01 and cnc-02 of bj-etown-cnc', () => {
    const config = loadGatewayConfig(`${folder}sample.yaml`);
    expect(config.gateway).toMatchObject({ region: 'BJ', project: 'jjj-dp-01', site: 'bj-etown-cnc' });
    expect(config.devices.map((device) => [device.protocol, device.id, device.line])).toEqual([
      ['opcua', 'cnc-01', 'machining'],
      ['opcua', 'cnc-02', 'machining'],
    ]);
    for (const device of config.devices) {
      expect(device.points.map((point) => point.name)).toEqual([
        'state',
        'spindle-speed',
        'spindle-temp',
        'good-count',
        'reject-count',
      ]);
    }
  });

  it('is embedded unchanged in the README', () => {
    const sample = readFileSync(`${folder}sample.yaml`, 'utf8');
    const readme = readFileSync(`${folder}README.md`, 'utf8');
    expect(readme).toContain(`\`\`\`yaml\n${sample}\`\`\``);
  });
});
