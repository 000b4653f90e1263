import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../gateway/config.js';
import { Gateway } from '../../gateway/gateway.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { waitUntil } from '../helpers/wait.js';
import { counterGatewayConfig, startCounterDevice, tempDir } from './delivery-fixtures.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the gateway metrics endpoint', () => {
  it('serves Prometheus figures of delivery and device state on GET /metrics, and nothing else', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const device = await startCounterDevice();
    cleanups.push(() => device.close());
    const dir = tempDir('jjj-metrics-');
    cleanups.push(() => dir.remove());
    const config = parseGatewayConfig(
      {
        ...counterGatewayConfig({
          gatewayId: 'gw-metrics',
          mqttUrl: broker.url,
          devicePort: device.port,
          stateDir: `${dir.path}/gateway`,
        }),
        metrics: { port: 0 },
      },
      'test',
      dir.path,
    );
    const gateway = new Gateway(config, pino({ level: 'silent' }));
    cleanups.push(() => gateway.stop());
    await gateway.start();
    const url = gateway.metricsUrl as string;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await waitUntil('a few batches delivered', () => gateway.stats.delivered.live.batches >= 3);

    const text = await (await fetch(url)).text();
    const value = (pattern: RegExp) => Number(text.match(pattern)?.[1]);
    expect(
      value(/^jjj_gateway_points_delivered_total\{stream="live",gateway="gw-metrics"\} (\d+)$/m),
    ).toBeGreaterThan(0);
    expect(
      value(
        /^jjj_gateway_device_connected\{device="counter",protocol="modbus",gateway="gw-metrics"\} (\d+)$/m,
      ),
    ).toBe(1);
    expect(value(/^jjj_gateway_broker_connected\{gateway="gw-metrics"\} (\d+)$/m)).toBe(1);
    expect((await fetch(url.replace('/metrics', '/other'))).status).toBe(404);

    await gateway.stop();
    await expect(fetch(url)).rejects.toThrow();
  });
});
