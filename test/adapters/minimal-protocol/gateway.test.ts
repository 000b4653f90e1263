/**
 * "A third protocol is one folder and one registry line", end to end: the minimal protocol in this
 * folder, registered by one line, runs inside a real Gateway whose readings reach a real broker. No
 * file outside this folder knows it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAdapterModule } from '../../../adapters/registry.js';
import { parseGatewayConfig } from '../../../gateway/config.js';
import { Gateway } from '../../../gateway/gateway.js';
import { type MetadataMessage, Protocol } from '../../../gateway/schema/index.js';
import { type Mosquitto, startMosquitto } from '../../helpers/mosquitto.js';
import { recordMqtt } from '../../helpers/mqtt-recorder.js';
import { telemetrySamples } from '../../helpers/telemetry.js';
import { textLineAdapter } from './index.js';
import { startTextLineDevice, type TextLineDevice } from './line-server.js';

let unregister: () => void;
let broker: Mosquitto;
let device: TextLineDevice;
let dir: string;

beforeAll(async () => {
  unregister = registerAdapterModule(textLineAdapter);
  broker = await startMosquitto();
  device = await startTextLineDevice(new Map([['temperature', 21.5]]));
  dir = mkdtempSync(join(tmpdir(), 'jjj-textline-'));
});

afterAll(async () => {
  unregister?.();
  await device?.stop();
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a protocol added by one folder and one registry line', () => {
  it('runs in a real gateway: its readings reach the broker as telemetry', async () => {
    const config = parseGatewayConfig(
      {
        gateway: {
          id: 'gw-textline',
          region: 'HE',
          project: 'jjj-dp-03',
          site: 'he-textline',
          siteName: { zh: '文本协议测试', en: 'Text-line test' },
          stateDir: join(dir, 'state'),
        },
        mqtt: { url: broker.url, reconnect: { minMs: 100, maxMs: 400 } },
        publish: { intervalMs: 100 },
        outbox: { type: 'memory' },
        log: { level: 'warn' },
        devices: [
          {
            protocol: 'textline',
            id: 'thermometer',
            line: 'test-line',
            port: device.port,
            pollIntervalMs: 50,
            points: [{ name: 'temperature', register: 'temperature', unit: 'CEL' }],
          },
        ],
      },
      'test',
      dir,
    );
    const recorder = await recordMqtt(broker.url, 'jjj/#');
    const gateway = new Gateway(config, pino({ level: 'silent' }));
    try {
      await gateway.start();
      const telemetry = () =>
        recorder.messages
          .filter((m) => m.topic.endsWith('/telemetry'))
          .map((m) => telemetrySamples(m.json as object));
      await recorder.waitFor(
        () => telemetry().some((batch) => batch.points.some((p) => p.value === 21.5)),
        'a reading of the thermometer',
      );
      expect(telemetry()[0]?.points[0]).toMatchObject({
        line: 'test-line',
        equipment: 'thermometer',
        point: 'temperature',
        value: 21.5,
        quality: 'good',
      });

      // Its metadata names the protocol, which the wire contract does not list: a protocol meant to
      // ship also adds its name to `protocols` in gateway/schema (test/adapters/registry.test.ts).
      const metadata = recorder.messages.find((m) => m.topic.endsWith('/metadata'))?.json as MetadataMessage;
      expect(metadata.points[0]).toMatchObject({ protocol: 'textline', address: 'temperature', unit: 'CEL' });
      expect(Protocol.safeParse('textline').success).toBe(false);
    } finally {
      await gateway.stop();
      await recorder.close();
    }
  });
});
