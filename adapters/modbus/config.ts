/** The configuration of one Modbus device in the gateway YAML (`devices:` entry with `protocol: modbus`). */
import { z } from 'zod';
import { type ConfigWarning, DeviceBase, PointBase } from '../contract.js';
import { byteOrders, modbusTypes, registerCount } from './decode.js';
import { modbusTables, protocolLimits } from './planner.js';

const bitTables = new Set(['coil', 'discrete']);
const readOnlyTables = new Set(['input', 'discrete']);
const unscaledTypes = new Set(['bool', 'int64', 'uint64', 'string']);

const ByteOrder = z
  .enum(byteOrders, { error: `expected one of ${byteOrders.join(', ')}` })
  .describe('ABCD big-endian, CDAB word-swapped, BADC byte-swapped, DCBA little-endian');
const Interval = z.number().int().min(10).max(86_400_000);

export const pointSchema = z
  .strictObject({
    ...PointBase.shape,
    table: z.enum(modbusTables, { error: `expected one of ${modbusTables.join(', ')}` }),
    address: z
      .number()
      .int('expected a whole number')
      .min(0, 'a Modbus address is 0–65535 (0-based protocol address, not 40001-style)')
      .max(65535, 'a Modbus address is 0–65535 (0-based protocol address, not 40001-style)'),
    type: z.enum(modbusTypes, { error: `expected one of ${modbusTypes.join(', ')}` }),
    byteOrder: ByteOrder.optional().describe("overrides the device's byteOrder"),
    bit: z.number().int().min(0).max(15).optional().describe('for a bool in a register: bit 0 (LSB) to 15'),
    length: z
      .number()
      .int()
      .min(1)
      .max(protocolLimits.holding)
      .optional()
      .describe('for a string: registers it spans, two characters each'),
    scale: z
      .number()
      .refine((scale) => Number.isFinite(scale) && scale !== 0, 'expected a finite, non-zero number')
      .default(1)
      .describe('value = raw * scale + offset'),
    offset: z.number().finite().default(0),
    deadband: z
      .number()
      .finite()
      .min(0)
      .optional()
      .describe('publish only when the value moved more than this (any change for bool and string)'),
    maxSilenceMs: Interval.optional().describe(
      "with a deadband: republish after this long; overrides the device's",
    ),
    pollIntervalMs: Interval.optional().describe("overrides the device's pollIntervalMs"),
  })
  .superRefine((point, ctx) => {
    const problem = (path: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message });
    if (bitTables.has(point.table) && point.type !== 'bool') {
      problem('type', `the ${point.table} table holds single bits: type must be bool`);
    }
    if (point.type === 'string' && point.length === undefined) {
      problem('length', 'a string needs its length in registers (two characters each)');
    }
    if (point.type !== 'string' && point.length !== undefined)
      problem('length', 'length applies to strings only');
    if (point.bit !== undefined && (point.type !== 'bool' || bitTables.has(point.table))) {
      problem('bit', 'bit applies to a bool in a holding or input register');
    }
    const width = registerCount(point.type, point.length);
    if (point.address + width - 1 > 65535) {
      problem(
        'address',
        `a ${point.type} spans ${width} registers, so its address must be at most ${65536 - width}`,
      );
    }
    if (unscaledTypes.has(point.type) && (point.scale !== 1 || point.offset !== 0)) {
      problem(
        'scale',
        `scale and offset apply to numbers, not to ${point.type} (64-bit integers stay exact)`,
      );
    }
    if (point.writable && readOnlyTables.has(point.table)) {
      problem('writable', `the ${point.table} table is read-only`);
    }
    if (point.writable && point.bit !== undefined) {
      problem('writable', 'a bit inside a register cannot be written alone');
    }
  });

const unitIdMessage = 'a unit id is 0–255 (usually 1–247; 0 or 255 for many TCP-only devices)';

export const transports = ['tcp', 'rtu-over-tcp', 'rtu'] as const;

export const deviceSchema = z
  .strictObject({
    ...DeviceBase.shape,
    protocol: z.literal('modbus'),
    transport: z.enum(transports, { error: `expected one of ${transports.join(', ')}` }).default('tcp'),
    host: z.string().min(1, 'expected a host name or IP address').optional(),
    port: z.number().int().min(1).max(65535).default(502),
    serialPort: z.string().min(1).optional().describe('rtu: the serial device, e.g. /dev/ttyUSB0'),
    baudRate: z.number().int().min(300).max(921_600).default(9600),
    parity: z.enum(['none', 'even', 'odd']).default('none'),
    dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
    stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
    interFrameDelayMs: z
      .number()
      .min(0)
      .max(1000)
      .optional()
      .describe(
        'silence between frames on an RTU line; defaults to 3.5 characters at baudRate (at least 2 ms)',
      ),
    unitId: z.number().int().min(0, unitIdMessage).max(255, unitIdMessage).default(1),
    pollIntervalMs: Interval.default(1000),
    timeoutMs: z.number().int().min(10).max(60_000).default(1000).describe('per request, and for connecting'),
    retries: z.number().int().min(0).max(5).default(0).describe('resends of a request that timed out'),
    byteOrder: ByteOrder.default('ABCD'),
    maxGap: z
      .number()
      .int()
      .min(0)
      .max(protocolLimits.holding - 2)
      .default(8)
      .describe(
        'unused addresses one read may span; 0 for devices that reject reads over unmapped addresses',
      ),
    maxSilenceMs: Interval.default(60_000).describe(
      'with a deadband: republish an unchanged value after this long',
    ),
    multipleWrites: z
      .boolean()
      .default(false)
      .describe('write single coils/registers with functions 15/16 instead of 5/6'),
    points: z.array(pointSchema).min(1, 'expected at least one point'),
  })
  .superRefine((device, ctx) => {
    if (device.transport === 'rtu' && !device.serialPort) {
      ctx.addIssue({
        code: 'custom',
        path: ['serialPort'],
        message: 'rtu needs serialPort, e.g. /dev/ttyUSB0',
      });
    }
    if (device.transport !== 'rtu' && !device.host) {
      ctx.addIssue({ code: 'custom', path: ['host'], message: `${device.transport} needs host` });
    }
  });

/**
 * The old 5-digit reference notation of vendor manuals: 3xxxx input registers, 4xxxx holding
 * registers, both counted from 1 (40001 is holding address 0).
 */
const referenceRanges = [
  { digit: 4, table: 'holding', first: 40_001, last: 49_999 },
  { digit: 3, table: 'input', first: 30_001, last: 39_999 },
] as const;

/**
 * Register addresses that look like 3xxxx/4xxxx references rather than 0-based protocol addresses:
 * one warning per device and table, at its first such point. Only a warning: devices whose protocol
 * addresses really are that high exist (SunSpec inverters start at 40000).
 */
export function addressWarnings(device: Pick<ModbusDevice, 'points'>): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  for (const table of ['holding', 'input'] as const) {
    const suspects = device.points.flatMap((point, index) => {
      const range = referenceRanges.find((r) => point.address >= r.first && point.address <= r.last);
      return point.table === table && range ? [{ point, index, range }] : [];
    });
    const [first, ...others] = suspects;
    if (!first) continue;
    const { point, index, range } = first;
    const meant = point.address - range.first;
    const more =
      others.length === 0
        ? ''
        : ` (so do ${others.length} more ${table} address${others.length === 1 ? '' : 'es'} of this device)`;
    warnings.push({
      path: ['points', index, 'address'],
      message: `${point.address} looks like a ${range.digit}xxxx register reference${more}: did you mean address ${meant} of the ${range.table} table? addresses are 0-based protocol addresses; keep ${point.address} only if the manual gives it as the protocol address`,
    });
  }
  return warnings;
}

export type ModbusPoint = z.infer<typeof pointSchema>;
export type ModbusDevice = z.infer<typeof deviceSchema>;
export type ModbusTransport = (typeof transports)[number];
