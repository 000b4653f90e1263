/** A southbound sink that records what adapters hand the gateway, for adapter tests. */
import type { DeviceState, Reading, SouthboundSink } from '../../adapters/contract.js';

export class RecordingSink implements SouthboundSink {
  readonly batches: Reading[][] = [];
  readonly states: { state: DeviceState; detail?: string }[] = [];
  private readonly waiters = new Set<() => void>();

  /** With `deviceId`, a call for any other device fails the test. */
  constructor(private readonly deviceId?: string) {}

  readings(deviceId: string, readings: readonly Reading[]): void {
    this.check(deviceId);
    this.batches.push([...readings]);
    this.notify();
  }

  deviceState(deviceId: string, state: DeviceState, detail?: string): void {
    this.check(deviceId);
    this.states.push({ state, detail });
    this.notify();
  }

  /** Every reading of one point, oldest first. */
  of(point: string): Reading[] {
    return this.batches.flat().filter((reading) => reading.point === point);
  }

  lastBatch(): Reading[] {
    return this.batches.at(-1) ?? [];
  }

  /** Resolves once `condition` holds after a sink call; rejects after `timeoutMs` with the states seen. */
  until(what: string, condition: () => boolean, timeoutMs = 25_000): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting until ${what}; states ${JSON.stringify(this.states)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  private check(deviceId: string): void {
    if (this.deviceId !== undefined && deviceId !== this.deviceId) {
      throw new Error(`a sink call for unknown device ${deviceId}`);
    }
  }

  private notify(): void {
    for (const check of this.waiters) check();
  }
}
