/**
 * Fault isolation on a shared link: 50 unit ids behind one Modbus TCP endpoint (modbus-serial
 * ServerTCP), one of them dead (never answers) and one answering every read with an exception.
 */
import { tmpdir } from 'node:os';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { gatewayStatus } from '../../../adapters/contract.js';
import { ModbusDeviceAdapter } from '../../../adapters/modbus/adapter.js';
import { deviceSchema } from '../../../adapters/modbus/config.js';
import { capturingLogger } from '../../helpers/capturing-logger.js';
import { freePort } from '../../helpers/ports.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { waitUntil } from '../../helpers/wait.js';
import { startServer, type UnitData } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const unitIds = Array.from({ length: 50 }, (_, i) => i + 1);
const dead = 7;
const rejecting = 13;

describe('one dead and one rejecting unit among 50 on one link', () => {
  it('the others keep their cadence; the dead unit is retried on backoff and resumes when it answers again', async () => {
    const units = new Map<number, UnitData>(unitIds.map((id) => [id, { holding: new Map([[0, id]]) }]));
    const silentUnits = new Set([dead]);
    const server = await startServer(await freePort(), units, {
      silentUnits,
      rejectingUnits: new Set([rejecting]),
    });
    cleanups.push(() => server.close());
    const devices = unitIds.map((unitId) => {
      const device = deviceSchema.parse({
        protocol: 'modbus',
        id: `unit-${unitId}`,
        line: 'bus',
        host: '127.0.0.1',
        port: server.port,
        unitId,
        pollIntervalMs: 100,
        timeoutMs: 150,
        points: [{ name: 'id', table: 'holding', address: 0, type: 'uint16' }],
      });
      const sink = new RecordingSink(device.id);
      const log = capturingLogger();
      const adapter = new ModbusDeviceAdapter(
        device,
        { sink, logger: log.logger, stateDir: tmpdir(), metrics: new Registry() },
        { initialMs: 300, maxMs: 1200 },
      );
      cleanups.push(() => adapter.stop());
      return { unitId, adapter, sink, log };
    });
    for (const { adapter } of devices) await adapter.start();
    const byUnit = (unitId: number) => devices[unitId - 1] as (typeof devices)[number];
    const healthy = devices.filter((d) => d.unitId !== dead && d.unitId !== rejecting);
    const deadDevice = byUnit(dead);

    // Run until the dead unit has been asked three times (first try plus two backoff retries).
    await deadDevice.sink.until('three attempts at the dead unit', () => server.lookups(dead) >= 3);
    const counts = healthy.map((d) => d.sink.batches.length);
    const deadPolls = deadDevice.sink.batches.length;

    // Every healthy unit read good every time, and none fell behind the others.
    for (const { unitId, sink } of healthy) {
      expect(sink.batches.every((batch) => batch[0]?.quality === 'good' && batch[0].value === unitId)).toBe(
        true,
      );
      expect(sink.states.map((s) => s.state)).toEqual(['connected']);
    }
    // A unit queued behind a dead one's request waits that request's timeout (150 ms, under two
    // 100 ms polls) once per attempt, and never longer: that bounds what any unit can lose.
    // On top: one cycle at the start, when a unit's first request waits behind the dead unit's (the
    // link paces units not yet known to answer), and the poll in flight while the counts are taken.
    const attempts = server.lookups(dead);
    const lostPerAttempt = Math.ceil(150 / 100) + 1;
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(Math.max(...counts) - attempts * lostPerAttempt - 2);
    // Its polls kept reporting Timeout, but most of them sent nothing: backoff, not one timeout per poll.
    expect(deadPolls).toBeGreaterThan(2 * server.lookups(dead));
    expect(deadDevice.sink.batches.every((b) => b[0]?.status?.code === gatewayStatus.timeout.code)).toBe(
      true,
    );
    expect(deadDevice.sink.states).toEqual([
      { state: 'connected', detail: undefined },
      { state: 'disconnected', detail: 'no response within 150 ms' },
    ]);
    expect(deadDevice.log.lines.filter((l) => l.msg.startsWith('device unreachable'))).toHaveLength(1);
    // Neighbours held up by its timeouts do not log a line each time.
    for (const { log } of healthy) {
      expect(log.lines.filter((l) => l.msg.startsWith('a poll took longer')).length).toBeLessThan(attempts);
    }

    // The rejecting unit answers, so it stays connected; its point carries the exception code.
    const rejectingDevice = byUnit(rejecting);
    expect(rejectingDevice.sink.batches.at(-1)?.[0]).toMatchObject({
      quality: 'bad',
      value: null,
      status: { source: 'modbus', code: 4, name: 'ServerDeviceFailure' },
    });
    expect(rejectingDevice.sink.states.map((s) => s.state)).toEqual(['connected']);
    expect(rejectingDevice.log.lines.filter((l) => l.msg === 'device rejected a read')).toHaveLength(1);

    // The dead unit comes back (restarted behind the gateway): it resumes without a restart here.
    silentUnits.delete(dead);
    await deadDevice.sink.until(
      'the dead unit to resume',
      () => deadDevice.sink.batches.at(-1)?.[0]?.value === dead,
    );
    expect(deadDevice.sink.states.map((s) => s.state)).toEqual(['connected', 'disconnected', 'connected']);
    expect(server.connections()).toBe(1);
  });
});

describe('retries', () => {
  it('resends a request that timed out `retries` times before its points read Timeout', async () => {
    const units = new Map<number, UnitData>([[1, { holding: new Map([[0, 1]]) }]]);
    const server = await startServer(await freePort(), units, { silentUnits: new Set([1]) });
    cleanups.push(() => server.close());
    const device = deviceSchema.parse({
      protocol: 'modbus',
      id: 'slow-meter',
      line: 'bus',
      host: '127.0.0.1',
      port: server.port,
      pollIntervalMs: 50,
      timeoutMs: 50,
      retries: 2,
      points: [{ name: 'id', table: 'holding', address: 0, type: 'uint16' }],
    });
    const sink = new RecordingSink(device.id);
    const adapter = new ModbusDeviceAdapter(
      device,
      { sink, logger: capturingLogger().logger, stateDir: tmpdir(), metrics: new Registry() },
      { initialMs: 10_000, maxMs: 10_000 },
    );
    cleanups.push(() => adapter.stop());
    await adapter.start();
    await sink.until('a poll', () => sink.batches.length >= 1);
    expect(sink.batches[0]?.[0]?.status).toEqual(gatewayStatus.timeout);
    expect(server.lookups(1)).toBe(3);
    expect(sink.states.map((s) => s.state)).toEqual(['connected', 'disconnected']);
  });
});

describe('the overrun warning', () => {
  it('names the unit that held the polls up, not the unit that waited', async () => {
    const slow = 1;
    const fast = 2;
    const units = new Map<number, UnitData>([
      [slow, { holding: new Map([[0, slow]]) }],
      [fast, { holding: new Map([[0, fast]]) }],
    ]);
    // The slow unit answers after 250 ms, so at 100 ms polls both overrun: it by itself, and the
    // fast unit because its requests queue behind the slow one's on the shared link.
    const server = await startServer(await freePort(), units, { unitDelaysMs: new Map([[slow, 250]]) });
    cleanups.push(() => server.close());
    const devices = [slow, fast].map((unitId) => {
      const device = deviceSchema.parse({
        protocol: 'modbus',
        id: `unit-${unitId}`,
        line: 'bus',
        host: '127.0.0.1',
        port: server.port,
        unitId,
        pollIntervalMs: 100,
        timeoutMs: 1000,
        points: [{ name: 'id', table: 'holding', address: 0, type: 'uint16' }],
      });
      const log = capturingLogger();
      const adapter = new ModbusDeviceAdapter(device, {
        sink: new RecordingSink(device.id),
        logger: log.logger,
        stateDir: tmpdir(),
        metrics: new Registry(),
      });
      cleanups.push(() => adapter.stop());
      return { adapter, log };
    });
    await Promise.all(devices.map(({ adapter }) => adapter.start()));
    const overrun = (log: ReturnType<typeof capturingLogger>) =>
      log.lines.find((line) => line.msg.startsWith('a poll took longer')) as
        | { causedBy?: { unitId: number; device: string; reason: string } }
        | undefined;
    const [slowDevice, fastDevice] = devices as [(typeof devices)[0], (typeof devices)[0]];
    await waitUntil(
      'both units to warn of overrunning polls',
      () => overrun(slowDevice.log) !== undefined && overrun(fastDevice.log) !== undefined,
      10_000,
    );
    expect(overrun(fastDevice.log)?.causedBy).toMatchObject({
      unitId: slow,
      device: 'unit-1',
      reason: 'a request of another unit on the shared link',
    });
    expect(overrun(slowDevice.log)?.causedBy).toMatchObject({ unitId: slow, device: 'unit-1' });
    expect(overrun(slowDevice.log)?.causedBy?.reason).toMatch(/^its own requests took \d+ ms$/);
  });
});
