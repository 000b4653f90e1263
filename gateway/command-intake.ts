/**
 * Command intake: the cloud's writes arrive as JSON commands (`jjj.command/1`, answered with an
 * acknowledgement) or as Sparkplug B DCMDs; an NCMD may ask for a rebirth, and a primary host's
 * STATE arrives on the same subscription. Each write goes to the `CommandExecutor`.
 */

import { gatewayTopic, siteRef } from './announcements.js';
import type { CommandExecutor } from './commands.js';
import type { LoadedGatewayConfig } from './config.js';
import type { ConnectionStateMachine } from './connection-state.js';
import type { Logger } from './logger.js';
import type { OutgoingMessage } from './mqtt-link.js';
import { COMMAND_ACK_SCHEMA, type CommandAck, CommandMessage, type WriteOutcome } from './schema/commands.js';
import type { SparkplugEdgeNode } from './sparkplug/edge-node.js';

export interface CommandIntakeOptions {
  config: Pick<LoadedGatewayConfig, 'gateway'>;
  boot: number;
  executor: CommandExecutor;
  /** Present in Sparkplug B mode: it reads every message that arrives. */
  sparkplug: SparkplugEdgeNode | undefined;
  connection: Pick<ConnectionStateMachine, 'hostChanged' | 'rebirth'>;
  publish: (message: OutgoingMessage) => Promise<void>;
  logger: Logger;
}

export class CommandIntake {
  private readonly ackTopic: string;

  constructor(private readonly options: CommandIntakeOptions) {
    this.ackTopic = gatewayTopic(options.config.gateway, 'command-ack');
  }

  /** A message on one of the subscriptions; whatever goes wrong is logged, never thrown. */
  receive(topic: string, payload: Buffer): void {
    const { sparkplug, logger } = this.options;
    const handled = sparkplug ? this.onSparkplug(sparkplug, topic, payload) : this.onJson(topic, payload);
    handled.catch((error: Error) => logger.error({ err: error, topic }, 'handling a command failed'));
  }

  private async onJson(topic: string, payload: Buffer): Promise<void> {
    const { config, boot, executor, publish, logger } = this.options;
    let command: CommandMessage | undefined;
    let error: string | undefined;
    try {
      const parsed = CommandMessage.safeParse(JSON.parse(payload.toString('utf8')));
      if (parsed.success) command = parsed.data;
      else error = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    } catch {
      error = 'not JSON';
    }
    let results: WriteOutcome[] = [];
    if (command)
      results = await executor.execute(command.writes, { id: command.id, by: command.by, via: 'json' });
    else logger.warn({ topic, reason: error }, 'command refused: it does not validate');
    const ack: CommandAck = {
      schema: COMMAND_ACK_SCHEMA,
      ...siteRef(config.gateway),
      id: command?.id ?? idOf(payload),
      gateway: { id: config.gateway.id, boot },
      ts: Date.now(),
      results,
      ...(error !== undefined && { error }),
    };
    await publish({ topic: this.ackTopic, payload: JSON.stringify(ack), qos: 1, retain: false });
  }

  private async onSparkplug(node: SparkplugEdgeNode, topic: string, payload: Buffer): Promise<void> {
    const { executor, connection, logger } = this.options;
    let outcome: ReturnType<SparkplugEdgeNode['handle']>;
    try {
      outcome = node.handle(topic, payload);
    } catch (error) {
      logger.warn({ topic, reason: (error as Error).message }, 'unreadable Sparkplug command; ignored');
      return;
    }
    if (!outcome) {
      // The primary host's STATE may have changed.
      connection.hostChanged();
      return;
    }
    if (outcome.kind === 'rebirth') {
      logger.info('rebirth requested by NCMD');
      connection.rebirth();
      return;
    }
    for (const reason of outcome.rejected) logger.warn({ topic, reason }, 'DCMD write refused');
    const writes = outcome.writes.flatMap((write) =>
      write.value === null ? [] : [{ ...write, value: write.value }],
    );
    await executor.execute(writes, { id: `dcmd-${Date.now()}`, via: 'sparkplug' });
  }
}

/** The id of a command that did not validate, if it has one, so the sender can match the refusal. */
function idOf(payload: Buffer): string {
  try {
    const id = (JSON.parse(payload.toString('utf8')) as { id?: unknown }).id;
    return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : 'unknown';
  } catch {
    return 'unknown';
  }
}
