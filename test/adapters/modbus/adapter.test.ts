/** The adapter against a real Modbus TCP peer (modbus-serial ServerTCP) on loopback. */
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdapterContext, DeviceAdapter, Reading } from '../../../adapters/contract.js';
import { gatewayStatus } from '../../../adapters/contract.js';
import { ModbusDeviceAdapter } from '../../../adapters/modbus/adapter.js';
import { deviceSchema, type ModbusDevice } from '../../../adapters/modbus/config.js';
import { modbusAdapter } from '../../../adapters/modbus/index.js';
import { capturingLogger } from '../../helpers/capturing-logger.js';
import { freePort } from '../../helpers/ports.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { waitUntil } from '../../helpers/wait.js';
import { encode, put, startServer, type UnitData } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function device(port: number, overrides: Record<string, unknown> = {}): ModbusDevice {
  return deviceSchema.parse({
    protocol: 'modbus',
    id: 'meter-main',
    line: 'utilities',
    host: '127.0.0.1',
    port,
    pollIntervalMs: 50,
    timeoutMs: 500,
    points: [{ name: 'voltage', table: 'holding', address: 4, type: 'uint16', scale: 0.1 }],
    ...overrides,
  });
}

function adapterFor(config: ModbusDevice, backoffMs = 50) {
  const sink = new RecordingSink(config.id);
  const log = capturingLogger();
  const context: AdapterContext = { sink, logger: log.logger, stateDir: tmpdir(), metrics: new Registry() };
  const adapter = new ModbusDeviceAdapter(config, context, { initialMs: backoffMs, maxMs: backoffMs * 4 });
  cleanups.push(() => adapter.stop());
  return { adapter, sink, log };
}

async function serve(port: number, units: Map<number, UnitData>, options?: { delayMs?: number }) {
  const server = await startServer(port, units, options);
  let closed = false;
  cleanups.push(async () => {
    if (!closed) await server.close();
  });
  return {
    ...server,
    close: async () => {
      closed = true;
      await server.close();
    },
  };
}

const valuesOf = (readings: readonly Reading[]) =>
  Object.fromEntries(readings.map((r) => [r.point, r.value]));

/** Every supported type in both register tables and both bit tables, with its expected value. */
function everyTypeFixture() {
  const holding = new Map<number, number>();
  const input = new Map<number, number>();
  put(holding, 0, encode('uint32', 1234567)); // energy-total, 0.1 kWh
  put(holding, 2, encode('float32', 42.25));
  put(holding, 4, encode('uint16', 2305));
  put(holding, 5, encode('uint16', 1234));
  put(holding, 6, encode('int16', -985));
  put(holding, 7, encode('int32', -123456789));
  put(holding, 9, [1]);
  put(holding, 10, encode('uint16', 500));
  put(input, 0, encode('uint32', 4294967295));
  put(input, 2, encode('float32', -12.5));
  put(input, 100, encode('int16', 32767));
  const coil = new Map([
    [0, true],
    [1, false],
  ]);
  const discrete = new Map([[7, true]]);
  const points = [
    { name: 'energy-total', table: 'holding', address: 0, type: 'uint32', scale: 0.1, unit: 'KWH' },
    { name: 'power', table: 'holding', address: 2, type: 'float32', unit: 'KWT' },
    { name: 'voltage', table: 'holding', address: 4, type: 'uint16', scale: 0.1, unit: 'VLT' },
    { name: 'current', table: 'holding', address: 5, type: 'uint16', scale: 0.01, unit: 'AMP' },
    { name: 'power-factor', table: 'holding', address: 6, type: 'int16', scale: 0.001 },
    { name: 'balance', table: 'holding', address: 7, type: 'int32' },
    { name: 'running', table: 'holding', address: 9, type: 'bool' },
    {
      name: 'temperature',
      table: 'holding',
      address: 10,
      type: 'uint16',
      scale: 0.1,
      offset: -40,
      unit: 'CEL',
    },
    { name: 'volume-total', table: 'input', address: 0, type: 'uint32', scale: 0.001, unit: 'MTQ' },
    { name: 'flow', table: 'input', address: 2, type: 'float32', unit: 'MQH' },
    { name: 'peak', table: 'input', address: 100, type: 'int16' },
    { name: 'valve-open', table: 'coil', address: 0, type: 'bool' },
    { name: 'pump-on', table: 'coil', address: 1, type: 'bool' },
    { name: 'door-closed', table: 'discrete', address: 7, type: 'bool' },
  ];
  const expected = {
    'energy-total': 123456.7,
    power: 42.25,
    voltage: 230.5,
    current: 12.34,
    'power-factor': -0.985,
    balance: -123456789,
    running: true,
    temperature: 10,
    'volume-total': 4294967.295,
    flow: -12.5,
    peak: 32767,
    'valve-open': true,
    'pump-on': false,
    'door-closed': true,
  };
  return { units: new Map<number, UnitData>([[3, { holding, input, coil, discrete }]]), points, expected };
}

function expectAllGood(readings: readonly Reading[], before: number) {
  for (const reading of readings) {
    expect(reading.quality, reading.point).toBe('good');
    expect(reading.status).toBeUndefined();
    expect(reading.ts).toBeGreaterThanOrEqual(before);
  }
}

describe('ModbusDeviceAdapter against modbus-serial ServerTCP', () => {
  it('scanOnce() reads every type with scale and offset, then closes its connection', async () => {
    const port = await freePort();
    const { units, points, expected } = everyTypeFixture();
    const server = await serve(port, units);
    const { adapter, sink } = adapterFor(device(port, { unitId: 3, points }));
    const before = Date.now();
    const readings = await adapter.scanOnce();
    expect(readings.map((r) => r.point)).toEqual(points.map((p) => p.name));
    expect(valuesOf(readings)).toEqual(expected);
    expectAllGood(readings, before);
    expect(sink.batches).toEqual([]);
    await waitUntil('the scan connection to close', () => server.connections() === 0);
  });

  it('start() polls every type into the sink, and follows changes on the device', async () => {
    const port = await freePort();
    const { units, points, expected } = everyTypeFixture();
    await serve(port, units);
    const { adapter, sink } = adapterFor(device(port, { unitId: 3, points }));
    const before = Date.now();
    await adapter.start();
    await sink.until('a first poll', () => sink.batches.length > 0);
    expect(sink.states).toEqual([{ state: 'connected', detail: undefined }]);
    expect(valuesOf(sink.lastBatch())).toEqual(expected);
    expectAllGood(sink.lastBatch(), before);

    put(units.get(3)?.holding ?? new Map(), 4, encode('uint16', 2288));
    await sink.until('the new voltage', () => valuesOf(sink.lastBatch()).voltage === 228.8);
    expect(valuesOf(sink.lastBatch())).toEqual({ ...expected, voltage: 228.8 });

    // scanOnce() while running shares the connection and leaves polling running.
    expect(valuesOf(await adapter.scanOnce())).toEqual({ ...expected, voltage: 228.8 });
    const seen = sink.batches.length;
    await sink.until('polls after scanOnce', () => sink.batches.length > seen);
  });

  it('an address the device rejects reads bad with the exception code; other requests stay good', async () => {
    const port = await freePort();
    const holding = new Map<number, number>();
    put(holding, 0, encode('uint16', 7));
    await serve(port, new Map([[1, { holding }]]));
    const points = [
      { name: 'present', table: 'holding', address: 0, type: 'uint16' },
      { name: 'missing', table: 'holding', address: 500, type: 'uint32' },
      { name: 'no-inputs', table: 'input', address: 0, type: 'uint16' },
    ];
    const { adapter, sink, log } = adapterFor(device(port, { points }));
    const scanned = await adapter.scanOnce();
    const illegalDataAddress = { source: 'modbus', code: 2, name: 'IllegalDataAddress' };
    expect(scanned).toEqual([
      { point: 'present', value: 7, ts: expect.any(Number), quality: 'good' },
      { point: 'missing', value: null, ts: expect.any(Number), quality: 'bad', status: illegalDataAddress },
      { point: 'no-inputs', value: null, ts: expect.any(Number), quality: 'bad', status: illegalDataAddress },
    ]);

    await adapter.start();
    await sink.until('three polls', () => sink.batches.length >= 3);
    expect(sink.batches.at(-1)?.map((r) => [r.point, r.quality, r.status?.code])).toEqual([
      ['present', 'good', undefined],
      ['missing', 'bad', 2],
      ['no-inputs', 'bad', 2],
    ]);
    // Logged once per failing request, not once per poll.
    expect(log.lines.filter((l) => l.msg === 'device rejected a read')).toHaveLength(2);
    expect(sink.states).toEqual([{ state: 'connected', detail: undefined }]);
  });

  it('stop() closes the socket and every timer; it is idempotent and ends polling', async () => {
    const port = await freePort();
    const { units, points } = everyTypeFixture();
    const server = await serve(port, units);
    const resourcesBefore = countResources();
    const { adapter, sink } = adapterFor(device(port, { unitId: 3, points }));
    await adapter.start();
    await sink.until('two polls', () => sink.batches.length >= 2);
    expect(server.connections()).toBe(1);
    await adapter.stop();
    await adapter.stop();
    await waitUntil('the server to see the socket close', () => server.connections() === 0);
    const polls = sink.batches.length;
    await new Promise((resolve) => setImmediate(resolve));
    const resourcesAfter = countResources();
    for (const [kind, count] of Object.entries(resourcesAfter)) {
      expect(count, kind).toBeLessThanOrEqual(resourcesBefore[kind] ?? 0);
    }
    expect(sink.batches.length).toBe(polls);
  });

  it('polls never overlap when the device answers slower than the interval', async () => {
    const port = await freePort();
    const holding = new Map<number, number>();
    put(holding, 0, [1, 2, 3]);
    const server = await serve(port, new Map([[1, { holding }]]), { delayMs: 120 });
    const points = [
      { name: 'a', table: 'holding', address: 0, type: 'uint16' },
      { name: 'b', table: 'holding', address: 2, type: 'uint16' },
    ];
    const { adapter, sink, log } = adapterFor(
      // Two requests per poll (no gap bridging), so overlapping polls would show as two in flight.
      device(port, { points, pollIntervalMs: 20, timeoutMs: 1000, maxGap: 0 }),
    );
    await adapter.start();
    // Overrunning is logged once it persists (three late polls in a row), then not again.
    await sink.until('five slow polls', () => sink.batches.length >= 5);
    expect(server.maxInFlight()).toBe(1);
    expect(sink.batches.every((batch) => batch.every((r) => r.quality === 'good'))).toBe(true);
    expect(log.lines.filter((l) => l.msg.startsWith('a poll took longer'))).toHaveLength(1);
  });
});

describe('ModbusDeviceAdapter when the device is down or silent', () => {
  it('start() resolves for a device that is down, reads bad, and recovers when it comes up', async () => {
    const port = await freePort();
    const { adapter, sink, log } = adapterFor(device(port));
    await adapter.start();
    expect(sink.states).toEqual([{ state: 'disconnected', detail: expect.stringContaining('ECONNREFUSED') }]);
    await sink.until('polls while down', () => sink.batches.length >= 3);
    for (const batch of sink.batches) {
      expect(batch).toEqual([
        {
          point: 'voltage',
          value: null,
          ts: expect.any(Number),
          quality: 'bad',
          status: gatewayStatus.notConnected,
        },
      ]);
    }
    // Several reconnect attempts have failed by now; each is silent.
    await sink.until('more polls, spanning several reconnect attempts', () => sink.batches.length >= 12);
    expect(sink.states).toHaveLength(1);
    expect(log.lines.filter((l) => l.msg.startsWith('device unreachable'))).toHaveLength(1);

    const holding = new Map<number, number>();
    put(holding, 4, encode('uint16', 2301));
    const server = await serve(port, new Map([[1, { holding }]]));
    await sink.until('good readings after the device came up', () => sink.lastBatch()[0]?.quality === 'good');
    expect(sink.states.map((s) => s.state)).toEqual(['disconnected', 'connected']);
    expect(sink.lastBatch()[0]?.value).toBe(230.1);

    // The device goes away again, then comes back: same story, without a restart.
    await server.close();
    await sink.until('the loss to be reported', () => sink.states.length === 3);
    expect(sink.states[2]?.state).toBe('disconnected');
    await sink.until(
      'bad readings',
      () => sink.lastBatch()[0]?.status?.code === gatewayStatus.notConnected.code,
    );
    await serve(port, new Map([[1, { holding }]]));
    await sink.until('good readings again', () => sink.lastBatch()[0]?.quality === 'good');
    expect(sink.states.map((s) => s.state)).toEqual([
      'disconnected',
      'connected',
      'disconnected',
      'connected',
    ]);
  });

  it('a peer that accepts but never answers gives Timeout readings and a reconnect', async () => {
    const port = await freePort();
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });
    const { adapter, sink } = adapterFor(device(port, { timeoutMs: 100 }));
    await adapter.start();
    await sink.until('a poll', () => sink.batches.length >= 1);
    expect(sink.batches[0]).toEqual([
      {
        point: 'voltage',
        value: null,
        ts: expect.any(Number),
        quality: 'bad',
        status: gatewayStatus.timeout,
      },
    ]);
    await sink.until('the silent connection to be dropped', () => sink.states.length >= 2);
    expect(sink.states[0]?.state).toBe('connected');
    expect(sink.states[1]).toEqual({ state: 'disconnected', detail: 'no response within 100 ms' });
    await sink.until('a reconnect', () => sink.states.length >= 3);
  });

  it('stop() while reconnecting cancels the retry and leaves nothing behind', async () => {
    const port = await freePort();
    const resourcesBefore = countResources();
    const { adapter, sink } = adapterFor(device(port), 10_000);
    await adapter.start();
    await sink.until('polls while down', () => sink.batches.length >= 2);
    await adapter.stop();
    const polls = sink.batches.length;
    await new Promise((resolve) => setImmediate(resolve));
    for (const [kind, count] of Object.entries(countResources())) {
      expect(count, kind).toBeLessThanOrEqual(resourcesBefore[kind] ?? 0);
    }
    expect(sink.batches.length).toBe(polls);
    expect(sink.states.map((s) => s.state)).toEqual(['disconnected']);
  });

  it('scanOnce() against a device that is down returns bad readings instead of throwing', async () => {
    const port = await freePort();
    const { adapter } = adapterFor(device(port));
    expect(await adapter.scanOnce()).toEqual([
      {
        point: 'voltage',
        value: null,
        ts: expect.any(Number),
        quality: 'bad',
        status: gatewayStatus.notConnected,
      },
    ]);
  });

  it('the module creates a working adapter from a parsed config entry', async () => {
    const port = await freePort();
    const holding = new Map<number, number>();
    put(holding, 4, encode('uint16', 2299));
    await serve(port, new Map([[1, { holding }]]));
    const sink = new RecordingSink('meter-main');
    const adapter: DeviceAdapter = modbusAdapter.create(device(port), {
      sink,
      stateDir: tmpdir(),
      logger: capturingLogger().logger,
      metrics: new Registry(),
    });
    cleanups.push(() => adapter.stop());
    expect(valuesOf(await adapter.scanOnce())).toEqual({ voltage: 229.9 });
  });
});

/** Counts of the handles and requests keeping the event loop alive, by kind. */
function countResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

describe('ModbusDeviceAdapter poll groups and deadband', () => {
  it('polls each point at its own interval, one group per interval', async () => {
    const port = await freePort();
    const holding = new Map<number, number>([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    await serve(port, new Map([[1, { holding }]]));
    const points = [
      { name: 'fast', table: 'holding', address: 0, type: 'uint16', pollIntervalMs: 20 },
      { name: 'slow', table: 'holding', address: 1, type: 'uint16', pollIntervalMs: 400 },
      { name: 'fast-too', table: 'holding', address: 2, type: 'uint16', pollIntervalMs: 20 },
    ];
    const { adapter, sink } = adapterFor(device(port, { points }));
    await adapter.start();
    const containing = (name: string) => sink.batches.filter((b) => b.some((r) => r.point === name)).length;
    await sink.until('two polls of the slow point', () => containing('slow') >= 2);
    // Points of one interval come together (one request, adjacent registers bridged); others apart.
    expect(new Set(sink.batches.map((b) => b.map((r) => r.point).join(',')))).toEqual(
      new Set(['fast,fast-too', 'slow']),
    );
    expect(containing('fast')).toBeGreaterThan(3 * containing('slow'));
    expect(valuesOf(await adapter.scanOnce())).toEqual({ fast: 1, slow: 2, 'fast-too': 3 });
  });

  it('publishes a point with a deadband only when it moves beyond it, and after its maximum silence', async () => {
    const port = await freePort();
    const holding = new Map<number, number>([
      [0, 1000],
      [1, 0],
    ]);
    await serve(port, new Map([[1, { holding }]]));
    const points = [
      { name: 'temperature', table: 'holding', address: 0, type: 'uint16', scale: 0.1, deadband: 0.5 },
      { name: 'heartbeat', table: 'holding', address: 1, type: 'uint16' },
    ];
    const { adapter, sink } = adapterFor(device(port, { points, pollIntervalMs: 20, maxSilenceMs: 600 }));
    const published = () => sink.batches.flatMap((b) => b.filter((r) => r.point === 'temperature'));
    const polls = () => sink.batches.length;
    await adapter.start();
    await sink.until('five polls', () => polls() >= 5);
    expect(published().map((r) => r.value)).toEqual([100]);

    holding.set(0, 1004); // +0.4: inside the deadband
    const seen = polls();
    await sink.until('five more polls', () => polls() >= seen + 5);
    expect(published().map((r) => r.value)).toEqual([100]);

    holding.set(0, 1006); // +0.6 from the last published value
    await sink.until('the change beyond the deadband', () => published().length === 2);
    expect(published().map((r) => r.value)).toEqual([100, 100.6]);

    // Unchanged from here: republished once the maximum silence has passed, not every poll.
    await sink.until('a republication after the maximum silence', () => published().length === 3);
    expect(published().map((r) => r.value)).toEqual([100, 100.6, 100.6]);
    expect(polls()).toBeGreaterThan(published().length * 3);
  });
});
