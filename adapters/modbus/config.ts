/** The configuration of one Modbus device in the gateway YAML (`devices:` entry with `protocol: modbus`). */
import { z } from 'zod';
import { DeviceBase, PointBase } from '../contract.js';
import { modbusTypes, registerCount } from './decode.js';
import { modbusTables } from './planner.js';

const bitTables = new Set(['coil', 'discrete']);
const readOnlyTables = new Set(['input', 'discrete']);

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
    scale: z
      .number()
      .refine((scale) => Number.isFinite(scale) && scale !== 0, 'expected a finite, non-zero number')
      .default(1)
      .describe('value = raw * scale + offset'),
    offset: z.number().finite().default(0),
  })
  .superRefine((point, ctx) => {
    if (bitTables.has(point.table) && point.type !== 'bool') {
      ctx.addIssue({
        code: 'custom',
        path: ['type'],
        message: `the ${point.table} table holds single bits: type must be bool`,
      });
    }
    const last = point.address + registerCount(point.type) - 1;
    if (last > 65535) {
      ctx.addIssue({
        code: 'custom',
        path: ['address'],
        message: `a ${point.type} spans ${registerCount(point.type)} registers, so its address must be at most ${65536 - registerCount(point.type)}`,
      });
    }
    if (point.type === 'bool' && (point.scale !== 1 || point.offset !== 0)) {
      ctx.addIssue({
        code: 'custom',
        path: ['scale'],
        message: 'scale and offset apply to numbers, not to bool',
      });
    }
    if (point.writable && readOnlyTables.has(point.table)) {
      ctx.addIssue({ code: 'custom', path: ['writable'], message: `the ${point.table} table is read-only` });
    }
  });

export const deviceSchema = z.strictObject({
  ...DeviceBase.shape,
  protocol: z.literal('modbus'),
  transport: z
    .literal('tcp', { error: 'expected tcp (rtu and rtu-over-tcp are not supported yet)' })
    .default('tcp'),
  host: z.string().min(1, 'expected a host name or IP address'),
  port: z.number().int().min(1).max(65535).default(502),
  unitId: z
    .number()
    .int()
    .min(0, 'a unit id is 0–255 (usually 1–247; 0 or 255 for many TCP-only devices)')
    .max(255, 'a unit id is 0–255 (usually 1–247; 0 or 255 for many TCP-only devices)')
    .default(1),
  pollIntervalMs: z.number().int().min(10).max(86_400_000).default(1000),
  timeoutMs: z.number().int().min(10).max(60_000).default(1000).describe('per request, and for connecting'),
  points: z.array(pointSchema).min(1, 'expected at least one point'),
});

export type ModbusPoint = z.infer<typeof pointSchema>;
export type ModbusDevice = z.infer<typeof deviceSchema>;
