import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { SouthboundSink } from '../../../adapters/contract.js';
import { gatewayStatus } from '../../../adapters/contract.js';
import { OpcuaAdapter } from '../../../adapters/opcua/adapter.js';
import { deviceSchema, type OpcuaDevice } from '../../../adapters/opcua/config.js';
import { discover } from '../../../adapters/opcua/discover.js';
import { freePort } from '../../helpers/ports.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { waitUntil } from '../../helpers/wait.js';
import { SOURCE_TIME, startTestServer, type TestServer } from './opcua-test-server.js';

function device(endpoint: string): OpcuaDevice {
  return deviceSchema.parse({
    protocol: 'opcua',
    id: 'cnc-01',
    line: 'machining',
    endpoint,
    publishingIntervalMs: 100,
    samplingIntervalMs: 50,
    points: [
      { name: 'spindle-speed', nodeId: 'ns=1;s=cnc-01.spindle-speed', unit: 'RPM' },
      { name: 'state', nodeId: 'ns=1;s=cnc-01.state' },
      { name: 'good-count', nodeId: 'ns=1;s=cnc-01.good-count', unit: 'C62' },
      { name: 'door-open', nodeId: 'ns=1;s=cnc-01.door-open' },
      { name: 'program', nodeId: 'ns=1;s=cnc-01.program' },
      { name: 'cycle-total', nodeId: 'ns=1;s=cnc-01.cycle-total' },
      { name: 'last-change', nodeId: 'ns=1;s=cnc-01.last-change' },
      { name: 'axis-load', nodeId: 'ns=1;s=cnc-01.axis-load' },
      { name: 'spindle-temp', nodeId: 'ns=1;s=cnc-01.spindle-temp', unit: 'CEL' },
      { name: 'missing', nodeId: 'ns=1;s=cnc-01.no-such-point' },
    ],
  });
}

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
let pkiDir: string;
let server: TestServer;
const adapters: OpcuaAdapter[] = [];
const servers: TestServer[] = [];

function newAdapter(
  endpoint: string,
  sink: SouthboundSink,
  overrides: Partial<OpcuaDevice> = {},
): OpcuaAdapter {
  const adapter = new OpcuaAdapter(
    { ...device(endpoint), ...overrides },
    { sink, logger, stateDir: join(pkiDir, 'client'), metrics: new Registry() },
    { pkiDir: join(pkiDir, 'client') },
  );
  adapters.push(adapter);
  return adapter;
}

beforeAll(async () => {
  pkiDir = await mkdtemp(join(tmpdir(), 'opcua-adapter-'));
  server = await startTestServer(await freePort(), pkiDir);
  servers.push(server);
});

afterAll(async () => {
  for (const adapter of adapters) await adapter.stop();
  for (const running of servers) await running.stop();
  await rm(pkiDir, { recursive: true, force: true });
});

describe('scanOnce', () => {
  it('reads every point once with its value, type, timestamps and quality', async () => {
    const sink = new RecordingSink();
    const readings = await newAdapter(server.endpoint, sink).scanOnce();
    const byPoint = new Map(readings.map((reading) => [reading.point, reading]));

    expect(readings.map((reading) => reading.point)).toEqual(
      device(server.endpoint).points.map((p) => p.name),
    );
    expect(byPoint.get('spindle-speed')).toMatchObject({
      value: 1200.5,
      quality: 'good',
      ts: SOURCE_TIME.getTime(),
    });
    expect(byPoint.get('spindle-speed')?.status).toBeUndefined();
    expect(byPoint.get('spindle-speed')?.serverTs).toEqual(expect.any(Number));
    expect(byPoint.get('state')?.value).toBe(1);
    expect(byPoint.get('good-count')?.value).toBe(4217);
    expect(byPoint.get('door-open')?.value).toBe(true);
    expect(byPoint.get('program')?.value).toBe('O1001 flange');
    expect(byPoint.get('cycle-total')?.value).toBe('9007199254740993');
    expect(byPoint.get('last-change')?.value).toBe(Date.parse('2025-02-28T23:59:59.250Z'));
    expect(byPoint.get('axis-load')?.value).toEqual([0.5, 0.25]);
    expect(byPoint.get('spindle-temp')).toMatchObject({
      value: null,
      quality: 'bad',
      status: { source: 'opcua', code: 0x8005_0000, name: 'BadCommunicationError' },
    });
    expect(byPoint.get('missing')).toMatchObject({
      value: null,
      quality: 'bad',
      status: { source: 'opcua', name: 'BadNodeIdUnknown' },
    });
    expect(sink.states).toEqual([]);
  });

  it('gives NotConnected readings when the server is unreachable', async () => {
    const sink = new RecordingSink();
    const readings = await newAdapter(`opc.tcp://127.0.0.1:${await freePort()}`, sink).scanOnce();

    expect(readings).toHaveLength(10);
    for (const reading of readings) {
      expect(reading).toMatchObject({ value: null, quality: 'bad', status: gatewayStatus.notConnected });
    }
    expect(sink.states.map((s) => s.state)).toEqual(['disconnected']);
  });
});

describe('start', () => {
  it('delivers subscription notifications as values change', async () => {
    const sink = new RecordingSink();
    const adapter = newAdapter(server.endpoint, sink);
    await adapter.start();

    expect(sink.states.map((s) => s.state)).toEqual(['connected']);
    await waitUntil('initial values arrive', () => sink.of('spindle-speed').length > 0);
    expect(sink.of('spindle-speed')[0]).toMatchObject({
      value: 1200.5,
      quality: 'good',
      ts: SOURCE_TIME.getTime(),
    });
    expect(sink.of('cycle-total')[0]?.value).toBe('9007199254740993');
    expect(sink.of('spindle-temp')[0]).toMatchObject({
      value: null,
      quality: 'bad',
      status: { name: 'BadCommunicationError' },
    });
    expect(sink.of('missing')[0]).toMatchObject({
      value: null,
      quality: 'bad',
      status: { name: 'BadNodeIdUnknown' },
    });

    for (const speed of [1500, 1750]) {
      server.setValue('cnc-01.spindle-speed', speed);
      await waitUntil(`spindle-speed ${speed} arrives`, () =>
        sink.of('spindle-speed').some((r) => r.value === speed),
      );
    }
    const latest = sink.of('spindle-speed').at(-1);
    expect(latest?.ts).toBeGreaterThan(SOURCE_TIME.getTime());
    expect(server.sessionCount()).toBe(1);
    await adapter.stop();
    await adapter.stop();
    expect(server.sessionCount()).toBe(0);
  });

  it('resolves while the server is down and stops cleanly while still retrying', async () => {
    const sink = new RecordingSink();
    const adapter = newAdapter(`opc.tcp://127.0.0.1:${await freePort()}`, sink);
    await adapter.start();
    await adapter.stop();

    expect(sink.states).toEqual([
      { state: 'disconnected', detail: expect.stringContaining('cannot connect') },
    ]);
    expect(sink.batches).toHaveLength(1);
    expect(sink.batches[0]?.map((reading) => reading.point)).toEqual(
      device('opc.tcp://x').points.map((p) => p.name),
    );
    for (const reading of sink.batches[0] ?? []) {
      expect(reading).toMatchObject({ value: null, quality: 'bad', status: gatewayStatus.notConnected });
    }
  });
});

describe('monitored-item options', () => {
  it('applies a percent deadband: changes within it are not reported, larger ones are', async () => {
    const sink = new RecordingSink();
    const adapter = newAdapter(server.endpoint, sink, {
      points: [
        {
          name: 'coolant-temp',
          nodeId: 'ns=1;s=cnc-01.coolant-temp',
          deadband: { type: 'percent', value: 10 },
          queueSize: 1,
        },
        // Without a deadband: its changes show when publishes have come.
        { name: 'spindle-speed', nodeId: 'ns=1;s=cnc-01.spindle-speed' },
      ],
    });
    await adapter.start();
    await waitUntil('initial value', () => sink.of('coolant-temp').length > 0);
    expect(sink.of('coolant-temp')).toEqual([expect.objectContaining({ value: 21.5, quality: 'good' })]);
    // 10 % of the 0–100 range: 25 is inside the deadband around 21.5, 40 is outside.
    server.setValue('cnc-01.coolant-temp', 25);
    // Two changes of another point reported one after the other: 25 was sampled and published by then,
    // so it would have been reported without the deadband.
    for (const speed of [1301.5, 1302.5]) {
      server.setValue('cnc-01.spindle-speed', speed);
      await sink.until(`spindle-speed ${speed} arrives`, () =>
        sink.of('spindle-speed').some((r) => r.value === speed),
      );
    }
    server.setValue('cnc-01.coolant-temp', 40);
    await waitUntil('the large change arrives', () => sink.of('coolant-temp').some((r) => r.value === 40));
    expect(sink.of('coolant-temp').map((r) => r.value)).toEqual([21.5, 40]);
    await adapter.stop();
  });
});

describe('discover', () => {
  it('writes node ids, browse paths, data types, UNECE units and ranges', async () => {
    const yaml = await discover({ endpoint: server.endpoint });
    const config = parse(yaml) as {
      devices: { id: string; line: string; points: Record<string, unknown>[] }[];
    };
    expect(config.devices.map((d) => d.id)).toEqual(['cnc-01']);
    const points = config.devices[0]?.points ?? [];
    expect(points).toContainEqual({
      name: 'coolant-temp',
      nodeId: 'ns=1;s=cnc-01.coolant-temp',
      browsePath: '/cnc-01/coolant-temp',
      dataType: 'float64',
      unit: 'CEL',
      min: 0,
      max: 100,
    });
    expect(points).toContainEqual(expect.objectContaining({ name: 'cycle-total', dataType: 'int64' }));
    expect(points).toContainEqual(expect.objectContaining({ name: 'last-change', dataType: 'datetime' }));
  });
});

describe('polling mode', () => {
  it('reads every point each interval, passes each sample on once, and can use the server time', async () => {
    const sink = new RecordingSink();
    const adapter = newAdapter(server.endpoint, sink, {
      mode: 'polling',
      pollIntervalMs: 100,
      timestamp: 'server',
    });
    await adapter.start();
    await waitUntil('first poll', () => sink.of('cycle-total').length > 0);
    expect(sink.states.map((s) => s.state)).toEqual(['connected']);
    const total = sink.of('cycle-total')[0];
    expect(total).toMatchObject({ value: '9007199254740993', quality: 'good' });
    expect(total?.ts).toBe(total?.serverTs);
    expect(sink.of('axis-load')[0]?.value).toEqual([0.5, 0.25]);
    expect(sink.of('missing')[0]).toMatchObject({
      value: null,
      quality: 'bad',
      status: { name: 'BadNodeIdUnknown' },
    });

    server.setValue('cnc-01.state', 3);
    await waitUntil('the new state is polled', () => sink.of('state').some((r) => r.value === 3));
    await adapter.stop();
  });

  it('writes a value through the session and reports a refusal', async () => {
    const sink = new RecordingSink();
    const adapter = newAdapter(server.endpoint, sink, { mode: 'polling', pollIntervalMs: 100 });
    await adapter.start();
    await waitUntil('connected', () => sink.states.at(-1)?.state === 'connected');
    expect(await adapter.write('good-count', 4300)).toEqual({ ok: true });
    await waitUntil('the written value is read back', () =>
      sink.of('good-count').some((r) => r.value === 4300),
    );
    expect(await adapter.write('good-count', 'many')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('cannot take'),
    });
    expect(await adapter.write('missing', 1)).toMatchObject({ ok: false });
    await adapter.stop();
  });
});

describe('session dropped by the server', () => {
  it('notices the silent subscription, rebuilds it and leaks no session', { timeout: 90_000 }, async () => {
    const sink = new RecordingSink();
    const adapter = newAdapter(server.endpoint, sink);
    await adapter.start();
    await waitUntil('initial values arrive', () => sink.of('good-count').length > 0);

    server.dropSessions();
    const before = sink.of('good-count').length;
    let count = 5000;
    await waitUntil('a good value after NotConnected', () => {
      server.setValue('cnc-01.good-count', ++count);
      const after = sink.of('good-count').slice(before);
      const lost = after.findIndex((reading) => reading.status?.name === 'NotConnected');
      return lost >= 0 && after.slice(lost).some((reading) => reading.quality === 'good');
    });
    expect(sink.states).toEqual([
      { state: 'connected' },
      { state: 'disconnected', detail: expect.stringContaining('no data or keep-alive') },
      { state: 'connected' },
    ]);
    expect(server.sessionCount()).toBe(1);
    await adapter.stop();
    expect(server.sessionCount()).toBe(0);
  });
});

describe('availability', () => {
  let port: number;
  let sink: RecordingSink;
  let adapter: OpcuaAdapter;
  let restartable: TestServer | undefined;

  it('resolves start() while the server is down, then streams once it comes up', async () => {
    port = await freePort();
    sink = new RecordingSink();
    adapter = newAdapter(`opc.tcp://127.0.0.1:${port}`, sink);
    await adapter.start();
    expect(sink.states.map((s) => s.state)).toEqual(['disconnected']);

    restartable = await startTestServer(port, pkiDir);
    servers.push(restartable);
    await waitUntil('connected', () => sink.states.at(-1)?.state === 'connected');
    await waitUntil('values arrive', () => sink.of('spindle-speed').length > 0);
    expect(sink.states.map((s) => s.state)).toEqual(['disconnected', 'connected']);
  });

  it('reports the loss, marks every point bad, and resumes the subscription after a server restart', {
    timeout: 90_000,
  }, async () => {
    if (!restartable) throw new Error('needs the previous test');
    await restartable.stop();
    servers.splice(servers.indexOf(restartable), 1);
    await waitUntil('disconnected', () => sink.states.at(-1)?.state === 'disconnected');
    const lastSpeed = sink.of('spindle-speed').at(-1);
    expect(lastSpeed).toMatchObject({ value: null, quality: 'bad', status: gatewayStatus.notConnected });
    const missingBefore = sink.of('missing').length;

    restartable = await startTestServer(port, pkiDir);
    servers.push(restartable);
    await waitUntil('reconnected', () => sink.states.at(-1)?.state === 'connected');
    const before = sink.of('spindle-speed').length;
    restartable.setValue('cnc-01.spindle-speed', 2222);
    await waitUntil(
      'notifications resume',
      () =>
        sink
          .of('spindle-speed')
          .slice(before)
          .some((r) => r.value === 2222),
      60_000,
    );
    expect(sink.states.map((s) => s.state)).toEqual([
      'disconnected',
      'connected',
      'disconnected',
      'connected',
    ]);
    // The refused node is reported again after the rebuild rather than left as NotConnected.
    expect(sink.of('missing').slice(missingBefore)).toEqual([
      expect.objectContaining({
        quality: 'bad',
        status: expect.objectContaining({ name: 'BadNodeIdUnknown' }),
      }),
    ]);
    expect(restartable.sessionCount()).toBe(1);
  });
});
