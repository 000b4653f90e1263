/**
 * The command guard: decides whether a command may run, before any write. The cheap checks come
 * first (target, freshness, number of writes, rate, replay), so a refused command seldom costs an
 * Ed25519 verification; only a command whose signature verifies is remembered against replay and
 * takes a slot of the rate limit, so a stranger's flood can neither replay nor use up the budget of
 * the real signer.
 */
import type { KeyObject } from 'node:crypto';
import type { ReplayCache } from './command-replay-cache.js';
import type { LoadedGatewayConfig } from './config.js';
import { verifyCommandSignature } from './schema/command-signature.js';
import type { CommandMessage, CommandTarget } from './schema/commands.js';

/** The signer named in the audit and the ack for a Sparkplug DCMD, which carries no signature. */
const SPARKPLUG_SIGNER = 'sparkplug-dcmd';

export type RefusalCode =
  | 'too-large'
  | 'invalid'
  | 'wrong-target'
  | 'not-yet-valid'
  | 'expired'
  | 'lifetime-too-long'
  | 'too-many-writes'
  | 'rate-limited'
  | 'replayed'
  | 'no-trusted-keys'
  | 'untrusted-key'
  | 'bad-signature'
  | 'sparkplug-disabled';

export type GuardDecision = { ok: true; signer: string } | { ok: false; code: RefusalCode; reason: string };

const refuse = (code: RefusalCode, reason: string): GuardDecision => ({ ok: false, code, reason });

/** Commands executed within the last minute: a sliding window, exact at any instant. */
class MinuteWindow {
  private readonly times: number[] = [];

  constructor(private readonly limit: number) {}

  hasRoom(now: number): boolean {
    while (this.times.length > 0 && (this.times[0] as number) <= now - 60_000) this.times.shift();
    return this.times.length < this.limit;
  }

  take(now: number): void {
    this.times.push(now);
  }
}

export interface CommandGuardOptions {
  config: Pick<LoadedGatewayConfig, 'commands' | 'commandKeys'>;
  /** This gateway, as a command's `target` must name it. */
  self: CommandTarget;
  replay: ReplayCache;
  now?: () => number;
}

export class CommandGuard {
  private readonly rate: MinuteWindow;
  private readonly keys: ReadonlyMap<string, KeyObject>;
  private readonly now: () => number;

  constructor(private readonly options: CommandGuardOptions) {
    this.rate = new MinuteWindow(options.config.commands.ratePerMinute);
    this.keys = options.config.commandKeys;
    this.now = options.now ?? Date.now;
  }

  /** Checks a validated JSON command; when it may run, its id is already remembered (durably). */
  admitJson(command: CommandMessage): GuardDecision {
    const { commands } = this.options.config;
    const now = this.now();
    const { self } = this.options;
    const { target } = command;
    if (target.region !== self.region || target.site !== self.site || target.gateway !== self.gateway)
      return refuse(
        'wrong-target',
        `the command is for ${target.region}/${target.site}/${target.gateway}, this gateway is ${self.region}/${self.site}/${self.gateway}`,
      );
    const freshness = this.freshness(command, now);
    if (freshness) return freshness;
    const limits = this.limits(command.writes.length, now);
    if (limits) return limits;
    if (this.keys.size === 0)
      return refuse('no-trusted-keys', 'this gateway trusts no command key (commands.trustedKeys is empty)');
    if (this.options.replay.seen(command.id, now))
      return refuse('replayed', `command id "${command.id}" was already executed`);
    const signature = verifyCommandSignature(command, this.keys);
    if (!signature.ok)
      return refuse(
        this.keys.has(command.signature.keyId) ? 'bad-signature' : 'untrusted-key',
        signature.reason,
      );
    this.options.replay.remember(command.id, command.expiresTs + commands.clockSkewMs, now);
    this.rate.take(now);
    return { ok: true, signer: signature.keyId };
  }

  /** Checks a Sparkplug DCMD: unsigned, so only the gateway option, the rate and the number of writes. */
  admitSparkplug(writeCount: number): GuardDecision {
    if (!this.options.config.commands.acceptSparkplugCommands)
      return refuse(
        'sparkplug-disabled',
        'Sparkplug DCMD writes are refused (commands.acceptSparkplugCommands is false)',
      );
    const now = this.now();
    const limits = this.limits(writeCount, now);
    if (limits) return limits;
    this.rate.take(now);
    return { ok: true, signer: SPARKPLUG_SIGNER };
  }

  private freshness({ ts, expiresTs }: CommandMessage, now: number): GuardDecision | undefined {
    const { clockSkewMs, maxLifetimeMs } = this.options.config.commands;
    if (ts > now + clockSkewMs)
      return refuse(
        'not-yet-valid',
        `signed at ${ts}, more than ${clockSkewMs} ms ahead of this gateway's clock (${now})`,
      );
    if (expiresTs - ts > maxLifetimeMs || expiresTs < ts)
      return refuse(
        'lifetime-too-long',
        `expiresTs − ts is ${expiresTs - ts} ms; expected 0 to ${maxLifetimeMs} (commands.maxLifetimeMs)`,
      );
    if (expiresTs + clockSkewMs < now)
      return refuse(
        'expired',
        `expired at ${expiresTs}, ${now - expiresTs} ms ago (skew allowance ${clockSkewMs} ms)`,
      );
    return undefined;
  }

  private limits(writeCount: number, now: number): GuardDecision | undefined {
    const { maxWritesPerCommand, ratePerMinute } = this.options.config.commands;
    if (writeCount > maxWritesPerCommand)
      return refuse(
        'too-many-writes',
        `${writeCount} writes; at most ${maxWritesPerCommand} per command (commands.maxWritesPerCommand)`,
      );
    if (!this.rate.hasRoom(now))
      return refuse(
        'rate-limited',
        `already ${ratePerMinute} commands in the last minute (commands.ratePerMinute)`,
      );
    return undefined;
  }
}

/**
 * Refusals acknowledged (and audited one by one) at up to `perSecond`, with bursts up to
 * `2 × perSecond`; beyond it they are only counted, and `onSuppressed(count)` reports the count once
 * a second while the flood lasts, so a flood costs neither unbounded acks nor unbounded fsyncs.
 */
export class RefusalThrottle {
  private tokens: number;
  private refilledAt: number;
  private suppressed = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly perSecond: number,
    private readonly onSuppressed: (count: number) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = 2 * perSecond;
    this.refilledAt = this.now();
  }

  /** True: acknowledge this refusal; false: it is counted and summarised later. */
  allow(): boolean {
    const now = this.now();
    this.tokens = Math.min(
      2 * this.perSecond,
      this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond,
    );
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.suppressed += 1;
    this.timer ??= setTimeout(() => this.flush(), 1000);
    return false;
  }

  /** Reports what is still counted and stops the timer. */
  close(): void {
    this.flush();
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.suppressed === 0) return;
    const count = this.suppressed;
    this.suppressed = 0;
    this.onSuppressed(count);
  }
}
