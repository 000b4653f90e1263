/**
 * Commands from the cloud: each is recorded with who asked, signed with the collector's Ed25519
 * key, published on its gateway's `command` topic (QoS 1), and matched with the gateway's
 * acknowledgement, which is stored whenever it arrives (also after the caller stopped waiting).
 */

import type { KeyObject } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { signCommand } from '../../gateway/schema/command-signature.js';
import {
  COMMAND_SCHEMA,
  CommandAck,
  type CommandTarget,
  type WriteRequest,
} from '../../gateway/schema/commands.js';
import { parseTopic, topicFor } from '../../gateway/schema/index.js';
import type { CommandLog, CommandRecord } from '../store/command-table.js';

export interface CommandSenderOptions {
  log: CommandLog;
  signingKey: KeyObject;
  keyId: string;
  lifetimeMs: number;
  /** Publishes at QoS 1; rejects when the broker does not take it. */
  publish: (topic: string, payload: string) => Promise<void>;
  logger: Logger;
  now?: () => number;
}

export interface SendOutcome {
  acknowledged: boolean;
  command: CommandRecord;
}

export class CommandSender {
  /** Callers waiting for the acknowledgement of a command, by id. */
  private readonly waiting = new Map<string, (answered: boolean) => void>();
  private readonly now: () => number;

  constructor(private readonly options: CommandSenderOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Signs, records and publishes a command; resolves when it is acknowledged or `waitMs` passed. */
  async send(request: {
    by: string;
    target: CommandTarget;
    writes: WriteRequest[];
    waitMs: number;
  }): Promise<SendOutcome> {
    const { log, signingKey, keyId, lifetimeMs, logger } = this.options;
    const ts = this.now();
    const command = signCommand(
      {
        schema: COMMAND_SCHEMA,
        id: randomUUID(),
        target: request.target,
        ts,
        expiresTs: ts + lifetimeMs,
        by: request.by,
        writes: request.writes,
      },
      keyId,
      signingKey,
    );
    log.record({
      id: command.id,
      requestedAt: ts,
      requestedBy: request.by,
      target: request.target,
      writes: request.writes,
      expiresTs: command.expiresTs,
    });
    const acknowledged = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => this.settle(command.id, false), request.waitMs);
      this.waiting.set(command.id, (answered) => {
        clearTimeout(timer);
        resolve(answered);
      });
    });
    try {
      await this.options.publish(topicFor({ ...request.target, kind: 'command' }), JSON.stringify(command));
    } catch (error) {
      this.settle(command.id, false);
      throw error;
    }
    logger.info(
      { command: command.id, by: request.by, ...request.target, writes: request.writes.length },
      'command sent',
    );
    const answered = await acknowledged;
    if (!answered) logger.warn({ command: command.id, waitMs: request.waitMs }, 'no acknowledgement yet');
    return { acknowledged: answered, command: log.command(command.id) as CommandRecord };
  }

  /** Stops waiting for every acknowledgement (the collector is stopping); the commands stay pending. */
  stop(): void {
    for (const id of [...this.waiting.keys()]) this.settle(id, false);
  }

  private settle(id: string, answered: boolean): void {
    this.waiting.get(id)?.(answered);
    this.waiting.delete(id);
  }

  /**
   * A message on a `command-ack` topic. It counts only for a pending command of the same gateway
   * and site: another gateway cannot settle a command it was not sent.
   */
  handleAck(topic: string, payload: Buffer): void {
    const { log, logger } = this.options;
    let ack: CommandAck;
    try {
      ack = CommandAck.parse(JSON.parse(payload.toString('utf8')));
    } catch {
      logger.warn({ topic }, 'unreadable command acknowledgement ignored');
      return;
    }
    const command = log.command(ack.id);
    if (!command) return;
    const from = parseTopic(topic);
    const { target } = command;
    const sameGateway = (address: { site: string; gateway: string } | undefined) =>
      address?.site === target.site && address.gateway === target.gateway;
    if (!sameGateway(from) || !sameGateway({ site: ack.site, gateway: ack.gateway.id })) {
      logger.warn(
        { command: ack.id, from: ack.gateway.id, topic },
        'acknowledgement from another gateway ignored',
      );
      return;
    }
    if (!log.acknowledge(ack.id, ack, this.now())) return;
    const stored = log.command(ack.id);
    logger.info({ command: ack.id, status: stored?.status, error: ack.error }, 'command acknowledged');
    this.settle(ack.id, true);
  }
}
