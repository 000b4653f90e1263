/**
 * The command path (write-back): the cloud asks a gateway to write values; the gateway answers with
 * one acknowledgement per command, saying for each write whether it was done or why not. A command
 * is signed (see `command-signature.ts`), names the one gateway it is for, and expires.
 */
import { z } from 'zod';
import {
  EpochMillis,
  GatewayRef,
  Identifier,
  PointIdentity,
  ProtocolStatus,
  Region,
  ScalarValue,
  SiteRef,
} from './index.js';

export const COMMAND_SCHEMA = 'jjj.command/2';
export const COMMAND_ACK_SCHEMA = 'jjj.command-ack/1';

export const WriteRequest = PointIdentity.extend({ value: ScalarValue });
export type WriteRequest = z.infer<typeof WriteRequest>;

/** The one gateway a command is for: a command signed for one gateway is refused by every other. */
export const CommandTarget = z.object({ region: Region, site: Identifier, gateway: Identifier });
export type CommandTarget = z.infer<typeof CommandTarget>;

export const CommandSignature = z.object({
  alg: z.literal('ed25519'),
  keyId: Identifier.describe("the signing key's id, as the gateway's config names its public key"),
  value: z
    .string()
    .regex(/^[A-Za-z0-9+/]{86}==$/, 'expected a base64 Ed25519 signature (64 bytes)')
    .describe('Ed25519 signature of the canonical JSON of every other member (see command-signature.ts)'),
});
export type CommandSignature = z.infer<typeof CommandSignature>;

/** Published by the cloud on the gateway's `command` topic, QoS 1, not retained. */
export const CommandMessage = z.object({
  schema: z.literal(COMMAND_SCHEMA),
  id: z.string().min(1).max(64).describe('chosen by the sender, unique; the acknowledgement repeats it'),
  target: CommandTarget,
  ts: EpochMillis.describe('when it was signed'),
  expiresTs: EpochMillis.describe('not to be executed after this time (kept short: seconds to a minute)'),
  by: z.string().min(1).max(120).describe('the user who asked, as the cloud authenticated them'),
  writes: z.array(WriteRequest).min(1).max(1000),
  signature: CommandSignature,
});
export type CommandMessage = z.infer<typeof CommandMessage>;
export type UnsignedCommand = Omit<CommandMessage, 'signature'>;

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
  signer: Identifier.optional().describe(
    'the key id whose signature the gateway verified (`sparkplug-dcmd` for an unsigned DCMD); absent when refused before',
  ),
  by: z.string().min(1).max(120).optional().describe("the command's `by`, once its signature verified"),
  results: z.array(WriteOutcome),
  error: z
    .string()
    .optional()
    .describe('why the whole command was refused (e.g. it did not validate, expired, was replayed)'),
});
export type CommandAck = z.infer<typeof CommandAck>;
