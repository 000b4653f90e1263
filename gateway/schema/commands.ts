/**
 * The command path (write-back): the cloud asks a gateway to write values; the gateway answers with
 * one acknowledgement per command, saying for each write whether it was done or why not.
 */
import { z } from 'zod';
import { EpochMillis, GatewayRef, PointIdentity, ProtocolStatus, ScalarValue, SiteRef } from './index.js';

export const COMMAND_SCHEMA = 'jjj.command/1';
export const COMMAND_ACK_SCHEMA = 'jjj.command-ack/1';

export const WriteRequest = PointIdentity.extend({ value: ScalarValue });
export type WriteRequest = z.infer<typeof WriteRequest>;

/** Published by the cloud on the gateway's `command` topic, QoS 1, not retained. */
export const CommandMessage = z.object({
  schema: z.literal(COMMAND_SCHEMA),
  id: z.string().min(1).max(64).describe('chosen by the sender; the acknowledgement repeats it'),
  ts: EpochMillis,
  by: z.string().max(120).optional().describe('who asked, for the audit log'),
  writes: z.array(WriteRequest).min(1).max(1000),
});
export type CommandMessage = z.infer<typeof CommandMessage>;

export const WriteOutcome = PointIdentity.extend({
  ok: z.boolean(),
  reason: z.string().optional().describe('why the write was refused or failed'),
  status: ProtocolStatus.optional(),
});
export type WriteOutcome = z.infer<typeof WriteOutcome>;

/** Published by the gateway on its `command-ack` topic, QoS 1. */
export const CommandAck = SiteRef.extend({
  schema: z.literal(COMMAND_ACK_SCHEMA),
  id: z.string().min(1).max(64).describe("the command's id, or `unknown` when it could not be read"),
  gateway: GatewayRef,
  ts: EpochMillis,
  results: z.array(WriteOutcome),
  error: z.string().optional().describe('why the whole command was refused (e.g. it did not validate)'),
});
export type CommandAck = z.infer<typeof CommandAck>;
