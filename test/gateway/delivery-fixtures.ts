/**
 * Peers for the delivery tests: a Modbus device (modbus-serial ServerTCP) whose registers count
 * reads, so every reading has a known place in its series, a gateway config reading it, and the
 * collector's series API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type RunningCollector, startCollector } from '../../cloud/collector.js';
import { buildCollectorConfig } from '../../cloud/config.js';
import { startModbusServer } from '../helpers/modbus-server.js';
import { freePort } from '../helpers/ports.js';

export const SITE = 'he-delivery';
export const COUNTER_POINTS = ['count-a', 'count-b'] as const;

export interface CounterDevice {
  port: number;
  /** Reads of register 0 answered so far. */
  reads(): number;
  /** While frozen every read fails (exception 6, device busy) and no counter moves. */
  freeze(frozen: boolean): void;
  close(): Promise<void>;
}

/** Holding registers 0 and 1 each answer 1, 2, 3, … one more at every read. */
export async function startCounterDevice(): Promise<CounterDevice> {
  const port = await freePort();
  const counters = [0, 0];
  let frozen = false;
  const { close } = await startModbusServer(port, {
    getHoldingRegister: (address: number) => {
      if (frozen) return Promise.reject({ modbusErrorCode: 6 });
      if (address > 1) return Promise.reject({ modbusErrorCode: 2 });
      counters[address] = ((counters[address] as number) + 1) % 65_536;
      return Promise.resolve(counters[address]);
    },
  });
  return {
    port,
    reads: () => counters[0] as number,
    freeze: (value) => {
      frozen = value;
    },
    close,
  };
}

export interface GatewayConfigOptions {
  gatewayId: string;
  mqttUrl: string;
  devicePort: number;
  stateDir: string;
  pollIntervalMs?: number;
  publishIntervalMs?: number;
  outbox?: Record<string, unknown>;
  delivery?: Record<string, unknown>;
  mqtt?: Record<string, unknown>;
}

export function counterGatewayConfig(options: GatewayConfigOptions) {
  return {
    gateway: {
      id: options.gatewayId,
      region: 'HE',
      project: 'jjj-dp-03',
      site: SITE,
      siteName: { zh: '交付测试', en: 'Delivery test' },
      stateDir: options.stateDir,
    },
    mqtt: { url: options.mqttUrl, reconnect: { minMs: 100, maxMs: 400 }, ...options.mqtt },
    publish: { intervalMs: options.publishIntervalMs ?? 100 },
    outbox: options.outbox ?? {},
    delivery: options.delivery ?? {},
    log: { level: 'warn' },
    devices: [
      {
        protocol: 'modbus',
        id: 'counter',
        line: 'test-line',
        transport: 'tcp',
        host: '127.0.0.1',
        port: options.devicePort,
        unitId: 1,
        pollIntervalMs: options.pollIntervalMs ?? 50,
        // Every read counts the device up, so a read timed out under CI load would leave a gap that
        // is no delivery loss: on loopback an answer always comes, so wait for it.
        timeoutMs: 10_000,
        points: COUNTER_POINTS.map((name, address) => ({ name, table: 'holding', address, type: 'uint16' })),
      },
    ],
  };
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function startTestCollector(brokerUrl: string, dir: string): Promise<RunningCollector> {
  return startCollector(
    buildCollectorConfig({
      mqtt: { url: brokerUrl },
      store: { path: join(dir, 'collector.db') },
      http: { port: 0 },
      auth: { anonymous: 'viewer' },
    }),
    { logger: pino({ level: 'silent' }) },
  );
}

/** The stored values of a counter point, a failed read (bad quality) as `null`. */
export async function storedSamples(
  collector: RunningCollector,
  point: string,
): Promise<Array<number | null>> {
  const id = `${SITE}/test-line/counter/${point}`;
  const response = await fetch(
    `${collector.httpUrl}/api/v1/series?point=${encodeURIComponent(id)}&from=0&to=${Date.now() + 60_000}`,
  );
  if (response.status === 404) return [];
  const body = (await response.json()) as { samples: Array<{ ts: number; value: number | null }> };
  return body.samples.map((s) => s.value);
}

/** The stored values of a counter point, without the failed reads (device frozen). */
export async function storedSeries(collector: RunningCollector, point: string): Promise<number[]> {
  return (await storedSamples(collector, point)).flatMap((value) => (value === null ? [] : [value]));
}

/** Every stored series is 1, 2, 3, … n: nothing lost, nothing twice, in order of time. */
export function expectCounting(values: number[]): boolean {
  return values.length > 0 && values.every((value, i) => value === i + 1);
}
