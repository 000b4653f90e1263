/**
 * A minimal third protocol, kept under test/ to prove the claim of adapters/common/README.md: a
 * protocol is one folder (this one: config schema, adapter module, adapter) plus one registry line.
 * The protocol is a line-based text protocol over TCP (see line-server.ts, its real peer).
 */
import { z } from 'zod';
import { type AdapterModule, DeviceBase, PointBase } from '../../../adapters/contract.js';
import { TextLineAdapter } from './adapter.js';

const TextLinePoint = PointBase.extend({
  register: z.string().regex(/^\S+$/, 'expected a register name without spaces'),
});

export const deviceSchema = DeviceBase.extend({
  protocol: z.literal('textline'),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(1).max(65_535),
  pollIntervalMs: z.number().int().min(10).default(1000),
  timeoutMs: z.number().int().min(10).default(1000),
  reconnectMs: z.number().int().min(10).default(1000),
  points: z.array(TextLinePoint).min(1),
});
export type TextLineDeviceConfig = z.infer<typeof deviceSchema>;

export const textLineAdapter: AdapterModule<TextLineDeviceConfig> = {
  protocol: 'textline',
  deviceSchema,
  create: (device, context) => new TextLineAdapter(device, context),
  addressOf: (_device, point) => ({ address: point.register, dataType: 'float64' }),
};
