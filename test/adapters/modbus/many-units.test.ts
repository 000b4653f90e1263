/**
 * Twenty unit ids behind one Modbus TCP port (pymodbus, an independent implementation, standing in
 * for an RS-485 gateway), two of which never answer: the live units keep their cadence. The bound is
 * the README's promise: a live unit's consecutive good samples are never further apart than one poll
 * interval plus one timeout, however many units are silent.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { gatewayStatus } from '../../../adapters/contract.js';
import { ModbusDeviceAdapter } from '../../../adapters/modbus/adapter.js';
import { deviceSchema } from '../../../adapters/modbus/config.js';
import { capturingLogger } from '../../helpers/capturing-logger.js';
import { freePort } from '../../helpers/ports.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { waitUntil } from '../../helpers/wait.js';

const PYTHON = '/usr/bin/python3';
const script = join(dirname(fileURLToPath(import.meta.url)), 'pymodbus-units.py');

const unitCount = 20;
const deadUnits = new Set([7, 15]);
const pollIntervalMs = 1000;
const timeoutMs = 1000;
const runMs = 30_000;
/**
 * Beyond poll + timeout: the other live units' requests queued ahead (18 loopback round trips to
 * pymodbus, 1–3 ms each) and timer lateness on a shared 2-core box (tens of ms at worst).
 */
const toleranceMs = 150;

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin?.end();
    await exited;
  }
});

async function startUnits(port: number): Promise<void> {
  const child = spawn(PYTHON, [script, String(port), String(unitCount), [...deadUnits].join(',')], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`pymodbus exited (${code}): ${stderr}`)));
    child.once('error', reject);
    lines.on('line', (line) => {
      if (line === 'READY') resolve();
    });
  });
}

describe('20 unit ids behind one pymodbus TCP port, 2 of them dead', () => {
  it('live units never wait more than one timeout per cycle: worst gap ≤ poll + timeout', async () => {
    const port = await freePort();
    await startUnits(port);
    const units = Array.from({ length: unitCount }, (_, i) => {
      const unitId = i + 1;
      const device = deviceSchema.parse({
        protocol: 'modbus',
        id: `unit-${unitId}`,
        line: 'rs485',
        host: '127.0.0.1',
        port,
        unitId,
        pollIntervalMs,
        timeoutMs,
        points: [{ name: 'unit-id', table: 'holding', address: 0, type: 'uint16' }],
      });
      const sink = new RecordingSink(device.id);
      const log = capturingLogger();
      const adapter = new ModbusDeviceAdapter(device, {
        sink,
        logger: log.logger,
        stateDir: tmpdir(),
        metrics: new Registry(),
      });
      cleanups.push(() => adapter.stop());
      return { unitId, adapter, sink, log };
    });
    // As the gateway starts its devices: all at once.
    await Promise.all(units.map(({ adapter }) => adapter.start()));
    const startedAt = Date.now();
    await waitUntil(`${runMs} ms of polling`, () => Date.now() - startedAt >= runMs, runMs + 5000);
    await Promise.all(units.map(({ adapter }) => adapter.stop()));

    const live = units.filter(({ unitId }) => !deadUnits.has(unitId));
    const dead = units.filter(({ unitId }) => deadUnits.has(unitId));
    let worstGap = 0;
    let worstUnit = 0;
    let lostPolls = 0;
    for (const { unitId, sink, log } of live) {
      const readings = sink.of('unit-id');
      // Every sample a live unit gave is good and its own: no Timeout leaked onto it from a neighbour.
      expect(
        readings.filter((r) => r.quality !== 'good' || r.value !== unitId),
        `unit ${unitId}`,
      ).toEqual([]);
      const times = readings.map((r) => r.ts);
      for (let i = 1; i < times.length; i++) {
        const gap = (times[i] as number) - (times[i - 1] as number);
        if (gap > worstGap) [worstGap, worstUnit] = [gap, unitId];
      }
      // Polls due between its first and last good samples that gave none (the grid is fixed, so
      // the span counts the polls that were due).
      const span = (times.at(-1) as number) - (times[0] as number);
      lostPolls += Math.round(span / pollIntervalMs) - (times.length - 1);
      expect(
        sink.states.map((s) => s.state),
        `unit ${unitId}`,
      ).toEqual(['connected']);
      expect(
        log.lines.filter((l) => l.msg.startsWith('a poll took longer')),
        `unit ${unitId}`,
      ).toEqual([]);
    }
    const samples = live.map(({ sink }) => sink.of('unit-id').length);
    console.log(
      `20 units, 2 dead, poll ${pollIntervalMs} ms, timeout ${timeoutMs} ms, ${runMs / 1000} s: worst live gap ${worstGap} ms (unit ${worstUnit}), samples per live unit ${Math.min(...samples)}–${Math.max(...samples)}, polls lost ${lostPolls} in all`,
    );
    expect(worstGap).toBeLessThanOrEqual(pollIntervalMs + timeoutMs + toleranceMs);
    // Probes go in the slot after the live polls: the next polls wait for the rest of the probe's
    // timeout (tens of ms here), not for a whole tick, so none is lost once a unit has answered.
    expect(lostPolls).toBe(0);

    for (const { unitId, sink, log } of dead) {
      const readings = sink.of('unit-id');
      expect(readings.length, `unit ${unitId}`).toBeGreaterThanOrEqual(runMs / pollIntervalMs - 2);
      expect(
        readings.every((r) => r.quality === 'bad' && r.status?.code === gatewayStatus.timeout.code),
      ).toBe(true);
      // One state change, one log line, for 30 s of a dead unit.
      expect(sink.states).toEqual([
        { state: 'connected', detail: undefined },
        { state: 'disconnected', detail: `no response within ${timeoutMs} ms` },
      ]);
      expect(log.lines.filter((l) => l.msg.startsWith('device unreachable'))).toHaveLength(1);
    }
  }, 60_000);
});
