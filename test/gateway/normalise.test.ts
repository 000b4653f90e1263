/** The point directory: each configured point's metadata, including its KPI role. */
import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../gateway/config.js';
import { buildPointDirectory } from '../../gateway/normalise.js';
import { counterGatewayConfig } from './delivery-fixtures.js';

describe('buildPointDirectory', () => {
  it("carries a point's KPI role into its metadata, and none for a point without one", () => {
    const raw = counterGatewayConfig({
      gatewayId: 'gw',
      mqttUrl: 'mqtt://127.0.0.1:1883',
      devicePort: 502,
      stateDir: 'state',
    });
    Object.assign(raw.devices[0]?.points[0] as object, { kpi: { role: 'good-count', width: 16 } });
    const directory = buildPointDirectory(parseGatewayConfig(raw, 'test.yaml', '/srv/gw'));
    const [counted, plain] = [...(directory.get('counter')?.values() ?? [])];
    expect(counted?.metadata).toEqual({
      line: 'test-line',
      equipment: 'counter',
      point: 'count-a',
      protocol: 'modbus',
      address: 'unit=1;holding=0',
      dataType: 'uint16',
      kpi: { role: 'good-count', width: 16, reset: 'restart' },
    });
    expect(plain?.metadata).not.toHaveProperty('kpi');
  });
});
