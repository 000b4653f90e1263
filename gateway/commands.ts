/**
 * Executes writes asked for by the cloud (JSON command or Sparkplug DCMD): only to points the
 * config marks `writable`, only values that fit the point's type and range, each through the
 * device's adapter, each with one `warn` log line (so even `--log-level warn` keeps a trace; the
 * durable record is the write audit, see command-audit.ts). The command guard has admitted the
 * command before it gets here.
 */
import type { DeviceAdapter, ReadingScalar } from '../adapters/contract.js';
import type { Logger } from './logger.js';
import type { PointDirectory } from './normalise.js';
import type { WriteOutcome, WriteRequest } from './schema/commands.js';
import { integerRanges, isIntegerType, type PointMetadata, pointKey } from './schema/index.js';

/** Why a value cannot be written to a point, or `undefined` when it can. */
export function valueProblem(metadata: PointMetadata, value: unknown): string | undefined {
  const { dataType, min, max } = metadata;
  if (dataType === 'bool') return typeof value === 'boolean' ? undefined : 'expected true or false';
  if (dataType === 'string') return typeof value === 'string' ? undefined : 'expected a string';
  if (dataType === 'int64' || dataType === 'uint64') {
    const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
    if (typeof text !== 'string' || !/^-?\d+$/.test(text))
      return 'expected an integer (a decimal string for 64 bits)';
    const big = BigInt(text);
    const [low, high] = integerRanges[dataType];
    return big < low || big > high ? `out of the ${dataType} range` : undefined;
  }
  if (dataType === 'datetime') {
    return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
      ? undefined
      : 'expected epoch milliseconds';
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return dataType === undefined && (typeof value === 'boolean' || typeof value === 'string')
      ? undefined
      : 'expected a number';
  }
  if (dataType !== undefined && isIntegerType(dataType)) {
    if (!Number.isInteger(value)) return `expected an integer (${dataType})`;
    const [low, high] = integerRanges[dataType];
    if (value < low || value > high) return `out of the ${dataType} range`;
  }
  if (min !== undefined && value < min) return `below the point's minimum ${min}`;
  if (max !== undefined && value > max) return `above the point's maximum ${max}`;
  return undefined;
}

export interface CommandOrigin {
  id: string;
  /** The verified key id, or `sparkplug-dcmd`. */
  signer: string;
  by?: string;
  via: 'json' | 'sparkplug';
}

export class CommandExecutor {
  /**
   * The writable points' device id and configured name, by `line/equipment/point`. Only those: a
   * gateway of 10,000s of read-only points would otherwise keep an entry per point for nothing.
   */
  private readonly targets = new Map<string, { deviceId: string; point: string; metadata: PointMetadata }>();

  constructor(
    private readonly directory: PointDirectory,
    private readonly adapters: ReadonlyMap<string, DeviceAdapter>,
    private readonly logger: Logger,
  ) {
    for (const [deviceId, points] of directory) {
      for (const [point, configured] of points) {
        if (!configured.metadata.writable) continue;
        this.targets.set(pointKey(configured.identity), {
          deviceId,
          point,
          metadata: configured.metadata,
        });
      }
    }
  }

  /** Runs the writes one after another (a command's order can matter on a machine) and reports each. */
  async execute(writes: readonly WriteRequest[], origin: CommandOrigin): Promise<WriteOutcome[]> {
    const outcomes: WriteOutcome[] = [];
    for (const write of writes) {
      const outcome = await this.executeOne(write);
      this.logger.warn(
        {
          audit: 'write',
          command: origin.id,
          signer: origin.signer,
          by: origin.by,
          via: origin.via,
          point: pointKey(write),
          value: write.value,
          ok: outcome.ok,
          reason: outcome.reason,
        },
        outcome.ok ? 'write done' : 'write refused',
      );
      outcomes.push(outcome);
    }
    return outcomes;
  }

  private async executeOne(write: WriteRequest): Promise<WriteOutcome> {
    const identity = { line: write.line, equipment: write.equipment, point: write.point };
    const refuse = (reason: string, status?: WriteOutcome['status']): WriteOutcome => ({
      ...identity,
      ok: false,
      reason,
      ...(status && { status }),
    });
    const key = pointKey(identity);
    const target = this.targets.get(key);
    if (!target) {
      return this.isConfigured(key)
        ? refuse('the point is not writable (set `writable: true` in the config)')
        : refuse('no such point on this gateway');
    }
    const problem = valueProblem(target.metadata, write.value);
    if (problem) return refuse(`value ${JSON.stringify(write.value)}: ${problem}`);
    const adapter = this.adapters.get(target.deviceId);
    if (!adapter?.write) return refuse(`the ${target.metadata.protocol} adapter cannot write`);
    try {
      const result = await adapter.write(target.point, write.value as ReadingScalar);
      return result.ok ? { ...identity, ok: true } : refuse(result.reason, result.status);
    } catch (error) {
      return refuse(`write failed: ${(error as Error).message}`);
    }
  }

  /** Whether any device reads the point `key` names (for a refused write only: it looks at every point). */
  private isConfigured(key: string): boolean {
    for (const points of this.directory.values()) {
      for (const configured of points.values()) if (pointKey(configured.identity) === key) return true;
    }
    return false;
  }
}
