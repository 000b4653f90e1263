/**
 * The southbound contract: all an adapter sees of the gateway. An adapter turns one configured
 * device into readings handed to a sink; it knows nothing of MQTT, the outbox or storage.
 *
 * Adding a protocol: one folder `adapters/<protocol>/` whose index exports an `AdapterModule` (built
 * on the kit in `adapters/common/`: poll scheduler, publish filter, device-state reporter), one line
 * in `adapters/registry.ts`, and the protocol's name in `protocols` of `gateway/schema`, the wire
 * contract (its metadata and status codes name it; a test checks the registry and that list agree).
 * Nothing in `gateway/` changes. See adapters/common/README.md.
 */
import type { ParseArgsConfig } from 'node:util';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { JjjError } from '../gateway/common/errors.js';
import {
  DataType,
  Identifier,
  KpiRole,
  type ProtocolStatus,
  type Quality,
  UneceUnit,
} from '../gateway/schema/index.js';

export type { ProtocolStatus, Quality };
export { DataType, Identifier, UneceUnit };

export type ReadingScalar = number | boolean | string;
/** 64-bit integers as decimal strings; `null` only with bad quality. */
export type ReadingValue = ReadingScalar | ReadingScalar[] | null;

export interface Reading {
  /** The point's `name` as configured on the device. */
  point: string;
  value: ReadingValue;
  /** Source timestamp, ms: when the device measured it (for polled protocols: when the response arrived). */
  ts: number;
  /** Server timestamp, ms, where the protocol has one. */
  serverTs?: number;
  quality: Quality;
  status?: ProtocolStatus;
}

/**
 * Codes the gateway itself gives (`source: 'gateway'`) when a device gave no usable value. They
 * are part of the wire contract: keep the numbers stable and add new ones at the end.
 */
export const gatewayStatus = {
  /** The device sent no response in time. */
  timeout: { source: 'gateway', code: 1, name: 'Timeout' },
  /** No connection to the device: refused, unreachable, or lost and not yet re-established. */
  notConnected: { source: 'gateway', code: 2, name: 'NotConnected' },
  /** The adapter reported nothing for a configured point in a one-shot scan. */
  notRead: { source: 'gateway', code: 3, name: 'NotRead' },
  /** The device answered, but with no number the schema can carry (NaN, ±Infinity, a structure). */
  invalidValue: { source: 'gateway', code: 4, name: 'InvalidValue' },
  /** The response was malformed (wrong length, unexpected function code). */
  communicationError: { source: 'gateway', code: 5, name: 'CommunicationError' },
  /** The device answered Good or Uncertain but without a value. */
  noValue: { source: 'gateway', code: 6, name: 'NoValue' },
} as const satisfies Record<string, ProtocolStatus>;

export type DeviceState = 'connected' | 'disconnected';

export interface SouthboundSink {
  /** Readings of one device; one call per scan or per burst of notifications. */
  readings(deviceId: string, readings: readonly Reading[]): void;
  /** The device's connection changed state; `detail` says why (e.g. the socket error). */
  deviceState(deviceId: string, state: DeviceState, detail?: string): void;
}

export interface AdapterContext {
  sink: SouthboundSink;
  /** A child logger bound to this device. Log once per state change, never once per poll. */
  logger: Logger;
  /** A folder private to this device for state that must survive restarts (e.g. certificates); made on demand. */
  stateDir: string;
  /**
   * The gateway's metrics registry, served at its `/metrics`: adapters register their metrics here
   * (see `sharedCounter` in adapters/common/metrics.ts), never in prom-client's global one.
   */
  metrics: Registry;
}

export interface DeviceAdapter {
  /**
   * Starts acquisition (poll loop or subscriptions). Resolves once started: an unreachable device
   * is reported through `sink.deviceState` and retried in the background, never thrown.
   */
  start(): Promise<void>;
  /**
   * One scan of every configured point, for `jjj-gateway test`: connects, reads each point once
   * and resolves with one reading per point (bad quality for points that could not be read).
   */
  scanOnce(): Promise<Reading[]>;
  /** Stops acquisition and closes every socket and timer. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * Writes one value to a configured point (the command path). The gateway has already checked that
   * the point is writable and the value fits its type and range; the adapter encodes it for the device
   * and resolves once the device confirmed, or with the reason it refused. Absent for read-only protocols.
   */
  write?(point: string, value: ReadingScalar): Promise<WriteResult>;
}

export type WriteResult = { ok: true } | { ok: false; reason: string; status?: ProtocolStatus };

/**
 * A DeviceAdapter whose implementation is imported on first use, so loading the registry (e.g. for
 * `jjj-gateway validate`) does not load every protocol stack (node-opcua alone takes a second).
 */
export function lazyDeviceAdapter(load: () => Promise<DeviceAdapter>): DeviceAdapter {
  let loaded: Promise<DeviceAdapter> | undefined;
  const adapter = () => {
    loaded ??= load();
    return loaded;
  };
  return {
    start: async () => (await adapter()).start(),
    scanOnce: async () => (await adapter()).scanOnce(),
    stop: async () => {
      if (loaded) await (await loaded).stop();
    },
    write: async (point, value) => {
      const implementation = await adapter();
      if (!implementation.write) return { ok: false, reason: 'this protocol does not support writes' };
      return implementation.write(point, value);
    },
  };
}

/** Fields every point of every protocol has. Adapters extend this with their addressing fields. */
export const PointBase = z.strictObject({
  name: Identifier.describe('point name, unique within its equipment'),
  line: Identifier.optional().describe("overrides the device's line"),
  equipment: Identifier.optional().describe("overrides the device's equipment"),
  unit: UneceUnit.optional(),
  description: z.string().optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  writable: z.boolean().optional(),
  kpi: KpiRole.optional().describe(
    'what the point means for the plant-comparison KPIs (docs/kpi-roles.md); carried in its metadata',
  ),
});

/** Fields every device of every protocol has. Adapters extend this with `protocol` and connection fields. */
export const DeviceBase = z.strictObject({
  id: Identifier.describe('device id, unique within the gateway'),
  line: Identifier.describe('ISA-95 line (area) the device belongs to'),
  equipment: Identifier.optional().describe('equipment the points belong to; defaults to the device id'),
});

export type PointBase = z.infer<typeof PointBase>;

/**
 * A point whose `min` is above its `max` (every reading would be out of range): one issue per such
 * point, with its path inside the device entry. Checked where a device entry is parsed, because each
 * protocol builds its point schema from `PointBase.shape`, which carries no refinement.
 */
export function pointRangeIssues(
  points: readonly PointBase[],
): { path: (string | number)[]; message: string }[] {
  return points.flatMap((point, index) =>
    point.min !== undefined && point.max !== undefined && point.min > point.max
      ? [{ path: ['points', index, 'min'], message: `min ${point.min} is above max ${point.max}` }]
      : [],
  );
}

/** A setting that is valid but probably not what was meant; `path` is inside the device entry. */
export interface ConfigWarning {
  path: (string | number)[];
  message: string;
}

/** How a point is addressed on its device, for the point metadata the gateway publishes. */
export interface PointAddress {
  address: string;
  dataType?: DataType;
}

export interface AdapterModule<
  Device extends z.infer<typeof DeviceBase> & { protocol: string; points: PointBase[] },
> {
  protocol: Device['protocol'];
  /** The zod schema of one device entry in the gateway config; its `protocol` is a literal. */
  deviceSchema: z.ZodType<Device>;
  create(device: Device, context: AdapterContext): DeviceAdapter;
  /** The source address (and data type, when known) of a point, for metadata. */
  addressOf(device: Device, point: Device['points'][number]): PointAddress;
  /**
   * Settings of a valid device entry that look like a mistake (e.g. a Modbus `40001`-style address):
   * printed by `jjj-gateway validate` and logged once when the device's adapter is created.
   */
  configWarnings?(device: Device): ConfigWarning[];
  /** Commands of this protocol's own that `jjj-gateway` offers (e.g. OPC UA's `discover opcua`). */
  cli?: AdapterCli;
}

export interface AdapterCli {
  commands: readonly AdapterCommand[];
}

/**
 * One `jjj-gateway` command an adapter adds. The CLI chooses it by its leading words, parses the
 * options it declares together with its own, and prints what `run` resolves with. `run` should import
 * what it needs on first use: the registry loads every module's index, and a CLI hook must not make
 * `jjj-gateway validate` load a protocol stack.
 */
export interface AdapterCommand {
  /** The words after `jjj-gateway` that choose the command, e.g. `['discover', 'opcua']` or `['certificates']`. */
  words: readonly string[];
  /** Its usage line without the program name, e.g. `discover opcua opc.tcp://HOST:PORT [--depth N]`. */
  usage: string;
  /** What it does, for `jjj-gateway --help` (one short paragraph). */
  summary: string;
  /** Options of its own, declared as node:util `parseArgs` takes them. */
  options?: ParseArgsConfig['options'];
  /** One line per option for the Options section of `jjj-gateway --help`, e.g. `--depth N        levels to browse`. */
  optionsHelp?: readonly string[];
  /** Whether it reads the gateway config (`--config FILE`); it then gets the gateway's state folder. */
  needsConfig: boolean;
  run(input: AdapterCommandInput): Promise<string>;
}

export interface AdapterCommandInput {
  /** The positional arguments after the command's words. */
  args: readonly string[];
  /** The values of the options the command declared (absent when not given). */
  options: Readonly<Record<string, string | boolean | undefined>>;
  /** The gateway's state folder, when the command `needsConfig`. */
  stateDir?: string;
}

/** A command given arguments it cannot take; the CLI prints the message with the usage and exits 2. */
export class AdapterUsageError extends JjjError {
  constructor(message: string) {
    super('USAGE', message);
  }
}
