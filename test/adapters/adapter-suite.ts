/**
 * The contract every adapter passes (adapters/contract.ts), run against a real device peer on
 * loopback, as test/gateway/outbox/outbox-suite.ts is run against each outbox. An adapter's test file
 * calls `adapterContractSuite(name, suiteCase)` with a way to start its peer and the device entries
 * that read from it; see test/adapters/modbus/contract.test.ts and test/adapters/minimal-protocol/.
 */
import { tmpdir } from 'node:os';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type {
  AdapterContext,
  AdapterModule,
  DeviceAdapter,
  Reading,
  ReadingScalar,
  ReadingValue,
} from '../../adapters/contract.js';
import { RecordingSink } from '../helpers/recording-sink.js';
import { waitUntil } from '../helpers/wait.js';

/** A real device on loopback that the suite can take away and bring back at the same address. */
export interface SuitePeer {
  /** Connections (sockets or sessions) the device has open now. */
  connections(): number;
  /** Takes the device off the network, closing its connections. */
  stop(): Promise<void>;
  /** Brings the device back at the same address, serving the same values. */
  restart(): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: a module of any protocol; its device entry is checked by its own schema
type AnyModule = AdapterModule<any>;

export interface AdapterSuiteCase<Peer extends SuitePeer> {
  module: AnyModule;
  startPeer(): Promise<Peer>;
  /**
   * A device entry (as in the gateway config, before its schema's defaults) reading from `peer`, with
   * the points `served` (the device serves `servedValue` there) and `unserved` (an address the device
   * cannot serve) and, when `writeValue` is given, `writable` (takes a write and reads it back).
   * Its retry and poll periods should be short (tens of ms), as tests' are.
   */
  device(peer: Peer): unknown;
  /** A device entry like `device` but at an address where nothing listens. */
  unreachableDevice(): Promise<unknown>;
  servedValue: ReadingValue;
  /** A value `writable` takes; absent for a read-only protocol. */
  writeValue?: ReadingScalar;
  /**
   * How long to watch for a report that must not come (a repeated state): a few of the device's
   * retry periods. Absence can only be shown by waiting.
   */
  quietMs: number;
  /** Makes the adapter, when the module's own `create` needs test options (a shorter back-off). */
  create?(device: unknown, context: AdapterContext): DeviceAdapter;
}

export function adapterContractSuite<Peer extends SuitePeer>(
  name: string,
  suiteCase: AdapterSuiteCase<Peer>,
): void {
  describe(`${name}: the adapter contract`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    async function peer(): Promise<Peer> {
      const started = await suiteCase.startPeer();
      cleanups.push(() => started.stop());
      return started;
    }

    function adapterFor(entry: unknown) {
      const device = suiteCase.module.deviceSchema.parse(entry) as { id: string; points: { name: string }[] };
      const sink = new RecordingSink(device.id);
      const context: AdapterContext = {
        sink,
        logger: pino({ level: 'silent' }),
        stateDir: tmpdir(),
        metrics: new Registry(),
      };
      const adapter = suiteCase.create
        ? suiteCase.create(device, context)
        : suiteCase.module.create(device, context);
      cleanups.push(() => adapter.stop());
      return { adapter, sink, points: device.points.map((point) => point.name) };
    }

    const anyGood = (readings: readonly Reading[]) => readings.some((reading) => reading.quality === 'good');
    /** Watches for a report that must not come: absence can only be shown by waiting. */
    const quiet = () => new Promise((resolve) => setTimeout(resolve, suiteCase.quietMs));

    /** An adapter started against a live peer, once it has handed over a good reading of `served`. */
    async function running() {
      const device = await peer();
      const started = adapterFor(suiteCase.device(device));
      await started.adapter.start();
      await started.sink.until('a good reading of the served point', () =>
        anyGood(started.sink.of('served')),
      );
      return { device, ...started };
    }

    it('start() resolves for an unreachable device, reports it disconnected once, and reads nothing but bad', async () => {
      const { adapter, sink } = adapterFor(await suiteCase.unreachableDevice());
      await adapter.start();
      await sink.until('the device reported disconnected', () => sink.states.length > 0);
      await quiet();
      expect(sink.states.map((s) => s.state)).toEqual(['disconnected']);
      expect(sink.states[0]?.detail).toEqual(expect.any(String));
      for (const reading of sink.batches.flat()) expectBad(reading);
    });

    it('hands over readings with source timestamps and good quality', async () => {
      const { adapter, sink } = adapterFor(suiteCase.device(await peer()));
      const before = Date.now();
      await adapter.start();
      await sink.until('a good reading of the served point', () => anyGood(sink.of('served')));
      const reading = sink.of('served').find((r) => r.quality === 'good');
      expect(reading?.value).toEqual(suiteCase.servedValue);
      expect(reading?.ts).toBeGreaterThanOrEqual(before - 1);
      expect(reading?.ts).toBeLessThanOrEqual(Date.now());
      expect(sink.states.map((s) => s.state)).toEqual(['connected']);
    });

    it('a point the device cannot serve reads bad with a status, never a stale value', async () => {
      const { adapter, sink } = adapterFor(suiteCase.device(await peer()));
      await adapter.start();
      await sink.until(
        'readings of both points',
        () => sink.of('unserved').length > 0 && anyGood(sink.of('served')),
      );
      for (const reading of sink.of('unserved')) expectBad(reading);
    });

    it('scanOnce() gives one reading per configured point, reachable or not', async () => {
      const { adapter, points } = adapterFor(suiteCase.device(await peer()));
      const readings = await adapter.scanOnce();
      expect(readings.map((r) => r.point).sort()).toEqual([...points].sort());
      expect(readings.find((r) => r.point === 'served')).toMatchObject({
        quality: 'good',
        value: suiteCase.servedValue,
      });
      expectBad(readings.find((r) => r.point === 'unserved'));

      const unreachable = adapterFor(await suiteCase.unreachableDevice());
      const bad = await unreachable.adapter.scanOnce();
      expect(bad.map((r) => r.point).sort()).toEqual([...unreachable.points].sort());
      for (const reading of bad) expectBad(reading);
    });

    it('stop() closes every connection, ends acquisition and is safe to call twice', async () => {
      const { device, adapter, sink } = await running();
      await adapter.stop();
      await adapter.stop();
      await waitUntil('the device to see its connections closed', () => device.connections() === 0, 10_000);
      const calls = sink.batches.length + sink.states.length;
      await quiet();
      expect(sink.batches.length + sink.states.length).toBe(calls);
    });

    it('reports each state change once: lost, bad readings, back again', async () => {
      const { device, sink } = await running();
      await device.stop();
      await sink.until('the loss reported', () => sink.states.length >= 2);
      await sink.until('the served point read bad', () => sink.of('served').at(-1)?.quality === 'bad');
      expectBad(sink.of('served').at(-1));
      await device.restart();
      await sink.until('good readings again', () => sink.of('served').at(-1)?.quality === 'good');
      await quiet();
      expect(sink.states.map((s) => s.state)).toEqual(['connected', 'disconnected', 'connected']);
    });

    const { writeValue } = suiteCase;
    if (writeValue !== undefined) {
      it('writes a value the device then reads back; refuses a point it does not have', async () => {
        const { adapter } = adapterFor(suiteCase.device(await peer()));
        await adapter.start();
        expect(await adapter.write?.('writable', writeValue)).toEqual({ ok: true });
        const readings = await adapter.scanOnce();
        expect(readings.find((r) => r.point === 'writable')).toMatchObject({
          quality: 'good',
          value: writeValue,
        });
        expect(await adapter.write?.('no-such-point', writeValue)).toMatchObject({
          ok: false,
          reason: expect.any(String),
        });
      });
    }
  });
}

function expectBad(reading: Reading | undefined): void {
  expect(reading).toMatchObject({ quality: 'bad', value: null, status: expect.any(Object) });
}
