/**
 * Command intake: the cloud's writes arrive as JSON commands (`jjj.command/2`, signed, answered with
 * an acknowledgement) or as Sparkplug B DCMDs; an NCMD may ask for a rebirth, and a primary host's
 * STATE arrives on the same subscription. The command guard admits or refuses each command; the
 * admitted writes go to the `CommandExecutor`; every decision goes to the write audit and, for JSON,
 * into the acknowledgement (refusals at a bounded rate: see `RefusalThrottle`).
 */

import { gatewayTopic, siteRef } from './announcements.js';
import { type AuditEntry, WriteAudit } from './command-audit.js';
import { CommandGuard, type GuardDecision, type RefusalCode, RefusalThrottle } from './command-guard.js';
import { ReplayCache } from './command-replay-cache.js';
import type { CommandExecutor } from './commands.js';
import { formatIssues } from './common/config-loading.js';
import type { LoadedGatewayConfig } from './config.js';
import type { ConnectionStateMachine } from './connection-state.js';
import type { Logger } from './logger.js';
import type { OutgoingMessage } from './mqtt-link.js';
import {
  COMMAND_ACK_SCHEMA,
  type CommandAck,
  CommandMessage,
  type WriteOutcome,
  type WriteRequest,
} from './schema/commands.js';
import type { SparkplugEdgeNode } from './sparkplug/edge-node.js';

/** A command is at most 1,000 writes of ~150 bytes; anything far larger is refused unread. */
const MAX_COMMAND_BYTES = 256 * 1024;
/** Refusals acknowledged one by one per second (twice that in a burst); the rest are counted. */
const REFUSAL_ACKS_PER_SECOND = 10;

export interface CommandIntakeOptions {
  config: Pick<LoadedGatewayConfig, 'gateway' | 'commands' | 'commandKeys' | 'stateDir'>;
  boot: number;
  executor: CommandExecutor;
  /** Present in Sparkplug B mode: it reads every message that arrives. */
  sparkplug: SparkplugEdgeNode | undefined;
  connection: Pick<ConnectionStateMachine, 'hostChanged' | 'rebirth'>;
  publish: (message: OutgoingMessage) => Promise<void>;
  logger: Logger;
}

type Refusal = Extract<GuardDecision, { ok: false }>;

export class CommandIntake {
  private readonly ackTopic: string;
  private readonly replay: ReplayCache;
  private readonly audit: WriteAudit;
  private readonly guard: CommandGuard;
  private readonly throttle: RefusalThrottle;
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: CommandIntakeOptions) {
    const { config, logger } = options;
    this.ackTopic = gatewayTopic(config.gateway, 'command-ack');
    this.replay = new ReplayCache(config.stateDir);
    this.audit = new WriteAudit(config.stateDir, config.commands.auditMaxBytes);
    const { region, site, id } = config.gateway;
    this.guard = new CommandGuard({ config, self: { region, site, gateway: id }, replay: this.replay });
    this.throttle = new RefusalThrottle(REFUSAL_ACKS_PER_SECOND, (count) => {
      logger.warn({ count }, 'commands refused without an acknowledgement (more than the refusal rate)');
      this.audit.record({
        ts: Date.now(),
        command: 'unknown',
        via: 'json',
        outcome: 'refused',
        reason: 'flood',
        count,
      });
    });
    if (config.commandKeys.size === 0)
      logger.warn('no trusted command key (commands.trustedKeys): every JSON command will be refused');
  }

  /** A message on one of the subscriptions; whatever goes wrong is logged, never thrown. */
  receive(topic: string, payload: Buffer): void {
    if (this.closed) return;
    const { sparkplug, logger } = this.options;
    const handled = (sparkplug ? this.onSparkplug(sparkplug, topic, payload) : this.onJson(payload))
      .catch((error: Error) => logger.error({ err: error, topic }, 'handling a command failed'))
      .finally(() => this.pending.delete(handled));
    this.pending.add(handled);
  }

  /** Waits for the commands under way, then closes the audit and the replay cache. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.pending);
    this.throttle.close();
    this.audit.close();
    this.replay.close();
  }

  private async onJson(payload: Buffer): Promise<void> {
    const command = parseCommand(payload);
    if (!command.ok) return this.refuseJson(command.id, command);
    const decision = this.guard.admitJson(command.command);
    if (!decision.ok) return this.refuseJson(command.command.id, decision);
    const { id, by, writes } = command.command;
    const results = await this.execute(writes, { id, by, signer: decision.signer, via: 'json' });
    await this.acknowledge({ id, signer: decision.signer, by, results });
  }

  private async refuseJson(id: string, refusal: Refusal): Promise<void> {
    if (
      !this.refused({ command: id, via: 'json', reason: `${refusal.code}: ${refusal.reason}` }, refusal.code)
    )
      return;
    await this.acknowledge({ id, results: [], error: `${refusal.code}: ${refusal.reason}` });
  }

  /** Audits and logs a refusal unless the throttle says it is part of a flood; true when recorded. */
  private refused(entry: Omit<AuditEntry, 'ts' | 'outcome'>, code: RefusalCode): boolean {
    if (!this.throttle.allow()) return false;
    this.audit.record({ ts: Date.now(), outcome: 'refused', ...entry });
    this.options.logger.warn(
      { command: entry.command, via: entry.via, code, reason: entry.reason },
      'command refused',
    );
    return true;
  }

  private async execute(
    writes: readonly WriteRequest[],
    origin: Parameters<CommandExecutor['execute']>[1],
  ): Promise<WriteOutcome[]> {
    const results = await this.options.executor.execute(writes, origin);
    this.audit.record({
      ts: Date.now(),
      command: origin.id,
      via: origin.via,
      outcome: 'executed',
      signer: origin.signer,
      ...(origin.by !== undefined && { by: origin.by }),
      writes: writes.map((write, w) => ({ ...(results[w] as WriteOutcome), value: write.value })),
    });
    return results;
  }

  private async acknowledge(outcome: Pick<CommandAck, 'id' | 'signer' | 'by' | 'results' | 'error'>) {
    const { config, boot, publish } = this.options;
    const ack: CommandAck = {
      schema: COMMAND_ACK_SCHEMA,
      ...siteRef(config.gateway),
      id: outcome.id,
      gateway: { id: config.gateway.id, boot },
      ts: Date.now(),
      ...(outcome.signer !== undefined && { signer: outcome.signer }),
      ...(outcome.by !== undefined && { by: outcome.by }),
      results: outcome.results,
      ...(outcome.error !== undefined && { error: outcome.error }),
    };
    await publish({ topic: this.ackTopic, payload: JSON.stringify(ack), qos: 1, retain: false });
  }

  private async onSparkplug(node: SparkplugEdgeNode, topic: string, payload: Buffer): Promise<void> {
    const { connection, logger } = this.options;
    let outcome: ReturnType<SparkplugEdgeNode['handle']>;
    try {
      outcome = node.handle(topic, payload);
    } catch (error) {
      logger.warn({ topic, reason: (error as Error).message }, 'unreadable Sparkplug command; ignored');
      return;
    }
    if (!outcome) return;
    if (outcome.kind === 'host-state') {
      // Debug only: a peer repeating an old STATE must not flood the log.
      if (outcome.stale)
        logger.debug({ topic, timestamp: outcome.timestamp }, 'STATE older than the last one taken; ignored');
      else connection.hostChanged();
      return;
    }
    if (outcome.kind === 'rebirth') {
      logger.info('rebirth requested by NCMD');
      connection.rebirth();
      return;
    }
    // Sparkplug has no command id nor acknowledgement: the audit and the log are the record.
    const id = `dcmd-${Date.now()}`;
    const decision = this.guard.admitSparkplug(outcome.writes.length + outcome.rejected.length);
    if (!decision.ok) {
      this.refused(
        { command: id, via: 'sparkplug', reason: `${decision.code}: ${decision.reason}` },
        decision.code,
      );
      return;
    }
    for (const reason of outcome.rejected) logger.warn({ topic, reason }, 'DCMD write refused');
    const writes = outcome.writes.flatMap((write) =>
      write.value === null ? [] : [{ ...write, value: write.value }],
    );
    await this.execute(writes, { id, signer: decision.signer, via: 'sparkplug' });
  }
}

/** A refusal before the guard carries the command's id when it has one, so the sender can match it. */
type ParsedCommand = { ok: true; command: CommandMessage } | (Refusal & { id: string });

function parseCommand(payload: Buffer): ParsedCommand {
  if (payload.length > MAX_COMMAND_BYTES)
    return {
      ok: false,
      code: 'too-large',
      reason: `${payload.length} bytes; at most ${MAX_COMMAND_BYTES}`,
      id: 'unknown',
    };
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, code: 'invalid', reason: 'not JSON', id: 'unknown' };
  }
  const parsed = CommandMessage.safeParse(json);
  if (parsed.success) return { ok: true, command: parsed.data };
  return { ok: false, code: 'invalid', reason: formatIssues(parsed.error.issues).join('; '), id: idOf(json) };
}

/** The id of a command that did not validate, if it has one. */
function idOf(json: unknown): string {
  const id = typeof json === 'object' && json !== null ? (json as { id?: unknown }).id : undefined;
  return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : 'unknown';
}
